// DM_OP buffers: the driver checks them first (count, sizes, access),
// then Xen (xen/arch/x86/hvm/dm.c, dm_op()).
import type { Privcmd } from '../../../lib/privcmd';
import { encodeDmop } from '../../../lib/dmop/codec';
import { code, raw, when, type ContractEnv, type ContractCapabilities, type Fixture } from './suite';

export function bufferCases(caps: ContractCapabilities, f: Fixture): void {
  describe('DM_OP buffer rules (driver, then Xen)', () => {
    let env: ContractEnv;
    let h: Privcmd;
    let g: number;
    beforeEach(() => ({ env, h, g } = f()));

    test('zero buffers: 0, without asking Xen (any domain)', () => {
      expect(h.dmopRaw(env.missingDomain, [])).toBe(0);
    });

    test('3..16 buffers pass the driver and Xen says E2BIG; 17 the driver says E2BIG', () => {
      const b = () => encodeDmop({ op: 'nr_vcpus' })[0]!;
      expect(code(() => h.dmopRaw(g, [b(), b(), b()]))).toBe('E2BIG');
      expect(code(() => h.dmopRaw(g, Array.from({ length: 16 }, b)))).toBe('E2BIG');
      expect(code(() => h.dmopRaw(g, Array.from({ length: 17 }, b)))).toBe('E2BIG');
    });

    test('a buffer over 4096 bytes is E2BIG; 4096 is fine', () => {
      const big = new Uint8Array(4096);
      big.set(encodeDmop({ op: 'nr_vcpus' })[0]!);
      expect(h.dmopRaw(g, [big])).toBe(0);
      expect(new DataView(big.buffer).getUint32(8, true)).toBe(env.vcpus);
      const bigger = new Uint8Array(4097);
      bigger.set(encodeDmop({ op: 'nr_vcpus' })[0]!);
      expect(code(() => h.dmopRaw(g, [bigger]))).toBe('E2BIG');
    });

    test('buffer 0 shorter than the header, or than header + the op, is EFAULT', () => {
      expect(code(() => h.dmopRaw(g, [new Uint8Array(0)]))).toBe('EFAULT');
      expect(code(() => h.dmopRaw(g, [new Uint8Array(7)]))).toBe('EFAULT');
      const op = encodeDmop({ op: 'get_ioreq_server_info', id: 0 })[0]!;
      expect(code(() => h.dmopRaw(g, [op.subarray(0, 8 + 23)]))).toBe('EFAULT');
    });

    test('only the op\'s own size is needed: header + op size exactly is enough', () => {
      const op = encodeDmop({ op: 'nr_vcpus' })[0]!.slice(0, 8 + 4);
      expect(h.dmopRaw(g, [op])).toBe(0);
      expect(new DataView(op.buffer).getUint32(8, true)).toBe(env.vcpus);
    });

    test('unknown ops are EOPNOTSUPP: 0, 21, 0xffffffff, and 19 (set_irq_level is Arm-only)', () => {
      for (const op of [0, 21, 0xffffffff, 19]) {
        const b = new Uint8Array(32);
        new DataView(b.buffer).setUint32(0, op, true);
        expect({ op, code: code(() => h.dmopRaw(g, [b])) }).toEqual({ op, code: 'EOPNOTSUPP' });
      }
    });

    test('a non-zero header pad is EINVAL', () => {
      expect(code(() => h.dmopRaw(g, raw({ op: 'nr_vcpus' }, (v) => v.setUint32(4, 1, true))))).toBe('EINVAL');
    });

    test('Xen answers even with a second, unused buffer', () => {
      const [b0] = encodeDmop({ op: 'nr_vcpus' });
      expect(h.dmopRaw(g, [b0!, new Uint8Array(16)])).toBe(0);
    });

    test('an empty buffer is passed so the driver can pin it: stop tracking dirty VRAM with nr 0', () => {
      h.dmop(g, { op: 'track_dirty_vram', firstPfn: 16n, nr: 8 });
      expect(h.dmop(g, { op: 'track_dirty_vram', firstPfn: 0n, nr: 0 }).bitmap).toHaveLength(0);
      const [b0] = encodeDmop({ op: 'nr_vcpus' });
      expect(h.dmopRaw(g, [b0!, new Uint8Array(0)])).toBe(0);
    });

    when(caps.rawPointers, 'needs raw pointers into caller memory')('caller memory the kernel cannot use: kernel-range and unmapped buffers are EFAULT', () => {
      const p = env.rawPointers!;
      expect(code(() => h.dmopRaw(g, [{ addr: p.kernel, size: 32 }]))).toBe('EFAULT');
      expect(code(() => h.dmopRaw(g, [{ addr: p.unmapped, size: 32 }]))).toBe('EFAULT');
      // Zero-size at an aligned address or NULL pins no page: lock_pages
      // says EFAULT, even where Xen would never read the buffer.
      expect(code(() => h.dmopRaw(g, [{ addr: 0n, size: 0 }]))).toBe('EFAULT');
      const [b0] = encodeDmop({ op: 'nr_vcpus' });
      expect(code(() => h.dmopRaw(g, [b0!, { addr: 0n, size: 0 }]))).toBe('EFAULT');
      expect(code(() => h.dmopRaw(g, [b0!, { addr: p.unmapped, size: 0 }]))).toBe('EFAULT');
      expect(code(() => h.dmopRaw(g, [{ addr: p.unmapped + 1n, size: 0 }]))).toBe('EFAULT'); // unaligned: pins a missing page
    });
  });
}

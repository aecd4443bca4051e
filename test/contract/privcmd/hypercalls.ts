// Raw hypercalls through IOCTL_PRIVCMD_HYPERCALL and hypercall buffers.
import type { Privcmd } from '../../../lib/privcmd';
import { encodeDmop } from '../../../lib/dmop/codec';
import { code, hvmParam, type ContractEnv, type ContractCapabilities, type Fixture } from './suite';

export function hypercallCases(_caps: ContractCapabilities, f: Fixture): void {
  describe('raw hypercalls', () => {
    let env: ContractEnv;
    let h: Privcmd;
    let g: number;
    beforeEach(() => ({ env, h, g } = f()));

    test('xen_version: 4.17; extraversion and capabilities land in hypercall memory', () => {
      expect(h.hypercall('xen_version', [0])).toBe((4n << 16n) | 17n);
      const buf = h.hypercallBuffer(1024);
      expect(h.hypercall('xen_version', [1, buf.addr])).toBe(0n);
      expect(buf.view.toString('latin1', 0, buf.view.indexOf(0))).toMatch(/^[.\w+-]*$/);
      expect(h.hypercall('xen_version', [3, buf.addr])).toBe(0n);
      expect(buf.view.toString('latin1', 0, buf.view.indexOf(0))).toContain('hvm-3.0-x86_64');
      expect(h.hypercall(17, [7])).toBe(4096n);
      h.freeHypercallBuffer(buf);
    });

    test('unknown sub-commands and hypercalls are ENOSYS, even past the old hypercall page', () => {
      expect(code(() => h.hypercall('xen_version', [99]))).toBe('ENOSYS');
      expect(code(() => h.hypercall(60, []))).toBe('ENOSYS');
      // Debian's 6.1 kernel issues hypercalls by number, not through the
      // hypercall page, so op 128 reaches Xen (seen on the real host).
      expect(code(() => h.hypercall(128, []))).toBe('ENOSYS');
    });

    test('dm_op as a raw hypercall: Xen\'s own checks (more than 2 buffers E2BIG, bad pointer EFAULT)', () => {
      const mem = h.hypercallBuffer(64);
      const op = mem; // buffer 0 inside hypercall memory, then the descriptor
      op.view.set(encodeDmop({ op: 'nr_vcpus' })[0]!);
      const desc = h.hypercallBuffer(48);
      const dv = new DataView(desc.view.buffer, desc.view.byteOffset, 48);
      dv.setBigUint64(0, op.addr, true);
      dv.setBigUint64(8, 32n, true);
      expect(h.hypercall('dm_op', [g, 1, desc.addr])).toBe(0n);
      expect(op.view.readUInt32LE(8)).toBe(env.vcpus);
      expect(code(() => h.hypercall('dm_op', [g, 3, desc.addr]))).toBe('E2BIG');
      expect(code(() => h.hypercall('dm_op', [g, 1, 0n]))).toBe('EFAULT');
      h.freeHypercallBuffer(mem);
      h.freeHypercallBuffer(desc);
    });

    test('hvm_op get/set_param: index past HVM_NR_PARAMS EINVAL, missing domain ESRCH', () => {
      const pages = hvmParam(h, 1, g, 33); // HVM_PARAM_NR_IOREQ_SERVER_PAGES
      expect(pages.code).toBe('ok');
      expect(pages.value).toBeGreaterThan(0n);
      expect(hvmParam(h, 1, g, 39).code).toBe('EINVAL');
      expect(hvmParam(h, 1, env.missingDomain, 1).code).toBe('ESRCH');
    });
  });
}

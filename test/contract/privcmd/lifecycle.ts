// Handle lifecycle: close, async calls in flight, bad arguments.
import type { Privcmd } from '../../../lib/privcmd';
import { encodeDmop } from '../../../lib/dmop/codec';
import { code, type ContractEnv, type ContractCapabilities, type Fixture } from './suite';

export function lifecycleCases(_caps: ContractCapabilities, f: Fixture): void {
  describe('handle lifecycle and arguments', () => {
    let env: ContractEnv;
    let h: Privcmd;
    let g: number;
    beforeEach(() => ({ env, h, g } = f()));

    test('every use of a closed handle is EBADF; closing twice is harmless', async () => {
      h.close();
      expect(h.closed).toBe(true);
      expect(code(() => h.dmop(g, { op: 'nr_vcpus' }))).toBe('EBADF');
      expect(code(() => h.dmopRaw(g, []))).toBe('EBADF');
      expect(code(() => h.restrict(g))).toBe('EBADF');
      expect(code(() => h.hypercall('xen_version', [0]))).toBe('EBADF');
      await expect(h.dmopAsync(g, { op: 'nr_vcpus' })).rejects.toMatchObject({ code: 'EBADF' });
      expect(() => h.close()).not.toThrow();
    });

    test('close() with dmopAsync and dmopRawAsync in flight: each settles with its real result', async () => {
      const typed = Array.from({ length: 4 }, () => h.dmopAsync(g, { op: 'nr_vcpus' }));
      const bufs = Array.from({ length: 2 }, () => encodeDmop({ op: 'nr_vcpus' }));
      const raw = bufs.map((b) => h.dmopRawAsync(g, b));
      const refused = h.dmopAsync(env.missingDomain, { op: 'nr_vcpus' });
      h.close();
      expect(await Promise.all(typed)).toEqual(Array(4).fill({ vcpus: env.vcpus }));
      expect(await Promise.all(raw)).toEqual([0, 0]);
      for (const [b0] of bufs) expect(new DataView(b0!.buffer, b0!.byteOffset).getUint32(8, true)).toBe(env.vcpus);
      await expect(refused).rejects.toMatchObject({ code: 'ESRCH', syscall: 'ioctl' });
    });

    test('dmopRawAsync: more than 16 buffers or one over 4096 bytes is E2BIG; Xen\'s writes land in the caller\'s buffer', async () => {
      const b = () => encodeDmop({ op: 'nr_vcpus' })[0]!;
      await expect(h.dmopRawAsync(g, Array.from({ length: 17 }, b))).rejects.toMatchObject({ code: 'E2BIG', syscall: 'ioctl' });
      const big = new Uint8Array(4097);
      big.set(b());
      await expect(h.dmopRawAsync(g, [big])).rejects.toMatchObject({ code: 'E2BIG', syscall: 'ioctl' });
      const ok = new Uint8Array(4096);
      ok.set(b());
      await expect(h.dmopRawAsync(g, [ok])).resolves.toBe(0);
      expect(new DataView(ok.buffer).getUint32(8, true)).toBe(env.vcpus);
    });

    test('freeHypercallBuffer while a hypercallAsync using it is in flight: the call completes, and no new buffer gets its address meanwhile', async () => {
      const buf = h.hypercallBuffer(1024);
      const p = h.hypercallAsync('xen_version', [3, buf.addr]); // XENVER_capabilities into buf
      h.freeHypercallBuffer(buf);
      expect(buf.view.length).toBe(0);
      expect(code(() => h.freeHypercallBuffer(buf))).toBe('EINVAL');
      const other = h.hypercallBuffer(1024);
      expect(other.addr).not.toBe(buf.addr);
      await expect(p).resolves.toBe(0n);
      h.freeHypercallBuffer(other);
    });

    test('close() frees the hypercall buffers, after an in-flight hypercallAsync completes; freeing one afterwards is EBADF', async () => {
      const buf = h.hypercallBuffer(1024);
      const spare = h.hypercallBuffer(64);
      const p = h.hypercallAsync('xen_version', [3, buf.addr]);
      h.close();
      await expect(p).resolves.toBe(0n);
      for (const b of [buf, spare]) {
        expect(b.view.length).toBe(0);
        expect(code(() => h.freeHypercallBuffer(b))).toBe('EBADF');
      }
    });

    test('bad arguments are EINVAL before anything reaches the kernel', () => {
      for (const bad of [-1, 65536, 1.5, '1', null]) {
        expect({ bad, code: code(() => h.dmop(bad as number, { op: 'nr_vcpus' })) }).toEqual({ bad, code: 'EINVAL' });
      }
      expect(code(() => h.dmop(g, { op: 'nope' } as never))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'nr_vcpus', extra: 1 } as never))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'set_isa_irq_level', isaIrq: 256, level: 0 }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'set_isa_irq_level', isaIrq: 1 } as never))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'track_dirty_vram', firstPfn: -1n, nr: 1 }))).toBe('EINVAL');
      expect(code(() => h.dmopRaw(g, [[1, 2] as unknown as Uint8Array]))).toBe('EINVAL');
      expect(code(() => h.hypercall('nope' as never, []))).toBe('EINVAL');
      expect(code(() => h.hypercall(17, [0, 0, 0, 0, 0, 0]))).toBe('EINVAL');
      expect(code(() => h.hypercall(17, [-1]))).toBe('EINVAL');
    });
  });
}

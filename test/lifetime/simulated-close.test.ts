// Async calls queued on a simulated handle when it is closed or a hypercall
// buffer is freed, and the memory close() gives back. The cases that must
// hold on a real device too are in the contract (test/contract/privcmd.contract.ts).
import { open } from '../../lib/privcmd';
import { createSimulatedHost } from '../../lib/sim/host';
import { encodeDmop } from '../../lib/dmop/codec';

const code = (fn: () => unknown): string => {
  try { fn(); return 'ok'; } catch (e) { return (e as { code?: string }).code ?? `threw ${String(e)}`; }
};

describe('closing a handle with async calls queued', () => {
  test('each pending dmopAsync/dmopRawAsync settles with its real result, and nothing is left allocated', async () => {
    const host = createSimulatedHost();
    const g = host.createDomain({ type: 'hvm', vcpus: 3, memoryPages: 64 });
    const space = host.process(0).space;
    const before = space.liveAllocations;
    const h = open({ host, domain: 0 });
    const typed = Array.from({ length: 8 }, () => h.dmopAsync(g, { op: 'nr_vcpus' }));
    const rawBufs = Array.from({ length: 4 }, () => encodeDmop({ op: 'nr_vcpus' }));
    const raw = rawBufs.map((b) => h.dmopRawAsync(g, b));
    const refused = h.dmopAsync(0x7000, { op: 'nr_vcpus' });
    h.close();
    expect(await Promise.all(typed)).toEqual(Array(8).fill({ vcpus: 3 }));
    expect(await Promise.all(raw)).toEqual([0, 0, 0, 0]);
    for (const b of rawBufs) expect(new DataView(b[0]!.buffer).getUint32(8, true)).toBe(3);
    await expect(refused).rejects.toMatchObject({ code: 'ESRCH', syscall: 'ioctl' });
    expect(space.liveAllocations).toBe(before);
    // and the process can still open handles and allocate
    const h2 = open({ host, domain: 0 });
    expect(h2.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: 3 });
    h2.close();
    expect(space.liveAllocations).toBe(before);
    host.close();
  });

  test('close() frees hypercall buffers still allocated; freeing one afterwards is EBADF (coded), and harmless', async () => {
    const host = createSimulatedHost();
    const space = host.process(0).space;
    const before = space.liveAllocations;
    const h = open({ host, domain: 0 });
    const bufs = [h.hypercallBuffer(16), h.hypercallBuffer(5000)];
    h.close();
    expect(space.liveAllocations).toBe(before);
    for (const b of bufs) {
      expect(b.view.length).toBe(0);
      expect(() => h.freeHypercallBuffer(b)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'munmap' }));
    }
    expect(space.liveAllocations).toBe(before);
    host.close();
  });

  test('close() with a hypercallAsync queued: the call runs with its buffers, which are freed after it', async () => {
    const host = createSimulatedHost();
    const space = host.process(0).space;
    const before = space.liveAllocations;
    const h = open({ host, domain: 0 });
    const buf = h.hypercallBuffer(1024);
    const p = h.hypercallAsync('xen_version', [3, buf.addr]); // XENVER_capabilities
    h.close();
    expect(buf.view.length).toBe(0); // JS can no longer reach it...
    expect(space.pageState(buf.addr)).toBe('read-write'); // ...but the queued call still writes it
    await expect(p).resolves.toBe(0n);
    expect(space.liveAllocations).toBe(before);
    expect(space.pageState(buf.addr)).toBe('unmapped');
    host.close();
  });

  test('freeHypercallBuffer with a hypercallAsync queued: deferred until it ran; a second free is EINVAL', async () => {
    const host = createSimulatedHost();
    const space = host.process(0).space;
    const h = open({ host, domain: 0 });
    const before = space.liveAllocations;
    const buf = h.hypercallBuffer(1024);
    const p = h.hypercallAsync('xen_version', [3, buf.addr]);
    h.freeHypercallBuffer(buf);
    expect(buf.view.length).toBe(0);
    expect(space.pageState(buf.addr)).toBe('read-write');
    expect(code(() => h.freeHypercallBuffer(buf))).toBe('EINVAL');
    const other = h.hypercallBuffer(1024);
    expect(other.addr).not.toBe(buf.addr);
    await expect(p).resolves.toBe(0n);
    expect(space.liveAllocations).toBe(before + 1);
    h.freeHypercallBuffer(other);
    expect(space.liveAllocations).toBe(before);
    expect(code(() => h.freeHypercallBuffer({ addr: 0x10000n, size: 1, view: Buffer.alloc(1) }))).toBe('EINVAL');
    h.close();
    host.close();
  });
});

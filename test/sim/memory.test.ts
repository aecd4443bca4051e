// Guest RAM on the simulated host is real memory (lib/sim/memory.ts): pages
// materialise on first touch only, every mapping of a page shares its
// bytes with host.guestWrite / guestRead, and a page outlives its owner while
// a mapping holds it (as Xen's page references keep a foreign-mapped page),
// so a recycled page is never seen through an old mapping.
import { open } from '../../lib/privcmd';
import { createSimulatedHost } from '../../lib/sim/host';
import { code } from '../support/code';

const PAGE = 4096;

describe('guest memory on the simulated host', () => {
  test('idle domains materialise no page; a guest write or a mapping materialises only its pages', () => {
    const host = createSimulatedHost();
    const ds = Array.from({ length: 50 }, () => host.createDomain({ type: 'hvm', vcpus: 2, memoryPages: 8192 }));
    expect(host.memory.livePages()).toBe(0);
    const g = ds[0]!;
    expect(host.guestRead(g, 7).every((b) => b === 0)).toBe(true); // reading an untouched page touches nothing
    expect(host.memory.livePages()).toBe(0);
    host.guestWrite(g, 7, Uint8Array.of(1, 2, 3), 100);
    host.guestWrite(g, 8); // a write with no bytes given: dirty tracking only
    expect(host.memory.touchedPages(g)).toBe(1);
    const h = open({ host });
    const m = h.mapForeign(g, [7, 9]);
    expect([...m.bytes!.subarray(100, 103)]).toEqual([1, 2, 3]);
    expect(host.memory.livePages()).toBe(2);
    expect(ds.slice(1).every((d) => host.memory.touchedPages(d) === 0)).toBe(true);
    host.close();
  });

  test('guestWrite checks its bytes: a non-Uint8Array or a page overrun is EINVAL and writes nothing', () => {
    const host = createSimulatedHost();
    const g = host.createDomain({ memoryPages: 4 });
    expect(code(() => host.guestWrite(g, 0, 'abc' as never))).toBe('EINVAL');
    expect(code(() => host.guestWrite(g, 0, new Uint8Array(2), PAGE - 1))).toBe('EINVAL');
    expect(code(() => host.guestWrite(g, 0, new Uint8Array(1), -1))).toBe('EINVAL');
    expect(code(() => host.guestWrite(g, 99, new Uint8Array(1)))).toBe('EFAULT');
    expect(code(() => host.guestRead(g, 99))).toBe('EFAULT');
    expect(host.memory.livePages()).toBe(0);
  });

  test('a page given up while mapped stays with the mapping; its store page is not reused until unmapped', () => {
    const host = createSimulatedHost();
    const g = host.createDomain({ memoryPages: 8 });
    const h = open({ host });
    const m = h.mapForeign(g, [5]);
    m.bytes![0] = 0xaa;
    host.removeFromPhysmap(g, 5, 1);
    host.populatePhysmap(g, 5, 1);
    host.guestWrite(g, 5, Uint8Array.of(0xbb));
    host.guestWrite(g, 6, Uint8Array.of(0xcc));
    expect(m.bytes![0]).toBe(0xaa); // the old page, not the new gfn 5 nor gfn 6
    expect(host.guestRead(g, 5)[0]).toBe(0xbb);
    expect(host.memory.livePages()).toBe(3);
    m.unmap();
    expect(host.memory.livePages()).toBe(2);
    host.destroyDomain(g);
    expect(host.memory.livePages()).toBe(0);
  });

  test('an ioreq server\'s pages: freed on destroy unless mapped; the mapping keeps them until unmapped', () => {
    const host = createSimulatedHost();
    const g = host.createDomain({ vcpus: 2 });
    const h = open({ host });
    const a = h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 'atomic' }).id;
    const b = h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 'off' }).id;
    const ma = h.mapResource(g, { type: 'ioreq_server', id: a, frame: 0, count: 2 });
    h.mapResource(g, { type: 'ioreq_server', id: b, frame: 1, count: 1 }).unmap();
    expect(host.memory.livePages()).toBe(3);
    h.dmop(g, { op: 'destroy_ioreq_server', id: b });
    expect(host.memory.livePages()).toBe(2);
    h.dmop(g, { op: 'destroy_ioreq_server', id: a });
    expect(host.memory.livePages()).toBe(2);
    ma.bytes![0] = 1; // still mapped, still writable
    ma.unmap();
    expect(host.memory.livePages()).toBe(0);
  });

  test('vp_eport is written when the server is enabled, and at once for a server enabled before its pages exist', () => {
    const host = createSimulatedHost();
    const g = host.createDomain({ vcpus: 3 });
    const h = open({ host });
    const a = h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 'off' }).id;
    const m = h.mapResource(g, { type: 'ioreq_server', id: a, frame: 1, count: 1 });
    const port = (v: number): number => new DataView(m.bytes!.buffer).getUint32(v * 32 + 24, true);
    expect([port(0), port(1), port(2)]).toEqual([0, 0, 0]);
    h.dmop(g, { op: 'set_ioreq_server_state', id: a, enabled: true });
    expect(new Set([port(0), port(1), port(2)]).size).toBe(3);
    expect(port(0)).toBeGreaterThan(0);
    const b = h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 'off' }).id;
    h.dmop(g, { op: 'set_ioreq_server_state', id: b, enabled: true });
    const mb = h.mapResource(g, { type: 'ioreq_server', id: b, frame: 1, count: 1 });
    expect(new DataView(mb.bytes!.buffer).getUint32(24, true)).toBeGreaterThan(port(2));
  });

  test('a transferred buffer: copied (Node 20 copies external buffers), or moved and then unmap is EBUSY; never a dangling view', () => {
    const host = createSimulatedHost();
    const g = host.createDomain({ memoryPages: 4 });
    const h = open({ host });
    const m = h.mapForeign(g, [1]);
    host.guestWrite(g, 1, Uint8Array.of(9));
    const buf = m.bytes!.buffer as ArrayBuffer;
    const moved = structuredClone(buf, { transfer: [buf] });
    if (buf.byteLength === 0) {
      // Moved: its new owner may still read it, so it stays mapped.
      expect(code(() => m.unmap())).toBe('EBUSY');
      expect(m.unmapped).toBe(false);
    } else {
      // Copied: the copy is the caller's own memory; the mapping unmaps as usual.
      m.unmap();
      expect(m.unmapped).toBe(true);
      host.guestWrite(g, 1, Uint8Array.of(10));
    }
    expect(new Uint8Array(moved)[0]).toBe(9);
    h.close();
    expect(new Uint8Array(moved)[0]).toBe(9);
  });

  test('the hypervisor refuses a mapping of another guest by a non-privileged domain (XSM_TARGET) per page', () => {
    const host = createSimulatedHost();
    const g = host.createDomain({ memoryPages: 4 });
    const other = host.createDomain({ type: 'pvh', memoryPages: 4 });
    const stub = host.createDomain({ type: 'pvh', target: g });
    const byOther = open({ host, domain: other });
    expect(code(() => byOther.mapForeign(g, [0, 1]))).toBe('EPERM');
    const byStub = open({ host, domain: stub });
    expect(byStub.mapForeign(g, [0]).errors).toEqual([0]);
  });
});

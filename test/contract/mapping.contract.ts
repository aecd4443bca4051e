// The guest-memory mapping contract: mapResource / resourceFrames /
// mapForeign observed only through the public API, so the same cases run on
// the simulated host and on the real device in the real-host harness.
// Linux 6.1's drivers/xen/privcmd.c decides the restriction (EPERM before
// Xen is asked) and the per-page err[] array; Xen 4.17's xen/common/memory.c
// (acquire_resource) and xen/common/ioreq.c (ioreq_server_get_frame, the
// vp_eport writes of ioreq_update_evtchn) decide the rest.
import { IOREQ_AT, IOREQ_SERVER_FRAME, IOREQ_STRUCT } from '../../lib/abi/ioreq';
import type { EventChannels } from '../../lib/evtchn';
import type { Privcmd } from '../../lib/privcmd';
import { MAX_MAP_PAGES } from '../../lib/mapping';
import { code } from '../support/code';
import { contractSuite } from './privcmd/suite';

export interface MappingContractEnv {
  open(): Privcmd;
  openEvtchn(): EventChannels;
  /** A fresh paused HVM domain with `vcpus` vCPUs and RAM at gfns [0, memoryPages). */
  freshGuest(): number;
  readonly vcpus: number;
  readonly memoryPages: number;
  readonly missingDomain: number;
  cleanup(): void;
}

const PAGE = 4096;
const VP_EPORT = IOREQ_AT.vpEport;
/** XEN_DMOP_no_gfns: get_ioreq_server_info without mapping the pages at guest frames. */
const NO_GFNS = 1;

export function mappingContract(name: string, makeEnv: () => MappingContractEnv): void {
  contractSuite(`mapping contract: ${name}`, makeEnv, (f) => {
    let env: MappingContractEnv;
    let h: Privcmd;
    let g: number;
    beforeEach(() => ({ env, h, g } = f()));

    const server = (bufioreq: 'off' | 'atomic' = 'atomic'): number => h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: bufioreq }).id;

    test('the size query: an ioreq server has the buffered page and one ioreq page for these vCPUs', () => {
      const id = server();
      expect(h.resourceFrames(g, { type: 'ioreq_server', id })).toBe(1 + Math.ceil((env.vcpus * IOREQ_STRUCT.size) / PAGE));
      expect(code(() => h.resourceFrames(g, { type: 'vmtrace_buf', id: 0 }))).toBe('EINVAL'); // no vmtrace buffer: 0 frames
      expect(code(() => h.resourceFrames(env.missingDomain, { type: 'ioreq_server', id }))).toBe('ESRCH');
    });

    test('an ioreq server\'s pages: each vCPU\'s vp_eport, written on enable, is a port dom0 can bind, apart from the buffered port', () => {
      const id = server();
      const m = h.mapResource(g, { type: 'ioreq_server', id, frame: IOREQ_SERVER_FRAME.bufioreq, count: 2 });
      expect(m.pages).toBe(2);
      expect(m.bytes!.byteLength).toBe(2 * PAGE);
      h.dmop(g, { op: 'set_ioreq_server_state', id, enabled: true });
      const { bufioreqPort } = h.dmop(g, { op: 'get_ioreq_server_info', id, flags: NO_GFNS });
      const ioreq = new DataView(m.bytes!.buffer, PAGE, PAGE); // frame 1: struct shared_iopage
      const ports = Array.from({ length: env.vcpus }, (_, v) => ioreq.getUint32(v * IOREQ_STRUCT.size + VP_EPORT, true));
      expect(new Set([...ports, bufioreqPort]).size).toBe(env.vcpus + 1);
      expect(ports[0]).toBeLessThan(bufioreqPort); // vCPU 0's port is allocated before the buffered one
      for (let v = 0; v < env.vcpus; v++) expect(ioreq.getUint8(v * IOREQ_STRUCT.size + IOREQ_AT.flags) & 0xf).toBe(0); // STATE_IOREQ_NONE
      const buffered = new DataView(m.bytes!.buffer, 0, PAGE); // frame 0: struct buffered_iopage
      expect([buffered.getUint32(0, true), buffered.getUint32(4, true)]).toEqual([0, 0]); // read/write pointers
      const e = env.openEvtchn();
      try {
        for (const p of ports) expect(e.bindInterdomain(g, p)).toBeGreaterThan(0);
        expect(e.bindInterdomain(g, bufioreqPort)).toBeGreaterThan(0);
      } finally {
        e.close();
      }
    });

    test('ioreq frames Xen does not have: past the ioreq page EINVAL, a missing server ENOENT, no buffered ring ENOENT', () => {
      const id = server();
      expect(code(() => h.mapResource(g, { type: 'ioreq_server', id, frame: IOREQ_SERVER_FRAME.ioreq(1), count: 1 }))).toBe('EINVAL');
      expect(code(() => h.mapResource(g, { type: 'ioreq_server', id, frame: 0, count: 3 }))).toBe('EINVAL');
      expect(code(() => h.mapResource(g, { type: 'ioreq_server', id: id + 1, frame: 1, count: 1 }))).toBe('ENOENT');
      const plain = server('off');
      expect(code(() => h.mapResource(g, { type: 'ioreq_server', id: plain, frame: IOREQ_SERVER_FRAME.bufioreq, count: 1 }))).toBe('ENOENT');
      expect(h.mapResource(g, { type: 'ioreq_server', id: plain, frame: IOREQ_SERVER_FRAME.ioreq(0), count: 1 }).pages).toBe(1);
    });

    test('resource pages and guest frames exclude each other: mapped pages have no gfns, gfn-mapped pages cannot be acquired', () => {
      const a = server();
      h.mapResource(g, { type: 'ioreq_server', id: a, frame: 1, count: 1 });
      expect(code(() => h.dmop(g, { op: 'get_ioreq_server_info', id: a }))).toBe('EPERM');
      const b = server();
      expect(h.dmop(g, { op: 'get_ioreq_server_info', id: b }).ioreqGfn).toBeGreaterThan(0n);
      expect(code(() => h.mapResource(g, { type: 'ioreq_server', id: b, frame: 1, count: 1 }))).toBe('EPERM');
    });

    test('guest RAM: two mappings of one gfn see each other\'s writes; a read-only mapping reads them through read()', () => {
      const a = h.mapForeign(g, [3, 4]);
      const b = h.mapForeign(g, [4]);
      expect(a.errors).toEqual([0, 0]);
      a.bytes!.set([0xde, 0xad, 0xbe, 0xef], PAGE + 100);
      expect([...b.bytes!.subarray(100, 104)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
      b.bytes![104] = 0x42;
      expect(a.bytes![PAGE + 104]).toBe(0x42);
      const ro = h.mapForeign(g, [4], { writable: false });
      expect(ro.bytes).toBeNull();
      expect([...ro.read(100, 5)]).toEqual([0xde, 0xad, 0xbe, 0xef, 0x42]);
    });

    test('per-page errors: an unpopulated gfn fails alone (EINVAL in err[]) and reads as zeros; all failing throws', () => {
      const hole = env.memoryPages + 0x10000;
      const m = h.mapForeign(g, [0, hole, 1]);
      expect(m.errors.map((e) => e !== 0)).toEqual([false, true, false]);
      expect(m.errors[1]).toBe(-22);
      expect(m.bytes!.subarray(PAGE, 2 * PAGE).every((x) => x === 0)).toBe(true);
      m.bytes![PAGE] = 1; // a failed page is private: writing it reaches nothing
      expect(m.bytes!.byteLength).toBe(3 * PAGE);
      expect(code(() => h.mapForeign(g, [hole, hole + 1]))).toBe('EINVAL');
      expect(code(() => h.mapForeign(env.missingDomain, [0]))).toBe('ESRCH');
    });

    test('after restrict(g): mapping another domain is EPERM from the driver; g still maps', () => {
      const g2 = env.freshGuest();
      const id2 = h.dmop(g2, { op: 'create_ioreq_server', handleBufioreq: 'atomic' }).id;
      const id = server();
      h.restrict(g);
      expect(code(() => h.mapForeign(g2, [0]))).toBe('EPERM');
      expect(code(() => h.mapResource(g2, { type: 'ioreq_server', id: id2, frame: 1, count: 1 }))).toBe('EPERM');
      expect(code(() => h.resourceFrames(g2, { type: 'ioreq_server', id: id2 }))).toBe('EPERM');
      expect(code(() => h.mapForeign(env.missingDomain, [0]))).toBe('EPERM'); // the driver answers before Xen
      expect(h.mapForeign(g, [0]).errors).toEqual([0]);
      expect(h.mapResource(g, { type: 'ioreq_server', id, frame: 1, count: 1 }).pages).toBe(1);
      expect(h.resourceFrames(g, { type: 'ioreq_server', id })).toBeGreaterThan(1);
    });

    test('unmap detaches every view and is idempotent; close() unmaps what is left; a closed handle is EBADF', () => {
      const m = h.mapForeign(g, [0, 1]);
      const view = m.bytes!.subarray(10, 20);
      m.unmap();
      expect(m.unmapped).toBe(true);
      expect([m.bytes!.byteLength, view.byteLength]).toEqual([0, 0]);
      m.unmap();
      expect(code(() => m.read(0, 1))).toBe('EBADF');
      const other = env.open();
      const r = other.mapResource(g, { type: 'ioreq_server', id: h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 'off' }).id, frame: 1, count: 1 });
      const f = other.mapForeign(g, [2]);
      other.close();
      expect([r.unmapped, f.unmapped, r.bytes!.byteLength, f.bytes!.byteLength]).toEqual([true, true, 0, 0]);
      expect(code(() => other.mapForeign(g, [0]))).toBe('EBADF');
      expect(code(() => other.mapResource(g, { type: 'ioreq_server', id: 0, count: 1 }))).toBe('EBADF');
      expect(code(() => other.resourceFrames(g, { type: 'ioreq_server', id: 0 }))).toBe('EBADF');
    });

    test('bad arguments are EINVAL before the kernel, and map nothing', () => {
      const id = server();
      const res = (o: object) => code(() => h.mapResource(g, { type: 'ioreq_server', id, frame: 1, count: 1, ...o } as never));
      expect(res({ count: 0 })).toBe('EINVAL');
      expect(res({ count: MAX_MAP_PAGES + 1 })).toBe('EINVAL');
      expect(res({ count: 1.5 })).toBe('EINVAL');
      expect(res({ frame: 0xffffffff, count: 2 })).toBe('EINVAL'); // frame + count overflows a u32
      expect(res({ frame: -1 })).toBe('EINVAL');
      expect(res({ type: 'nonsense' })).toBe('EINVAL');
      expect(res({ type: 7 })).toBe('EINVAL');
      expect(res({ type: 'toString' })).toBe('EINVAL');
      expect(res({ id: 2 ** 32 })).toBe('EINVAL');
      expect(res({ writable: 'yes' })).toBe('EINVAL');
      expect(code(() => h.mapResource(g, null as never))).toBe('EINVAL');
      expect(code(() => h.mapResource(0x10000, { type: 'ioreq_server', id, count: 1 }))).toBe('EINVAL');
      expect(code(() => h.resourceFrames(-1, { type: 'ioreq_server', id }))).toBe('EINVAL');
      expect(code(() => h.resourceFrames(g, { type: 'ioreq_server' } as never))).toBe('EINVAL');
      for (const gfns of [[], '0', null, { length: 1, 0: 0 }, [-1], [2 ** 40], [2n ** 40n], [1.5], ['1'], [0, undefined]]) {
        expect([gfns, code(() => h.mapForeign(g, gfns as never))]).toEqual([gfns, 'EINVAL']);
      }
      expect(code(() => h.mapForeign(g, new Array(MAX_MAP_PAGES + 1).fill(0)))).toBe('EINVAL');
      const { proxy, revoke } = Proxy.revocable([0], {});
      revoke();
      expect(code(() => h.mapForeign(g, proxy))).toBe('EINVAL');
      expect(code(() => h.mapForeign(g, new Proxy([0, 1], { get: (t, k) => { if (k === '1') throw new Error('boom'); return Reflect.get(t, k); } })))).toBe('EINVAL');
      expect(code(() => h.mapForeign(g, [0], { writable: 1 } as never))).toBe('EINVAL');
      expect(code(() => h.mapForeign(65536, [0]))).toBe('EINVAL');
      // Nothing was acquired: the server's pages are still unallocated, so gfns can still be had.
      expect(h.dmop(g, { op: 'get_ioreq_server_info', id }).ioreqGfn).toBeGreaterThan(0n);
    });
  });
}

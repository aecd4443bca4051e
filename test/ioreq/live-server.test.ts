// createIoreqServer on the simulated host with nothing injected: the pages
// come from privcmd.mapResource, guest RAM (data_is_ptr) from mapForeign,
// and serve() runs until close().
import { IOREQ_AT, IOREQ_STATE, IOREQ_TYPE } from '../../lib/abi/ioreq';
import { openEventChannels } from '../../lib/evtchn';
import { ForeignGuestMemory } from '../../lib/ioreq/guest-memory';
import { createIoreqServer, type DmopHandle } from '../../lib/ioreq/server';
import { open } from '../../lib/privcmd';
import { createSimulatedHost } from '../../lib/sim/host';
import { code } from '../support/code';

function world() {
  const host = createSimulatedHost();
  const guest = host.createDomain({ type: 'hvm', vcpus: 2, memoryPages: 64 });
  const privcmd = open({ host, domain: 0 });
  const evtchn = openEventChannels({ host, domain: 0 });
  return { host, guest, privcmd, evtchn, done: () => { evtchn.close(); privcmd.close(); host.close(); } };
}

test('privcmd.mapResource is the default: the server is created, enabled and bound, and close() leaves no server', () => {
  const w = world();
  const s = createIoreqServer({ privcmd: w.privcmd, evtchn: w.evtchn, domid: w.guest, bufioreq: true });
  expect(s.ports()).toHaveLength(3); // two vCPUs and the buffered port
  expect(w.host.inspect(w.guest).ioreqServers.map((x) => x.id)).toEqual([s.id]);
  s.close();
  expect(w.host.inspect(w.guest).ioreqServers).toEqual([]);
  w.done();
});

test('bad options are coded and create nothing', () => {
  const w = world();
  expect(code(() => createIoreqServer({ privcmd: w.privcmd, evtchn: w.evtchn, domid: w.guest, mapResource: 5 as never }))).toBe('EINVAL');
  expect(code(() => createIoreqServer({ privcmd: { dmop: () => ({}) }, evtchn: w.evtchn, domid: w.guest }))).toBe('EINVAL');
  expect(code(() => createIoreqServer({ privcmd: w.privcmd, evtchn: w.evtchn, domid: w.guest, guestMemory: { read: 1 } as never }))).toBe('EINVAL');
  expect(w.host.inspect(w.guest).ioreqServers).toEqual([]);
  w.done();
});

test('serve() resolves once the server is closed, and refuses a closed server', async () => {
  const w = world();
  const s = createIoreqServer({ privcmd: w.privcmd, evtchn: w.evtchn, domid: w.guest });
  const serving = s.serve();
  await new Promise((r) => setImmediate(r));
  s.close();
  w.evtchn.close(); // cancels the wait in flight
  await expect(serving).resolves.toBeUndefined();
  await expect(s.serve()).rejects.toMatchObject({ code: 'EINVAL' });
  w.privcmd.close();
  w.host.close();
});

test('serve() resolves at close() even while the event-channel handle stays open', async () => {
  const w = world();
  const s = createIoreqServer({ privcmd: w.privcmd, evtchn: w.evtchn, domid: w.guest });
  let settled = false;
  const serving = s.serve().then(() => { settled = true; });
  await new Promise((r) => setImmediate(r));
  expect(settled).toBe(false);
  s.close();
  await serving;
  expect(settled).toBe(true);
  w.done(); // closes the handle: the wait left in flight ends (EBADF), handled
  await new Promise((r) => setImmediate(r));
});

test('ForeignGuestMemory reads and writes guest RAM across a page boundary, through mapForeign', () => {
  const w = world();
  const mem = new ForeignGuestMemory((gfn) => w.privcmd.mapForeign(w.guest, [gfn]));
  const src = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
  mem.write(0x1ffbn, src); // 5 bytes in gfn 1, 5 in gfn 2
  expect([...w.host.guestRead(w.guest, 1).subarray(4091)]).toEqual([1, 2, 3, 4, 5]);
  expect([...w.host.guestRead(w.guest, 2).subarray(0, 5)]).toEqual([6, 7, 8, 9, 10]);
  const back = new Uint8Array(10);
  mem.read(0x1ffbn, back);
  expect([...back]).toEqual([...src]);
  // An unpopulated gfn: mapForeign's per-page error, thrown coded.
  expect(code(() => mem.read(0x100000n, new Uint8Array(1)))).not.toBe('no error');
  mem.close();
  expect(code(() => mem.read(0n, new Uint8Array(1)))).toBe('EBADF');
  w.done();
});

test('ForeignGuestMemory keeps at most 16 pages mapped and unmaps the oldest', () => {
  const live = new Set<bigint>();
  const mem = new ForeignGuestMemory((gfn) => {
    live.add(gfn);
    return { bytes: new Uint8Array(4096), errors: [0], unmap: () => live.delete(gfn) };
  });
  for (let g = 0n; g < 20n; g++) mem.read(g << 12n, new Uint8Array(1));
  expect([...live].sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 16 }, (_, i) => BigInt(i + 4)));
  mem.close();
  expect(live.size).toBe(0);
});

test('flush() unmaps every kept page and the next access maps afresh', () => {
  const maps: bigint[] = [];
  let live = 0;
  const mem = new ForeignGuestMemory((gfn) => {
    maps.push(gfn);
    live++;
    return { bytes: new Uint8Array(4096), errors: [0], unmap: () => { live--; } };
  });
  mem.read(0x3000n, new Uint8Array(1));
  mem.read(0x3001n, new Uint8Array(1)); // kept: no second map
  expect(maps).toEqual([3n]);
  mem.flush();
  expect(live).toBe(0);
  mem.read(0x3000n, new Uint8Array(1));
  expect(maps).toEqual([3n, 3n]);
  mem.close();
});

test('a mapping without a page of bytes is refused and unmapped', () => {
  let unmapped = 0;
  const mem = new ForeignGuestMemory(() => ({ bytes: null, errors: [0], unmap: () => { unmapped++; } }));
  expect(code(() => mem.write(0n, new Uint8Array(1)))).toBe('EFAULT');
  expect(unmapped).toBe(1);
});

test('IOREQ_TYPE_INVALIDATE unmaps the guest pages the server keeps for data_is_ptr', () => {
  let page = new Uint8Array(0);
  let live = 0;
  const privcmd = {
    dmop(_d: number, req: { op: string; enabled?: boolean }) {
      if (req.op === 'nr_vcpus') return { vcpus: 1 };
      if (req.op === 'create_ioreq_server') return { id: 1 };
      if (req.op === 'set_ioreq_server_state' && req.enabled === true) new DataView(page.buffer).setUint32(IOREQ_AT.vpEport, 40, true);
      return {};
    },
    mapResource: () => { page = new Uint8Array(4096); return { bytes: page, unmap: () => undefined }; },
    mapForeign: () => { live++; return { bytes: new Uint8Array(4096), errors: [0], unmap: () => { live--; } }; },
  };
  const evtchn = { bindInterdomain: (_d: number, p: number) => p + 100, unbind: () => undefined, notify: () => undefined, unmask: () => undefined };
  const s = createIoreqServer({ privcmd: privcmd as unknown as DmopHandle, evtchn, domid: 1 });
  s.ownMemory!.read(0x5000n, new Uint8Array(4));
  expect(live).toBe(1);
  const dv = new DataView(page.buffer);
  dv.setUint8(IOREQ_AT.type, IOREQ_TYPE.INVALIDATE);
  dv.setUint8(IOREQ_AT.flags, IOREQ_STATE.IOREQ_READY);
  s.handle([140]);
  expect(live).toBe(0);
  expect(dv.getUint8(IOREQ_AT.flags) & 0xf).toBe(IOREQ_STATE.IORESP_READY);
  s.close();
});

// createIoreqServer's glue against fakes of privcmd, /dev/xen/evtchn and
// mapResource that record every call: the order of creation and teardown,
// the undo on failure, and how fired ports reach the engine. (The pages are
// plain ArrayBuffers; the fake "Xen" writes each vCPU's port into its slot
// when the server is enabled, as xen/common/ioreq.c does.)
import { BUFFERED_IOPAGE_AT, IOREQ_AT, IOREQ_STATE, IOREQ_TYPE, IOREQ_WRITE } from '../../lib/abi/ioreq';
import { codedError } from '../../lib/errors';
import { type IoDevice } from '../../lib/ioreq/claims';
import { type DmopHandle, type EventChannelHandle, type MapResource, createIoreqServer } from '../../lib/ioreq/server';

type Call = (string | number | bigint | boolean)[];

function fakes(opts: { vcpus?: number; failOn?: string; failBindAt?: number } = {}) {
  const calls: Call[] = [];
  let pages: Uint8Array | undefined;
  let bufferedFirst = false;
  const privcmd: DmopHandle = {
    dmop(domid: number, req: { op: string; [k: string]: unknown }) {
      const args = Object.entries(req).filter(([k]) => k !== 'op').map(([, v]) => v as string | number | bigint | boolean);
      calls.push(['dmop', req.op, domid, ...args]);
      if (opts.failOn === req.op) throw codedError('EPERM', 'ioctl', `fake refuses ${req.op}`);
      switch (req.op) {
        case 'nr_vcpus': return { vcpus: opts.vcpus ?? 2 };
        case 'create_ioreq_server': return { id: 3 };
        case 'get_ioreq_server_info': return { bufioreqPort: 50, ioreqGfn: 0n, bufioreqGfn: 0n };
        case 'set_ioreq_server_state':
          if (req.enabled === true && pages !== undefined) {
            const dv = new DataView(pages.buffer, bufferedFirst ? 4096 : 0, 4096);
            for (let v = 0; v < (opts.vcpus ?? 2); v++) dv.setUint32(v * 32 + IOREQ_AT.vpEport, 40 + v, true);
          }
          return {};
        default: return {};
      }
    },
  } as DmopHandle;
  let binds = 0;
  const evtchn: EventChannelHandle = {
    bindInterdomain(d, remote) {
      calls.push(['bind', d, remote]);
      if (opts.failBindAt === binds++) throw codedError('ENOSPC', 'ioctl', 'fake: no ports');
      return remote + 100;
    },
    unbind(p) { calls.push(['unbind', p]); },
    notify(p) { calls.push(['notify', p]); },
    unmask(p) { calls.push(['unmask', p]); },
  };
  const mapResource: MapResource = (domid, type, id, frame, nr) => {
    calls.push(['map', domid, type, id, frame, nr]);
    pages = new Uint8Array(nr * 4096);
    bufferedFirst = nr === 2;
    return { bytes: pages, unmap: () => { calls.push(['unmap']); } };
  };
  return { calls, privcmd, evtchn, mapResource, page: () => pages as Uint8Array };
}

const code = (f: () => unknown): string => {
  try { f(); } catch (e) { return (e as { code?: string }).code ?? `uncoded ${String(e)}`; }
  return 'no error';
};

const device = (): IoDevice & { writes: number[] } => {
  const writes: number[] = [];
  return { writes, read: () => 0x60, write: (_o, _s, v) => { writes.push(Number(v)); } };
};

describe('createIoreqServer', () => {
  test('with a buffered ring: create, map both frames, info, enable, then bind each vCPU and the ring', () => {
    const f = fakes();
    const s = createIoreqServer({ privcmd: f.privcmd, evtchn: f.evtchn, domid: 7, bufioreq: true, mapResource: f.mapResource });
    expect(f.calls).toEqual([
      ['dmop', 'nr_vcpus', 7],
      ['dmop', 'create_ioreq_server', 7, 'atomic'],
      ['map', 7, 0, 3, 0, 2],
      ['dmop', 'get_ioreq_server_info', 7, 3, 1],
      ['dmop', 'set_ioreq_server_state', 7, 3, true],
      ['bind', 7, 40], ['bind', 7, 41], ['bind', 7, 50],
    ]);
    expect(s.id).toBe(3);
    expect(s.ports()).toEqual([140, 141, 150]);
  });

  test('without one: only the synchronous frame, no info call', () => {
    const f = fakes({ vcpus: 1 });
    const s = createIoreqServer({ privcmd: f.privcmd, evtchn: f.evtchn, domid: 7, mapResource: f.mapResource });
    expect(f.calls.map((c) => c.slice(0, 2))).toEqual([
      ['dmop', 'nr_vcpus'], ['dmop', 'create_ioreq_server'], ['map', 7], ['dmop', 'set_ioreq_server_state'], ['bind', 7],
    ]);
    expect(f.calls[1]).toEqual(['dmop', 'create_ioreq_server', 7, 'off']);
    expect(f.calls[2]).toEqual(['map', 7, 0, 3, 1, 1]);
    expect(s.ports()).toEqual([140]);
  });

  test.each([
    ['the second vCPU bind', { failBindAt: 1 }, [['unbind', 140], ['dmop', 'set_ioreq_server_state', 7, 3, false], ['unmap'], ['dmop', 'destroy_ioreq_server', 7, 3]]],
    ['enabling', { failOn: 'set_ioreq_server_state' }, [['unmap'], ['dmop', 'destroy_ioreq_server', 7, 3]]],
    ['creating', { failOn: 'create_ioreq_server' }, []],
  ] as const)('a failure at %s undoes everything before it, in reverse', (_n, opts, undo) => {
    const f = fakes(opts);
    let err = '';
    try {
      createIoreqServer({ privcmd: f.privcmd, evtchn: f.evtchn, domid: 7, mapResource: f.mapResource });
    } catch (e) { err = (e as { code: string }).code; }
    expect(err).toBe('failBindAt' in opts ? 'ENOSPC' : 'EPERM');
    const at = f.calls.findIndex((c) => (c[0] === 'bind' && 'failBindAt' in opts && c[2] === 41) || c[1] === ('failOn' in opts ? opts.failOn : ''));
    expect(f.calls.slice(at + 1)).toEqual(undo);
  });

  test('bad options are EINVAL and touch nothing', () => {
    const f = fakes();
    const ok = { privcmd: f.privcmd, evtchn: f.evtchn, domid: 7, mapResource: f.mapResource };
    for (const o of [null, 5, { ...ok, privcmd: {} }, { ...ok, evtchn: { bindInterdomain() { return 1; } } }, { ...ok, mapResource: 1 },
      { ...ok, domid: -1 }, { ...ok, domid: 0x7ff0 }, { ...ok, domid: '7' }, { ...ok, bufioreq: 'atomic' }]) {
      expect(code(() => createIoreqServer(o as never))).toBe('EINVAL');
    }
    expect(f.calls).toEqual([]);
  });

  test('a mapping that is not the pages asked for is EINVAL, and the server is destroyed', () => {
    const f = fakes();
    const mapResource: MapResource = () => ({ bytes: new Uint8Array(100), unmap: () => { f.calls.push(['unmap']); } });
    expect(code(() => createIoreqServer({ privcmd: f.privcmd, evtchn: f.evtchn, domid: 7, mapResource }))).toBe('EINVAL');
    expect(f.calls.slice(-2)).toEqual([['unmap'], ['dmop', 'destroy_ioreq_server', 7, 3]]);
  });
});

describe('a live server', () => {
  function live() {
    const f = fakes();
    const s = createIoreqServer({ privcmd: f.privcmd, evtchn: f.evtchn, domid: 7, bufioreq: true, mapResource: f.mapResource });
    f.calls.length = 0;
    return { f, s };
  }

  test('claims are mapped in Xen too; an overlap is EEXIST before any DMOP; a refused DMOP leaves no claim', () => {
    const { f, s } = live();
    const d = device();
    const c = s.claimPorts(0x3f8, 0x3ff, d);
    s.claimMmio(0xfed00000n, 0xfed00fffn, d);
    s.claimPci(0x18, d);
    expect(f.calls).toEqual([
      ['dmop', 'map_io_range_to_ioreq_server', 7, 3, 'port', 0x3f8n, 0x3ffn],
      ['dmop', 'map_io_range_to_ioreq_server', 7, 3, 'memory', 0xfed00000n, 0xfed00fffn],
      ['dmop', 'map_io_range_to_ioreq_server', 7, 3, 'pci', 0x18n, 0x18n],
    ]);
    f.calls.length = 0;
    expect(code(() => s.claimPorts(0x3fc, 0x400, d))).toBe('EEXIST');
    expect(f.calls).toEqual([]);
    expect(s.release(c)).toBe(true);
    expect(s.release(c)).toBe(false);
    expect(f.calls).toEqual([['dmop', 'unmap_io_range_from_ioreq_server', 7, 3, 'port', 0x3f8n, 0x3ffn]]);
    const g = fakes({ failOn: 'map_io_range_to_ioreq_server' });
    const s2 = createIoreqServer({ privcmd: g.privcmd, evtchn: g.evtchn, domid: 7, mapResource: g.mapResource });
    expect(code(() => s2.claimPorts(0x60, 0x64, d))).toBe('EPERM');
    expect(s2.engine.claimed()).toEqual([]);
  });

  test('handle(): a vCPU port serves its slot and notifies; an empty slot does not; the ring port drains; others are ignored', () => {
    const { f, s } = live();
    const d = device();
    s.claimPorts(0x3f8, 0x3ff, d);
    f.calls.length = 0;
    const dv = new DataView(f.page().buffer);
    const slot1 = 4096 + 32; // vCPU 1, after the buffered page
    dv.setBigUint64(slot1 + IOREQ_AT.addr, 0x3f8n, true);
    dv.setBigUint64(slot1 + IOREQ_AT.data, 0x41n, true);
    dv.setUint32(slot1 + IOREQ_AT.count, 1, true);
    dv.setUint32(slot1 + IOREQ_AT.size, 1, true);
    dv.setUint8(slot1 + IOREQ_AT.type, IOREQ_TYPE.PIO);
    dv.setUint8(slot1 + IOREQ_AT.flags, IOREQ_STATE.IOREQ_READY | (IOREQ_WRITE << 5));
    // One buffered write on the ring too.
    dv.setUint32(BUFFERED_IOPAGE_AT.slots, (IOREQ_TYPE.PIO | (0x3f8 << 12)) >>> 0, true);
    dv.setUint32(BUFFERED_IOPAGE_AT.slots + 4, 0x42, true);
    dv.setUint32(BUFFERED_IOPAGE_AT.writePointer, 1, true);
    s.handle([140, 141, 150, 999]);
    expect(f.calls).toEqual([['unmask', 140], ['notify', 141], ['unmask', 141], ['unmask', 150]]);
    expect(d.writes).toEqual([0x41, 0x42]);
    expect(dv.getUint8(slot1 + IOREQ_AT.flags) & 0xf).toBe(IOREQ_STATE.IORESP_READY);
    expect(dv.getUint32(BUFFERED_IOPAGE_AT.readPointer, true)).toBe(1);
  });

  test('close(): disable, release ranges, unbind, unmap, destroy; even after a device error; twice is harmless', () => {
    const { f, s } = live();
    const errors: unknown[] = [];
    s.on('deviceError', (e) => errors.push(e));
    s.claimPorts(0x60, 0x60, { read: () => { throw new Error('broken'); }, write: () => undefined });
    const dv = new DataView(f.page().buffer);
    dv.setBigUint64(4096 + IOREQ_AT.addr, 0x60n, true);
    dv.setUint32(4096 + IOREQ_AT.size, 1, true);
    dv.setUint8(4096 + IOREQ_AT.flags, IOREQ_STATE.IOREQ_READY | (1 << 5));
    s.handle([140]);
    expect(errors).toHaveLength(1);
    f.calls.length = 0;
    s.close();
    expect(f.calls).toEqual([
      ['dmop', 'set_ioreq_server_state', 7, 3, false],
      ['dmop', 'unmap_io_range_from_ioreq_server', 7, 3, 'port', 0x60n, 0x60n],
      ['unbind', 140], ['unbind', 141], ['unbind', 150],
      ['unmap'],
      ['dmop', 'destroy_ioreq_server', 7, 3],
    ]);
    s.close();
    expect(f.calls).toHaveLength(7);
    expect(code(() => s.claimPorts(1, 2, device()))).toBe('EINVAL');
    expect(code(() => s.handle([140]))).toBe('EINVAL');
  });

  test('handle(): a throwing deviceError listener still leaves every vCPU answered, notified and unmasked', () => {
    const { f, s } = live();
    const oops = new Error('listener');
    s.on('deviceError', () => { throw oops; });
    s.claimPorts(0x60, 0x60, { read: () => { throw new Error('broken'); }, write: () => undefined });
    f.calls.length = 0;
    const dv = new DataView(f.page().buffer);
    for (const v of [0, 1]) {
      const at = 4096 + v * 32;
      dv.setBigUint64(at + IOREQ_AT.addr, 0x60n, true);
      dv.setUint32(at + IOREQ_AT.size, 1, true);
      dv.setUint8(at + IOREQ_AT.flags, IOREQ_STATE.IOREQ_READY | (1 << 5));
    }
    expect(() => s.handle([140, 141])).toThrow(oops);
    expect(f.calls).toEqual([['notify', 140], ['unmask', 140], ['notify', 141], ['unmask', 141]]);
    for (const v of [0, 1]) expect(dv.getUint8(4096 + v * 32 + IOREQ_AT.flags) & 0xf).toBe(IOREQ_STATE.IORESP_READY);
  });

  test('a failing teardown step does not stop the others; the first failure is thrown', () => {
    const { f, s } = live();
    const unbind = f.evtchn.unbind;
    f.evtchn.unbind = (p) => { unbind(p); throw codedError('ENOTCONN', 'ioctl', 'fake'); };
    expect(code(() => s.close())).toBe('ENOTCONN');
    expect(f.calls.map((c) => c[0] === 'dmop' ? c[1] : c[0])).toEqual(['set_ioreq_server_state', 'unbind', 'unbind', 'unbind', 'unmap', 'destroy_ioreq_server']);
  });
});

// The simulated Xen's half of the ioreq protocol, seen from a device model
// that reads and answers the raw pages itself: the ioreq_t slot exactly as
// Xen 4.17 lays it out, the routing (Xen's own handlers, then the claiming
// server by ioreq_server_select's order, then the null handler), PCI config
// through 0xcf8/0xcfc, the buffered ring, string I/O splitting, and what a
// paused, destroyed or crashed domain does to a waiting vCPU. The real host
// runs guests with its own harness, so these live here, not in test/contract.
import { createSimulatedHost, type SimulatedHost } from '../../lib/sim/host';
import { open, type Privcmd } from '../../lib/privcmd';
import { openEventChannels, type EventChannels } from '../../lib/evtchn';
import { BUFFERED_IOPAGE_AT, IOREQ_AT, IOREQ_STATE, IOREQ_TYPE } from '../../lib/abi/ioreq';
import { pciSbdf } from '../../lib/dmop/ops';
import { uartPrintProgram, MAX_GUEST_REPS } from '../../lib/sim/guest-runner';

const flush = () => new Promise((r) => setImmediate(r));

/** What a pending promise has settled to so far. */
interface Tracked<T> { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: { code?: string } }
function track<T>(p: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { state: 'pending' };
  p.then((value) => { t.state = 'resolved'; t.value = value; }, (error) => { t.state = 'rejected'; t.error = error; });
  return t;
}

interface Slot { addr: bigint; data: bigint; count: number; size: number; vpEport: number; state: number; dataIsPtr: boolean; dir: number; df: boolean; pad: number; type: number }

/** A device model that works the raw pages: one server, its pages mapped, its ports bound. */
class RawDm {
  readonly privcmd: Privcmd;
  readonly evtchn: EventChannels;
  readonly id: number;
  readonly page: Uint8Array;
  readonly buf: Uint8Array | null;
  readonly ports: number[] = [];
  readonly bufPort: number | null = null;
  readonly unmap: () => void;

  constructor(readonly host: SimulatedHost, readonly g: number, options: { bufioreq?: boolean; vcpus?: number; privcmd?: Privcmd; evtchn?: EventChannels } = {}) {
    this.privcmd = options.privcmd ?? open({ host, domain: 0 });
    this.evtchn = options.evtchn ?? openEventChannels({ host, domain: 0 });
    const b = options.bufioreq === true;
    this.id = this.privcmd.dmop(g, { op: 'create_ioreq_server', handleBufioreq: b ? 'atomic' : 'off' }).id;
    const m = this.privcmd.mapResource(g, { type: 'ioreq_server', id: this.id, frame: b ? 0 : 1, count: b ? 2 : 1 });
    this.unmap = () => m.unmap();
    this.page = m.bytes!.subarray(b ? 4096 : 0, b ? 8192 : 4096);
    this.buf = b ? m.bytes!.subarray(0, 4096) : null;
    this.privcmd.dmop(g, { op: 'set_ioreq_server_state', id: this.id, enabled: true });
    const dv = new DataView(this.page.buffer, this.page.byteOffset);
    for (let v = 0; v < (options.vcpus ?? 1); v++) this.ports.push(this.evtchn.bindInterdomain(g, dv.getUint32(v * 32 + IOREQ_AT.vpEport, true)));
    if (b) this.bufPort = this.evtchn.bindInterdomain(g, this.privcmd.dmop(g, { op: 'get_ioreq_server_info', id: this.id, flags: 1 }).bufioreqPort);
    // Fresh bindings arrive pending once: take them.
    for (const p of this.evtchn.pending()) this.evtchn.unmask(p);
  }

  claim(type: 'port' | 'memory' | 'pci', start: bigint, end = start): void {
    this.privcmd.dmop(this.g, { op: 'map_io_range_to_ioreq_server', id: this.id, type, start, end });
  }

  slot(v = 0): Slot {
    const dv = new DataView(this.page.buffer, this.page.byteOffset + v * 32, 32);
    const f = dv.getUint8(IOREQ_AT.flags);
    return {
      addr: dv.getBigUint64(0, true), data: dv.getBigUint64(8, true), count: dv.getUint32(16, true), size: dv.getUint32(20, true),
      vpEport: dv.getUint32(24, true), pad: dv.getUint16(28, true), state: f & 15, dataIsPtr: (f & 16) !== 0, dir: (f >> 5) & 1, df: (f & 64) !== 0,
      type: dv.getUint8(IOREQ_AT.type),
    };
  }

  /** Answer vCPU v's request: data (for a read), then state, then notify. */
  answer(v: number, data?: bigint, state: number = IOREQ_STATE.IORESP_READY): void {
    const dv = new DataView(this.page.buffer, this.page.byteOffset + v * 32, 32);
    if (data !== undefined) dv.setBigUint64(8, data, true);
    dv.setUint8(IOREQ_AT.flags, (dv.getUint8(IOREQ_AT.flags) & 0xf0) | state);
    this.evtchn.notify(this.ports[v]!);
  }

  /** The ports that fired, unmasked again. */
  fired(): number[] {
    const p = this.evtchn.pending();
    for (const x of p) this.evtchn.unmask(x);
    return p;
  }
}

describe('guest I/O on the simulated host', () => {
  let host: SimulatedHost;
  let g: number;
  beforeEach(() => {
    host = createSimulatedHost();
    g = host.createDomain({ type: 'hvm', vcpus: 2, memoryPages: 64 });
    host.unpauseDomain(g);
  });
  afterEach(() => host.close());

  test('nobody claims it: the null handler reads all-ones of the access width and drops writes', async () => {
    const before = host.inspect(g);
    expect(await host.guestIo(g, 0, { op: 'in', addr: 0x3f8, size: 1 })).toBe(0xff);
    expect(await host.guestIo(g, 0, { op: 'in', addr: 0x3f8, size: 2 })).toBe(0xffff);
    expect(await host.guestIo(g, 1, { op: 'in', addr: 0x3f8, size: 4 })).toBe(0xffffffff);
    expect(await host.guestIo(g, 0, { op: 'read', addr: 0xfe000000n, size: 8 })).toBe(0xffffffffffffffffn);
    expect(await host.guestIo(g, 0, { op: 'out', addr: 0x3f8, size: 1, value: 0x41 })).toBeUndefined();
    expect(await host.guestIo(g, 0, { op: 'write', addr: 0xfe000000n, size: 4, value: 7 })).toBeUndefined();
    expect(host.inspect(g)).toEqual(before);
  });

  test('a null-handled string read fills the guest buffer with all-ones; a string write reads it and drops it', async () => {
    host.guestWrite(g, 3, Uint8Array.of(1, 2, 3, 4));
    await host.guestIo(g, 0, { op: 'in', addr: 0x60, size: 1, count: 3, gpa: 0x3001 });
    expect([...host.guestRead(g, 3).subarray(0, 5)]).toEqual([1, 0xff, 0xff, 0xff, 0]);
    expect(await host.guestIo(g, 0, { op: 'out', addr: 0x60, size: 2, count: 2, gpa: 0x3000 })).toBeUndefined();
  });

  test('port 0xe9 is Xen\'s debug console: printable bytes, a line per newline; a read falls through to the null handler', async () => {
    await host.runGuest(g, 0, [...'hi\tthere\x01\n'].map((c) => ({ op: 'out' as const, addr: 0xe9, size: 1, value: c.charCodeAt(0) })));
    expect(host.inspect(g).debugConsole).toEqual(['hi\tthere']);
    expect(await host.guestIo(g, 0, { op: 'in', addr: 0xe9, size: 1 })).toBe(0xff);
  });

  test('a claimed port: the request sits in the vCPU\'s slot exactly as Xen lays it out, then the answer completes the read', async () => {
    const dm = new RawDm(host, g, { vcpus: 2 });
    dm.claim('port', 0x3f8n, 0x3ffn);
    const read = track(host.guestIo(g, 1, { op: 'in', addr: 0x3fd, size: 2 }));
    await flush();
    expect(dm.fired()).toEqual([dm.ports[1]]);
    const s = dm.slot(1);
    expect(s).toEqual({
      addr: 0x3fdn, data: 0n, count: 1, size: 2, vpEport: host.domainById(g)!.ioreqServers[dm.id]!.vcpuPorts[1], pad: 0,
      state: IOREQ_STATE.IOREQ_READY, dataIsPtr: false, dir: 1, df: false, type: IOREQ_TYPE.PIO,
    });
    expect(dm.slot(0).state).toBe(IOREQ_STATE.NONE);
    expect(read.state).toBe('pending');
    dm.answer(1, 0x1234n);
    await flush();
    expect(read).toMatchObject({ state: 'resolved', value: 0x1234 });
    // wait_for_io took the answer: the slot is free again, its other fields as the device model left them.
    expect(dm.slot(1)).toMatchObject({ state: IOREQ_STATE.NONE, data: 0x1234n, dir: 1 });
  });

  test('a write carries its value; the vCPU waits for IORESP_READY before going on', async () => {
    const dm = new RawDm(host, g);
    dm.claim('memory', 0xfe000000n, 0xfe000fffn);
    const w = track(host.guestIo(g, 0, { op: 'write', addr: 0xfe000010n, size: 8, value: 0x1122334455667788n }));
    await flush();
    expect(dm.slot()).toMatchObject({ addr: 0xfe000010n, data: 0x1122334455667788n, size: 8, count: 1, dir: 0, type: IOREQ_TYPE.COPY, state: 1 });
    // A spurious event (state still READY) does not end the wait.
    dm.evtchn.notify(dm.ports[0]!);
    await flush();
    expect(w.state).toBe('pending');
    dm.answer(0);
    await flush();
    expect(w.state).toBe('resolved');
  });

  test('a device model that sets the slot back to NONE instead of answering: the read gets all-ones (wait_for_io)', async () => {
    const dm = new RawDm(host, g);
    dm.claim('port', 0x100n);
    const r = track(host.guestIo(g, 0, { op: 'in', addr: 0x100, size: 4 }));
    await flush();
    dm.answer(0, 5n, IOREQ_STATE.NONE);
    await flush();
    expect(r).toMatchObject({ state: 'resolved', value: 0xffffffff });
  });

  test('a state going backwards crashes the domain (SHUTDOWN_crash) and rejects the access with EIO', async () => {
    const dm = new RawDm(host, g);
    dm.claim('port', 0x100n);
    const r = track(host.guestIo(g, 0, { op: 'in', addr: 0x100, size: 1 }));
    await flush();
    dm.answer(0, undefined, IOREQ_STATE.IOREQ_INPROCESS);
    await flush();
    expect(r.state).toBe('pending');
    dm.answer(0, undefined, IOREQ_STATE.IOREQ_READY);
    await flush();
    expect(r).toMatchObject({ state: 'rejected', error: { code: 'EIO' } });
    expect(host.inspect(g).shutdownReason).toBe(3);
  });

  test('a slot the device model left busy: Xen refuses to send (EIO), nothing else changes', async () => {
    const dm = new RawDm(host, g);
    dm.claim('port', 0x100n);
    dm.page[IOREQ_AT.flags] = IOREQ_STATE.IORESP_READY;
    await expect(host.guestIo(g, 0, { op: 'in', addr: 0x100, size: 1 })).rejects.toMatchObject({ code: 'EIO' });
    expect(dm.fired()).toEqual([]);
    expect(host.inspect(g).shutdownReason).toBeNull();
  });

  test('two servers claiming the same port: the enabled one with the highest id is chosen (ioreq_server_select)', async () => {
    const evtchn = openEventChannels({ host, domain: 0 });
    const privcmd = open({ host, domain: 0 });
    const a = new RawDm(host, g, { privcmd, evtchn });
    const b = new RawDm(host, g, { privcmd, evtchn });
    expect([a.id, b.id]).toEqual([0, 1]);
    a.claim('port', 0x200n, 0x207n);
    b.claim('port', 0x200n, 0x201n);
    const first = track(host.guestIo(g, 0, { op: 'in', addr: 0x200, size: 1 }));
    await flush();
    expect([a.slot().state, b.slot().state]).toEqual([0, 1]);
    b.answer(0, 0xbn);
    await flush();
    expect(first.value).toBe(0xb);
    // Past b's range (the whole access must fit it): a's.
    const second = track(host.guestIo(g, 0, { op: 'in', addr: 0x201, size: 2 }));
    await flush();
    expect([a.slot().state, b.slot().state]).toEqual([1, 0]);
    a.answer(0, 0xaaaan);
    await flush();
    expect(second.value).toBe(0xaaaa);
    // A disabled server is skipped.
    privcmd.dmop(g, { op: 'set_ioreq_server_state', id: b.id, enabled: false });
    const third = track(host.guestIo(g, 0, { op: 'in', addr: 0x200, size: 1 }));
    await flush();
    expect([a.slot().state, b.slot().state]).toEqual([1, 0]);
    a.answer(0, 0xan);
    await flush();
    expect(third.value).toBe(0xa);
  });

  test('PCI config: 0xcf8 latches (and falls through); 0xcfc-0xcff become IOREQ_TYPE_PCI_CONFIG for the server claiming the SBDF', async () => {
    const dm = new RawDm(host, g);
    const sbdf = pciSbdf(0, 0, 3, 0);
    dm.claim('pci', BigInt(sbdf));
    dm.claim('port', 0xcf8n, 0xcfbn);
    // The latch write also reaches the server claiming port 0xcf8.
    const latch = track(host.guestIo(g, 0, { op: 'out', addr: 0xcf8, size: 4, value: 0x80001808 }));
    await flush();
    expect(dm.slot()).toMatchObject({ addr: 0xcf8n, data: 0x80001808n, type: IOREQ_TYPE.PIO, dir: 0 });
    dm.answer(0);
    await flush();
    expect(latch.state).toBe('resolved');
    expect(host.inspect(g).pciCf8).toBe(0x80001808);
    const r = track(host.guestIo(g, 0, { op: 'in', addr: 0xcfe, size: 2 }));
    await flush();
    expect(dm.slot()).toMatchObject({ type: IOREQ_TYPE.PCI_CONFIG, addr: (BigInt(sbdf) << 32n) | 0x0an, size: 2, dir: 1 });
    dm.answer(0, 0x8086n);
    await flush();
    expect(r.value).toBe(0x8086);
    const outCf8 = async (size: number, value: number) => {
      const w = track(host.guestIo(g, 0, { op: 'out', addr: 0xcf8, size, value }));
      await flush();
      dm.answer(0);
      await flush();
      expect(w.state).toBe('resolved');
    };
    // Another function: nobody claims it.
    await outCf8(4, 0x80002000);
    expect(await host.guestIo(g, 0, { op: 'in', addr: 0xcfc, size: 4 })).toBe(0xffffffff);
    // Only a 4-byte write latches; with the enable bit clear, 0xcfc is a plain (unclaimed) port.
    await outCf8(2, 0x1800);
    expect(host.inspect(g).pciCf8).toBe(0x80002000);
    await outCf8(4, 0x00001800);
    expect(host.inspect(g).pciCf8).toBe(0x1800);
    expect(await host.guestIo(g, 0, { op: 'in', addr: 0xcfc, size: 1 })).toBe(0xff);
  });

  test('the VGA window\'s single direct writes go through the buffered ring (8 bytes in two slots) without blocking the vCPU', async () => {
    const dm = new RawDm(host, g, { bufioreq: true });
    dm.claim('memory', 0xa0000n, 0xbffffn);
    await host.guestIo(g, 0, { op: 'write', addr: 0xa0010n, size: 2, value: 0xbeef });
    await host.guestIo(g, 0, { op: 'write', addr: 0xb8000n, size: 8, value: 0x1122334455667788n });
    expect(dm.fired()).toEqual([dm.bufPort]);
    const dv = new DataView(dm.buf!.buffer, dm.buf!.byteOffset);
    expect([dv.getUint32(BUFFERED_IOPAGE_AT.readPointer, true), dv.getUint32(BUFFERED_IOPAGE_AT.writePointer, true)]).toEqual([0, 3]);
    const entry = (i: number) => {
      const w = dv.getUint32(8 + i * 8, true);
      return { type: w & 0xff, dir: (w >> 9) & 1, size: (w >> 10) & 3, addr: w >>> 12, data: dv.getUint32(8 + i * 8 + 4, true) };
    };
    expect([entry(0), entry(1), entry(2)]).toEqual([
      { type: IOREQ_TYPE.COPY, dir: 0, size: 1, addr: 0xa0010, data: 0xbeef },
      { type: IOREQ_TYPE.COPY, dir: 0, size: 3, addr: 0xb8000, data: 0x55667788 },
      { type: IOREQ_TYPE.COPY, dir: 0, size: 3, addr: 0xb8000, data: 0x11223344 },
    ]);
    expect(dm.slot().state).toBe(IOREQ_STATE.NONE);
    // A read there is synchronous.
    const r = track(host.guestIo(g, 0, { op: 'read', addr: 0xa0000n, size: 1 }));
    await flush();
    expect(dm.slot()).toMatchObject({ state: 1, addr: 0xa0000n, dir: 1 });
    dm.answer(0, 7n);
    await flush();
    expect(r.value).toBe(7);
  });

  test('a full ring, or a server without a buffered page, takes VGA writes synchronously', async () => {
    const dm = new RawDm(host, g);
    dm.claim('memory', 0xa0000n, 0xbffffn);
    const w = track(host.guestIo(g, 0, { op: 'write', addr: 0xa0000n, size: 1, value: 1 }));
    await flush();
    expect(dm.slot()).toMatchObject({ state: 1, addr: 0xa0000n, data: 1n, dir: 0 });
    dm.answer(0);
    await flush();
    expect(w.state).toBe('resolved');
    const b = new RawDm(host, g, { bufioreq: true });
    b.privcmd.dmop(g, { op: 'set_ioreq_server_state', id: dm.id, enabled: false });
    b.claim('memory', 0xa0000n, 0xbffffn);
    new DataView(b.buf!.buffer, b.buf!.byteOffset).setUint32(BUFFERED_IOPAGE_AT.writePointer, 511, true); // 511 entries unread
    const full = track(host.guestIo(g, 0, { op: 'write', addr: 0xa0000n, size: 1, value: 2 }));
    await flush();
    expect(b.slot()).toMatchObject({ state: 1, data: 2n });
    b.answer(0);
    await flush();
    expect(full.state).toBe('resolved');
  });

  test('string I/O (data_is_ptr): split at the guest buffer\'s page boundary, the pointer in data, df walking down', async () => {
    const dm = new RawDm(host, g);
    dm.claim('port', 0x60n, 0x63n);
    const w = track(host.guestIo(g, 0, { op: 'out', addr: 0x60, size: 2, count: 6, gpa: 0x1ffc }));
    await flush();
    expect(dm.slot()).toMatchObject({ addr: 0x60n, data: 0x1ffcn, count: 2, size: 2, dataIsPtr: true, dir: 0, df: false, state: 1 });
    dm.answer(0);
    await flush();
    expect(dm.slot()).toMatchObject({ data: 0x2000n, count: 4, state: 1 });
    dm.answer(0);
    await flush();
    expect(w.state).toBe('resolved');
    // Downwards, Xen counts ((offset + size - 1) % 4096) / size items in the page: 2 here, then 1.
    const r = track(host.guestIo(g, 0, { op: 'in', addr: 0x60, size: 4, count: 3, gpa: 0x3008, df: true }));
    await flush();
    expect(dm.slot()).toMatchObject({ data: 0x3008n, count: 2, size: 4, dataIsPtr: true, dir: 1, df: true });
    dm.answer(0);
    await flush();
    expect(dm.slot()).toMatchObject({ data: 0x3000n, count: 1, state: 1 });
    dm.answer(0);
    await flush();
    expect(r.state).toBe('resolved');
  });

  test('MMIO repetitions stop at a page boundary; the rest is the next request', async () => {
    const dm = new RawDm(host, g);
    dm.claim('memory', 0xfe000000n, 0xfe001fffn);
    const w = track(host.guestIo(g, 0, { op: 'write', addr: 0xfe000ff8n, size: 4, value: 9, count: 5 }));
    await flush();
    expect(dm.slot()).toMatchObject({ addr: 0xfe000ff8n, count: 2, data: 9n, dataIsPtr: false });
    dm.answer(0);
    await flush();
    expect(dm.slot()).toMatchObject({ addr: 0xfe001000n, count: 3, state: 1 });
    dm.answer(0);
    await flush();
    expect(w.state).toBe('resolved');
  });

  test('a paused domain\'s vCPU does not run until unpaused, and does not take an answer while paused', async () => {
    const dm = new RawDm(host, g);
    dm.claim('port', 0x100n);
    host.pauseDomain(g);
    const r = track(host.guestIo(g, 0, { op: 'in', addr: 0x100, size: 1 }));
    await flush();
    expect(dm.fired()).toEqual([]);
    expect(dm.slot().state).toBe(IOREQ_STATE.NONE);
    host.unpauseDomain(g);
    await flush();
    expect(dm.fired()).toEqual([dm.ports[0]]);
    host.pauseDomain(g);
    dm.answer(0, 3n);
    await flush();
    expect(r.state).toBe('pending');
    expect(dm.slot().state).toBe(IOREQ_STATE.IORESP_READY);
    host.unpauseDomain(g);
    await flush();
    expect(r).toMatchObject({ state: 'resolved', value: 3 });
  });

  test('a server destroyed after it answered, before the paused vCPU took the answer: the read completes with the request\'s own data (0)', async () => {
    const dm = new RawDm(host, g);
    dm.claim('port', 0x100n);
    const r = track(host.guestIo(g, 0, { op: 'in', addr: 0x100, size: 1 }));
    await flush();
    host.pauseDomain(g);
    dm.answer(0, 0x55n);
    await flush();
    dm.privcmd.dmop(g, { op: 'destroy_ioreq_server', id: dm.id });
    host.unpauseDomain(g);
    await flush();
    expect(r).toMatchObject({ state: 'resolved', value: 0 });
  });

  test('a server destroyed while the vCPU waits for it: the vCPU stays blocked (nothing wakes it) until the domain goes', async () => {
    const dm = new RawDm(host, g);
    dm.claim('port', 0x100n);
    const r = track(host.guestIo(g, 0, { op: 'in', addr: 0x100, size: 1 }));
    await flush();
    dm.privcmd.dmop(g, { op: 'destroy_ioreq_server', id: dm.id });
    await flush();
    expect(r.state).toBe('pending');
    host.destroyDomain(g);
    await flush();
    expect(r).toMatchObject({ state: 'rejected', error: { code: 'ESRCH' } });
  });

  test('destroying the domain mid-request rejects the waiting access with ESRCH; closing the host, with EBADF', async () => {
    const dm = new RawDm(host, g);
    dm.claim('port', 0x100n);
    const r = host.guestIo(g, 0, { op: 'in', addr: 0x100, size: 1 });
    await flush();
    host.destroyDomain(g);
    await expect(r).rejects.toMatchObject({ code: 'ESRCH', syscall: 'guest' });
    await expect(host.guestIo(g, 0, { op: 'in', addr: 0x100, size: 1 })).rejects.toMatchObject({ code: 'ESRCH' });
    const g2 = host.createDomain({ type: 'hvm' }); // paused: its access waits
    const waiting = host.guestIo(g2, 0, { op: 'in', addr: 0x100, size: 1 });
    host.close();
    await expect(waiting).rejects.toMatchObject({ code: 'EBADF' });
    await expect(host.guestIo(g2, 0, { op: 'in', addr: 0x100, size: 1 })).rejects.toMatchObject({ code: 'EBADF' });
  });

  test('one access at a time per vCPU (EBUSY); another vCPU runs meanwhile', async () => {
    const dm = new RawDm(host, g, { vcpus: 2 });
    dm.claim('port', 0x100n);
    const r = track(host.guestIo(g, 0, { op: 'in', addr: 0x100, size: 1 }));
    await expect(host.guestIo(g, 0, { op: 'in', addr: 0x3f8, size: 1 })).rejects.toMatchObject({ code: 'EBUSY' });
    await expect(host.runGuest(g, 0, [])).rejects.toMatchObject({ code: 'EBUSY' });
    expect(await host.guestIo(g, 1, { op: 'in', addr: 0x3f8, size: 1 })).toBe(0xff);
    await flush();
    dm.answer(0, 1n);
    await flush();
    expect(r.value).toBe(1);
  });

  test('runGuest: an until step polls; too many tries is EAGAIN', async () => {
    expect(await host.runGuest(g, 0, [{ op: 'in', addr: 0x3fd, size: 1, until: { mask: 0x20, equals: 0x20 } }])).toEqual({ reads: [0xff] });
    await expect(host.runGuest(g, 0, [{ op: 'in', addr: 0x3fd, size: 1, until: { mask: 0x20, equals: 0 }, tries: 3 }])).rejects.toMatchObject({ code: 'EAGAIN' });
    expect(uartPrintProgram('A\n')).toEqual([
      { op: 'in', addr: 0x3fd, size: 1, until: { mask: 0x20, equals: 0x20 } }, { op: 'out', addr: 0x3f8, size: 1, value: 0x41 },
      { op: 'in', addr: 0x3fd, size: 1, until: { mask: 0x20, equals: 0x20 } }, { op: 'out', addr: 0x3f8, size: 1, value: 0x0a },
    ]);
  });

  describe('bad input is coded and nothing runs', () => {
    const pv = () => host.createDomain({ type: 'pv' });
    const cases: [string, () => Promise<unknown>, string][] = [
      ['no such domain', () => host.guestIo(0x7000, 0, { op: 'in', addr: 0, size: 1 }), 'ESRCH'],
      ['a PV domain', () => host.guestIo(pv(), 0, { op: 'in', addr: 0, size: 1 }), 'EINVAL'],
      ['domid not a number', () => host.guestIo('1' as never, 0, { op: 'in', addr: 0, size: 1 }), 'EINVAL'],
      ['vcpu out of range', () => host.guestIo(g, 2, { op: 'in', addr: 0, size: 1 }), 'EINVAL'],
      ['vcpu negative', () => host.guestIo(g, -1, { op: 'in', addr: 0, size: 1 }), 'EINVAL'],
      ['access not an object', () => host.guestIo(g, 0, null as never), 'EINVAL'],
      ['unknown op', () => host.guestIo(g, 0, { op: 'movs' as never, addr: 0, size: 1 }), 'EINVAL'],
      ['unknown field', () => host.guestIo(g, 0, { op: 'in', addr: 0, size: 1, port: 3 } as never), 'EINVAL'],
      ['port I/O of 8 bytes', () => host.guestIo(g, 0, { op: 'in', addr: 0, size: 8 }), 'EINVAL'],
      ['size 3', () => host.guestIo(g, 0, { op: 'read', addr: 0xfe000000n, size: 3 }), 'EINVAL'],
      ['port past 0xffff', () => host.guestIo(g, 0, { op: 'in', addr: 0xfffe, size: 4 }), 'EINVAL'],
      ['port as a string', () => host.guestIo(g, 0, { op: 'in', addr: '0x60' as never, size: 1 }), 'EINVAL'],
      ['a write without a value', () => host.guestIo(g, 0, { op: 'out', addr: 0x60, size: 1 }), 'EINVAL'],
      ['a value too wide', () => host.guestIo(g, 0, { op: 'out', addr: 0x60, size: 1, value: 0x100 }), 'EINVAL'],
      ['a negative value', () => host.guestIo(g, 0, { op: 'write', addr: 0xfe000000n, size: 8, value: -1n }), 'EINVAL'],
      ['a read with a value', () => host.guestIo(g, 0, { op: 'in', addr: 0x60, size: 1, value: 1 }), 'EINVAL'],
      ['count 0', () => host.guestIo(g, 0, { op: 'out', addr: 0x60, size: 1, value: 1, count: 0 }), 'EINVAL'],
      ['count past the bound', () => host.guestIo(g, 0, { op: 'write', addr: 0xfe000000n, size: 1, value: 1, count: MAX_GUEST_REPS + 1 }), 'EINVAL'],
      ['REP IN without a buffer', () => host.guestIo(g, 0, { op: 'in', addr: 0x60, size: 1, count: 2 }), 'EINVAL'],
      ['df not a boolean', () => host.guestIo(g, 0, { op: 'in', addr: 0x60, size: 1, df: 1 as never }), 'EINVAL'],
      ['MMIO on RAM', () => host.guestIo(g, 0, { op: 'read', addr: 0x1000, size: 4 }), 'EINVAL'],
      ['MMIO past physical memory', () => host.guestIo(g, 0, { op: 'read', addr: 1n << 40n, size: 4 }), 'EINVAL'],
      ['MMIO repetitions running below 0', () => host.guestIo(g, 0, { op: 'write', addr: 0x100000n, size: 4, value: 1, count: 0x100000, df: true }), 'EINVAL'],
      ['a buffer outside RAM', () => host.guestIo(g, 0, { op: 'out', addr: 0x60, size: 1, count: 2, gpa: 0x3fffff }), 'EFAULT'],
      ['a buffer ending outside RAM', () => host.guestIo(g, 0, { op: 'in', addr: 0x60, size: 4, count: 2, gpa: 64 * 4096 - 4 }), 'EFAULT'],
      ['until on guestIo', () => host.guestIo(g, 0, { op: 'in', addr: 0x60, size: 1, until: { mask: 1, equals: 1 } } as never), 'EINVAL'],
      ['a program not an array', () => host.runGuest(g, 0, {} as never), 'EINVAL'],
      ['until on a write', () => host.runGuest(g, 0, [{ op: 'out', addr: 0x60, size: 1, value: 1, until: { mask: 1, equals: 1 } }]), 'EINVAL'],
      ['until without equals', () => host.runGuest(g, 0, [{ op: 'in', addr: 0x60, size: 1, until: { mask: 1 } as never }]), 'EINVAL'],
      ['tries 0', () => host.runGuest(g, 0, [{ op: 'in', addr: 0x60, size: 1, until: { mask: 1, equals: 1 }, tries: 0 }]), 'EINVAL'],
      ['a sparse program', () => host.runGuest(g, 0, new Array(3) as never), 'EINVAL'],
      ['an access whose getter throws', () => host.guestIo(g, 0, { get op(): never { throw new Error('boom'); }, addr: 0, size: 1 } as never), 'EINVAL'],
      ['an until whose getter throws', () => host.runGuest(g, 0, [{ op: 'in', addr: 0x60, size: 1, until: { get mask(): never { throw new RangeError('boom'); }, equals: 1 } }]), 'EINVAL'],
      ['a program whose length throws', () => host.runGuest(g, 0, new Proxy([], { get: (t, k) => { if (k === 'length') throw new TypeError('boom'); return Reflect.get(t, k); } })), 'EINVAL'],
      ['a program too long', () => host.runGuest(g, 0, new Proxy([], { get: (t, k) => (k === 'length' ? 2e6 : Reflect.get(t, k)) })), 'EINVAL'],
    ];
    test.each(cases)('%s', async (_what, call, expected) => {
      const before = host.inspect(g);
      await expect(call()).rejects.toMatchObject({ code: expected });
      expect(host.inspect(g)).toEqual(before);
    });

    test('a bad step late in a program: nothing of the program runs', async () => {
      const before = host.inspect(g);
      await expect(host.runGuest(g, 0, [{ op: 'out', addr: 0xe9, size: 1, value: 0x0a }, { op: 'in', addr: 0x60, size: 3 }])).rejects.toMatchObject({ code: 'EINVAL', step: 1 });
      expect(host.inspect(g)).toEqual(before);
    });
  });
});

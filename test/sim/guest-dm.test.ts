// End to end on the simulated host: a device model written with the
// library's public pieces (open, openEventChannels, restrictAll,
// verifyRestricted, createIoreqServer, Uart16550, serve()) serves a running
// guest's I/O, while a second guest stays out of its reach with the codes
// the real host gives (test/contract: EPERM from privcmd, EACCES from
// evtchn).
import { createSimulatedHost, type SimulatedHost } from '../../lib/sim/host';
import { open, type Privcmd } from '../../lib/privcmd';
import { openEventChannels, type EventChannels } from '../../lib/evtchn';
import { restrictAll, verifyRestricted } from '../../lib/deprivilege/restrict-all';
import { createIoreqServer, type IoreqServer } from '../../lib/ioreq/server';
import { type IoDevice } from '../../lib/ioreq/claims';
import { type DeviceErrorEvent } from '../../lib/ioreq/engine';
import { Uart16550 } from '../../lib/devices/uart16550';
import { pciSbdf } from '../../lib/dmop/ops';
import { allocUnbound } from '../../lib/sim/evtchn';
import { uartPrintProgram } from '../../lib/sim/guest-runner';
import { code } from '../support/code';

/** A device that records what it is asked and answers from `reads`. */
function recorder(answer: (offset: number, size: number) => number | bigint = () => 0) {
  const log: string[] = [];
  const dev: IoDevice = {
    read: (offset, size) => { log.push(`r${size}@${offset}`); return answer(offset, size); },
    write: (offset, size, value) => { log.push(`w${size}@${offset}=${value.toString(16)}`); },
  };
  return { dev, log };
}

interface World {
  host: SimulatedHost;
  guest: number;
  bystander: number;
  bystanderPort: number;
  privcmd: Privcmd;
  evtchn: EventChannels;
  server: IoreqServer;
  serving: Promise<void>;
  errors: DeviceErrorEvent[];
}

/** A restricted device model for `guest`, serving; the guest running. */
function world(): World {
  const host = createSimulatedHost();
  const guest = host.createDomain({ type: 'hvm', vcpus: 2, memoryPages: 64 });
  const bystander = host.createDomain({ type: 'hvm', vcpus: 1, memoryPages: 64 });
  // The bystander offers dom0 a port of its own (what its own device model would bind).
  const bystanderPort = allocUnbound(host.domainById(bystander)!, 0);
  const privcmd = open({ host, domain: 0 });
  const evtchn = openEventChannels({ host, domain: 0 });
  restrictAll(guest, { host, domain: 0 });
  verifyRestricted({ host, domain: 0 });
  const server = createIoreqServer({ privcmd, evtchn, domid: guest, bufioreq: true });
  const errors: DeviceErrorEvent[] = [];
  server.on('deviceError', (e: DeviceErrorEvent) => errors.push(e));
  const serving = server.serve();
  host.unpauseDomain(guest);
  host.unpauseDomain(bystander);
  return { host, guest, bystander, bystanderPort, privcmd, evtchn, server, serving, errors };
}

async function done(w: World): Promise<void> {
  w.server.close();
  w.evtchn.close();
  await w.serving;
  w.privcmd.close();
  w.host.close();
}

describe('a restricted Node device model serves a guest on the simulated host', () => {
  let w: World;
  beforeEach(() => { w = world(); });
  afterEach(() => done(w));

  test('the guest prints a line through the UART, polling LSR; the bystander stays untouched and out of reach', async () => {
    const uart = new Uart16550();
    const lines: string[] = [];
    uart.on('line', (t: string) => lines.push(t));
    w.server.claimPorts(0x3f8, 0x3ff, uart);
    const before = w.host.inspect(w.bystander);
    // The bystander's own COM1 is nobody's: its output goes to the null handler, not to this UART.
    await w.host.runGuest(w.bystander, 0, uartPrintProgram('not for you\n'));
    const { reads } = await w.host.runGuest(w.guest, 0, uartPrintProgram('Hello from a simulated guest\n'));
    expect(lines).toEqual(['Hello from a simulated guest']);
    expect(reads.every((lsr) => (Number(lsr) & 0x60) === 0x60)).toBe(true); // THRE and TEMT each time
    // Out of reach, with the real host's codes.
    const { privcmd, evtchn, bystander, host } = w;
    expect(code(() => privcmd.mapForeign(bystander, [0]))).toBe('EPERM');
    expect(code(() => privcmd.dmop(bystander, { op: 'nr_vcpus' }))).toBe('EPERM');
    expect(code(() => privcmd.dmop(bystander, { op: 'create_ioreq_server', handleBufioreq: 'off' }))).toBe('EPERM');
    expect(code(() => evtchn.bindInterdomain(bystander, w.bystanderPort))).toBe('EACCES');
    expect(code(() => privcmd.hypercall('xen_version', [0]))).toBe('EPERM');
    // Reopening the devices gives handles that start restricted.
    const again = open({ host, domain: 0 });
    const ev2 = openEventChannels({ host, domain: 0 });
    expect([again.restrictedTo, ev2.restrictedTo]).toEqual([w.guest, w.guest]);
    expect(code(() => again.dmop(bystander, { op: 'nr_vcpus' }))).toBe('EPERM');
    expect(code(() => again.mapForeign(bystander, [0]))).toBe('EPERM');
    expect(code(() => ev2.bindInterdomain(bystander, w.bystanderPort))).toBe('EACCES');
    again.close();
    ev2.close();
    expect(host.inspect(bystander)).toEqual(before);
  });

  test('a handler that throws does not wedge the guest: the read gets all-ones, the error is reported, serving goes on', async () => {
    const dev: IoDevice = { read: () => { throw new Error('broken device'); }, write: () => { throw new Error('broken too'); } };
    w.server.claimPorts(0x2f8, 0x2ff, dev);
    expect(await w.host.guestIo(w.guest, 0, { op: 'in', addr: 0x2f8, size: 2 })).toBe(0xffff);
    await w.host.guestIo(w.guest, 1, { op: 'out', addr: 0x2f9, size: 1, value: 1 });
    expect(w.errors.map((e) => [(e.error as Error).message, e.from])).toEqual([['broken device', 0], ['broken too', 1]]);
    const uart = new Uart16550();
    w.server.claimPorts(0x3f8, 0x3ff, uart);
    expect(await w.host.guestIo(w.guest, 0, { op: 'in', addr: 0x3fd, size: 1 })).toBe(0x60);
  });

  test('string I/O (data_is_ptr): the device model reads and writes guest RAM through mapForeign', async () => {
    let next = 0x10;
    const { dev, log } = recorder((_o, size) => (size === 1 ? next++ : 0));
    w.server.claimPorts(0x60, 0x60, dev);
    w.host.guestWrite(w.guest, 5, new TextEncoder().encode('ab'), 4094); // the buffer crosses into page 6
    w.host.guestWrite(w.guest, 6, new TextEncoder().encode('c'), 0);
    await w.host.guestIo(w.guest, 0, { op: 'out', addr: 0x60, size: 1, count: 3, gpa: 5 * 4096 + 4094 });
    expect(log.splice(0)).toEqual(['w1@0=61', 'w1@0=62', 'w1@0=63']);
    await w.host.guestIo(w.guest, 1, { op: 'in', addr: 0x60, size: 1, count: 4, gpa: 7 * 4096 + 8 });
    expect([...w.host.guestRead(w.guest, 7).subarray(8, 12)]).toEqual([0x10, 0x11, 0x12, 0x13]);
    expect(w.errors).toEqual([]);
  });

  test('PCI config through 0xcf8/0xcfc reaches the device claiming the function, at register offsets', async () => {
    const { dev, log } = recorder((offset) => (offset === 0 ? 0x12348086 : 0));
    w.server.claimPci(pciSbdf(0, 0, 4, 0), dev);
    await w.host.guestIo(w.guest, 0, { op: 'out', addr: 0xcf8, size: 4, value: 0x80002000 }); // 00:04.0, register 0
    expect(await w.host.guestIo(w.guest, 0, { op: 'in', addr: 0xcfc, size: 4 })).toBe(0x12348086);
    await w.host.guestIo(w.guest, 0, { op: 'out', addr: 0xcf8, size: 4, value: 0x80002004 });
    await w.host.guestIo(w.guest, 0, { op: 'out', addr: 0xcfe, size: 2, value: 0x0007 });
    expect(log).toEqual(['r4@0', 'w2@6=7']);
    // Another device number: nobody's.
    await w.host.guestIo(w.guest, 0, { op: 'out', addr: 0xcf8, size: 4, value: 0x80002800 });
    expect(await w.host.guestIo(w.guest, 0, { op: 'in', addr: 0xcfc, size: 4 })).toBe(0xffffffff);
  });

  test('MMIO of every width, and the VGA window\'s writes through the buffered ring', async () => {
    const { dev, log } = recorder((offset, size) => (size === 8 ? 0x0102030405060708n : offset));
    w.server.claimMmio(0xfe000000n, 0xfe000fffn, dev);
    expect(await w.host.guestIo(w.guest, 0, { op: 'read', addr: 0xfe000010n, size: 8 })).toBe(0x0102030405060708n);
    expect(await w.host.guestIo(w.guest, 0, { op: 'read', addr: 0xfe000020n, size: 2 })).toBe(0x20);
    await w.host.guestIo(w.guest, 0, { op: 'write', addr: 0xfe000030n, size: 4, value: 0xdeadbeef });
    expect(log.splice(0)).toEqual(['r8@16', 'r2@32', 'w4@48=deadbeef']);
    w.server.claimMmio(0xa0000n, 0xbffffn, dev);
    await w.host.guestIo(w.guest, 0, { op: 'write', addr: 0xb8000n, size: 2, value: 0x0741 });
    await w.host.guestIo(w.guest, 0, { op: 'write', addr: 0xb8008n, size: 8, value: 0x1122334455667788n });
    // Buffered writes do not block the vCPU; the device model drains the ring when its port fires.
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['w2@98304=741', 'w8@98312=1122334455667788']);
    expect(w.server.engine.stats.buffered).toBe(2);
  });

  test('what nobody claims goes to the null handler', async () => {
    expect(await w.host.guestIo(w.guest, 0, { op: 'in', addr: 0x3f8, size: 1 })).toBe(0xff);
    expect(await w.host.guestIo(w.guest, 0, { op: 'read', addr: 0xfe000000n, size: 4 })).toBe(0xffffffff);
    expect(w.server.engine.stats.served).toBe(0);
  });

  test('two device models claiming the same port: the server with the higher id gets the guest\'s accesses', async () => {
    const first = new Uart16550();
    const firstLines: string[] = [];
    first.on('line', (t: string) => firstLines.push(t));
    w.server.claimPorts(0x3f8, 0x3ff, first);
    // A second device model process in dom0 (its own handles, restricted by the same process-wide restriction).
    const privcmd2 = open({ host: w.host, domain: 0 });
    const evtchn2 = openEventChannels({ host: w.host, domain: 0 });
    const second = createIoreqServer({ privcmd: privcmd2, evtchn: evtchn2, domid: w.guest });
    expect(second.id).toBeGreaterThan(w.server.id);
    const secondUart = new Uart16550();
    const secondLines: string[] = [];
    secondUart.on('line', (t: string) => secondLines.push(t));
    second.claimPorts(0x3f8, 0x3ff, secondUart);
    const serving2 = second.serve();
    await w.host.runGuest(w.guest, 0, uartPrintProgram('to the newest\n'));
    second.close();
    evtchn2.close();
    await serving2;
    privcmd2.close();
    await w.host.runGuest(w.guest, 0, uartPrintProgram('back to the first\n'));
    expect([firstLines, secondLines]).toEqual([['back to the first'], ['to the newest']]);
  });

  test('close() leaves nothing behind: no server, no port on either side, no page', async () => {
    const { host, guest } = w;
    w.server.claimPorts(0x3f8, 0x3ff, new Uart16550());
    await host.runGuest(guest, 0, uartPrintProgram('bye\n'));
    w.server.close();
    const s = host.inspect(guest);
    expect(s.ioreqServers).toEqual([]);
    expect(s.eventChannels).toEqual([]);
    expect(host.inspect(0).eventChannels).toEqual([]);
    // Neither the ioreq pages nor guest RAM: this guest's I/O touched no RAM.
    expect(host.memory.livePages()).toBe(0);
    // The port is nobody's again.
    expect(await host.guestIo(guest, 0, { op: 'in', addr: 0x3fd, size: 1 })).toBe(0xff);
  });
});

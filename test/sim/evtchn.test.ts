// The simulated Xen's event channels, beyond what the contract can observe
// through /dev/xen/evtchn: port allocation, what destroying an ioreq server
// or a domain does to the other end, the port limit, and the pending and
// mask bits as inspect() shows them.
import { createSimulatedHost, type SimulatedHost } from '../../lib/sim/host';
import { open } from '../../lib/privcmd';
import { openEventChannels } from '../../lib/evtchn';
import { EVTCHN_2L_NR_CHANNELS } from '../../lib/abi/evtchn';
import * as xen from '../../lib/sim/evtchn';
import { code } from '../support/code';

describe('simulated event channels', () => {
  let host: SimulatedHost;
  beforeEach(() => { host = createSimulatedHost(); });
  afterEach(() => host.close());

  test('an ioreq server\'s ports are unbound ports offered to its emulator; destroying it closes them', () => {
    const g = host.createDomain({ type: 'hvm', vcpus: 2 });
    const dm = open({ host });
    const ev = openEventChannels({ host });
    const { id } = dm.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 'atomic' });
    const d = host.domainById(g)!;
    expect(d.evtchn.snapshot().map((c) => [c.port, c.state])).toEqual([
      [1, { kind: 'unbound', remoteDomid: 0 }], [2, { kind: 'unbound', remoteDomid: 0 }], [3, { kind: 'unbound', remoteDomid: 0 }],
    ]);
    const local = ev.bindInterdomain(g, 2);
    expect(d.evtchn.channel(2)!.state).toEqual({ kind: 'interdomain', remoteDomid: 0, remotePort: local });
    dm.dmop(g, { op: 'destroy_ioreq_server', id });
    expect(d.evtchn.snapshot()).toEqual([]);
    // dom0's end goes back to unbound, offered to the guest; notifying it drops the event.
    expect(host.domainById(0)!.evtchn.channel(local)!.state).toEqual({ kind: 'unbound', remoteDomid: g });
    expect(code(() => ev.notify(local))).toBe('ok');
    ev.close();
    expect(host.domainById(0)!.evtchn.channel(local)).toBeUndefined();
    dm.close();
  });

  test('destroying a domain closes its ports; the other ends revert to unbound', () => {
    const g = host.createDomain({ type: 'hvm' });
    const ev = openEventChannels({ host });
    const d = host.domainById(g)!;
    const offered = xen.allocUnbound(d, 0);
    const local = ev.bindInterdomain(g, offered);
    host.destroyDomain(g);
    expect(host.domainById(0)!.evtchn.channel(local)!.state).toEqual({ kind: 'unbound', remoteDomid: g });
    expect(code(() => ev.bindInterdomain(g, offered))).toBe('ESRCH');
    ev.close();
  });

  test('ports: the lowest free one; at most 4096 (2-level ABI), then ENOSPC', () => {
    const g = host.createDomain({ type: 'hvm' });
    const d = host.domainById(g)!;
    const ports: number[] = [];
    for (let i = 1; i < EVTCHN_2L_NR_CHANNELS; i++) ports.push(xen.allocUnbound(d, 0));
    expect(ports[0]).toBe(1);
    expect(ports[ports.length - 1]).toBe(EVTCHN_2L_NR_CHANNELS - 1);
    expect(xen.allocUnbound(d, 0)).toBe(-28);
    expect(xen.close(d, (id) => host.domainById(id), 7)).toBe(0);
    expect(xen.allocUnbound(d, 0)).toBe(7);
  });

  test('a guest without a kernel keeps its pending bit; a masked port is not delivered until unmasked', () => {
    const g = host.createDomain({ type: 'hvm' });
    const d = host.domainById(g)!;
    const ev = openEventChannels({ host });
    const guestPort = xen.allocUnbound(d, 0);
    const local = ev.bindInterdomain(g, guestPort);
    ev.notify(local);
    expect(d.evtchn.channel(guestPort)).toMatchObject({ pending: true, masked: false });
    ev.close();
  });

  test('VIRQs: EEXIST when bound twice in a domain; unbinding frees the VIRQ', () => {
    const ev = openEventChannels({ host });
    const p = ev.bindVirq(0);
    expect(code(() => ev.bindVirq(0))).toBe('EEXIST');
    ev.unbind(p);
    expect(ev.bindVirq(0)).toBe(p);
    ev.close();
  });

  test('openEventChannels: a host not made by createSimulatedHost, or a bad domain, is EINVAL', () => {
    expect(code(() => openEventChannels({ host: {} as SimulatedHost }))).toBe('EINVAL');
    expect(code(() => openEventChannels({ host, domain: -1 }))).toBe('EINVAL');
    expect(code(() => openEventChannels({ domain: 0 }))).toBe('EINVAL');
    expect(code(() => openEventChannels(null as never))).toBe('EINVAL');
    expect(code(() => openEventChannels({ host, domain: 0x7000 }))).toBe('ESRCH');
    expect(code(() => openEventChannels({ host: Object.create(host) as SimulatedHost }))).toBe('EINVAL');
  });

  test('openEventChannels reads each option once: a getter cannot pass the check and then hand over something else', () => {
    let reads = 0;
    const flipping = { get host() { reads++; return reads === 1 ? host : ({} as SimulatedHost); } };
    const ev = openEventChannels(flipping);
    expect(reads).toBe(1);
    expect(ev.bindUnboundPort(0)).toBeGreaterThan(0);
    ev.close();
  });
});

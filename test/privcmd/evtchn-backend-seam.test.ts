// openEventChannels({ backend }): the same seam as open({ backend }) (issue
// 12). Only event-channel backends this library made are taken, each for one
// handle; openEventChannels({ host }) and the device open go through it too.
import * as os from 'os';
import {
  createDeviceEvtchnBackend, createSimulatedBackend, createSimulatedEvtchnBackend, createSimulatedHost, EventChannels, open,
  openEventChannels, restrictAll, type SimulatedHost,
} from '../../lib';
import { code } from '../support/code';

let host: SimulatedHost;
let g: number;
beforeEach(() => {
  host = createSimulatedHost();
  g = host.createDomain({ type: 'hvm', vcpus: 1 });
});
afterEach(() => host.close());

test('a simulated backend opens a handle like openEventChannels({ host }), in the same process registry', () => {
  const ev = openEventChannels({ backend: createSimulatedEvtchnBackend(host, 0) });
  expect(ev.kind).toBe('simulated');
  const port = ev.bindUnboundPort(g);
  expect(port).toBeGreaterThan(0);
  // restrictAll of dom0's process covers it: it enrolled where openEventChannels({ host }) would have.
  expect(restrictAll(g, { host, domain: 0 })).toEqual({ domid: g, handles: 1 });
  expect(ev.restrictedTo).toBe(g);
  expect(code(() => ev.bindUnboundPort(g))).toBe('EACCES');
  ev.close();
});

test('a backend of another domain\'s process joins that process\'s registry, not dom0\'s', () => {
  const ev = openEventChannels({ backend: createSimulatedEvtchnBackend(host, g) });
  expect(restrictAll(g, { host, domain: 0 })).toEqual({ domid: g, handles: 0 });
  ev.close();
});

test('a backend serves one handle: the second open on it is EINVAL, and the first handle still works', () => {
  const b = createSimulatedEvtchnBackend(host, 0);
  const ev = openEventChannels({ backend: b });
  expect(code(() => openEventChannels({ backend: b }))).toBe('EINVAL');
  expect(ev.bindUnboundPort(g)).toBeGreaterThan(0);
  ev.close();
  // Closed is not free again: a backend is used once.
  expect(code(() => openEventChannels({ backend: b }))).toBe('EINVAL');
});

test('only event-channel backends the library made: a look-alike, a Proxy, Object.create of one, or a privcmd backend is EINVAL', () => {
  const real = createSimulatedEvtchnBackend(host, 0);
  const privcmd = createSimulatedBackend(host, 0);
  for (const fake of [{}, { kind: 'simulated', process: {}, restrictedAtOpen: null }, new Proxy(real, {}), Object.create(real), privcmd, null, 5, 'x']) {
    expect(code(() => openEventChannels({ backend: fake as never }))).toBe('EINVAL');
  }
  // Nor the other way round: an event-channel backend is no privcmd backend.
  expect(code(() => open({ backend: real as never }))).toBe('EINVAL');
  // The refusals claimed neither: both still open.
  openEventChannels({ backend: real }).close();
  open({ backend: privcmd }).close();
});

test('backend with any other option naming the backend is EINVAL, and the backend stays unclaimed', () => {
  const b = createSimulatedEvtchnBackend(host, 0);
  expect(code(() => openEventChannels({ backend: b, host }))).toBe('EINVAL');
  expect(code(() => openEventChannels({ backend: b, domain: 0 }))).toBe('EINVAL');
  expect(code(() => openEventChannels({ backend: b, device: '/dev/null' }))).toBe('EINVAL');
  openEventChannels({ backend: b }).close();
});

test('openEventChannels reads `backend` once: a getter cannot pass the check and then hand over something else', () => {
  const b = createSimulatedEvtchnBackend(host, 0);
  let reads = 0;
  const flipping = { get backend() { reads++; return reads === 1 ? b : ({} as never); } };
  const ev = openEventChannels(flipping);
  expect(reads).toBe(1);
  expect(ev.bindUnboundPort(g)).toBeGreaterThan(0);
  ev.close();
});

test('createSimulatedEvtchnBackend and createDeviceEvtchnBackend check their arguments', () => {
  expect(code(() => createSimulatedEvtchnBackend({} as never, 0))).toBe('EINVAL');
  expect(code(() => createSimulatedEvtchnBackend(Object.create(host) as never, 0))).toBe('EINVAL');
  expect(code(() => createSimulatedEvtchnBackend(host, 0x10000))).toBe('EINVAL');
  expect(code(() => createSimulatedEvtchnBackend(host, '0' as never))).toBe('EINVAL');
  expect(code(() => createSimulatedEvtchnBackend(host, 0x7000))).toBe('ESRCH');
  expect(code(() => createDeviceEvtchnBackend(null as never))).toBe('EINVAL');
  expect(code(() => createDeviceEvtchnBackend({ device: 5 as never }))).toBe('EINVAL');
  expect(code(() => createDeviceEvtchnBackend({ device: `${os.tmpdir()}/no-such-evtchn` }))).toBe('ENOENT');
});

test('a handle cannot be built around openEventChannels(): new EventChannels on an unclaimed backend is EINVAL, and nothing joins the registry', () => {
  const b = createSimulatedEvtchnBackend(host, 0);
  expect(code(() => new EventChannels(b))).toBe('EINVAL');
  expect(restrictAll(g, { host, domain: 0 })).toEqual({ domid: g, handles: 0 });
  // The refused construction did not take the backend: openEventChannels still can.
  const ev = openEventChannels({ backend: b });
  expect(ev.restrictedTo).toBe(g); // the process is restricted now: the new handle is at once
  ev.close();
});

// open({ backend }): the seam for injecting a backend (issue 12). Only
// backends this library made are taken, each for one handle; open({ host })
// goes through the same seam, so the handle never tests a backend's class.
import * as os from 'os';
import {
  createDeviceBackend, createFilter, createSimulatedBackend, createSimulatedHost, open, restrictAll, type SimulatedHost,
} from '../../lib';
import { code } from '../support/code';

let host: SimulatedHost;
let g: number;
beforeEach(() => {
  host = createSimulatedHost();
  g = host.createDomain({ type: 'hvm', vcpus: 2 });
});
afterEach(() => host.close());

test('a simulated backend opens a handle like open({ host }), in the same process registry', () => {
  const h = open({ backend: createSimulatedBackend(host, 0), filter: createFilter({ role: 'dom0' }) });
  expect(h.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: 2 });
  expect(h.filter).not.toBeNull();
  // restrictAll of dom0's process covers it: it enrolled where open({ host }) would have.
  expect(restrictAll(g, { host, domain: 0 })).toEqual({ domid: g, handles: 1 });
  expect(h.restrictedTo).toBe(g);
  h.close();
});

test('a backend serves one handle: the second open on it is EINVAL', () => {
  const b = createSimulatedBackend(host, 0);
  const h = open({ backend: b });
  expect(code(() => open({ backend: b }))).toBe('EINVAL');
  expect(h.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: 2 });
  h.close();
});

test('only backends the library made: a look-alike, a Proxy or Object.create of one is EINVAL', () => {
  const real = createSimulatedBackend(host, 0);
  for (const fake of [{}, { kind: 'simulated', process: {} }, new Proxy(real, {}), Object.create(real), null, 5]) {
    expect(code(() => open({ backend: fake as never }))).toBe('EINVAL');
  }
  open({ backend: real }).close(); // the real one was not claimed by the refusals
});

test('backend with any other option naming the backend is EINVAL; a bad filter is refused before any backend is made', () => {
  const b = createSimulatedBackend(host, 0);
  expect(code(() => open({ backend: b, host }))).toBe('EINVAL');
  expect(code(() => open({ backend: b, domain: 0 }))).toBe('EINVAL');
  expect(code(() => open({ backend: b, device: '/dev/null' }))).toBe('EINVAL');
  expect(code(() => open({ host, filter: {} as never }))).toBe('EINVAL');
  open({ backend: b }).close();
});

test('createSimulatedBackend and createDeviceBackend check their arguments', () => {
  expect(code(() => createSimulatedBackend({} as never, 0))).toBe('EINVAL');
  expect(code(() => createSimulatedBackend(host, 0x10000))).toBe('EINVAL');
  expect(code(() => createDeviceBackend({ fd: -1 }))).toBe('EINVAL');
  expect(code(() => createDeviceBackend({ fd: 0, device: '/dev/null' }))).toBe('EINVAL');
  expect(code(() => createDeviceBackend(null as never))).toBe('EINVAL');
  expect(code(() => createDeviceBackend({ device: `${os.tmpdir()}/no-such-privcmd` }))).toBe('ENOENT');
});

test('open({ host }) with a device or fd is EINVAL (a simulated host has no device)', () => {
  expect(code(() => open({ host, device: '/dev/null' }))).toBe('EINVAL');
  expect(code(() => open({ host, fd: 0 }))).toBe('EINVAL');
});

test('a handle cannot be built around open(): new Privcmd on an unclaimed backend is EINVAL, and nothing joins the registry', () => {
  const { Privcmd } = require('../../lib') as typeof import('../../lib');
  const b = createSimulatedBackend(host, 0);
  expect(code(() => new Privcmd(b))).toBe('EINVAL');
  // The refused construction did not take the backend: open() still can, and restrictAll covers that one handle.
  const h = open({ backend: b });
  expect(restrictAll(g, { host, domain: 0 })).toEqual({ domid: g, handles: 1 });
  h.close();
});

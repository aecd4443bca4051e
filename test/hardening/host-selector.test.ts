// Simulated host options and the restrictAll/verifyRestricted selector: EINVAL for anything that is not a genuine host and an existing domain (issue 11, section 3).
import * as api from '../../lib';
import { createSimulatedHost, type Privcmd, type SimulatedHost } from '../../lib';
import { code, NULL_PROTO, withSimulatedWorld } from '../support/hostile';

let host: SimulatedHost;
let h: Privcmd;
let g: number;
withSimulatedWorld((w) => ({ host, h, g } = w));

describe('simulated host options', () => {
  test('createSimulatedHost(null) and createDomain(null): EINVAL', () => {
    expect(code(() => createSimulatedHost(null as never))).toBe('EINVAL');
    expect(code(() => host.createDomain(null as never))).toBe('EINVAL');
    expect(code(() => host.createDomain({ altp2m: 'toString' as never }))).toBe('EINVAL');
  });
});

describe('restrictAll / verifyRestricted selector', () => {
  test.each([
    ['domain \'0\'', { domain: '0' }], ['domain -1', { domain: -1 }], ['domain 0.5', { domain: 0.5 }], ['domain 1e9', { domain: 1e9 }],
    ['a domain the host does not have', { domain: 77 }], ['domain Object.create(null)', { domain: NULL_PROTO }],
  ])('%s: EINVAL, and the real domain-0 handle stays unrestricted', (_name, sel) => {
    expect(code(() => api.restrictAll(g, { host, ...sel } as never))).toBe('EINVAL');
    expect(code(() => api.verifyRestricted({ host, ...sel } as never))).toBe('EINVAL');
    expect(h.restrictedTo).toBeNull();
    expect(h.hypercall('xen_version', [0])).toBeGreaterThanOrEqual(0n);
  });

  test.each([
    ['a string', 'x'], ['a fake host (instanceof only)', 'fake'], ['Object.create(null)', NULL_PROTO], ['null', null],
  ])('host %s: EINVAL, not a TypeError', (_name, bad) => {
    const hostArg = bad === 'fake' ? Object.create(api.SimulatedHost.prototype) as never : bad;
    expect(code(() => api.restrictAll(g, { host: hostArg } as never))).toBe('EINVAL');
    expect(code(() => api.verifyRestricted({ host: hostArg } as never))).toBe('EINVAL');
    expect(h.restrictedTo).toBeNull();
  });

  test('a domain without a host (the real process has no simulated domain): EINVAL', () => {
    expect(code(() => api.verifyRestricted({ domain: 0 }))).toBe('EINVAL');
  });

  test('a valid selector still works', () => {
    expect(api.restrictAll(g, { host, domain: 0 })).toEqual({ domid: g, handles: 1 });
    expect(h.restrictedTo).toBe(g);
  });
});

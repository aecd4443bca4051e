// restrictAll / verifyRestricted on the simulated host: argument checks,
// scoping to one process, and handles opened before and after. The contract
// suite (test/contract) runs the main case on the real device too.
import { open } from '../../lib/privcmd';
import { openEventChannels } from '../../lib/evtchn';
import { createSimulatedHost } from '../../lib/sim/host';
import { restrictAll, verifyRestricted } from '../../lib/deprivilege/restrict-all';
import { createFilter } from '../../lib/policy/filter';

const code = (fn: () => unknown): string => {
  try { fn(); return 'ok'; } catch (e) { return (e as { code?: string }).code ?? String(e); }
};

test('bad arguments are EINVAL and change nothing', () => {
  const host = createSimulatedHost();
  const g = host.createDomain({ type: 'hvm' });
  const h = open({ host });
  for (const bad of [-1, 65536, 1.5, '1', null, 0x7ff4]) {
    expect({ bad, code: code(() => restrictAll(bad as number, { host })) }).toEqual({ bad, code: 'EINVAL' });
  }
  expect(code(() => restrictAll(g, 5 as never))).toBe('EINVAL');
  expect(h.restrictedTo).toBeNull();
  expect(code(() => verifyRestricted({ host }))).toBe('ERR_PRIVCMD_NOT_RESTRICTED');
  host.close();
});

test('a process with no handles yet: every later open() starts restricted', () => {
  const host = createSimulatedHost();
  const g = host.createDomain({ type: 'hvm' });
  expect(restrictAll(g, { host })).toEqual({ domid: g, handles: 0 });
  // Never vacuous: with no handle of a kind, it opens one, which must come out restricted.
  const fresh = [
    { handle: 'privcmd', kind: 'simulated', opened: true, restrictedTo: g, probes: { hypercall: 'EPERM', otherDomainDmop: 'EPERM', otherDomainMap: 'EPERM' }, ok: true },
    { handle: 'evtchn', kind: 'simulated', opened: true, restrictedTo: g, probes: { unboundPort: 'EACCES', otherDomainBind: 'EACCES' }, ok: true },
  ];
  expect(verifyRestricted({ host })).toEqual({ domid: g, handles: fresh, unavailable: {} });
  const h = open({ host });
  expect(h.restrictedTo).toBe(g);
  expect(code(() => h.hypercall('xen_version', [0]))).toBe('EPERM');
  const ev = openEventChannels({ host });
  expect(ev.restrictedTo).toBe(g);
  expect(code(() => ev.bindUnboundPort(0))).toBe('EACCES');
  expect(verifyRestricted({ host }).handles.map((c) => [c.handle, c.opened, c.ok])).toEqual([['privcmd', false, true], ['evtchn', false, true]]);
  h.close();
  ev.close();
  // Closed handles leave the process's list: fresh ones are probed again.
  expect(verifyRestricted({ host }).handles).toEqual(fresh);
  host.close();
});

test('the restriction is per process: other hosts and other domains are untouched', () => {
  const host = createSimulatedHost();
  const other = createSimulatedHost();
  const g = host.createDomain({ type: 'hvm' });
  const dm = host.createDomain({ type: 'pv' });
  const og = other.createDomain({ type: 'hvm' });
  restrictAll(g, { host });
  const inDm = open({ host, domain: dm });
  const elsewhere = open({ host: other });
  expect(inDm.restrictedTo).toBeNull();
  expect(elsewhere.restrictedTo).toBeNull();
  expect(elsewhere.dmop(og, { op: 'nr_vcpus' }).vcpus).toBeGreaterThan(0);
  expect(code(() => verifyRestricted({ host: other }))).toBe('ERR_PRIVCMD_NOT_RESTRICTED');
  expect(code(() => verifyRestricted({ host, domain: dm }))).toBe('ERR_PRIVCMD_NOT_RESTRICTED');
  expect(verifyRestricted({ host }).domid).toBe(g);
  host.close();
  other.close();
});

test('verifyRestricted counts only the kernel: a filter refusing the probe calls does not make a handle pass', () => {
  const host = createSimulatedHost();
  const g = host.createDomain({ type: 'hvm' });
  const h = open({ host, filter: createFilter({ role: 'dom0', deny: ['xen_version', 'dm_op'] }) });
  expect(code(() => h.hypercall('xen_version', [0]))).toBe('EPERM'); // the filter's EPERM
  let report: { handles: unknown[] } | undefined;
  try {
    verifyRestricted({ host });
  } catch (e) {
    report = (e as { report: { handles: unknown[] } }).report;
  }
  expect(report?.handles).toEqual([{ handle: 'privcmd', kind: 'simulated', opened: false, restrictedTo: null, probes: { hypercall: 'ok', otherDomainDmop: 'ok', otherDomainMap: 'ESRCH' }, ok: false }]);
  restrictAll(g, { host });
  expect(verifyRestricted({ host }).handles[0]).toEqual({ handle: 'privcmd', kind: 'simulated', opened: false, restrictedTo: g, probes: { hypercall: 'EPERM', otherDomainDmop: 'EPERM', otherDomainMap: 'EPERM' }, ok: true });
  host.close();
});

test('every kind: event-channel handles are restricted too, with evtchn\'s own rules', () => {
  const host = createSimulatedHost();
  const g = host.createDomain({ type: 'hvm' });
  const g2 = host.createDomain({ type: 'hvm' });
  const ev = openEventChannels({ host });
  const pre = openEventChannels({ host });
  pre.restrict(g); // already restricted to the same domain: skipped, not EACCES
  const other = openEventChannels({ host });
  other.restrict(g2);
  // One handle bound to another domain: EINVAL, nothing changes.
  expect(code(() => restrictAll(g, { host }))).toBe('EINVAL');
  expect(ev.restrictedTo).toBeNull();
  other.close();
  expect(restrictAll(g, { host })).toEqual({ domid: g, handles: 2 });
  expect([ev.restrictedTo, pre.restrictedTo]).toEqual([g, g]);
  expect(code(() => ev.bindVirq(1))).toBe('EACCES');
  expect(code(() => ev.bindInterdomain(g2, 1))).toBe('EACCES');
  const later = openEventChannels({ host });
  expect(later.restrictedTo).toBe(g);
  expect(verifyRestricted({ host }).handles.filter((c) => c.handle === 'evtchn').every((c) => c.ok)).toBe(true);
  host.close();
});

test('an evtchn handle that refuses the restriction (domain 0 is EINVAL for evtchn) is closed, and restrictAll throws', () => {
  const host = createSimulatedHost();
  const pv = host.createDomain({ type: 'pv' });
  const h = open({ host, domain: pv });
  const ev = openEventChannels({ host, domain: pv });
  let err: { code?: string; message?: string } = {};
  try {
    restrictAll(0, { host, domain: pv });
  } catch (e) {
    err = e as typeof err;
  }
  expect(err.code).toBe('EINVAL');
  expect(err.message).toContain('simulated evtchn handle');
  expect(ev.closed).toBe(true);
  expect(h.restrictedTo).toBe(0);
  host.close();
});

// restrictAll / verifyRestricted on the simulated host: argument checks,
// scoping to one process, and handles opened before and after. The contract
// suite (test/contract) runs the main case on the real device too.
import { open } from '../../lib/privcmd';
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
  expect(verifyRestricted({ host })).toEqual({ domid: g, handles: [] });
  const h = open({ host });
  expect(h.restrictedTo).toBe(g);
  expect(code(() => h.hypercall('xen_version', [0]))).toBe('EPERM');
  h.close();
  // Closed handles leave the process's list.
  expect(verifyRestricted({ host }).handles).toHaveLength(0);
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
  expect(report?.handles).toEqual([{ kind: 'simulated', restrictedTo: null, hypercall: 'ok', otherDomainDmop: 'ok', ok: false }]);
  restrictAll(g, { host });
  expect(verifyRestricted({ host }).handles).toEqual([{ kind: 'simulated', restrictedTo: g, hypercall: 'EPERM', otherDomainDmop: 'EPERM', ok: true }]);
  host.close();
});

// One default XSM policy for the filter and the simulated host (Xen 4.17's,
// without the XSM_HW_PRIV split), and the target Xen's policy taken from the
// simulated host or from xen_version through a handle.
import { INTERFACE_VERSIONS } from '../../lib/abi/hypercalls';
import { open } from '../../lib/privcmd';
import { createSimulatedHost } from '../../lib/sim/host';
import { createFilter } from '../../lib/policy/filter';
import { hwPrivForXenVersion, hwPrivOf, NEWEST_KNOWN_XEN } from '../../lib/clients/target-xen';

interface Caught { code?: string; errno?: number; syscall?: string; message?: string }
const caught = (fn: () => unknown): Caught => {
  try {
    fn();
    return { code: 'ok' };
  } catch (e) {
    return e as Caught;
  }
};
const byFilter = (fn: () => unknown): string => {
  const e = caught(fn);
  return e.code === 'EPERM' && (e.message ?? '').startsWith('EPERM (ioctl): filter:') ? 'filter' : e.code ?? '?';
};

describe('the default: the filter and the simulated host agree out of the box', () => {
  test('both default to Xen 4.17\'s policy (no XSM_HW_PRIV split)', () => {
    const host = createSimulatedHost();
    expect({ filter: createFilter({ role: 'hardware' }).hwPriv, host: host.hwPriv }).toEqual({ filter: 'none', host: 'none' });
    host.close();
  });

  test('a hardware-domain filter on a default host refuses what Xen refuses, itself', () => {
    const host = createSimulatedHost({ dom0: { isHardware: false } });
    const hw = host.createDomain({ type: 'pvh', isHardware: true });
    const h = open({ host, domain: hw, filter: createFilter({ role: 'hardware' }) });
    const bare = open({ host, domain: hw });
    // Xen 4.17 gives a hardware domain that is not the control domain nothing
    // privileged. do_platform_op copies its struct in and checks its version before XSM: pass a readable one.
    const arg = bare.hypercallBuffer(4096);
    arg.view.writeUInt32LE(INTERFACE_VERSIONS.platform_op!.version, 4);
    expect(caught(() => bare.hypercall('platform_op', [arg.addr])).code).toBe('EPERM');
    expect(byFilter(() => h.hypercall('platform_op', [0]))).toBe('filter');
    expect(byFilter(() => h.hypercall('physdev_op', [25]))).toBe('filter');
    host.close();
  });

  test('a control-domain filter on a default host lets through what Xen lets through', () => {
    const host = createSimulatedHost({ dom0: { isHardware: false } });
    host.createDomain({ type: 'pvh', isHardware: true });
    const h = open({ host, filter: createFilter({ role: 'control' }) });
    expect(h.filter?.allowsEverything).toBe(true);
    const arg = h.hypercallBuffer(4096); // copied in, and its version checked, before XSM
    arg.view.writeUInt32LE(INTERFACE_VERSIONS.platform_op!.version, 4);
    expect(caught(() => h.hypercall('platform_op', [arg.addr])).code).toBe('ENOSYS'); // XSM allows; not simulated
    host.close();
  });
});

describe('which Xen the filter targets', () => {
  test('from the simulated host: its own hwPriv', () => {
    for (const v of ['none', 'exclusive', 'non-exclusive'] as const) {
      const host = createSimulatedHost({ hwPriv: v });
      expect(hwPrivOf(host)).toBe(v);
      expect(createFilter({ role: 'hardware', hwPriv: hwPrivOf(host) }).hwPriv).toBe(v);
      host.close();
    }
  });

  test('through a handle: the version xen_version reports', () => {
    const host = createSimulatedHost();
    const h = open({ host });
    expect(hwPrivOf(h)).toBe('none'); // 4.17
    h.restrict(host.createDomain());
    expect(caught(() => hwPrivOf(h))).toMatchObject({ code: 'EPERM', syscall: 'ioctl' }); // restricted: no raw hypercall
    host.close();
    const future = createSimulatedHost({ xenVersion: { major: 4, minor: 23 } });
    const e = caught(() => hwPrivOf(open({ host: future })));
    expect(e).toMatchObject({ code: 'EOPNOTSUPP', errno: -95, syscall: 'xen_version' });
    expect(e.message).toContain('Xen 4.23 is newer than 4.22');
    future.close();
  });

  test('by version: every release up to the newest known has no split; newer ones are not guessed', () => {
    expect(NEWEST_KNOWN_XEN).toEqual({ major: 4, minor: 22 });
    for (const [ma, mi] of [[3, 4], [4, 0], [4, 17], [4, 19], [4, 22]]) expect(hwPrivForXenVersion(ma as number, mi as number)).toBe('none');
    for (const [ma, mi] of [[4, 23], [5, 0]]) expect(caught(() => hwPrivForXenVersion(ma as number, mi as number)).code).toBe('EOPNOTSUPP');
    for (const bad of [[-1, 0], [4, 1.5], [4, '17'], [0x10000, 0]]) expect(caught(() => hwPrivForXenVersion(bad[0] as number, bad[1] as number)).code).toBe('EINVAL');
    expect(caught(() => hwPrivOf({} as never)).code).toBe('EINVAL');
    expect(caught(() => hwPrivOf(null as never)).code).toBe('EINVAL');
  });
});

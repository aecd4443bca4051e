// Split roles on the simulated host, and its hypervisor enforcing the default
// XSM policy for every classified hypercall (no filter involved): EPERM when
// XSM refuses, ENOSYS when XSM allows a call the simulator does not implement.
import { DOMID } from '../../lib/abi/domids';
import { INTERFACE_VERSIONS } from '../../lib/abi/hypercalls';
import { open, type Privcmd } from '../../lib/privcmd';
import { createSimulatedHost } from '../../lib/sim/host';
import type { HwPrivVariant } from '../../lib/policy/xsm';
import { createFilter } from '../../lib/policy/filter';

interface Caught { code: string; message: string }
const caught = (fn: () => unknown): Caught => {
  try { fn(); return { code: 'ok', message: '' }; } catch (e) {
    const err = e as { code?: string; message?: string };
    return { code: err.code ?? String(e), message: err.message ?? '' };
  }
};
const code = (fn: () => unknown): string => caught(fn).code;

function split(hwPriv: HwPrivVariant) {
  const host = createSimulatedHost({ hwPriv, dom0: { isControl: true, isHardware: false, isXenstore: false } });
  const g = host.createDomain({ type: 'hvm' });
  const hw = host.createDomain({ type: 'pvh', isHardware: true });
  const xs = host.createDomain({ type: 'pvh', isXenstore: true });
  return { host, g, hw, xs, control: open({ host }), hardware: open({ host, domain: hw }), xenstore: open({ host, domain: xs }) };
}

/** A readable argument struct for domctl, sysctl or platform_op, with its interface version (else EACCES before XSM). */
function versioned(h: Privcmd, op: 'domctl' | 'sysctl' | 'platform_op'): bigint {
  const b = h.hypercallBuffer(4096);
  b.view.writeUInt32LE(INTERFACE_VERSIONS[op]!.version, 4);
  return b.addr;
}

function domctl(h: Privcmd, cmd: number, domid: number): bigint {
  const b = h.hypercallBuffer(256);
  b.view.writeUInt32LE(cmd, 0);
  b.view.writeUInt32LE(INTERFACE_VERSIONS.domctl!.version, 4);
  b.view.writeUInt16LE(domid, 8);
  return b.addr;
}

describe('split domains on the simulated host', () => {
  test('one hardware domain; roles show in inspect(); bad hwPriv is EINVAL', () => {
    const host = createSimulatedHost();
    expect(code(() => host.createDomain({ isHardware: true }))).toBe('EEXIST');
    host.close();
    const s = split('exclusive');
    expect(s.host.inspect(0).roles).toEqual({ control: true, hardware: false, xenstore: false });
    expect(s.host.inspect(s.hw).roles).toEqual({ control: false, hardware: true, xenstore: false });
    expect(s.host.inspect(s.xs).roles).toEqual({ control: false, hardware: false, xenstore: true });
    expect(code(() => s.host.createDomain({ isHardware: true }))).toBe('EEXIST');
    expect(s.host.hwPriv).toBe('exclusive');
    s.host.close();
    expect(code(() => createSimulatedHost({ hwPriv: 'maybe' as never }))).toBe('EINVAL');
    expect(createSimulatedHost().hwPriv).toBe('none');
  });

  test.each([
    // variant, control: platform_op / physdev PCI add, hardware: platform_op / DMOP on a guest / sysctl
    ['none', 'ENOSYS', 'ENOSYS', 'EPERM', 'EPERM', 'EPERM'],
    ['exclusive', 'EPERM', 'EPERM', 'ENOSYS', 'ok', 'EPERM'],
    ['non-exclusive', 'ENOSYS', 'ENOSYS', 'ENOSYS', 'ok', 'EPERM'],
  ] as const)('hwPriv %s: control platform_op %s, PCI add %s; hardware platform_op %s, DMOP %s, sysctl %s', (v, cPlat, cPci, hPlat, hDm, hSys) => {
    const s = split(v);
    // platform_op and sysctl copy their struct in before XSM: pass readable ones.
    expect(code(() => s.control.hypercall('platform_op', [versioned(s.control, 'platform_op')]))).toBe(cPlat);
    expect(code(() => s.control.hypercall('physdev_op', [25]))).toBe(cPci);
    expect(code(() => s.hardware.hypercall('platform_op', [versioned(s.hardware, 'platform_op')]))).toBe(hPlat);
    expect(code(() => s.hardware.dmop(s.g, { op: 'nr_vcpus' }))).toBe(hDm);
    expect(code(() => s.hardware.hypercall('sysctl', [versioned(s.hardware, 'sysctl')]))).toBe(hSys);
    // The control domain keeps everything but HW_PRIV in every variant.
    expect(code(() => s.control.hypercall('sysctl', [versioned(s.control, 'sysctl')]))).toBe('ENOSYS');
    expect(s.control.dmop(s.g, { op: 'nr_vcpus' })).toEqual({ vcpus: 1 });
    s.host.close();
  });

  test('a control domain other than dom0 (createDomain({ isControl: true })): privileged as dom0 was, and the filter agrees', () => {
    const host = createSimulatedHost({ dom0: { isControl: false } });
    const g = host.createDomain({ type: 'hvm' });
    const c = host.createDomain({ type: 'pvh', isControl: true });
    expect(host.inspect(c).roles).toEqual({ control: true, hardware: false, xenstore: false });
    expect(host.inspect(0).roles).toEqual({ control: false, hardware: true, xenstore: true });
    const ctl = open({ host, domain: c });
    const dom0 = open({ host });
    // XSM_PRIV: the control domain passes (ENOSYS: not simulated), dom0 no
    // longer does. do_sysctl copies its struct in before XSM: pass readable ones.
    expect(code(() => ctl.hypercall('sysctl', [versioned(ctl, 'sysctl')]))).toBe('ENOSYS');
    expect(code(() => dom0.hypercall('sysctl', [versioned(dom0, 'sysctl')]))).toBe('EPERM');
    expect(code(() => ctl.hypercall('domctl', [domctl(ctl, 2, g)]))).toBe('ENOSYS');
    expect(ctl.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: 1 });
    // The same role through the filter: nothing refused that Xen allows.
    const f = open({ host, domain: c, filter: createFilter({ role: 'control' }) });
    expect(code(() => f.hypercall('sysctl', [versioned(f, 'sysctl')]))).toBe('ENOSYS');
    expect(f.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: 1 });
    host.close();
  });

  test('role flags must be booleans: a truthy string does not make a domain privileged', () => {
    const host = createSimulatedHost();
    for (const k of ['isControl', 'isHardware', 'isXenstore']) {
      for (const v of ['no', 1, null]) expect({ k, v, c: code(() => host.createDomain({ [k]: v } as never)) }).toEqual({ k, v, c: 'EINVAL' });
      expect({ k, c: code(() => createSimulatedHost({ dom0: { [k]: 'yes' } as never })) }).toEqual({ k, c: 'EINVAL' });
    }
    expect(code(() => createSimulatedHost({ dom0: 5 as never }))).toBe('EINVAL');
    expect(host.createDomain({ isControl: false, isXenstore: false })).toBeGreaterThan(0);
    host.close();
  });

  test('the hypervisor\'s refusal names the rule, the action and the hook', () => {
    const s = split('exclusive');
    const e = caught(() => s.control.hypercall('console_io', [0]));
    expect(e.code).toBe('EPERM');
    expect(e.message).toContain('XSM_HW_PRIV (console_io/write, dummy.h xsm_console_io): domain 0 may not');
    const d = caught(() => s.xenstore.dmop(s.g, { op: 'nr_vcpus' }));
    expect(d.message).toContain('XSM_DM_PRIV (dm_op, dummy.h xsm_dm_op)');
    s.host.close();
  });

  test('xenstore: domctl getdomaininfo on any domain (XS_PRIV), other domctls refused', () => {
    const s = split('none');
    expect(code(() => s.xenstore.hypercall('domctl', [domctl(s.xenstore, 5, s.g)]))).toBe('ENOSYS');
    expect(code(() => s.xenstore.hypercall('domctl', [domctl(s.xenstore, 2, s.g)]))).toBe('EPERM');
    expect(code(() => s.hardware.hypercall('domctl', [domctl(s.hardware, 5, s.g)]))).toBe('EPERM');
    s.host.close();
  });

  test('before XSM, as Xen: an unreadable argument struct is EFAULT, a missing target domain ESRCH; unknown hypercalls ENOSYS', () => {
    const s = split('exclusive');
    expect(code(() => s.xenstore.hypercall('domctl', [0x10n]))).toBe('EFAULT');
    expect(code(() => s.xenstore.hypercall('domctl', [domctl(s.xenstore, 5, 0x7000)]))).toBe('ESRCH');
    const gh = open({ host: s.host, domain: s.g });
    const res = gh.hypercallBuffer(32);
    res.view.writeUInt16LE(0x7000, 0);
    expect(code(() => gh.hypercall('memory_op', [28, res.addr]))).toBe('ESRCH');
    res.view.writeUInt16LE(s.hw, 0);
    expect(code(() => gh.hypercall('memory_op', [28, res.addr]))).toBe('EPERM');
    res.view.writeUInt16LE(DOMID.SELF, 0);
    expect(code(() => gh.hypercall('memory_op', [28, res.addr]))).toBe('EPERM'); // DM_PRIV: not even on itself
    expect(code(() => gh.hypercall(60, []))).toBe('ENOSYS');
    // XENVER_commandline is XSM_PRIV, but a denial is not an error: the guest reads "<denied>".
    const line = gh.hypercallBuffer(1024);
    expect(gh.hypercall('xen_version', [9, line.addr])).toBe(0n);
    expect(line.view.toString('latin1', 0, line.view.indexOf(0))).toBe('<denied>');
    expect(code(() => gh.hypercall('xen_version', [10]))).toBe('EPERM'); // build_id: the one denial that is EPERM
    const ctlLine = s.control.hypercallBuffer(1024);
    expect(s.control.hypercall('xen_version', [9, ctlLine.addr])).toBe(0n);
    expect(ctlLine.view.toString('latin1', 0, ctlLine.view.indexOf(0))).not.toBe('<denied>');
    expect(code(() => gh.hypercall('xen_version', [42]))).toBe('ENOSYS'); // unknown commands: -ENOSYS whatever XSM says
    s.host.close();
  });
});

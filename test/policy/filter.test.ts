// The hypercall filter on its own and attached to handles: decisions per
// role, the refusal (coded EPERM naming the rule and the role), the deny
// list, the filter's own rules, composition with restrict(), and the async
// calls.
import { DOMID } from '../../lib/abi/domids';
import { HYPERCALLS, INTERFACE_VERSIONS } from '../../lib/abi/hypercalls';
import { open, type Privcmd } from '../../lib/privcmd';
import { createSimulatedHost, type SimulatedHost } from '../../lib/sim/host';
import { createFilter, HypercallFilter } from '../../lib/policy/filter';
import { altp2mGuestAllowList } from '../../lib/policy/altp2m';

interface Caught { code: string; errno?: number; syscall?: string; message: string }
const caught = (fn: () => unknown): Caught => {
  try {
    fn();
    return { code: 'ok', message: '' };
  } catch (e) {
    const err = e as { code?: string; errno?: number; syscall?: string; message?: string };
    return { code: err.code ?? String(e), errno: err.errno, syscall: err.syscall, message: err.message ?? '' };
  }
};
const code = (fn: () => unknown): string => caught(fn).code;
const byFilter = (fn: () => unknown): boolean => caught(fn).message.startsWith('EPERM (ioctl): filter:');

/** hvm_op get/set_param argument in hypercall memory. */
function param(h: Privcmd, domid: number, index: number, value = 0n): { addr: bigint; free(): void } {
  const b = h.hypercallBuffer(16);
  b.view.writeUInt16LE(domid, 0);
  b.view.writeUInt32LE(index, 4);
  b.view.writeBigUInt64LE(value, 8);
  return { addr: b.addr, free: () => h.freeHypercallBuffer(b) };
}

/** A xen_domctl with cmd and domain. */
function domctl(h: Privcmd, cmd: number, domid: number): { addr: bigint; free(): void } {
  const b = h.hypercallBuffer(256);
  b.view.writeUInt32LE(cmd, 0);
  b.view.writeUInt32LE(INTERFACE_VERSIONS.domctl!.version, 4);
  b.view.writeUInt16LE(domid, 8);
  return { addr: b.addr, free: () => h.freeHypercallBuffer(b) };
}

let host: SimulatedHost;
let g: number;
let o: number;
let dm: number;
let hw: number;
let xs: number;
beforeEach(() => {
  // The split: dom0 is the control domain only; the hardware domain is another.
  host = createSimulatedHost({ hwPriv: 'exclusive', dom0: { isControl: true, isHardware: false, isXenstore: false } });
  g = host.createDomain({ type: 'hvm', vcpus: 2 });
  o = host.createDomain({ type: 'hvm' });
  dm = host.createDomain({ type: 'pvh', target: g });
  hw = host.createDomain({ type: 'pvh', isHardware: true });
  xs = host.createDomain({ type: 'pvh', isXenstore: true });
});
afterEach(() => host.close());

describe('options', () => {
  test('bad options are EINVAL', () => {
    expect(code(() => createFilter(undefined as never))).toBe('EINVAL');
    expect(code(() => createFilter({ role: 'root' as never }))).toBe('EINVAL');
    expect(code(() => createFilter({ role: 'device-model' }))).toBe('EINVAL');
    expect(code(() => createFilter({ role: 'control', hwPriv: 'sometimes' as never }))).toBe('EINVAL');
    expect(code(() => createFilter({ role: 'guest', altp2mMode: 'chaotic' as never }))).toBe('EINVAL');
    expect(code(() => createFilter({ role: 'guest', deny: ['hvm_op/nope'] }))).toBe('EINVAL');
    expect(code(() => createFilter({ role: 'guest', deny: 'dm_op' as never }))).toBe('EINVAL');
    expect(code(() => createFilter({ role: 'guest', allow: ['hvm_op/altp2m/nope'] }))).toBe('EINVAL');
    expect(code(() => createFilter({ role: 'guest', allow: 'dm_op' as never }))).toBe('EINVAL');
    expect(code(() => createFilter({ role: 'guest', allow: [{ reason: 'no rule' }] as never }))).toBe('EINVAL');
    expect(code(() => createFilter({ role: 'guest', allow: [null] as never }))).toBe('EINVAL');
    // An entry under a rule the list itself refuses would be dead.
    expect(code(() => createFilter({ role: 'guest', allow: ['xen_version', 'hvm_op/altp2m/get_p2m_idx'] }))).toBe('EINVAL');
    expect(code(() => createFilter({ role: 'guest', allow: ['xen_version', 'hvm_op', 'hvm_op/altp2m/get_p2m_idx'] }))).toBe('ok');
    expect(code(() => open({ host, filter: { role: 'dom0' } as never }))).toBe('EINVAL');
  });

  test('an unknown option key is EINVAL, never ignored (a misspelt option would leave the filter laxer than meant)', () => {
    let err: { code?: string; message?: string } = {};
    try {
      createFilter({ role: 'hardware', isXenstore: true } as never);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe('EINVAL');
    expect(err.message).toContain("unknown option 'isXenstore'");
    expect(code(() => createFilter({ role: 'guest', denyList: ['dm_op'] } as never))).toBe('EINVAL');
    expect(code(() => createFilter({ role: 'device-model', target: 5, self: 3, hwPriv: 'none', altp2mMode: 'external', deny: [] }))).toBe('ok');
  });

  test('defaults: Xen 4.17\'s policy (no split, as the simulated host), mixed altp2m mode; dom0 may do everything, control not under the split', () => {
    const f = createFilter({ role: 'control' });
    expect(f).toBeInstanceOf(HypercallFilter);
    expect({ hwPriv: f.hwPriv, mode: f.altp2mMode, all: f.allowsEverything }).toEqual({ hwPriv: 'none', mode: 'mixed', all: true });
    expect(createFilter({ role: 'control', hwPriv: 'exclusive' }).allowsEverything).toBe(false);
    expect(createFilter({ role: 'dom0' }).allowsEverything).toBe(true);
    expect(createFilter({ role: 'control', hwPriv: 'none' }).allowsEverything).toBe(true);
    expect(createFilter({ role: 'control', hwPriv: 'non-exclusive' }).allowsEverything).toBe(true);
    expect(createFilter({ role: 'dom0', deny: ['sysctl'] }).allowsEverything).toBe(false);
    expect(code(() => createFilter({ role: 'dom0' }).verdict('nope'))).toBe('EINVAL');
    expect(createFilter({ role: 'dom0', allow: ['hvm_op/altp2m/get_p2m_idx'] }).allowsEverything).toBe(false);
  });

  test('xenstore: true makes a privileged role also the xenstore domain (XSM_XS_PRIV)', () => {
    const hw = createFilter({ role: 'hardware', hwPriv: 'exclusive' });
    const hwxs = createFilter({ role: 'hardware', xenstore: true, hwPriv: 'exclusive' });
    expect(hw.verdict('domctl/getdomaininfo')).toMatchObject({ kind: 'deny', source: 'xsm' });
    expect(hwxs.verdict('domctl/getdomaininfo')).toMatchObject({ kind: 'allow' });
    // Still the hardware domain: HW_PRIV yes, PRIV no.
    expect(hwxs.verdict('platform_op')).toMatchObject({ kind: 'allow' });
    expect(hwxs.verdict('sysctl')).toMatchObject({ kind: 'deny', source: 'xsm' });
    expect({ label: hwxs.label, xs: hwxs.xenstore, plain: hw.xenstore }).toEqual({ label: 'hardware+xenstore', xs: true, plain: false });
    expect(createFilter({ role: 'xenstore' }).xenstore).toBe(true);
    expect(createFilter({ role: 'control', xenstore: false }).label).toBe('control');
    for (const bad of [{ role: 'guest', xenstore: true }, { role: 'device-model', target: 3, xenstore: true }, { role: 'xenstore', xenstore: true }, { role: 'hardware', xenstore: 'yes' }, { role: 'hardware', xenstore: 1 }]) {
      expect({ bad, c: code(() => createFilter(bad as never)) }).toEqual({ bad, c: 'EINVAL' });
    }
  });

  test('allow: naming a rule confines its parent (the top level too) to what is named', () => {
    const h = open({ host, filter: createFilter({ role: 'dom0', allow: ['xen_version', { rule: 'hvm_op', reason: 'r' }] }) });
    expect(code(() => h.hypercall('xen_version', [0]))).toBe('ok');
    const e = caught(() => h.hypercall('sysctl', [0]));
    expect(e).toMatchObject({ code: 'EPERM', errno: -1, syscall: 'ioctl' });
    expect(e.message).toBe('EPERM (ioctl): filter: rule sysctl refuses role dom0 (not on the filter\'s allow-list)');
    expect(code(() => h.hypercall(120, [0]))).toBe('EPERM');
    const f = createFilter({ role: 'dom0', allow: ['dm_op/nr_vcpus'] });
    expect(f.verdict('dm_op/nr_vcpus')).toMatchObject({ kind: 'allow' });
    expect(f.verdict('dm_op/create_ioreq_server')).toMatchObject({ kind: 'deny', source: 'allow-list' });
    expect(f.verdict('dm_op')).toMatchObject({ kind: 'deny', source: 'allow-list' }); // a DMOP it cannot see, or one it does not know
    h.close();
  });
});

describe('decisions per role', () => {
  test('a refusal is a coded EPERM from the filter naming the rule, the XSM action, the hook and the role', () => {
    const h = open({ host, filter: createFilter({ role: 'control', hwPriv: 'exclusive' }) });
    const e = caught(() => h.hypercall('platform_op', [0]));
    expect(e).toMatchObject({ code: 'EPERM', errno: -1, syscall: 'ioctl' });
    expect(e.message).toBe('EPERM (ioctl): filter: rule platform_op [XSM_HW_PRIV, dummy.h xsm_platform_op] refuses role control');
    h.close();
  });

  test('control (split): keeps PRIV (sysctl, domctl, DMOPs, params), loses HW_PRIV (platform_op, APIC, PCI, console)', () => {
    const h = open({ host, filter: createFilter({ role: 'control', hwPriv: 'exclusive' }) });
    // Xen copies the whole struct in before XSM (do_sysctl), so pass a readable one, with its interface version.
    const arg = h.hypercallBuffer(4096);
    arg.view.writeUInt32LE(INTERFACE_VERSIONS.sysctl!.version, 4);
    expect(code(() => h.hypercall('sysctl', [arg.addr]))).toBe('ENOSYS'); // passed the filter; XSM allows; not simulated
    const d = domctl(h, 39, g);
    expect(code(() => h.hypercall('domctl', [d.addr]))).toBe('ENOSYS');
    d.free();
    expect(h.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: 2 });
    for (const [hc, sub] of [['platform_op', 0], ['physdev_op', 8], ['physdev_op', 25], ['physdev_op', 21], ['physdev_op', 24], ['console_io', 0]] as const) {
      const e = caught(() => h.hypercall(hc, [sub]));
      expect({ hc, sub, code: e.code, byFilter: e.message.includes('filter:'), role: e.message.endsWith('refuses role control') }).toEqual({ hc, sub, code: 'EPERM', byFilter: true, role: true });
    }
    h.close();
  });

  test('hardware (split): HW_PRIV and DM_PRIV on any domain; no PRIV, no TARGET on others', () => {
    const h = open({ host, domain: hw, filter: createFilter({ role: 'hardware', hwPriv: 'exclusive' }) });
    const arg = h.hypercallBuffer(4096); // do_platform_op copies the struct in before XSM, then checks its version
    arg.view.writeUInt32LE(INTERFACE_VERSIONS.platform_op!.version, 4);
    expect(code(() => h.hypercall('platform_op', [arg.addr]))).toBe('ENOSYS');
    expect(code(() => h.hypercall('physdev_op', [25]))).toBe('ENOSYS');
    expect(h.dmop(o, { op: 'nr_vcpus' })).toEqual({ vcpus: 1 });
    expect(byFilter(() => h.hypercall('sysctl', [0]))).toBe(true);
    const p = param(h, g, 1);
    expect(caught(() => h.hypercall('hvm_op', [1, p.addr])).message).toMatch(/rule hvm_op\/get_param \[XSM_TARGET, dummy.h xsm_hvm_param\] refuses role hardware on domain \d+ \(it may reach itself only\)$/);
    p.free();
    const d = domctl(h, 40, g); // ioport_mapping: DM_PRIV
    expect(code(() => h.hypercall('domctl', [d.addr]))).toBe('ENOSYS');
    d.free();
    const d2 = domctl(h, 2, g); // destroydomain: PRIV
    expect(caught(() => h.hypercall('domctl', [d2.addr])).message).toContain('rule domctl [XSM_PRIV');
    d2.free();
    h.close();
  });

  test('device-model: its target only (DMOPs, params, resources); never ALTP2M or other domains', () => {
    const h = open({ host, domain: dm, filter: createFilter({ role: 'device-model', target: g }) });
    expect(h.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: 2 });
    const e = caught(() => h.dmop(o, { op: 'nr_vcpus' }));
    expect(e.code).toBe('EPERM');
    expect(e.message).toBe(`EPERM (ioctl): filter: rule dm_op/nr_vcpus [XSM_DM_PRIV, dummy.h xsm_dm_op] refuses role device-model(target ${g}) on domain ${o} (it may reach domain ${g} only)`);
    const p = param(h, g, 33);
    expect(h.hypercall('hvm_op', [1, p.addr])).toBe(0n);
    p.free();
    const q = param(h, o, 33);
    expect(byFilter(() => h.hypercall('hvm_op', [1, q.addr]))).toBe(true);
    q.free();
    const alt = param(h, g, 35, 1n);
    expect(caught(() => h.hypercall('hvm_op', [0, alt.addr])).message).toContain('rule hvm_op/set_param/ALTP2M [XSM_PRIV, dummy.h xsm_hvm_param_altp2mhvm]');
    alt.free();
    const res = h.hypercallBuffer(32);
    res.view.writeUInt16LE(o, 0);
    expect(caught(() => h.hypercall('memory_op', [28, res.addr])).message).toContain('rule memory_op/acquire_resource');
    res.view.writeUInt16LE(g, 0);
    expect(code(() => h.hypercall('memory_op', [28, res.addr]))).toBe('ENOSYS');
    h.freeHypercallBuffer(res);
    h.close();
  });

  test('guest: HOOK, and TARGET on itself (DOMID_SELF or its own id)', () => {
    const h = open({ host, domain: g, filter: createFilter({ role: 'guest' }) });
    for (const d of [DOMID.SELF, g]) {
      const p = param(h, d, 1);
      expect(h.hypercall('hvm_op', [1, p.addr])).toBe(0n);
      p.free();
    }
    const q = param(h, o, 1);
    expect(byFilter(() => h.hypercall('hvm_op', [1, q.addr]))).toBe(true);
    q.free();
    expect(h.hypercall('xen_version', [0])).toBe((4n << 16n) | 17n);
    expect(byFilter(() => h.hypercall('xen_version', [9]))).toBe(true); // commandline: XSM_PRIV
    expect(byFilter(() => h.dmop(o, { op: 'nr_vcpus' }))).toBe(true);
    h.close();
  });

  test('xenstore: getdomaininfo of any domain (XS_PRIV), nothing else privileged', () => {
    const h = open({ host, domain: xs, filter: createFilter({ role: 'xenstore' }) });
    const d = domctl(h, 5, g);
    expect(code(() => h.hypercall('domctl', [d.addr]))).toBe('ENOSYS');
    d.free();
    const d2 = domctl(h, 39, g);
    expect(caught(() => h.hypercall('domctl', [d2.addr])).message).toContain('rule domctl/memory_mapping');
    d2.free();
    expect(byFilter(() => h.dmop(g, { op: 'nr_vcpus' }))).toBe(true);
    h.close();
  });

  test('the same role under Xen 4.17\'s policy (hwPriv none): control has everything, hardware nothing privileged', () => {
    const c = createFilter({ role: 'control', hwPriv: 'none' });
    expect(c.verdict('platform_op')).toMatchObject({ kind: 'allow' });
    const hwf = createFilter({ role: 'hardware', hwPriv: 'none' });
    expect(hwf.verdict('platform_op')).toMatchObject({ kind: 'deny', source: 'xsm' });
    expect(hwf.verdict('dm_op')).toMatchObject({ kind: 'deny' });
    expect(createFilter({ role: 'hardware', hwPriv: 'exclusive' }).verdict('dm_op')).toMatchObject({ kind: 'allow' });
    expect(createFilter({ role: 'device-model', target: 4 }).verdict('dm_op')).toEqual({ rule: 'dm_op', kind: 'targeted', self: false, target: 4, source: 'xsm' });
    expect(createFilter({ role: 'guest' }).verdict('hvm_op/get_param')).toMatchObject({ kind: 'targeted', self: true, target: -1 });
  });
});

describe('the filter\'s own rules', () => {
  test('multicall and unknown hypercall numbers: refused unless the role may do everything', () => {
    const c = open({ host, filter: createFilter({ role: 'control', hwPriv: 'exclusive' }) });
    expect(caught(() => c.hypercall('multicall', [0, 0])).message).toBe('EPERM (ioctl): filter: rule multicall refuses role control (a batch hides its calls from the filter, and this role may not do everything)');
    expect(caught(() => c.hypercall(60, [])).message).toBe('EPERM (ioctl): filter: hypercall 60 is not in the policy table: refused for role control');
    c.close();
    const d0 = open({ host, filter: createFilter({ role: 'dom0' }) });
    expect(code(() => d0.hypercall('multicall', [0, 0]))).toBe('ENOSYS');
    expect(code(() => d0.hypercall(60, []))).toBe('ENOSYS');
    d0.close();
  });

  test('deny list: a rule and everything under it, whatever the role', () => {
    const f = createFilter({ role: 'dom0', deny: ['hvm_op/altp2m', 'dm_op/remote_shutdown', 'xen_version/pagesize'] });
    expect(f.verdict('hvm_op/altp2m/switch_p2m')).toMatchObject({ kind: 'deny', source: 'deny-list' });
    expect(f.verdict('hvm_op/get_param')).toMatchObject({ kind: 'allow' });
    const h = open({ host, filter: f });
    expect(caught(() => h.hypercall('xen_version', [7])).message).toBe('EPERM (ioctl): filter: rule xen_version/pagesize refuses role dom0 (on the filter\'s deny list)');
    expect(h.hypercall('xen_version', [0])).toBe((4n << 16n) | 17n);
    const e = caught(() => h.dmop(g, { op: 'remote_shutdown', reason: 'crash' }));
    expect(e.code).toBe('EPERM');
    expect(e.message).toContain(`rule dm_op/remote_shutdown refuses role dom0 on domain ${g} (on the filter's deny list)`);
    expect(host.inspect(g).shutdownReason).toBeNull(); // nothing reached the host
    expect(h.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: 2 });
    const buf = h.hypercallBuffer(80);
    buf.view.writeUInt32LE(1, 0);
    buf.view.writeUInt32LE(6, 4);
    buf.view.writeUInt16LE(g, 8);
    expect(caught(() => h.hypercall('hvm_op', [25, buf.addr])).message).toContain('rule hvm_op/altp2m/switch_p2m refuses role dom0 (on the filter\'s deny list, under hvm_op/altp2m)');
    // A DMOP the filter cannot see, while the deny list names one: refused.
    const b0 = h.hypercallBuffer(32);
    b0.view.writeUInt32LE(20, 0);
    expect(caught(() => h.dmopRaw(g, [{ addr: b0.addr, size: 32 }])).message).toContain('(the filter cannot see which DMOP it carries, and the deny list names dm_op/remote_shutdown)');
    expect(byFilter(() => h.dmopRaw(g, [new Uint8Array(2)]))).toBe(true);
    const desc = h.hypercallBuffer(16);
    desc.view.writeBigUInt64LE(b0.addr, 0);
    desc.view.writeBigUInt64LE(32n, 8);
    expect(byFilter(() => h.hypercall('dm_op', [g, 1, desc.addr]))).toBe(true);
    // The same raw buffer as a Uint8Array: the filter reads the op and lets nr_vcpus through.
    expect(h.dmopRaw(g, [Uint8Array.from(b0.view)])).toBe(0);
    h.close();
  });

  test('without a way to read the caller\'s memory (a device handle today), calls that need it are refused', () => {
    const f = createFilter({ role: 'device-model', target: g });
    const noMemory = { self: null, read: null };
    expect(caught(() => f.checkHypercall(HYPERCALLS.hvm_op, [1n, 0x1000n, 0n, 0n, 0n], noMemory)).message).toContain('cannot read the target domain on this backend');
    expect(caught(() => f.checkHypercall(HYPERCALLS.domctl, [0x1000n, 0n, 0n, 0n, 0n], noMemory)).message).toContain('cannot read the argument struct on this backend');
    expect(caught(() => f.checkHypercall(HYPERCALLS.hvm_op, [1n, 0x1000n, 0n, 0n, 0n], { self: null, read: () => false })).message).toContain('cannot read the target domain');
    expect(caught(() => f.checkHypercall(HYPERCALLS.domctl, [0x1000n, 0n, 0n, 0n, 0n], { self: null, read: () => false })).message).toContain('the filter cannot read the sub-op at 0x1000');
    expect(code(() => f.checkDmop(g, 20, noMemory))).toBe('ok');
    expect(code(() => f.checkHypercall(HYPERCALLS.xen_version, [0n, 0n, 0n, 0n, 0n], noMemory))).toBe('ok');
    // Roles whose verdicts do not depend on memory need none.
    expect(code(() => createFilter({ role: 'control' }).checkHypercall(HYPERCALLS.domctl, [0x1000n, 0n, 0n, 0n, 0n], noMemory))).toBe('ok');
    expect(caught(() => createFilter({ role: 'guest' }).checkHypercall(HYPERCALLS.domctl, [0x1000n, 0n, 0n, 0n, 0n], noMemory)).message).toContain('rule domctl');
  });
});

describe('more of the filter\'s answers', () => {
  test('altp2m mode disabled: every altp2m sub-op is refused (Xen would say EINVAL before XSM)', () => {
    const f = createFilter({ role: 'dom0', altp2mMode: 'disabled' });
    expect(f.allowsEverything).toBe(false);
    expect(f.verdict('hvm_op/altp2m/get_domain_state')).toMatchObject({ kind: 'deny', source: 'altp2m-mode' });
    const h = open({ host, filter: f });
    const buf = h.hypercallBuffer(80);
    buf.view.writeUInt32LE(1, 0);
    buf.view.writeUInt32LE(1, 4);
    buf.view.writeUInt16LE(g, 8);
    const e = caught(() => h.hypercall('hvm_op', [25, buf.addr]));
    expect(e.code).toBe('EPERM');
    expect(e.message).toBe('EPERM (ioctl): filter: rule hvm_op/altp2m/get_domain_state refuses role dom0 (Xen refuses it before XSM in altp2m mode disabled: -EINVAL)');
    h.close();
  });

  test('self given to the filter: XSM_TARGET on that domain by number, without a handle to tell it', () => {
    const f = createFilter({ role: 'guest', self: 5 });
    const mem = (domid: number) => ({ self: null, read: (_a: bigint, out: Uint8Array) => { out[0] = domid & 0xff; out[1] = domid >> 8; return true; } });
    expect(code(() => f.checkHypercall(HYPERCALLS.hvm_op, [1n, 0x1000n, 0n, 0n, 0n], mem(5)))).toBe('ok');
    expect(code(() => f.checkHypercall(HYPERCALLS.hvm_op, [1n, 0x1000n, 0n, 0n, 0n], mem(DOMID.SELF)))).toBe('ok');
    expect(code(() => f.checkHypercall(HYPERCALLS.hvm_op, [1n, 0x1000n, 0n, 0n, 0n], mem(6)))).toBe('EPERM');
    expect(code(() => createFilter({ role: 'guest' }).checkHypercall(HYPERCALLS.hvm_op, [1n, 0x1000n, 0n, 0n, 0n], mem(5)))).toBe('EPERM');
  });
});

describe('on a handle', () => {
  test('restriction composes with the filter: the filter first, then the driver\'s restriction', () => {
    const h = open({ host, domain: dm, filter: createFilter({ role: 'device-model', target: g }) });
    h.restrict(g);
    expect(h.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: 2 });
    const e = caught(() => h.dmop(o, { op: 'nr_vcpus' }));
    expect(e.code).toBe('EPERM');
    expect(e.message).toContain('filter: rule dm_op/nr_vcpus');
    // xen_version passes the filter (HOOK), then the restricted handle refuses raw hypercalls.
    const r = caught(() => h.hypercall('xen_version', [0]));
    expect(r.code).toBe('EPERM');
    expect(r.message).not.toContain('filter:');
    expect(r.message).toContain('restricted');
    // What the filter refuses it refuses first, with its own message.
    expect(byFilter(() => h.hypercall('sysctl', [0]))).toBe(true);
    h.close();
    // Restricted to a domain the filter does not allow: both refuse, the filter first.
    const h2 = open({ host, domain: dm, filter: createFilter({ role: 'device-model', target: g }) });
    h2.restrict(o);
    expect(byFilter(() => h2.dmop(o, { op: 'nr_vcpus' }))).toBe(true);
    expect(caught(() => h2.dmop(g, { op: 'nr_vcpus' })).message).toContain('restricted to domain');
    h2.close();
  });

  test('the async calls consult the filter too', async () => {
    const h = open({ host, domain: dm, filter: createFilter({ role: 'device-model', target: g }) });
    await expect(h.dmopAsync(o, { op: 'nr_vcpus' })).rejects.toMatchObject({ code: 'EPERM', message: expect.stringContaining('filter: rule dm_op/nr_vcpus') });
    await expect(h.dmopRawAsync(o, [new Uint8Array(32)])).rejects.toMatchObject({ code: 'EPERM', message: expect.stringContaining('filter:') });
    await expect(h.hypercallAsync('sysctl', [0])).rejects.toMatchObject({ code: 'EPERM', message: expect.stringContaining('filter: rule sysctl') });
    await expect(h.dmopAsync(g, { op: 'nr_vcpus' })).resolves.toEqual({ vcpus: 2 });
    h.close();
  });

  test('a refused call reaches nothing: no ioreq server appears', () => {
    const h = open({ host, domain: dm, filter: createFilter({ role: 'device-model', target: o }) });
    expect(h.filter?.label).toBe(`device-model(target ${o})`);
    expect(code(() => h.dmop(g, { op: 'create_ioreq_server' }))).toBe('EPERM');
    expect(host.inspect(g).ioreqServers).toEqual([]);
    h.close();
    expect(open({ host }).filter).toBeNull();
  });

  test('the in-guest agent allow-list keeps the safe altp2m sub-ops and refuses every other', () => {
    const f = createFilter({ role: 'guest', allow: altp2mGuestAllowList() });
    expect(f.verdict('hvm_op/altp2m/get_domain_state')).toMatchObject({ kind: 'targeted', self: true });
    expect(f.verdict('hvm_op/altp2m/vcpu_enable_notify')).toMatchObject({ kind: 'targeted' });
    for (const n of ['set_domain_state', 'switch_p2m', 'set_mem_access', 'change_gfn', 'set_suppress_ve', 'set_visibility', 'create_p2m']) {
      expect({ n, v: f.verdict(`hvm_op/altp2m/${n}`) }).toMatchObject({ n, v: { kind: 'deny', source: 'allow-list' } });
    }
    // Only hvm_op/altp2m is confined: the rest of the guest's policy is XSM's.
    expect(f.verdict('hvm_op/get_param')).toMatchObject({ kind: 'targeted', source: 'xsm' });
    expect(f.verdict('xen_version')).toMatchObject({ kind: 'allow' });
    expect(f.allow).toEqual(altp2mGuestAllowList().map((e) => e.rule));
  });
});

// altp2m: the codec, Xen's per-mode gating, the simulated do_altp2m_op (its
// check order and errnos, and the state it keeps), HVM_PARAM_ALTP2M, and the
// audited mixed-mode classification turned into an allow-list.
import { DOMID } from '../../lib/abi/domids';
import { open, type Privcmd } from '../../lib/privcmd';
import { createSimulatedHost, type SimulatedHost } from '../../lib/sim/host';
import { XSM, xsmDefaultAction, type XsmSubject } from '../../lib/policy/xsm';
import { createFilter } from '../../lib/policy/filter';
import { xsmRule } from '../../lib/policy/xsm-actions';
import {
  ALTP2M_CMDS, ALTP2M_MIXED_MODE_CLASSIFICATION, ALTP2M_MODES, ALTP2M_STRUCTS, ALTP2M_U, MAX_ALTP2M, XENMEM_ACCESS,
  altp2mCmd, altp2mGuestAllowList, altp2mRuleName, altp2mXsmAction, decodeAltp2mOp, encodeAltp2mOp,
  type Altp2mModeName, type Altp2mRequest,
} from '../../lib/policy/altp2m';
import { altp2mOp } from '../../lib/clients/altp2m';

const code = (fn: () => unknown): string => {
  try { fn(); return 'ok'; } catch (e) { return (e as { code?: string }).code ?? String(e); }
};

/** Issue raw bytes as HVMOP_altp2m (to send what the encoder would refuse). */
function raw(h: Privcmd, bytes: Uint8Array, patch?: (dv: DataView) => void): string {
  const buf = h.hypercallBuffer(80);
  buf.view.set(bytes);
  if (patch) patch(new DataView(buf.view.buffer, buf.view.byteOffset, 80));
  const r = code(() => h.hypercall('hvm_op', [25, buf.addr]));
  h.freeHypercallBuffer(buf);
  return r;
}

describe('codec', () => {
  test('encode: version 1, the command, the domain, each IN field at its layout offset, the rest zero', () => {
    const b = encodeAltp2mOp({ cmd: 'change_gfn', domain: 7, view: 3, oldGfn: 0x1234n, newGfn: 0xffffffffffffffffn });
    expect(b.length).toBe(80);
    const dv = new DataView(b.buffer);
    expect([dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint16(8, true), dv.getUint16(10, true), dv.getUint32(12, true)]).toEqual([1, 8, 7, 0, 0]);
    expect([dv.getUint16(ALTP2M_U, true), dv.getBigUint64(ALTP2M_U + 8, true), dv.getBigUint64(ALTP2M_U + 16, true)]).toEqual([3, 0x1234n, 0xffffffffffffffffn]);
    expect([...b.subarray(ALTP2M_U + 24)].every((x) => x === 0)).toBe(true);
    const e = encodeAltp2mOp({ cmd: 'vcpu_enable_notify', domain: DOMID.SELF, vcpuId: 1, gfn: 0x99n });
    const ev = new DataView(e.buffer);
    expect([ev.getUint16(8, true), ev.getUint32(ALTP2M_U, true), ev.getUint32(ALTP2M_U + 4, true), ev.getBigUint64(ALTP2M_U + 8, true)]).toEqual([DOMID.SELF, 1, 0, 0x99n]);
  });

  test('every command encodes with its inputs at the struct\'s offsets', () => {
    for (const c of ALTP2M_CMDS) {
      const fields = ALTP2M_STRUCTS[c.struct].fields;
      const req: Record<string, unknown> = { cmd: c.name, domain: 1 };
      c.inputs.forEach((name, i) => {
        const f = fields.find((x) => x.name === name)!;
        const camel = name.replace(/_([a-z0-9])/g, (_m, x: string) => x.toUpperCase());
        req[camel] = f.type === 'u64' ? BigInt(i + 2) : i + 2 > 10 ? 1 : i + 2;
      });
      const b = encodeAltp2mOp(req as unknown as Altp2mRequest);
      const dv = new DataView(b.buffer);
      c.inputs.forEach((name, i) => {
        const f = fields.find((x) => x.name === name)!;
        const at = ALTP2M_U + f.offset;
        const v = f.type === 'u64' ? dv.getBigUint64(at, true) : f.type === 'u32' ? dv.getUint32(at, true) : f.type === 'u16' ? dv.getUint16(at, true) : dv.getUint8(at);
        expect({ cmd: c.name, name, v }).toEqual({ cmd: c.name, name, v: f.type === 'u64' ? BigInt(i + 2) : i + 2 > 10 ? 1 : i + 2 });
      });
    }
  });

  test('names, booleans and defaults', () => {
    const b = new DataView(encodeAltp2mOp({ cmd: 'set_mem_access', domain: 1, view: 2, access: 'rx', gfn: 5n }).buffer);
    expect(b.getUint16(ALTP2M_U + 2, true)).toBe(XENMEM_ACCESS.rx);
    const c = new DataView(encodeAltp2mOp({ cmd: 'create_p2m', domain: 1 }).buffer);
    expect(c.getUint16(ALTP2M_U + 2, true)).toBe(XENMEM_ACCESS.default);
    const s = new DataView(encodeAltp2mOp({ cmd: 'set_domain_state', domain: 1, state: true }).buffer);
    expect(s.getUint8(ALTP2M_U)).toBe(1);
  });

  test('bad requests are EINVAL', () => {
    const bad = [
      null, { cmd: 'nope', domain: 1 }, { cmd: 17, domain: 1 }, { cmd: 'switch_p2m', domain: 1 },
      { cmd: 'switch_p2m', domain: 1, view: 0x10000 }, { cmd: 'switch_p2m', domain: 1, view: 1, extra: 1 },
      { cmd: 'switch_p2m', domain: 70000, view: 1 }, { cmd: 'switch_p2m', view: 1 }, { cmd: 'switch_p2m', domain: 1, view: true },
      { cmd: 'set_mem_access', domain: 1, view: 0, access: 'all', gfn: 1n }, { cmd: 'set_mem_access', domain: 1, view: 0, access: 1, gfn: -1n },
      { cmd: 'set_mem_access', domain: 1, view: 0, access: 1, gfn: 1.5 }, { cmd: 'set_domain_state', domain: 1, state: 'on' },
    ];
    for (const r of bad) expect({ r, c: code(() => encodeAltp2mOp(r as never)) }).toEqual({ r, c: 'EINVAL' });
    // The domid check is the library's one (domidArg), and its message names the field.
    for (const domain of [70000, -1, 1.5, '1', undefined]) {
      expect(() => encodeAltp2mOp({ cmd: 'switch_p2m', domain, view: 1 } as never)).toThrow(
        expect.objectContaining({ code: 'EINVAL', detail: expect.stringMatching(/^altp2m switch_p2m\.domain must be an integer in \[0, 65535\] \(domid_t\), got /) }));
    }
    expect(code(() => decodeAltp2mOp('nope' as never, new Uint8Array(80)))).toBe('EINVAL');
    expect(code(() => decodeAltp2mOp('get_p2m_idx', new Uint8Array(79)))).toBe('EINVAL');
  });

  test('decode: the OUT fields, typed', () => {
    const b = new Uint8Array(80);
    const dv = new DataView(b.buffer);
    dv.setUint8(ALTP2M_U, 1);
    expect(decodeAltp2mOp('get_domain_state', b)).toEqual({ state: true });
    dv.setUint16(ALTP2M_U, 4, true);
    expect(decodeAltp2mOp('create_p2m', b)).toEqual({ view: 4 });
    dv.setInt32(ALTP2M_U + 4, -3, true);
    dv.setBigUint64(ALTP2M_U + 8, 9n, true);
    dv.setBigUint64(ALTP2M_U + 24, 7n, true);
    expect(decodeAltp2mOp('set_suppress_ve_multi', b)).toEqual({ firstError: -3, firstGfn: 9n, firstErrorGfn: 7n });
    expect(decodeAltp2mOp('switch_p2m', b)).toEqual({});
    expect(altp2mCmd(6)?.name).toBe('switch_p2m');
    expect(altp2mCmd('set_visibility')?.cmd).toBe(16);
  });
});

describe('who may call what (xsm_hvm_altp2mhvm_op, xen/include/xsm/dummy.h)', () => {
  const guest: XsmSubject = { domid: 5, isControl: false, isHardware: false, isXenstore: false, target: null };
  const dm: XsmSubject = { domid: 6, isControl: false, isHardware: false, isXenstore: false, target: 5 };
  const control: XsmSubject = { domid: 0, isControl: true, isHardware: true, isXenstore: true, target: null };
  const may = (mode: number, cmd: number, src: XsmSubject): boolean | 'EINVAL' => {
    const a = altp2mXsmAction(mode, cmd);
    return a === null ? 'EINVAL' : xsmDefaultAction(a, src, guest) === 0;
  };

  test.each([
    ['disabled', [], 'EINVAL'],
    ['mixed', ALTP2M_CMDS.map((c) => c.name), 'all'],
    ['external', [], 'all'],
    ['limited', ['vcpu_enable_notify'], 'all'],
  ] as const)('%s: the guest itself may call %j; an external tool (its device model, the control domain): %s', (mode, guestMay, external) => {
    const m = ALTP2M_MODES[mode];
    for (const c of ALTP2M_CMDS) {
      if (external === 'EINVAL') {
        expect([may(m, c.cmd, guest), may(m, c.cmd, dm), may(m, c.cmd, control)]).toEqual(['EINVAL', 'EINVAL', 'EINVAL']);
        continue;
      }
      expect({ mode, cmd: c.name, guest: may(m, c.cmd, guest) }).toEqual({ mode, cmd: c.name, guest: (guestMay as readonly string[]).includes(c.name) });
      expect({ mode, cmd: c.name, dm: may(m, c.cmd, dm), control: may(m, c.cmd, control) }).toEqual({ mode, cmd: c.name, dm: true, control: true });
    }
  });

  test('the actions: mixed TARGET, external DM_PRIV, limited TARGET only for enable_notify; unknown commands never reach XSM', () => {
    expect(altp2mXsmAction(1, 6)).toBe(XSM.TARGET);
    expect(altp2mXsmAction(2, 3)).toBe(XSM.DM_PRIV);
    expect(altp2mXsmAction(3, 3)).toBe(XSM.TARGET);
    expect(altp2mXsmAction(3, 13)).toBe(XSM.DM_PRIV);
    expect(altp2mXsmAction(1, 99)).toBe(XSM.HOOK);
    expect(altp2mXsmAction(7, 6)).toBe(XSM.OTHER); // dummy.h's default: refused
  });
});

describe('the simulated do_altp2m_op', () => {
  let host: SimulatedHost;
  let dom0: Privcmd;
  let g: number;
  const op = <R extends Altp2mRequest>(h: Privcmd, r: R) => altp2mOp(h, r);
  beforeEach(() => {
    host = createSimulatedHost({ altp2m: true });
    g = host.createDomain({ type: 'hvm', vcpus: 2, memoryPages: 64, altp2m: 'mixed' });
    dom0 = open({ host });
  });
  afterEach(() => host.close());

  test('check order and errnos, step by step (do_altp2m_op, xen/arch/x86/hvm/hvm.c, Xen 4.17)', () => {
    const get = encodeAltp2mOp({ cmd: 'get_domain_state', domain: g });
    // 1. not supported: EOPNOTSUPP before anything, even a bad pointer or version.
    const off = createSimulatedHost();
    const h0 = open({ host: off });
    const gg = off.createDomain({ altp2m: 'mixed' });
    expect(raw(h0, encodeAltp2mOp({ cmd: 'get_domain_state', domain: gg }), (v) => v.setUint32(0, 2, true))).toBe('EOPNOTSUPP');
    expect(code(() => h0.hypercall('hvm_op', [25, 0]))).toBe('EOPNOTSUPP');
    off.close();
    // 2. copy: EFAULT.
    expect(code(() => dom0.hypercall('hvm_op', [25, 0x10n]))).toBe('EFAULT');
    // 3. pads and version: EINVAL, before the command is looked at.
    expect(raw(dom0, get, (v) => v.setUint16(10, 1, true))).toBe('EINVAL');
    expect(raw(dom0, get, (v) => v.setUint32(12, 1, true))).toBe('EINVAL');
    expect(raw(dom0, get, (v) => { v.setUint32(0, 2, true); v.setUint32(4, 99, true); })).toBe('EINVAL');
    // 4. unknown command: EOPNOTSUPP, before the domain is looked up.
    for (const c of [0, 17, 0xffffffff]) expect({ c, r: raw(dom0, get, (v) => { v.setUint32(4, c, true); v.setUint16(8, 0x7000, true); }) }).toEqual({ c, r: 'EOPNOTSUPP' });
    // 5. domain: ESRCH.
    expect(raw(dom0, get, (v) => v.setUint16(8, 0x7000, true))).toBe('ESRCH');
    // 6. PV: EOPNOTSUPP.
    const pv = host.createDomain({ type: 'pv' });
    expect(code(() => op(dom0, { cmd: 'get_domain_state', domain: pv }))).toBe('EOPNOTSUPP');
    // 7. not active: EOPNOTSUPP for all but get/set_domain_state, before the mode check.
    const dis = host.createDomain({ type: 'hvm' });
    expect(code(() => op(dom0, { cmd: 'switch_p2m', domain: dis, view: 0 }))).toBe('EOPNOTSUPP');
    expect(code(() => op(dom0, { cmd: 'switch_p2m', domain: g, view: 0 }))).toBe('EOPNOTSUPP');
    // 8. mode disabled: EINVAL.
    expect(code(() => op(dom0, { cmd: 'get_domain_state', domain: dis }))).toBe('EINVAL');
    expect(code(() => op(dom0, { cmd: 'set_domain_state', domain: dis, state: 1 }))).toBe('EINVAL');
    // 10. XSM: a guest may not reach another domain even in mixed mode.
    const other = host.createDomain({ type: 'hvm', altp2m: 'mixed' });
    const gh = open({ host, domain: other });
    expect(code(() => op(gh, { cmd: 'get_domain_state', domain: g }))).toBe('EPERM');
    expect(op(gh, { cmd: 'get_domain_state', domain: DOMID.SELF })).toEqual({ state: false });
    gh.close();
    h0.close();
  });

  test.each([['mixed', 'ok', 'ok'], ['external', 'EPERM', 'EPERM'], ['limited', 'ok', 'EPERM']] as const)(
    'mode %s: the guest on itself: enable_notify %s, switch_p2m %s; its device model may do both', (mode, enable, sw) => {
      const d = host.createDomain({ type: 'hvm', vcpus: 2, memoryPages: 64, altp2m: mode as Altp2mModeName });
      const stub = host.createDomain({ type: 'pvh', target: d });
      const dm = open({ host, domain: stub });
      const gh = open({ host, domain: d });
      op(dom0, { cmd: 'set_domain_state', domain: d, state: 1 });
      expect(code(() => op(gh, { cmd: 'vcpu_enable_notify', domain: DOMID.SELF, vcpuId: 0, gfn: 3n }))).toBe(enable);
      expect(code(() => op(gh, { cmd: 'switch_p2m', domain: DOMID.SELF, view: 0 }))).toBe(sw);
      expect(code(() => op(gh, { cmd: 'vcpu_disable_notify', domain: DOMID.SELF, vcpuId: 0 }))).toBe(mode === 'mixed' ? 'ok' : 'EPERM');
      expect(code(() => op(dm, { cmd: 'vcpu_enable_notify', domain: d, vcpuId: 1, gfn: 4n }))).toBe('ok');
      expect(code(() => op(dm, { cmd: 'switch_p2m', domain: d, view: 0 }))).toBe('ok');
      dm.close();
      gh.close();
    });

  test('views, vCPUs and #VE pages, seen through inspect()', () => {
    expect(host.inspect(g).altp2m).toEqual({ mode: 1, active: false, views: [], host: {}, vcpus: [{ view: null, veInfoGfn: null }, { view: null, veInfoGfn: null }] });
    expect(op(dom0, { cmd: 'get_domain_state', domain: g })).toEqual({ state: false });
    op(dom0, { cmd: 'set_domain_state', domain: g, state: true });
    expect(op(dom0, { cmd: 'get_domain_state', domain: g })).toEqual({ state: true });
    expect(host.inspect(g).altp2m).toMatchObject({ active: true, views: [{ index: 0, defaultAccess: 7, visible: true, entries: {} }], vcpus: [{ view: 0 }, { view: 0 }] });

    const { view } = op(dom0, { cmd: 'create_p2m', domain: g, hvmmemDefaultAccess: 'rx' });
    expect(view).toBe(1);
    op(dom0, { cmd: 'switch_p2m', domain: g, view });
    expect(op(dom0, { cmd: 'get_p2m_idx', domain: g, vcpuId: 1 })).toEqual({ altp2mIdx: 1 });
    expect(code(() => op(dom0, { cmd: 'destroy_p2m', domain: g, view }))).toBe('EBUSY'); // active on the vCPUs
    expect(code(() => op(dom0, { cmd: 'destroy_p2m', domain: g, view: 0 }))).toBe('EBUSY');
    expect(code(() => op(dom0, { cmd: 'destroy_p2m', domain: g, view: 5 }))).toBe('EBUSY'); // no such view
    expect(code(() => op(dom0, { cmd: 'switch_p2m', domain: g, view: 5 }))).toBe('EINVAL');
    expect(code(() => op(dom0, { cmd: 'switch_p2m', domain: g, view: 10 }))).toBe('EINVAL');

    // Access rights: in the view (copied from the host p2m), and in the host p2m (view 0).
    op(dom0, { cmd: 'set_mem_access', domain: g, view, access: 'r', gfn: 3n });
    expect(op(dom0, { cmd: 'get_mem_access', domain: g, view, gfn: 3n })).toEqual({ access: XENMEM_ACCESS.r });
    expect(code(() => op(dom0, { cmd: 'get_mem_access', domain: g, view, gfn: 4n }))).toBe('ESRCH'); // not in the view
    expect(op(dom0, { cmd: 'get_mem_access', domain: g, view: 0, gfn: 4n })).toEqual({ access: XENMEM_ACCESS.rwx });
    op(dom0, { cmd: 'set_mem_access', domain: g, view: 0, access: 'x', gfn: 4n });
    expect(op(dom0, { cmd: 'get_mem_access', domain: g, view: 0, gfn: 4n })).toEqual({ access: XENMEM_ACCESS.x });
    op(dom0, { cmd: 'set_mem_access', domain: g, view, access: 'default', gfn: 5n });
    expect(op(dom0, { cmd: 'get_mem_access', domain: g, view, gfn: 5n })).toEqual({ access: XENMEM_ACCESS.rx }); // the view's default
    expect(code(() => op(dom0, { cmd: 'set_mem_access', domain: g, view, access: 11, gfn: 3n }))).toBe('EINVAL');
    expect(code(() => op(dom0, { cmd: 'set_mem_access', domain: g, view, access: 'r', gfn: 100000n }))).toBe('ESRCH'); // not guest RAM
    expect(code(() => op(dom0, { cmd: 'set_mem_access', domain: g, view: 7, access: 'r', gfn: 3n }))).toBe('EINVAL');

    // change_gfn: gfn 6 shows gfn 7's frame in the view; INVALID_GFN reverts.
    op(dom0, { cmd: 'change_gfn', domain: g, view, oldGfn: 6n, newGfn: 7n });
    expect(host.inspect(g).altp2m.views[1]!.entries[6]).toEqual({ access: XENMEM_ACCESS.rx, suppressVe: true, frame: 7 });
    op(dom0, { cmd: 'change_gfn', domain: g, view, oldGfn: 6n, newGfn: 0xffffffffffffffffn });
    expect(host.inspect(g).altp2m.views[1]!.entries[6]).toBeUndefined();
    expect(code(() => op(dom0, { cmd: 'change_gfn', domain: g, view, oldGfn: 6n, newGfn: 100000n }))).toBe('ESRCH');

    // Suppress #VE: default set; cleared for one page, and a range.
    expect(op(dom0, { cmd: 'get_suppress_ve', domain: g, view, gfn: 9n })).toEqual({ suppressVe: true });
    op(dom0, { cmd: 'set_suppress_ve', domain: g, view, suppressVe: false, gfn: 9n });
    expect(op(dom0, { cmd: 'get_suppress_ve', domain: g, view, gfn: 9n })).toEqual({ suppressVe: false });
    expect(op(dom0, { cmd: 'set_suppress_ve_multi', domain: g, view: 0, suppressVe: false, firstGfn: 10n, lastGfn: 12n })).toEqual({ firstError: 0, firstGfn: 13n, firstErrorGfn: 0n });
    expect(host.inspect(g).altp2m.host[11]).toEqual({ access: XENMEM_ACCESS.rwx, suppressVe: false });
    // A range reaching past guest RAM: the first page that is not RAM is the first error; the rest are set.
    expect(op(dom0, { cmd: 'set_suppress_ve_multi', domain: g, view: 0, suppressVe: false, firstGfn: 62n, lastGfn: 70n })).toEqual({ firstError: -3, firstGfn: 71n, firstErrorGfn: 64n });
    expect(code(() => op(dom0, { cmd: 'set_suppress_ve_multi', domain: g, view: 0, suppressVe: false, firstGfn: 5n, lastGfn: 4n }))).toBe('EINVAL');

    // set_mem_access_multi reads its lists from the caller's memory.
    const pfns = dom0.hypercallBuffer(16);
    pfns.view.writeBigUInt64LE(20n, 0);
    pfns.view.writeBigUInt64LE(21n, 8);
    const acc = dom0.hypercallBuffer(2);
    acc.view[0] = XENMEM_ACCESS.n;
    acc.view[1] = XENMEM_ACCESS.w;
    op(dom0, { cmd: 'set_mem_access_multi', domain: g, view, nr: 2, pfnList: pfns.addr, accessList: acc.addr });
    expect(host.inspect(g).altp2m.views[1]!.entries).toMatchObject({ 20: { access: XENMEM_ACCESS.n }, 21: { access: XENMEM_ACCESS.w } });
    expect(code(() => op(dom0, { cmd: 'set_mem_access_multi', domain: g, view, nr: 2, pfnList: 0x10n, accessList: acc.addr }))).toBe('EFAULT');
    expect(code(() => op(dom0, { cmd: 'set_mem_access_multi', domain: g, view, nr: 1, opaque: 2n, pfnList: pfns.addr, accessList: acc.addr }))).toBe('EINVAL');
    dom0.freeHypercallBuffer(pfns);
    dom0.freeHypercallBuffer(acc);

    // Visibility: an invisible view cannot be switched to.
    op(dom0, { cmd: 'switch_p2m', domain: g, view: 0 });
    op(dom0, { cmd: 'set_visibility', domain: g, altp2mIdx: view, visible: 0 });
    expect(code(() => op(dom0, { cmd: 'switch_p2m', domain: g, view }))).toBe('EINVAL');
    expect(code(() => op(dom0, { cmd: 'set_visibility', domain: g, altp2mIdx: 9, visible: 1 }))).toBe('EINVAL');
    op(dom0, { cmd: 'destroy_p2m', domain: g, view });

    // #VE pages: once per vCPU, writable RAM only, existing vCPUs only.
    op(dom0, { cmd: 'vcpu_enable_notify', domain: g, vcpuId: 1, gfn: 30n });
    expect(code(() => op(dom0, { cmd: 'vcpu_enable_notify', domain: g, vcpuId: 1, gfn: 31n }))).toBe('EEXIST');
    expect(code(() => op(dom0, { cmd: 'vcpu_enable_notify', domain: g, vcpuId: 0, gfn: 100000n }))).toBe('EINVAL');
    expect(code(() => op(dom0, { cmd: 'vcpu_enable_notify', domain: g, vcpuId: 2, gfn: 30n }))).toBe('EINVAL');
    expect(code(() => op(dom0, { cmd: 'vcpu_disable_notify', domain: g, vcpuId: 2 }))).toBe('EINVAL');
    expect(code(() => op(dom0, { cmd: 'get_p2m_idx', domain: g, vcpuId: 2 }))).toBe('EINVAL');
    expect(host.inspect(g).altp2m.vcpus).toEqual([{ view: 0, veInfoGfn: null }, { view: 0, veInfoGfn: 30n }]);

    // All slots in use: EINVAL.
    for (let i = 1; i < MAX_ALTP2M; i++) op(dom0, { cmd: 'create_p2m', domain: g });
    expect(code(() => op(dom0, { cmd: 'create_p2m', domain: g }))).toBe('EINVAL');
    expect(code(() => op(dom0, { cmd: 'create_p2m', domain: g, hvmmemDefaultAccess: 11 }))).toBe('EINVAL');

    // Off: every view is flushed, #VE disabled, vCPUs leave altp2m. The host p2m keeps its access.
    op(dom0, { cmd: 'set_domain_state', domain: g, state: false });
    expect(host.inspect(g).altp2m).toMatchObject({ active: false, views: [], vcpus: [{ view: null, veInfoGfn: null }, { view: null, veInfoGfn: null }] });
    expect(host.inspect(g).altp2m.host[4]).toEqual({ access: XENMEM_ACCESS.x, suppressVe: true });
  });

  test('the remaining refusals: unknown views, non-RAM gfns, a read-only result buffer, nested HVM', () => {
    op(dom0, { cmd: 'set_domain_state', domain: g, state: 1 });
    for (const r of [
      { cmd: 'get_mem_access', domain: g, view: 4, gfn: 1n }, { cmd: 'get_suppress_ve', domain: g, view: 4, gfn: 1n },
      { cmd: 'set_suppress_ve', domain: g, view: 4, suppressVe: 1, gfn: 1n },
      { cmd: 'set_suppress_ve_multi', domain: g, view: 4, suppressVe: 1, firstGfn: 0n, lastGfn: 1n },
      { cmd: 'set_mem_access_multi', domain: g, view: 4, nr: 0, pfnList: 0n, accessList: 0n },
      { cmd: 'change_gfn', domain: g, view: 4, oldGfn: 1n, newGfn: 2n },
    ] as Altp2mRequest[]) expect({ cmd: r.cmd, c: code(() => op(dom0, r)) }).toEqual({ cmd: r.cmd, c: 'EINVAL' });
    for (const r of [
      { cmd: 'get_suppress_ve', domain: g, view: 0, gfn: 100000n }, { cmd: 'set_suppress_ve', domain: g, view: 0, suppressVe: 1, gfn: 100000n },
      { cmd: 'get_mem_access', domain: g, view: 0, gfn: 100000n }, { cmd: 'change_gfn', domain: g, view: 0, oldGfn: 100000n, newGfn: 1n },
      { cmd: 'set_suppress_ve', domain: g, view: 0, suppressVe: 1, gfn: 100000n },
    ] as Altp2mRequest[]) expect({ cmd: r.cmd, c: code(() => op(dom0, r)) }).toEqual({ cmd: r.cmd, c: 'ESRCH' });
    const { view } = op(dom0, { cmd: 'create_p2m', domain: g });
    expect(code(() => op(dom0, { cmd: 'set_suppress_ve', domain: g, view, suppressVe: 0, gfn: 100000n }))).toBe('ESRCH');
    expect(code(() => op(dom0, { cmd: 'get_suppress_ve', domain: g, view, gfn: 100000n }))).toBe('ESRCH');
    // Xen copies the struct back: read-only caller memory is EFAULT.
    const ro = host.process(0).space.alloc(80, { readOnly: true });
    ro.view.set(encodeAltp2mOp({ cmd: 'get_domain_state', domain: g }));
    expect(code(() => dom0.hypercall('hvm_op', [25, ro.addr]))).toBe('EFAULT');
    // set_domain_state refuses a domain with nested HVM (which creation and the param rules keep apart; set behind their back here).
    host.domainById(g)!.nestedHvm = true;
    expect(code(() => op(dom0, { cmd: 'set_domain_state', domain: g, state: 0 }))).toBe('EINVAL');
  });

  test('pads inside the union are EINVAL', () => {
    op(dom0, { cmd: 'set_domain_state', domain: g, state: 1 });
    const cases: [Altp2mRequest, number][] = [
      [{ cmd: 'vcpu_enable_notify', domain: g, vcpuId: 0, gfn: 1n }, 4],
      [{ cmd: 'set_mem_access', domain: g, view: 0, access: 7, gfn: 1n }, 4],
      [{ cmd: 'get_mem_access', domain: g, view: 0, gfn: 1n }, 4],
      [{ cmd: 'change_gfn', domain: g, view: 0, oldGfn: 1n, newGfn: 2n }, 2],
      [{ cmd: 'set_suppress_ve', domain: g, view: 0, suppressVe: 1, gfn: 1n }, 3],
      [{ cmd: 'get_suppress_ve', domain: g, view: 0, gfn: 1n }, 4],
      [{ cmd: 'set_mem_access_multi', domain: g, view: 0, nr: 0, pfnList: 0n, accessList: 0n }, 2],
      [{ cmd: 'set_suppress_ve_multi', domain: g, view: 0, suppressVe: 1, firstGfn: 0n, lastGfn: 1n }, 3],
      [{ cmd: 'set_visibility', domain: g, altp2mIdx: 0, visible: 1 }, 3],
    ];
    for (const [r, padAt] of cases) {
      expect({ cmd: r.cmd, c: raw(dom0, encodeAltp2mOp(r), (v) => v.setUint8(ALTP2M_U + padAt, 1)) }).toEqual({ cmd: r.cmd, c: 'EINVAL' });
    }
  });

  test('refused or failed sub-ops change nothing', () => {
    op(dom0, { cmd: 'set_domain_state', domain: g, state: 1 });
    const before = host.inspect(g).altp2m;
    const gh = open({ host, domain: host.createDomain({ type: 'hvm' }) });
    expect(code(() => op(gh, { cmd: 'create_p2m', domain: g }))).toBe('EPERM');
    expect(code(() => op(dom0, { cmd: 'set_mem_access', domain: g, view: 0, access: 12, gfn: 1n }))).toBe('EINVAL');
    expect(code(() => op(dom0, { cmd: 'switch_p2m', domain: g, view: 3 }))).toBe('EINVAL');
    expect(host.inspect(g).altp2m).toEqual(before);
    gh.close();
  });
});

describe('HVM_PARAM_ALTP2M (Xen 4.17: settable once by the control domain)', () => {
  let host: SimulatedHost;
  let dom0: Privcmd;
  let g: number;
  const set = (h: Privcmd, domid: number, index: number, value: bigint): string => {
    const b = h.hypercallBuffer(16);
    b.view.writeUInt16LE(domid, 0);
    b.view.writeUInt32LE(index, 4);
    b.view.writeBigUInt64LE(value, 8);
    const r = code(() => h.hypercall('hvm_op', [0, b.addr]));
    h.freeHypercallBuffer(b);
    return r;
  };
  const get = (h: Privcmd, domid: number, index: number): bigint | string => {
    const b = h.hypercallBuffer(16);
    b.view.writeUInt16LE(domid, 0);
    b.view.writeUInt32LE(index, 4);
    const r = code(() => h.hypercall('hvm_op', [1, b.addr]));
    const v = b.view.readBigUInt64LE(8);
    h.freeHypercallBuffer(b);
    return r === 'ok' ? v : r;
  };
  beforeEach(() => {
    host = createSimulatedHost({ altp2m: true });
    g = host.createDomain({ type: 'hvm' });
    dom0 = open({ host });
  });
  afterEach(() => host.close());

  test('the control domain sets it (0..3), once; the same value again is fine', () => {
    expect(get(dom0, g, 35)).toBe(0n);
    expect(set(dom0, g, 35, 4n)).toBe('EINVAL');
    expect(set(dom0, g, 35, 3n)).toBe('ok');
    expect(get(dom0, g, 35)).toBe(3n);
    expect(set(dom0, g, 35, 3n)).toBe('ok');
    expect(set(dom0, g, 35, 1n)).toBe('EEXIST');
    expect(host.inspect(g).altp2m.mode).toBe(3);
  });

  test('a device model reads it but may not set it (xsm_hvm_param_altp2mhvm: XSM_PRIV); nor may the guest (not guest-settable)', () => {
    const stub = host.createDomain({ type: 'pvh', target: g });
    const dm = open({ host, domain: stub });
    expect(get(dm, g, 35)).toBe(0n);
    expect(set(dm, g, 35, 1n)).toBe('EPERM');
    expect(set(dm, g, 33, 8n)).toBe('ok'); // other params: XSM_TARGET suffices
    const gh = open({ host, domain: g });
    expect(get(gh, DOMID.SELF, 35)).toBe(0n); // readable by the guest
    expect(set(gh, DOMID.SELF, 35, 1n)).toBe('EPERM');
    expect(set(gh, DOMID.SELF, 33, 8n)).toBe('EPERM'); // set-once params are not guest-settable either (checked first)
    expect(host.inspect(g).altp2m.mode).toBe(0);
    dm.close();
    gh.close();
  });

  test('nested HVM is a creation flag (HVM_PARAM_NESTEDHVM is deprecated: EINVAL); it excludes altp2m and needs HAP', () => {
    expect(set(dom0, g, 24, 1n)).toBe('EINVAL');
    expect(set(dom0, g, 24, 0n)).toBe('EINVAL');
    expect(get(dom0, g, 24)).toBe('EINVAL');
    const nested = host.createDomain({ type: 'hvm', nestedHvm: true });
    expect(set(dom0, nested, 35, 1n)).toBe('EINVAL');
    expect(set(dom0, nested, 35, 0n)).toBe('ok');
    expect(code(() => host.createDomain({ type: 'hvm', hap: false, nestedHvm: true }))).toBe('EINVAL');
    expect(code(() => host.createDomain({ type: 'pv', nestedHvm: true }))).toBe('EINVAL');
    expect(code(() => host.createDomain({ type: 'hvm', nestedHvm: true, altp2m: 'external' }))).toBe('EINVAL');
    expect(code(() => host.createDomain({ type: 'hvm', nestedHvm: 'yes' as never }))).toBe('EINVAL');
    // XSM_TARGET passes a device model on its guest; the deprecation refuses it all the same.
    const stub = host.createDomain({ type: 'pvh', target: g });
    const dm = open({ host, domain: stub });
    expect(set(dm, g, 24, 0n)).toBe('EINVAL');
    dm.close();
  });

  test('createDomain({ altp2m }) sets the mode as the toolstack would; bad values are EINVAL', () => {
    expect(host.inspect(host.createDomain({ altp2m: 'limited' })).altp2m.mode).toBe(3);
    expect(code(() => host.createDomain({ type: 'pv', altp2m: 'mixed' }))).toBe('EINVAL');
    expect(code(() => host.createDomain({ altp2m: 'sometimes' as never }))).toBe('EINVAL');
  });
});

describe('mixed mode, audited: which sub-ops an in-guest agent may have', () => {
  test('every sub-op is classified once, with a reason; the safe ones are read-only or the #VE channel', () => {
    expect(ALTP2M_MIXED_MODE_CLASSIFICATION.map((c) => c.cmd).sort()).toEqual(ALTP2M_CMDS.map((c) => c.name).sort());
    for (const c of ALTP2M_MIXED_MODE_CLASSIFICATION) expect(c.reason.length).toBeGreaterThan(30);
    expect(ALTP2M_MIXED_MODE_CLASSIFICATION.filter((c) => c.safe).map((c) => c.cmd)).toEqual(['get_domain_state', 'vcpu_enable_notify', 'get_suppress_ve', 'get_mem_access', 'get_p2m_idx']);
    expect(Object.isFrozen(ALTP2M_MIXED_MODE_CLASSIFICATION)).toBe(true);
    expect(Object.isFrozen(ALTP2M_MIXED_MODE_CLASSIFICATION[0])).toBe(true);
  });

  test('as an allow-list: the safe sub-ops only, each with its reason, all in the table', () => {
    const allow = altp2mGuestAllowList();
    expect(allow.map((e) => e.rule)).toEqual(['get_domain_state', 'vcpu_enable_notify', 'get_suppress_ve', 'get_mem_access', 'get_p2m_idx'].map((c) => altp2mRuleName(c as never)));
    for (const e of allow) {
      expect(xsmRule(e.rule)).toBeDefined();
      expect(e.reason).toBe(ALTP2M_MIXED_MODE_CLASSIFICATION.find((c) => `hvm_op/altp2m/${c.cmd}` === e.rule)?.reason);
    }
  });

  describe('an in-guest agent behind the allow-list (mixed mode)', () => {
    let host: SimulatedHost;
    let g: number;
    let agent: Privcmd;
    let bare: Privcmd;
    beforeEach(() => {
      host = createSimulatedHost({ altp2m: true });
      g = host.createDomain({ type: 'hvm', memoryPages: 64, altp2m: 'mixed' });
      altp2mOp(open({ host }), { cmd: 'set_domain_state', domain: g, state: 1 });
      agent = open({ host, domain: g, filter: createFilter({ role: 'guest', allow: altp2mGuestAllowList() }) });
      // Any other process in the guest: it opens its own handle, with no filter.
      bare = open({ host, domain: g });
    });
    afterEach(() => host.close());
    const byFilter = (fn: () => unknown): string => {
      try { fn(); return 'ok'; } catch (e) { return (e as Error).message.startsWith('EPERM (ioctl): filter:') ? 'filter' : (e as { code: string }).code; }
    };

    test('the safe sub-ops pass; Xen would let it switch views, the filter does not, a second handle does', () => {
      expect(altp2mOp(agent, { cmd: 'get_domain_state', domain: DOMID.SELF })).toEqual({ state: true });
      expect(altp2mOp(agent, { cmd: 'get_p2m_idx', domain: DOMID.SELF, vcpuId: 0 })).toEqual({ altp2mIdx: 0 });
      altp2mOp(agent, { cmd: 'vcpu_enable_notify', domain: DOMID.SELF, vcpuId: 0, gfn: 8n });
      for (const r of [
        { cmd: 'switch_p2m', domain: DOMID.SELF, view: 0 }, { cmd: 'set_suppress_ve', domain: DOMID.SELF, view: 0, suppressVe: 0, gfn: 1n },
        { cmd: 'set_domain_state', domain: DOMID.SELF, state: 0 }, // last: it switches altp2m off
      ] as Altp2mRequest[]) {
        expect({ cmd: r.cmd, c: byFilter(() => altp2mOp(agent, r)) }).toEqual({ cmd: r.cmd, c: 'filter' });
        // The filter guards only its own handle: the unfiltered one gets through (advisory, see README).
        expect({ cmd: r.cmd, c: code(() => altp2mOp(bare, r)) }).toEqual({ cmd: r.cmd, c: 'ok' });
      }
      expect(host.inspect(g).altp2m.active).toBe(false);
    });

    test('a sub-op number the table does not know (a future sub-op) is refused by the filter, not only by Xen', () => {
      const buf = agent.hypercallBuffer(80);
      for (const cmd of [0, 17, 0x7fffffff]) {
        buf.view.set(encodeAltp2mOp({ cmd: 'get_domain_state', domain: DOMID.SELF }));
        new DataView(buf.view.buffer, buf.view.byteOffset, 80).setUint32(4, cmd, true);
        expect({ cmd, c: raw(bare, buf.view.slice()) }).toEqual({ cmd, c: 'EOPNOTSUPP' });
        expect({ cmd, c: byFilter(() => agent.hypercall('hvm_op', [25, buf.addr])) }).toEqual({ cmd, c: 'filter' });
      }
      expect(createFilter({ role: 'guest', allow: altp2mGuestAllowList() }).verdict('hvm_op/altp2m')).toMatchObject({ kind: 'deny', source: 'allow-list' });
    });

    test('an interface version other than 1 is refused before the sub-op is read', () => {
      const bytes = encodeAltp2mOp({ cmd: 'get_domain_state', domain: DOMID.SELF });
      const buf = agent.hypercallBuffer(80);
      for (const version of [0, 2, 0xffffffff]) {
        buf.view.set(bytes);
        new DataView(buf.view.buffer, buf.view.byteOffset, 80).setUint32(0, version, true);
        let msg = 'ok';
        try { agent.hypercall('hvm_op', [25, buf.addr]); } catch (e) { msg = (e as Error).message; }
        expect(msg).toBe(`EPERM (ioctl): filter: rule hvm_op/altp2m refuses role guest: altp2m interface version ${version} is not 1, the one the allow-list was judged for`);
      }
      buf.view.set(bytes);
      expect(code(() => agent.hypercall('hvm_op', [25, buf.addr]))).toBe('ok');
    });
  });
});

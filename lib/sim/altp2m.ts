// HVMOP_altp2m on the simulated hypervisor: do_altp2m_op (Xen 4.17,
// xen/arch/x86/hvm/hvm.c) with its checks in Xen's order, then the sub-ops
// over the domain's altp2m state (lib/sim/domain.ts), observable through
// host.inspect(). The XSM step uses the policy table's rule for the command
// (lib/policy/xsm-actions.ts), resolved by the domain's mode.
import { DOMID } from '../abi/domids';
import { ERRNO, type ErrnoName } from '../abi/errno';
import { native } from '../native';
import {
  ALTP2M_MODES, ALTP2M_OP_SIZE, ALTP2M_U, HVMOP_ALTP2M_INTERFACE_VERSION, INVALID_ALTP2M, MAX_ALTP2M, XENMEM_ACCESS,
} from '../abi/altp2m';
import { altp2mCmd, altp2mModeName } from '../policy/altp2m';
import { ruleAction, xsmRule, type XsmRule } from '../policy/xsm-actions';
import type { AddressSpace } from './address-space';
import type { Altp2mEntry, Altp2mView, Domain } from './domain';
import type { SimulatedHost } from './host';
import { xsmActionName, xsmDefaultAction, type HwPrivVariant } from '../policy/xsm';
import { HVM_PARAM } from '../abi/hvm-params';

export interface Altp2mEnv {
  readonly host: SimulatedHost;
  readonly variant: HwPrivVariant;
  /** hvm_altp2m_supported(): Xen booted with altp2m=1 on VMX with EPT. */
  readonly supported: boolean;
  fail(code: ErrnoName, why: string): number;
}

const ACCESS_RWX = XENMEM_ACCESS.rwx;
const ACCESS_DEFAULT = XENMEM_ACCESS.default;
const INVALID_GFN = 0xffffffffffffffffn;
/** The host p2m's default access (p2m->default_access): rwx. */
const HOST_DEFAULT: Altp2mEntry = Object.freeze({ access: ACCESS_RWX, suppressVe: true, frame: -1 });
const RULES: readonly (XsmRule | undefined)[] = Array.from({ length: 17 }, (_, c) => xsmRule(`hvm_op/altp2m/${altp2mCmd(c)?.name ?? ''}`));

function isRamRw(d: Domain, gfn: bigint): boolean {
  return gfn <= BigInt(Number.MAX_SAFE_INTEGER) && d.p2m.get(Number(gfn)) === 'ram_rw';
}

/** A view index as p2m_set_mem_access & co. check it: 0 is the host p2m; else a live slot. */
function viewOk(d: Domain, idx: number): boolean {
  return idx === 0 || (idx < MAX_ALTP2M && d.altp2m.views[idx] !== null);
}

function newView(defaultAccess: number): Altp2mView {
  return { defaultAccess, visible: true, entries: new Map() };
}

/** altp2m_get_effective_entry: the view's entry, else the host's for guest RAM (prepopulating copies it in). */
function effective(d: Domain, view: Altp2mView, gfn: bigint, prepopulate: boolean): Altp2mEntry | null {
  const g = Number(gfn);
  const e = view.entries.get(g);
  if (e !== undefined) return e;
  if (!isRamRw(d, gfn)) return null;
  const host = d.altp2m.host.get(g) ?? HOST_DEFAULT;
  const copy = { access: view.defaultAccess, suppressVe: host.suppressVe, frame: g };
  if (prepopulate) view.entries.set(g, copy);
  return copy;
}

function hostEntry(d: Domain, gfn: number): Altp2mEntry {
  let e = d.altp2m.host.get(gfn);
  if (e === undefined) {
    e = { access: ACCESS_RWX, suppressVe: true, frame: gfn };
    d.altp2m.host.set(gfn, e);
  }
  return e;
}

/**
 * do_altp2m_op(arg): 0 or -errno. `arg` points at struct xen_hvm_altp2m_op in
 * the caller's memory.
 */
export function doAltp2mOp(env: Altp2mEnv, caller: Domain, space: AddressSpace, arg: bigint): number {
  // 1. hvm_altp2m_supported()
  if (!env.supported) return env.fail('EOPNOTSUPP', 'altp2m is not supported (Xen needs altp2m=1 on its command line and VMX with EPT)');
  // 2. copy_from_guest
  const raw = new Uint8Array(ALTP2M_OP_SIZE);
  if (native.spaceRead(space.id, arg, raw) !== 0) return env.fail('EFAULT', `the xen_hvm_altp2m_op at 0x${arg.toString(16)} is not readable`);
  const dv = new DataView(raw.buffer);
  const version = dv.getUint32(0, true);
  const cmd = dv.getUint32(4, true);
  const domid = dv.getUint16(8, true);
  // 3. pads and version
  if (dv.getUint16(10, true) !== 0 || dv.getUint32(12, true) !== 0) return env.fail('EINVAL', 'xen_hvm_altp2m_op.pad1/pad2 must be zero');
  if (version !== HVMOP_ALTP2M_INTERFACE_VERSION) return env.fail('EINVAL', `altp2m interface version ${version}, Xen speaks ${HVMOP_ALTP2M_INTERFACE_VERSION}`);
  // 4. known command
  const info = altp2mCmd(cmd);
  const rule = RULES[cmd];
  if (info === undefined || rule === undefined) return env.fail('EOPNOTSUPP', `unknown altp2m command ${cmd}`);
  // 5. rcu_lock_domain_by_any_id
  const d = domid === DOMID.SELF ? caller : env.host.domainById(domid);
  if (d === undefined) return env.fail('ESRCH', `no domain ${domid}`);
  // 6. HVM only
  if (!d.isHvm) return env.fail('EOPNOTSUPP', `domain ${d.domid} is PV: altp2m needs an HVM domain`);
  const a = d.altp2m;
  // 7. altp2m active, except to get or set that state
  if (cmd !== 1 && cmd !== 2 && !a.active) return env.fail('EOPNOTSUPP', `altp2m is not active on domain ${d.domid} (${info.name} needs it)`);
  // 8. the mode
  const mode = Number(d.params[HVM_PARAM.ALTP2M]);
  if (mode === ALTP2M_MODES.disabled) return env.fail('EINVAL', `domain ${d.domid}'s altp2m mode is disabled (HVM_PARAM_ALTP2M = 0)`);
  // (Xen 4.21+ also refuses a domain created with altp2m.nr == 0: -EOPNOTSUPP. Not in 4.17.)
  // 10. xsm_hvm_altp2mhvm_op(XSM_OTHER, d, mode, cmd)
  const action = ruleAction(rule, mode);
  if (action === null || xsmDefaultAction(action, caller, d, env.variant) !== 0) {
    return env.fail('EPERM', `${rule.name}: ${action === null ? 'refused' : xsmActionName(action)} in altp2m mode ${altp2mModeName(mode) ?? mode} (dummy.h ${rule.hook}): domain ${caller.domid} may not call it on domain ${d.domid}`);
  }

  const u = ALTP2M_U;
  const writeBack = (): number => (native.spaceWrite(space.id, arg, raw) === 0 ? 0 : env.fail('EFAULT', 'cannot copy the xen_hvm_altp2m_op back'));
  const vcpuOk = (v: number): boolean => v < d.maxVcpus;

  switch (info.name) {
    case 'get_domain_state':
      dv.setUint8(u, a.active ? 1 : 0);
      return writeBack();

    case 'set_domain_state': {
      if (d.nestedHvm) return env.fail('EINVAL', 'altp2m and nested HVM exclude each other');
      const on = dv.getUint8(u) !== 0;
      if (on === a.active) return 0;
      a.active = on;
      if (on) {
        // p2m_init_altp2m_by_id(d, 0) with the host's default access; every vCPU on view 0.
        a.views[0] = newView(ACCESS_RWX);
        a.vcpuView.fill(0);
      } else {
        // altp2m_vcpu_destroy (which also disables #VE), then p2m_flush_altp2m.
        a.views.fill(null);
        a.vcpuView.fill(INVALID_ALTP2M);
        a.veInfoGfn.fill(null);
      }
      return 0;
    }

    case 'vcpu_enable_notify': {
      const vcpu = dv.getUint32(u, true);
      const gfn = dv.getBigUint64(u + 8, true);
      if (dv.getUint32(u + 4, true) !== 0) return env.fail('EINVAL', 'enable_notify.pad must be zero');
      if (!vcpuOk(vcpu)) return env.fail('EINVAL', `vCPU ${vcpu} does not exist (max_vcpus ${d.maxVcpus})`);
      if (a.veInfoGfn[vcpu] !== null) return env.fail('EEXIST', `vCPU ${vcpu} already has a #VE information page`);
      if (!isRamRw(d, gfn)) return env.fail('EINVAL', `gfn 0x${gfn.toString(16)} is not writable guest RAM`);
      a.veInfoGfn[vcpu] = gfn;
      return 0;
    }

    case 'vcpu_disable_notify': {
      const vcpu = dv.getUint32(u, true);
      if (!vcpuOk(vcpu)) return env.fail('EINVAL', `vCPU ${vcpu} does not exist (max_vcpus ${d.maxVcpus})`);
      a.veInfoGfn[vcpu] = null;
      return 0;
    }

    case 'create_p2m': {
      const access = dv.getUint16(u + 2, true);
      if (access > ACCESS_DEFAULT) return env.fail('EINVAL', `hvmmem_default_access ${access} is not a xenmem_access_t`);
      const idx = a.views.indexOf(null);
      if (idx < 0) return env.fail('EINVAL', `all ${MAX_ALTP2M} altp2m views are in use`);
      a.views[idx] = newView(access === ACCESS_DEFAULT ? ACCESS_RWX : access);
      dv.setUint16(u, idx, true);
      return writeBack();
    }

    case 'destroy_p2m': {
      const idx = dv.getUint16(u, true);
      if (idx === 0 || idx >= MAX_ALTP2M) return env.fail('EBUSY', `view ${idx} cannot be destroyed (view 0 never; at most ${MAX_ALTP2M - 1})`);
      if (a.views[idx] === null) return env.fail('EBUSY', `view ${idx} does not exist`);
      if (a.vcpuView.includes(idx)) return env.fail('EBUSY', `view ${idx} is active on a vCPU`);
      a.views[idx] = null;
      return 0;
    }

    case 'switch_p2m': {
      const idx = dv.getUint16(u, true);
      const v = idx < MAX_ALTP2M ? a.views[idx] : null;
      if (v === null || v === undefined || !v.visible) return env.fail('EINVAL', `view ${idx} does not exist or is not visible`);
      a.vcpuView.fill(idx);
      return 0;
    }

    case 'set_mem_access': {
      const idx = dv.getUint16(u, true);
      const access = dv.getUint16(u + 2, true);
      const gfn = dv.getBigUint64(u + 8, true);
      if (dv.getUint32(u + 4, true) !== 0) return env.fail('EINVAL', 'mem_access.pad must be zero');
      return setAccess(env, d, idx, gfn, access);
    }

    case 'set_mem_access_multi': {
      const idx = dv.getUint16(u, true);
      const nr = dv.getUint32(u + 4, true);
      const opaque = dv.getBigUint64(u + 8, true);
      const pfnList = dv.getBigUint64(u + 16, true);
      const accessList = dv.getBigUint64(u + 24, true);
      if (dv.getUint16(u + 2, true) !== 0 || opaque > BigInt(nr)) return env.fail('EINVAL', 'set_mem_access_multi: pad must be zero and opaque <= nr');
      if (!viewOk(d, idx)) return env.fail('EINVAL', `view ${idx} does not exist`);
      // p2m_set_mem_access_multi: page by page; pages done before a failure stay done.
      const pfn = new Uint8Array(8);
      const acc = new Uint8Array(1);
      for (let i = Number(opaque); i < nr; i++) {
        if (native.spaceRead(space.id, pfnList + BigInt(8 * i), pfn) !== 0 || native.spaceRead(space.id, accessList + BigInt(i), acc) !== 0) {
          return env.fail('EFAULT', `set_mem_access_multi: entry ${i} of the pfn or access list is not readable`);
        }
        const rc = setAccess(env, d, idx, new DataView(pfn.buffer).getBigUint64(0, true), acc[0]!);
        if (rc !== 0) return rc;
      }
      return 0;
    }

    case 'get_mem_access': {
      const idx = dv.getUint16(u, true);
      const gfn = dv.getBigUint64(u + 8, true);
      if (dv.getUint32(u + 4, true) !== 0) return env.fail('EINVAL', 'mem_access.pad must be zero');
      if (!viewOk(d, idx)) return env.fail('EINVAL', `view ${idx} does not exist`);
      let e: Altp2mEntry | undefined;
      if (idx === 0) e = isRamRw(d, gfn) ? (a.host.get(Number(gfn)) ?? HOST_DEFAULT) : undefined;
      else e = gfn <= BigInt(Number.MAX_SAFE_INTEGER) ? (a.views[idx] as Altp2mView).entries.get(Number(gfn)) : undefined;
      if (e === undefined) return env.fail('ESRCH', `gfn 0x${gfn.toString(16)} has no entry in view ${idx}`);
      dv.setUint16(u + 2, e.access, true);
      return writeBack();
    }

    case 'change_gfn': {
      const idx = dv.getUint16(u, true);
      const oldGfn = dv.getBigUint64(u + 8, true);
      const newGfn = dv.getBigUint64(u + 16, true);
      if (dv.getUint16(u + 2, true) !== 0 || dv.getUint32(u + 4, true) !== 0) return env.fail('EINVAL', 'change_gfn.pad1/pad2 must be zero');
      const v = idx < MAX_ALTP2M ? a.views[idx] : null;
      if (v === null || v === undefined) return env.fail('EINVAL', `view ${idx} does not exist`);
      if (newGfn === INVALID_GFN) {
        // Revert: drop the view's entry for old_gfn.
        if (oldGfn <= BigInt(Number.MAX_SAFE_INTEGER)) v.entries.delete(Number(oldGfn));
        return 0;
      }
      if (effective(d, v, oldGfn, false) === null) return env.fail('ESRCH', `gfn 0x${oldGfn.toString(16)} is not guest RAM`);
      const target = effective(d, v, newGfn, false);
      if (target === null) return env.fail('ESRCH', `gfn 0x${newGfn.toString(16)} is not guest RAM`);
      // The old gfn now maps the new one's frame with its access; #VE is
      // suppressed unless the guest itself made the change.
      v.entries.set(Number(oldGfn), { access: target.access, suppressVe: caller !== d, frame: target.frame });
      return 0;
    }

    case 'set_suppress_ve': {
      const idx = dv.getUint16(u, true);
      const sve = dv.getUint8(u + 2) !== 0;
      const gfn = dv.getBigUint64(u + 8, true);
      if (dv.getUint8(u + 3) !== 0 || dv.getUint32(u + 4, true) !== 0) return env.fail('EINVAL', 'suppress_ve.pad1/pad2 must be zero');
      return setSuppressVe(env, d, idx, gfn, sve);
    }

    case 'get_suppress_ve': {
      const idx = dv.getUint16(u, true);
      const gfn = dv.getBigUint64(u + 8, true);
      if (dv.getUint8(u + 3) !== 0 || dv.getUint32(u + 4, true) !== 0) return env.fail('EINVAL', 'suppress_ve.pad1/pad2 must be zero');
      if (!viewOk(d, idx)) return env.fail('EINVAL', `view ${idx} does not exist`);
      const e = idx === 0
        ? (isRamRw(d, gfn) ? (a.host.get(Number(gfn)) ?? HOST_DEFAULT) : null)
        : effective(d, a.views[idx] as Altp2mView, gfn, false);
      if (e === null) return env.fail('ESRCH', `gfn 0x${gfn.toString(16)} is not guest RAM`);
      dv.setUint8(u + 2, e.suppressVe ? 1 : 0);
      return writeBack();
    }

    case 'set_suppress_ve_multi': {
      const idx = dv.getUint16(u, true);
      const sve = dv.getUint8(u + 2) !== 0;
      const first = dv.getBigUint64(u + 8, true);
      const maxGfn = (1n << BigInt(env.host.paddrBits - 12)) - 1n;
      const last = dv.getBigUint64(u + 16, true) < maxGfn ? dv.getBigUint64(u + 16, true) : maxGfn;
      if (dv.getUint8(u + 3) !== 0 || first > last) return env.fail('EINVAL', 'suppress_ve_multi: pad1 must be zero and first_gfn <= last_gfn');
      if (!viewOk(d, idx)) return env.fail('EINVAL', `view ${idx} does not exist`);
      // Every page of the range; the first one that is not guest RAM is
      // reported (first_error, first_error_gfn), the others are set.
      const view = idx === 0 ? null : (a.views[idx] as Altp2mView);
      const ram = [...d.p2m].filter(([p, t]) => t === 'ram_rw' && BigInt(p) >= first && BigInt(p) <= last).map(([p]) => p).sort((x, y) => x - y);
      let firstError = 0;
      let firstErrorGfn = 0n;
      let next = first;
      for (const p of ram) {
        if (firstError === 0 && BigInt(p) > next) {
          firstError = -ERRNO.ESRCH;
          firstErrorGfn = next;
        }
        if (view === null) hostEntry(d, p).suppressVe = sve;
        else (effective(d, view, BigInt(p), true) as Altp2mEntry).suppressVe = sve;
        next = BigInt(p) + 1n;
      }
      if (firstError === 0 && next <= last) {
        firstError = -ERRNO.ESRCH;
        firstErrorGfn = next;
      }
      dv.setInt32(u + 4, firstError, true);
      dv.setBigUint64(u + 8, last + 1n, true);
      dv.setBigUint64(u + 24, firstErrorGfn, true);
      return writeBack();
    }

    case 'get_p2m_idx': {
      const vcpu = dv.getUint32(u, true);
      if (!vcpuOk(vcpu)) return env.fail('EINVAL', `vCPU ${vcpu} does not exist (max_vcpus ${d.maxVcpus})`);
      dv.setUint16(u + 4, a.vcpuView[vcpu] as number, true);
      return writeBack();
    }

    case 'set_visibility': {
      const idx = dv.getUint16(u, true);
      const visible = dv.getUint8(u + 2) !== 0;
      if (dv.getUint8(u + 3) !== 0) return env.fail('EINVAL', 'set_visibility.pad must be zero');
      const v = idx < MAX_ALTP2M ? a.views[idx] : null;
      if (v === null || v === undefined) return env.fail('EINVAL', `view ${idx} does not exist`);
      v.visible = visible;
      return 0;
    }

    default:
      return env.fail('EOPNOTSUPP', `altp2m command ${cmd} is not implemented`);
  }
}

/** p2m_set_mem_access for one page of view idx (0: the host p2m). */
function setAccess(env: Altp2mEnv, d: Domain, idx: number, gfn: bigint, access: number): number {
  if (!viewOk(d, idx)) return env.fail('EINVAL', `view ${idx} does not exist`);
  if (access > ACCESS_DEFAULT) return env.fail('EINVAL', `access ${access} is not a xenmem_access_t`);
  if (idx === 0) {
    // The host p2m: a hole takes the access without becoming readable as an entry.
    if (isRamRw(d, gfn)) hostEntry(d, Number(gfn)).access = access === ACCESS_DEFAULT ? ACCESS_RWX : access;
    return 0;
  }
  const v = d.altp2m.views[idx] as Altp2mView;
  const e = effective(d, v, gfn, true);
  if (e === null) return env.fail('ESRCH', `gfn 0x${gfn.toString(16)} is not guest RAM (the view copies it from the host p2m)`);
  e.access = access === ACCESS_DEFAULT ? v.defaultAccess : access;
  return 0;
}

/** p2m_set_suppress_ve for one page of view idx (0: the host p2m). */
function setSuppressVe(env: Altp2mEnv, d: Domain, idx: number, gfn: bigint, sve: boolean): number {
  if (!viewOk(d, idx)) return env.fail('EINVAL', `view ${idx} does not exist`);
  if (idx === 0) {
    if (!isRamRw(d, gfn)) return env.fail('ESRCH', `gfn 0x${gfn.toString(16)} is not guest RAM`);
    hostEntry(d, Number(gfn)).suppressVe = sve;
    return 0;
  }
  const e = effective(d, d.altp2m.views[idx] as Altp2mView, gfn, true);
  if (e === null) return env.fail('ESRCH', `gfn 0x${gfn.toString(16)} is not guest RAM`);
  e.suppressVe = sve;
  return 0;
}

// Xen's default XSM policy (xen/include/xsm/dummy.h, xsm_default_action),
// with the 2025 XSM_HW_PRIV proposal as a variant. The one implementation:
// the simulated hypervisor and the hypercall filter (lib/policy/filter.ts)
// both decide through xsmDefaultAction, so they cannot disagree.
//
// Values follow the proposal's enum xsm_default, which inserts HW_PRIV after
// PRIV (Xen 4.17 has HOOK..PRIV, XS_PRIV = 4, OTHER = 5; the values are
// internal to Xen, not ABI).
export const XSM = { HOOK: 0, DM_PRIV: 1, TARGET: 2, PRIV: 3, HW_PRIV: 4, XS_PRIV: 5, OTHER: 6 } as const;
export type XsmAction = (typeof XSM)[keyof typeof XSM];
import { describe, invalidArgument } from '../errors';

const NAMES: readonly string[] = ['XSM_HOOK', 'XSM_DM_PRIV', 'XSM_TARGET', 'XSM_PRIV', 'XSM_HW_PRIV', 'XSM_XS_PRIV', 'XSM_OTHER'];

/** 'XSM_PRIV' for XSM.PRIV, and so on. */
export function xsmActionName(action: XsmAction): string {
  if (typeof action !== 'number' || !Number.isInteger(action)) return `XSM_${describe(action)}`;
  return NAMES[action] ?? `XSM_${action}`;
}

/**
 * Which form of the XSM_HW_PRIV split the policy follows:
 * - 'none': Xen 4.17 as released. HW_PRIV checks are PRIV checks: the
 *   control domain passes them, a hardware domain that is not the control
 *   domain passes nothing beyond HOOK/TARGET on itself.
 * - 'exclusive' (v1, 2025-03; v2 keeps control out too): the hardware domain
 *   passes HW_PRIV and DM_PRIV; the control domain passes PRIV but no longer
 *   HW_PRIV.
 * - 'non-exclusive' (the 2025-06 revision): the hardware domain passes
 *   HW_PRIV, then the check falls through to PRIV, so the control domain
 *   keeps HW_PRIV. The hardware domain keeps DM_PRIV here as well (that
 *   revision moved device-model rights to a separate capability, which is
 *   not modelled).
 */
export type HwPrivVariant = 'none' | 'exclusive' | 'non-exclusive';
export const HW_PRIV_VARIANTS: readonly HwPrivVariant[] = ['none', 'exclusive', 'non-exclusive'];

export interface XsmSubject {
  readonly domid: number;
  /** is_control_domain: d->is_privileged. */
  readonly isControl: boolean;
  /** is_hardware_domain: d == hardware_domain. */
  readonly isHardware: boolean;
  /** is_xenstore_domain: created with XEN_DOMCTL_CDF_xs_domain. */
  readonly isXenstore: boolean;
  /** d->target: the domain a device-model (stub) domain serves. */
  readonly target: number | null;
}

/**
 * The end of the fallthrough chain (`case XSM_PRIV:` and, with the proposal,
 * `case XSM_HW_PRIV:`). `action` is the action the hook asked for, not the
 * case label the chain fell into: in the exclusive form a hardware domain
 * passes DM_PRIV, but not TARGET or XS_PRIV that fell through to here.
 */
function privTest(action: XsmAction, src: XsmSubject, variant: HwPrivVariant): number {
  switch (variant) {
    case 'none':
      return src.isControl ? 0 : -1;
    case 'exclusive':
      if (action !== XSM.HW_PRIV && src.isControl) return 0;
      if ((action === XSM.HW_PRIV || action === XSM.DM_PRIV) && src.isHardware) return 0;
      return -1;
    case 'non-exclusive':
      if ((action === XSM.HW_PRIV || action === XSM.DM_PRIV) && src.isHardware) return 0;
      return src.isControl ? 0 : -1;
    default:
      return -1;
  }
}

/**
 * xsm_default_action(action, src, target): 0 or -EPERM (-1). The cases fall
 * through exactly as in dummy.h: TARGET -> (self) -> DM test -> PRIV test;
 * XS_PRIV -> xenstore -> DM test -> PRIV test; DM_PRIV -> target -> PRIV test;
 * PRIV and HW_PRIV -> the PRIV test of the variant. OTHER is a bug in the
 * caller (the hook must resolve it first) and is refused.
 */
export function xsmDefaultAction(action: XsmAction, src: XsmSubject, target: XsmSubject | null, variant: HwPrivVariant = 'none'): number {
  if (typeof src !== 'object' || src === null || (target !== null && (typeof target !== 'object' || target === undefined))) {
    throw invalidArgument('xsm', `src must be an XsmSubject and target one or null, got ${describe(src)} and ${describe(target)}`);
  }
  switch (action) {
    case XSM.HOOK:
      return 0;
    case XSM.TARGET:
    case XSM.XS_PRIV:
    case XSM.DM_PRIV:
      // `case XSM_TARGET: if (src == target) { return 0; case XSM_XS_PRIV: if (is_xenstore_domain(src)) return 0; }`
      if (action === XSM.TARGET && target !== null && src.domid === target.domid) return 0;
      if (action === XSM.XS_PRIV && src.isXenstore) return 0;
      // `case XSM_DM_PRIV: if (target && src->target == target) return 0;`
      if (target !== null && src.target === target.domid) return 0;
      return privTest(action, src, variant);
    case XSM.PRIV:
    case XSM.HW_PRIV:
      return privTest(action, src, variant);
    default:
      return -1;
  }
}

// Xen's default XSM policy (xen/include/xsm/dummy.h, xsm_default_action) as
// far as the simulated hypervisor needs it. Values are Xen's enum xsm_default.
export const XSM = { HOOK: 0, DM_PRIV: 1, TARGET: 2, PRIV: 3, XS_PRIV: 4, OTHER: 5 } as const;
export type XsmAction = (typeof XSM)[keyof typeof XSM];

export interface XsmSubject {
  readonly domid: number;
  /** is_control_domain: d->is_privileged. */
  readonly isControl: boolean;
  readonly isXenstore: boolean;
  /** d->target: the domain a device-model (stub) domain serves. */
  readonly target: number | null;
}

/**
 * xsm_default_action(action, src, target): 0 or -EPERM. The cases fall
 * through exactly as in dummy.h: TARGET -> (self) -> DM test -> PRIV test;
 * XS_PRIV -> xenstore -> DM -> PRIV; DM_PRIV -> target -> PRIV.
 */
export function xsmDefaultAction(action: XsmAction, src: XsmSubject, target: XsmSubject | null): number {
  switch (action) {
    case XSM.HOOK:
      return 0;
    case XSM.TARGET:
      if (target !== null && src.domid === target.domid) return 0;
      if (target !== null && src.target === target.domid) return 0;
      return src.isControl ? 0 : -1;
    case XSM.XS_PRIV:
      if (src.isXenstore) return 0;
      if (target !== null && src.target === target.domid) return 0;
      return src.isControl ? 0 : -1;
    case XSM.DM_PRIV:
      if (target !== null && src.target === target.domid) return 0;
      return src.isControl ? 0 : -1;
    case XSM.PRIV:
      return src.isControl ? 0 : -1;
    default:
      return -1;
  }
}

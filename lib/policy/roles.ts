// Roles a hypercall filter can hold, as the XSM subject Xen's default policy
// would see: which of is_control_domain / is_hardware_domain /
// is_xenstore_domain hold, and d->target for a device model. With the
// XSM_HW_PRIV split, `control` and `hardware` are the two halves of the
// classic dom0.
import { describe, invalidArgument } from '../errors';
import type { XsmSubject } from './xsm';
import { domidArg } from '../domid-arg';

export type RoleName = 'dom0' | 'control' | 'hardware' | 'xenstore' | 'device-model' | 'guest';

export const ROLES: readonly RoleName[] = ['dom0', 'control', 'hardware', 'xenstore', 'device-model', 'guest'];

export interface RoleSpec {
  role: RoleName;
  /** device-model only: the domain it serves (its d->target). */
  target?: number;
  /**
   * Also the xenstore domain (is_xenstore_domain: XSM_XS_PRIV), for the
   * privileged roles dom0, control and hardware: e.g. a hardware domain
   * that also runs xenstored. A flag rather than a set of roles because Xen
   * keeps it as a flag of its own (CDF_xs_domain), orthogonal to the
   * control/hardware split, and a set would allow combinations Xen has no
   * meaning for (device-model + guest).
   */
  xenstore?: boolean;
}

/** The roles that may also be the xenstore domain. */
const XENSTORE_CAPABLE: readonly RoleName[] = ['dom0', 'control', 'hardware'];

interface RoleFlags {
  readonly isControl: boolean;
  readonly isHardware: boolean;
  readonly isXenstore: boolean;
  readonly description: string;
}

const FLAGS: Readonly<Record<RoleName, RoleFlags>> = {
  dom0: { isControl: true, isHardware: true, isXenstore: false, description: 'the classic dom0: control + hardware, everything' },
  control: { isControl: true, isHardware: false, isXenstore: false, description: 'the control domain (is_privileged): XSM_PRIV; not XSM_HW_PRIV under the split' },
  hardware: { isControl: false, isHardware: true, isXenstore: false, description: 'the hardware domain: XSM_HW_PRIV and XSM_DM_PRIV under the split; under Xen 4.17 alone, nothing privileged' },
  xenstore: { isControl: false, isHardware: false, isXenstore: true, description: 'the xenstore domain: XSM_XS_PRIV' },
  'device-model': { isControl: false, isHardware: false, isXenstore: false, description: 'a device-model (stub) domain: XSM_DM_PRIV and XSM_TARGET on its target' },
  guest: { isControl: false, isHardware: false, isXenstore: false, description: 'an unprivileged guest: XSM_HOOK, and XSM_TARGET on itself' },
};

/** What a role may do, in words. */
export function describeRole(role: RoleName): string {
  if (!ROLES.includes(role)) throw invalidArgument('filter', `role must be one of ${ROLES.join(', ')}, got ${describe(role)}`);
  return FLAGS[role].description;
}

/** A role as `device-model(target 5)` or `control`, for messages. */
export function roleLabel(spec: RoleSpec): string {
  if (typeof spec !== 'object' || spec === null || !ROLES.includes(spec.role)) {
    throw invalidArgument('filter', `role must be one of ${ROLES.join(', ')}, got ${describe((spec as { role?: unknown } | null)?.role)}`);
  }
  const base = spec.role === 'device-model' ? `device-model(target ${describe(spec.target)})` : spec.role;
  return spec.xenstore === true ? `${base}+xenstore` : base;
}

const checkDomid = (what: string, v: unknown): number => domidArg('filter', what, v, 'domain');

/**
 * The XSM subject of a role. `self` is the domain the caller runs in, when
 * known (-1 otherwise: only DOMID_SELF then names the caller).
 */
export function roleSubject(spec: RoleSpec, self: number | null): XsmSubject {
  // Role and target read once (a getter could pass the check and then answer another role).
  if (typeof spec === 'object' && spec !== null) {
    const { role, target, xenstore } = spec;
    spec = { role, ...(target !== undefined ? { target } : {}), ...(xenstore !== undefined ? { xenstore } : {}) };
  }
  if (typeof spec !== 'object' || spec === null || !ROLES.includes(spec.role)) {
    throw invalidArgument('filter', `role must be one of ${ROLES.join(', ')}, got ${describe((spec as { role?: unknown } | null)?.role)}`);
  }
  const flags = FLAGS[spec.role];
  let target: number | null = null;
  if (spec.role === 'device-model') target = checkDomid('a device-model role\'s target', spec.target);
  else if (spec.target !== undefined) throw invalidArgument('filter', `only the device-model role has a target (role ${spec.role})`);
  if (spec.xenstore !== undefined && typeof spec.xenstore !== 'boolean') throw invalidArgument('filter', `xenstore must be a boolean, got ${describe(spec.xenstore)}`);
  if (spec.xenstore === true && !XENSTORE_CAPABLE.includes(spec.role)) {
    throw invalidArgument('filter', `xenstore: true goes with ${XENSTORE_CAPABLE.join(', ')}, not role ${spec.role} (a domain that only runs xenstored is role 'xenstore')`);
  }
  return {
    domid: self === null ? -1 : checkDomid('self', self),
    isControl: flags.isControl,
    isHardware: flags.isHardware,
    isXenstore: flags.isXenstore || spec.xenstore === true,
    target,
  };
}

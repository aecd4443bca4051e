// Which XSM default policy the target Xen applies, so that a filter agrees
// with it: the simulated host's own setting, or, on a device, what the Xen
// version implies. No released Xen has the XSM_HW_PRIV split: it is a 2025
// proposal that has not landed (xen/include/xsm/dummy.h has no XSM_HW_PRIV
// up to 4.22), so every known version maps to 'none'.
import { HYPERCALLS } from '../abi/hypercalls';
import { describe, codedError, invalidArgument } from '../errors';
import { Privcmd } from '../privcmd';
import { isSimulatedHost, type SimulatedHost } from '../sim/host';
import type { HwPrivVariant } from '../policy/xsm';

/** The newest Xen release whose default XSM policy this library knows. */
export const NEWEST_KNOWN_XEN = Object.freeze({ major: 4, minor: 22 });

/** XENVER_version (xen/include/public/version.h): major << 16 | minor. */
const XENVER_VERSION = 0;

/**
 * The XSM_HW_PRIV form Xen `major.minor` applies. A version newer than
 * NEWEST_KNOWN_XEN is EOPNOTSUPP: it may have the split, and guessing would
 * make the filter disagree with Xen; pass `hwPriv` yourself.
 */
export function hwPrivForXenVersion(major: number, minor: number): HwPrivVariant {
  for (const [what, v] of [['major', major], ['minor', minor]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) throw invalidArgument('xen_version', `${what} must be an integer in [0, 65535], got ${describe(v)}`);
  }
  const newer = major > NEWEST_KNOWN_XEN.major || (major === NEWEST_KNOWN_XEN.major && minor > NEWEST_KNOWN_XEN.minor);
  if (newer) {
    throw codedError('EOPNOTSUPP', 'xen_version', `Xen ${major}.${minor} is newer than ${NEWEST_KNOWN_XEN.major}.${NEWEST_KNOWN_XEN.minor}, the newest whose XSM policy this library knows: pass hwPriv explicitly`);
  }
  return 'none';
}

/**
 * The XSM_HW_PRIV form the Xen behind `target` applies: a simulated host's
 * `hwPriv`, or, through a privcmd handle, hwPrivForXenVersion of what
 * xen_version(XENVER_version) reports. Ask before restrict(): a restricted
 * handle makes no raw hypercall (EPERM).
 */
export function hwPrivOf(target: SimulatedHost | Privcmd): HwPrivVariant {
  if (isSimulatedHost(target)) return target.hwPriv;
  if (!(target instanceof Privcmd)) throw invalidArgument('xen_version', `target must be a simulated host or a privcmd handle, got ${describe(target)}`);
  const v = target.hypercall(HYPERCALLS.xen_version, [BigInt(XENVER_VERSION)]);
  return hwPrivForXenVersion(Number((v >> 16n) & 0xffffn), Number(v & 0xffffn));
}

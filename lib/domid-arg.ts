// A domid given by a caller, checked one way everywhere. Which values are
// acceptable depends on who judges next: an ioctl carries any domid_t and
// lets the kernel and Xen answer for it; the library's own decisions
// (restriction, roles, launching) need a real domain.
import { DOMID } from './abi/domids';
import { describe, invalidArgument, type PrivcmdError } from './errors';

export type DomidKind =
  /** Any 16-bit value (what the ioctl carries; the kernel and Xen judge it). */
  | 'domid_t'
  /** A domain that can exist: [0, DOMID_FIRST_RESERVED). */
  | 'domain'
  /** A domain other than dom0: [1, DOMID_FIRST_RESERVED). */
  | 'guest'
  /** A domain that can exist, or DOMID_SELF. */
  | 'domain-or-self';

const LAST = DOMID.FIRST_RESERVED - 1;

const RULES: Readonly<Record<DomidKind, { test: (v: number) => boolean; says: string }>> = {
  'domid_t': { test: (v) => v >= 0 && v <= 0xffff, says: 'an integer in [0, 65535] (domid_t)' },
  'domain': { test: (v) => v >= 0 && v <= LAST, says: `a domain id in [0, ${LAST}]` },
  'guest': { test: (v) => v >= 1 && v <= LAST, says: `a guest domain in [1, ${LAST}]` },
  'domain-or-self': { test: (v) => (v >= 0 && v <= LAST) || v === DOMID.SELF, says: `a domain in [0, ${LAST}] or DOMID_SELF` },
};

export function isDomid(v: unknown, kind: DomidKind = 'domid_t'): v is number {
  return typeof v === 'number' && Number.isInteger(v) && RULES[kind].test(v);
}

/** `v` if it is a domid of `kind`, else EINVAL naming `what` (and nothing else happens). */
export function domidArg(syscall: string, what: string, v: unknown, kind: DomidKind = 'domid_t'): number {
  // Any domid_t without the table: every DMOP's check. An integer in [0, 65535] is exactly what & 0xffff keeps.
  if (kind === 'domid_t' && typeof v === 'number' && (v & 0xffff) === v) return v;
  if (!isDomid(v, kind)) throw domidError(syscall, what, v, kind);
  return v;
}

function domidError(syscall: string, what: string, v: unknown, kind: DomidKind): PrivcmdError {
  return invalidArgument(syscall, `${what} must be ${RULES[kind].says}, got ${describe(v)}`);
}

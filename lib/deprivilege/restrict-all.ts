// dm_restrict for Node services: restrictAll() restricts every privcmd
// handle this library opened in a process, and every handle opened later
// starts restricted; verifyRestricted() proves it by trying calls that must
// now be refused. Like xentoolcore_restrict_all, but it is never silently
// ineffective: a handle that cannot be restricted is closed, and any failure
// throws.
//
// "A process" is the real Node process for device handles, and the simulated
// process (host + domain) for handles on a simulated host.
import { DOMID } from '../abi/domids';
import { HYPERCALLS } from '../abi/hypercalls';
import { errnoName } from '../abi/errno';
import { codedError, invalidArgument, PrivcmdError } from '../errors';
import type { Privcmd } from '../privcmd';
import type { SimulatedHost } from '../sim/host';

/** The handles of one process, and the domain they are all restricted to. */
export class HandleRegistry {
  readonly handles = new Set<Privcmd>();
  restrictedTo: number | null = null;

  /** A new handle: restricted at once if the process already is. */
  adopt(h: Privcmd): void {
    if (this.restrictedTo !== null) {
      try {
        h.restrict(this.restrictedTo);
      } catch (e) {
        h.close();
        throw e;
      }
    }
    this.handles.add(h);
  }

  forget(h: Privcmd): void {
    this.handles.delete(h);
  }
}

const processRegistry = new HandleRegistry();
const simRegistries = new WeakMap<SimulatedHost, Map<number, HandleRegistry>>();

/** Which process: the real one (no host), or a simulated host's process in `domain` (default 0). */
export interface ProcessSelector {
  host?: SimulatedHost;
  domain?: number;
}

/** @internal The registry of the process a handle is opened in. */
export function registryOf(sel: ProcessSelector = {}): HandleRegistry {
  if (sel.host === undefined) return processRegistry;
  let m = simRegistries.get(sel.host);
  if (m === undefined) {
    m = new Map();
    simRegistries.set(sel.host, m);
  }
  const domain = sel.domain ?? 0;
  let r = m.get(domain);
  if (r === undefined) {
    r = new HandleRegistry();
    m.set(domain, r);
  }
  return r;
}

function checkSelector(syscall: string, sel: unknown): ProcessSelector {
  if (sel === undefined) return {};
  if (typeof sel !== 'object' || sel === null) throw invalidArgument(syscall, 'options must be an object');
  return sel as ProcessSelector;
}

export interface RestrictAllResult {
  readonly domid: number;
  /** Handles restricted by this call (already restricted ones included). */
  readonly handles: number;
}

/**
 * Restrict every handle of the process to `domid`, and every handle opened
 * afterwards. Again with the same domid: fine. With another: EINVAL, and
 * nothing changes. A handle that refuses the restriction is closed (so it
 * cannot be used unrestricted) and the call throws, naming it.
 */
export function restrictAll(domid: number, options?: ProcessSelector): RestrictAllResult {
  const sel = checkSelector('restrictAll', options);
  if (typeof domid !== 'number' || !Number.isInteger(domid) || domid < 0 || domid > 0xffff) {
    throw invalidArgument('restrictAll', `domid must be an integer in [0, 65535] (domid_t), got ${String(domid)}`);
  }
  if (domid === DOMID.INVALID) throw invalidArgument('restrictAll', 'restricting to DOMID_INVALID would leave the handles unrestricted');
  const reg = registryOf(sel);
  if (reg.restrictedTo !== null && reg.restrictedTo !== domid) {
    throw codedError('EINVAL', 'restrictAll', `the process is already restricted to domain ${reg.restrictedTo}; a restriction is one-way`);
  }
  // Refuse before touching anything if a handle is bound to another domain.
  for (const h of reg.handles) {
    if (h.restrictedTo !== null && h.restrictedTo !== domid) {
      throw codedError('EINVAL', 'restrictAll', `a ${h.kind} handle is already restricted to domain ${h.restrictedTo}; close it first`);
    }
  }
  // From here on, new handles start restricted, whatever happens below.
  reg.restrictedTo = domid;
  const failed: string[] = [];
  let first: PrivcmdError | null = null;
  for (const h of [...reg.handles]) {
    try {
      h.restrict(domid);
    } catch (e) {
      const err = e as PrivcmdError;
      first ??= err;
      failed.push(`a ${h.kind} handle (${err.message}): closed`);
      h.close();
    }
  }
  if (first !== null) {
    const e = new PrivcmdError(first.code, first.errno, 'restrictAll', `${failed.length} handle(s) could not be restricted to domain ${domid} and were closed: ${failed.join('; ')}`);
    throw e;
  }
  return { domid, handles: reg.handles.size };
}

/** What verifyRestricted() found for one handle. */
export interface RestrictionCheck {
  readonly kind: 'simulated' | 'device';
  /** The domain the handle says it is restricted to. */
  readonly restrictedTo: number | null;
  /** What a raw hypercall (xen_version) got: 'EPERM' when restricted, else 'ok' or another code. */
  readonly hypercall: string;
  /** What a DMOP to another domain (DOMID_INVALID, no buffers) got: 'EPERM' when restricted; 'ok' (0) when not. */
  readonly otherDomainDmop: string;
  readonly ok: boolean;
}

export interface RestrictionReport {
  readonly domid: number | null;
  readonly handles: readonly RestrictionCheck[];
}

/**
 * On each handle of the process, try calls the restriction must refuse (a
 * raw hypercall; a DMOP for another domain) and confirm the kernel refuses
 * them, bypassing any filter so only the kernel's answer counts. Returns the
 * report; throws ERR_PRIVCMD_NOT_RESTRICTED (with `.report`) if restrictAll()
 * was never called or any handle let a call through.
 */
export function verifyRestricted(options?: ProcessSelector): RestrictionReport {
  const reg = registryOf(checkSelector('verifyRestricted', options));
  const handles: RestrictionCheck[] = [];
  for (const h of reg.handles) {
    const probe = h.probeRestriction();
    const hypercall = probe.hypercall < 0n ? errnoName(Number(probe.hypercall)) : 'ok';
    const otherDomainDmop = probe.dmop < 0 ? errnoName(probe.dmop) : 'ok';
    handles.push({
      kind: h.kind, restrictedTo: h.restrictedTo, hypercall, otherDomainDmop,
      ok: hypercall === 'EPERM' && otherDomainDmop === 'EPERM' && h.restrictedTo === reg.restrictedTo,
    });
  }
  const report: RestrictionReport = { domid: reg.restrictedTo, handles };
  const bad = handles.filter((c) => !c.ok);
  if (reg.restrictedTo === null || bad.length > 0) {
    const why = reg.restrictedTo === null
      ? 'restrictAll() has not been called for this process'
      : `${bad.length} of ${handles.length} handle(s) let a call through: ` +
        bad.map((c) => `${c.kind} handle: hypercall ${c.hypercall}, DMOP to another domain ${c.otherDomainDmop}`).join('; ');
    const e = new Error(`ERR_PRIVCMD_NOT_RESTRICTED: ${why}`) as Error & { code: string; report: RestrictionReport };
    e.code = 'ERR_PRIVCMD_NOT_RESTRICTED';
    e.report = report;
    throw e;
  }
  return report;
}

/** @internal The hypercall verifyRestricted tries: xen_version(XENVER_version), harmless. */
export const PROBE_HYPERCALL = HYPERCALLS.xen_version;

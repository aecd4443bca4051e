// dm_restrict for Node services: restrictAll() restricts every handle this
// library opened in a process, of every kind (privcmd and evtchn, as
// xentoolcore_restrict_all does), and every handle opened later starts
// restricted; verifyRestricted() proves it by trying calls that must now be
// refused. Never silently ineffective: a handle that cannot be restricted is
// closed, and any failure throws.
//
// "A process" is the real Node process for device handles, and the simulated
// process (host + domain) for handles on a simulated host. Worker threads:
// each loads its own module instance, so the handles one thread registered
// are all this module can restrict. The addon counts every device handle of
// the process natively (native/core/process_handles.h): restrictAll also sets
// the process-wide restriction, so later opens in any worker start
// restricted, and it throws EBUSY when handles opened elsewhere (another
// worker) remain unrestricted, rather than claim what it could not do.
import { DOMID } from '../abi/domids';
import { errnoName } from '../abi/errno';
import { describe, codedError, errnoError, invalidArgument, libraryError, PrivcmdError } from '../errors';
import { native } from '../native';
import { open, type Privcmd } from '../privcmd';
import { openEventChannels, type EventChannels } from '../evtchn';
import { isSimulatedHost } from '../sim/host';
import { registryOf, type HandleKind, type ProcessSelector, type RegisteredHandle } from '../handle-registry';
import { domidArg } from '../domid-arg';

export type { ProcessSelector } from '../handle-registry';

/**
 * The selector, validated and read once: no host (the real process; no
 * domain then), or a genuine simulated host and an existing domain on it
 * (default 0). Anything else would name a process with no handles and
 * "succeed" while the handles the caller meant stay unrestricted.
 */
function checkSelector(syscall: string, sel: unknown): ProcessSelector {
  if (sel === undefined) return {};
  if (typeof sel !== 'object' || sel === null) throw invalidArgument(syscall, `options must be { host?, domain? }, got ${describe(sel)}`);
  const { host, domain } = sel as { host?: unknown; domain?: unknown };
  if (host === undefined) {
    if (domain !== undefined) throw invalidArgument(syscall, '`domain` only applies to a simulated host; the real process is the one this runs in');
    return {};
  }
  if (!isSimulatedHost(host)) throw invalidArgument(syscall, `host must be a simulated host made by createSimulatedHost(), got ${describe(host)}`);
  const d = domidArg(syscall, 'domain', domain ?? 0, 'domain');
  if (host.domainById(d) === undefined) throw invalidArgument(syscall, `the simulated host has no domain ${d}`);
  return { host, domain: d };
}

export interface RestrictAllResult {
  readonly domid: number;
  /** Handles restricted by this call (already restricted ones included). */
  readonly handles: number;
}

/** "a device privcmd handle", for messages. */
function describeHandle(h: RegisteredHandle): string {
  return `a ${h.kind} ${h.handleKind} handle`;
}

/**
 * Restrict every handle of the process to `domid`, and every handle opened
 * afterwards. Again with the same domid: fine. With another: EINVAL, and
 * nothing changes. A handle that refuses the restriction is closed (so it
 * cannot be used unrestricted) and the call throws, naming it. On the real
 * process, device handles opened in other worker threads that stay
 * unrestricted make it throw EBUSY (after restricting what it can).
 */
export function restrictAll(domid: number, options?: ProcessSelector): RestrictAllResult {
  const sel = checkSelector('restrictAll', options);
  domidArg('restrictAll', 'domid', domid);
  if (domid === DOMID.INVALID) throw invalidArgument('restrictAll', 'restricting to DOMID_INVALID would leave the handles unrestricted');
  const reg = registryOf(sel);
  const real = sel.host === undefined;
  const processDomid = real ? native.processHandles().domid : -1;
  const already = reg.restrictedTo ?? (processDomid >= 0 ? processDomid : null);
  if (already !== null && already !== domid) {
    throw codedError('EINVAL', 'restrictAll', `the process is already restricted to domain ${already}; a restriction is one-way`);
  }
  // Refuse before touching anything if a handle is bound to another domain.
  for (const h of reg.handles) {
    if (h.restrictedTo !== null && h.restrictedTo !== domid) {
      throw codedError('EINVAL', 'restrictAll', `${describeHandle(h)} is already restricted to domain ${h.restrictedTo}; close it first`);
    }
  }
  // From here on, new handles start restricted, whatever happens below: in
  // this module instance, and (natively) in every worker of the process.
  reg.restrictedTo = domid;
  if (real) {
    const rc = native.processRestrict(domid);
    if (rc < 0) throw errnoError(rc, 'restrictAll', `the process is already restricted to domain ${native.processHandles().domid}`);
  }
  const failed: string[] = [];
  let first: PrivcmdError | null = null;
  for (const h of [...reg.handles]) {
    // evtchn's restriction is once only: again is EACCES, even to the same domain.
    if (h.restrictedTo === domid && h.handleKind === 'evtchn') continue;
    try {
      h.restrict(domid);
    } catch (e) {
      const err = e as PrivcmdError;
      first ??= err;
      failed.push(`${describeHandle(h)} (${err.message}): closed`);
      h.close();
    }
  }
  if (first !== null) {
    throw new PrivcmdError(first.code, first.errno, 'restrictAll', `${failed.length} handle(s) could not be restricted to domain ${domid} and were closed: ${failed.join('; ')}`);
  }
  if (real) {
    const stray = native.processHandles().unrestricted;
    if (stray > 0) {
      throw codedError('EBUSY', 'restrictAll', `restricted this thread's ${reg.handles.size} handle(s) to domain ${domid}, but ${stray} device handle(s) ` +
        'opened elsewhere in the process (another worker thread) are not restricted: call restrictAll there, or close them. Later opens in any thread start restricted.');
    }
  }
  return { domid, handles: reg.handles.size };
}

/** What verifyRestricted() found for one handle. */
export interface RestrictionCheck {
  readonly handle: HandleKind;
  readonly kind: 'simulated' | 'device';
  /** true: the process held no handle of this kind, so verifyRestricted opened one (it must come out restricted). */
  readonly opened: boolean;
  /** The domain the handle says it is restricted to. */
  readonly restrictedTo: number | null;
  /** What each probe got: 'EPERM' / 'EACCES' when restricted; 'ok' or another code when not. */
  readonly probes: Readonly<Record<string, string>>;
  readonly ok: boolean;
}

export interface RestrictionReport {
  readonly domid: number | null;
  readonly handles: readonly RestrictionCheck[];
  /** Kinds the process cannot open here (no such device, or not permitted), with the code: nothing of them to restrict. */
  readonly unavailable: Readonly<Partial<Record<HandleKind, string>>>;
}

const UNOPENABLE = new Set(['ENOENT', 'ENODEV', 'ENXIO', 'EACCES', 'EPERM']);

const code = (rc: number | bigint): string => (rc < 0 ? errnoName(Number(rc)) : 'ok');

/** The probes of one handle and the codes a restricted one must give. */
function probe(h: RegisteredHandle): { probes: Record<string, string>; want: Record<string, string> } {
  if (h.handleKind === 'privcmd') {
    const p = (h as Privcmd).probeRestriction();
    return {
      probes: { hypercall: code(p.hypercall), otherDomainDmop: code(p.dmop), otherDomainMap: code(p.foreignMap) },
      want: { hypercall: 'EPERM', otherDomainDmop: 'EPERM', otherDomainMap: 'EPERM' },
    };
  }
  const p = (h as EventChannels).probeRestriction();
  return { probes: { unboundPort: code(p.unboundPort), otherDomainBind: code(p.otherDomainBind) }, want: { unboundPort: 'EACCES', otherDomainBind: 'EACCES' } };
}

function openFresh(kind: HandleKind, sel: ProcessSelector): RegisteredHandle {
  const where = sel.host === undefined ? {} : { host: sel.host, domain: sel.domain ?? 0 };
  return kind === 'privcmd' ? open(where) : openEventChannels(where);
}

/**
 * On each handle of the process, of every kind, try calls the restriction
 * must refuse (privcmd: a raw hypercall, a DMOP and a foreign map of another domain;
 * evtchn: an unbound port and another domain's port), straight to the
 * kernel so that only its answer counts. Never vacuous: for a kind the
 * process holds no handle of, it opens one (which must come out restricted),
 * probes it and closes it; a kind whose device does not exist here is listed
 * as unavailable. Throws ERR_PRIVCMD_NOT_RESTRICTED (with `.report`) if
 * restrictAll() was never called or any handle let a call through.
 */
export function verifyRestricted(options?: ProcessSelector): RestrictionReport {
  const sel = checkSelector('verifyRestricted', options);
  const reg = registryOf(sel);
  const handles: RestrictionCheck[] = [];
  const unavailable: Partial<Record<HandleKind, string>> = {};
  const problems: string[] = [];
  for (const kind of ['privcmd', 'evtchn'] as const) {
    let mine = reg.ofKind(kind);
    let fresh: RegisteredHandle | null = null;
    if (mine.length === 0 && reg.restrictedTo !== null) {
      try {
        fresh = openFresh(kind, sel);
        mine = [fresh];
      } catch (e) {
        const c = (e as { code?: string }).code ?? 'error';
        // No such device, or this process may not open it (a deprivileged
        // uid): it cannot come to hold an unrestricted handle of this kind.
        if (UNOPENABLE.has(c)) unavailable[kind] = c;
        else problems.push(`a fresh ${kind} handle could not be opened restricted (${(e as Error).message})`);
        continue;
      }
    }
    try {
      for (const h of mine) {
        const { probes, want } = probe(h);
        const ok = h.restrictedTo === reg.restrictedTo && Object.entries(want).every(([k, v]) => probes[k] === v);
        handles.push({ handle: kind, kind: h.kind, opened: h === fresh, restrictedTo: h.restrictedTo, probes, ok });
      }
    } finally {
      fresh?.close();
    }
  }
  if (sel.host === undefined && reg.restrictedTo !== null) {
    const stray = native.processHandles().unrestricted;
    if (stray > 0) problems.push(`${stray} device handle(s) elsewhere in the process (another worker thread) are not restricted`);
  }
  const report: RestrictionReport = { domid: reg.restrictedTo, handles, unavailable };
  const bad = handles.filter((c) => !c.ok);
  if (reg.restrictedTo === null || bad.length > 0 || problems.length > 0) {
    const why = reg.restrictedTo === null
      ? 'restrictAll() has not been called for this process'
      : [
        ...(bad.length > 0 ? [`${bad.length} of ${handles.length} handle(s) let a call through: ` +
          bad.map((c) => `${c.kind} ${c.handle} handle: ${Object.entries(c.probes).map(([k, v]) => `${k} ${v}`).join(', ')}`).join('; ')] : []),
        ...problems,
      ].join('; ');
    throw libraryError('ERR_PRIVCMD_NOT_RESTRICTED', why, { report });
  }
  return report;
}

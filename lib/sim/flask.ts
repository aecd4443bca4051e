// The simulated Flask XSM module: a security server over a small
// type-enforcement policy (lib/policy/te-policy.ts), the domain labels, and
// the xsm_op commands a toolstack uses to relabel a domain
// (xen/xsm/flask/flask_op.c, in its check order). Without Flask the host runs
// Xen's dummy module, which answers -ENOSYS to every xsm_op.
import { DOMID } from '../abi/domids';
import { ERRNO, errnoName, type ErrnoName } from '../abi/errno';
import { FLASK_MAX_STRING, FLASK_OP, XEN_FLASK_INTERFACE_VERSION } from '../abi/flask';
import { FLASK_OP_AT, FLASK_STRUCTS } from '../abi/layouts';
import { native } from '../native';
import { SECURITY_TYPE, UNLABELED_TYPE, tePolicy, type FlaskClass, type TePolicy, type TePolicySpec } from '../policy/te-policy';
import type { AddressSpace } from './address-space';
import type { Domain } from './domain';

export interface FlaskOptions {
  /** The loaded policy: text, an object, or a TePolicy. Flask runs enforcing. */
  policy: TePolicy | TePolicySpec | string;
}

/** The security server's own context (SECINITSID_SECURITY). */
export const SECURITY_CONTEXT = `system_u:object_r:${SECURITY_TYPE}`;
/** What a sid the server never issued stands for (sidtab_search falls back to SECINITSID_UNLABELED). */
export const UNLABELED_CONTEXT = `system_u:object_r:${UNLABELED_TYPE}`;

/** Where a domain's label names its type: `user:role:type`. */
function typeOf(context: string): string {
  return context.slice(context.lastIndexOf(':') + 1);
}

export class Flask {
  readonly policy: TePolicy;
  /** Why the last check failed, for error messages. */
  why = '';
  readonly #sids = new Map<string, number>();
  readonly #contexts: string[] = [''];

  constructor(options: FlaskOptions) {
    this.policy = tePolicy(options.policy);
    this.contextToSid(SECURITY_CONTEXT);
    this.contextToSid(UNLABELED_CONTEXT);
  }

  /**
   * security_context_to_sid: a valid context is `system_u:system_r:<type>`
   * (domains) or `system_u:object_r:<type>` with a declared type. Sids are
   * handed out in order of first use; they are opaque numbers, as in Xen.
   */
  contextToSid(context: string): number | null {
    const known = this.#sids.get(context);
    if (known !== undefined) return known;
    const m = /^system_u:(system_r|object_r):([^:]+)$/.exec(context);
    if (!m || !this.policy.types.has(m[2] as string)) return null;
    const sid = this.#contexts.length;
    this.#contexts.push(context);
    this.#sids.set(context, sid);
    return sid;
  }

  /** sidtab_search: the context of a sid; one the server never issued reads as unlabeled. */
  sidToContext(sid: number): string {
    return (sid > 0 ? this.#contexts[sid] : undefined) ?? UNLABELED_CONTEXT;
  }

  /** avc_has_perm on sids: 0 or -EACCES (denied). */
  hasPerm(ssid: number, tsid: number, cls: FlaskClass, perm: string): number {
    const s = this.sidToContext(ssid);
    const t = this.sidToContext(tsid);
    if (this.policy.allows(typeOf(s), typeOf(t), cls, perm)) return 0;
    this.why = `avc: denied { ${perm} } for scontext=${s} tcontext=${t} tclass=${cls}`;
    return -ERRNO.EACCES;
  }

  /** The same check on labels (contexts), as the host's domain controls make it. */
  hasPermLabels(source: string, target: string, cls: FlaskClass, perm: string): number {
    const s = this.contextToSid(source);
    const t = this.contextToSid(target);
    if (s === null || t === null) {
      this.why = `label ${s === null ? source : target} is not a valid context in the loaded policy`;
      return -ERRNO.EINVAL;
    }
    return this.hasPerm(s, t, cls, perm);
  }
}

export interface FlaskOpEnv {
  readonly flask: Flask | null;
  domainById(domid: number): Domain | undefined;
  fail(code: ErrnoName, why: string): number;
}

const OP = FLASK_STRUCTS.xen_flask_op;

/**
 * do_xsm_op(arg) for `caller`: the dummy module's -ENOSYS, or Flask's
 * do_flask_op: copy the 40-byte op in (EFAULT), check the interface version
 * (ENOSYS), run the command, copy the op back for commands that return
 * values. Returns Xen's result.
 */
export function doXsmOp(env: FlaskOpEnv, caller: Domain, space: AddressSpace, arg: bigint): number {
  const flask = env.flask;
  if (flask === null) return env.fail('ENOSYS', 'xsm_op: this Xen runs the dummy XSM module (no Flask), which answers -ENOSYS to every command');
  const raw = new Uint8Array(OP.size);
  if (native.spaceRead(space.id, arg, raw) !== 0) return env.fail('EFAULT', `xsm_op: the xen_flask_op at 0x${arg.toString(16)} is not readable`);
  const dv = new DataView(raw.buffer);
  const cmd = dv.getUint32(FLASK_OP_AT.cmd, true);
  const version = dv.getUint32(FLASK_OP_AT.interfaceVersion, true);
  if (version !== XEN_FLASK_INTERFACE_VERSION) return env.fail('ENOSYS', `xsm_op: interface_version ${version} is not ${XEN_FLASK_INTERFACE_VERSION}`);
  const callerSid = flask.contextToSid(caller.label);
  let rc: number;
  let copyOut = false;
  switch (cmd) {
    case FLASK_OP.GETENFORCE:
      return 1;
    case FLASK_OP.CONTEXT_TO_SID:
      rc = contextToSid(env, flask, callerSid, space, dv);
      copyOut = true;
      break;
    case FLASK_OP.RELABEL_DOMAIN:
      rc = relabelDomain(env, flask, caller, callerSid, dv);
      break;
    default:
      return env.fail('ENOSYS', `xsm_op: Flask command ${cmd} is not implemented by the simulated Flask`);
  }
  if (rc < 0) return rc;
  if (copyOut && native.spaceWrite(space.id, arg, raw) !== 0) return env.fail('EFAULT', 'xsm_op: cannot copy the result back');
  return rc;
}

/** domain_has_security(current->domain, perm): the caller against the security server. */
function hasSecurity(env: FlaskOpEnv, flask: Flask, callerSid: number | null, perm: string): number {
  const securitySid = flask.contextToSid(SECURITY_CONTEXT) as number;
  if (callerSid === null) return env.fail('EACCES', 'xsm_op: the calling domain has no valid label');
  const rc = flask.hasPerm(callerSid, securitySid, 'security', perm);
  return rc === 0 ? 0 : env.fail(errnoName(rc) as ErrnoName, `xsm_op: ${flask.why}`);
}

/** flask_security_context: check_context, copy the string in (a page at most), convert, sid out. */
function contextToSid(env: FlaskOpEnv, flask: Flask, callerSid: number | null, space: AddressSpace, dv: DataView): number {
  const rc = hasSecurity(env, flask, callerSid, 'check_context');
  if (rc !== 0) return rc;
  const size = dv.getUint32(FLASK_OP_AT.sidContext.size, true);
  const ptr = dv.getBigUint64(FLASK_OP_AT.sidContext.context, true);
  if (size > FLASK_MAX_STRING) return env.fail('ENOBUFS', `FLASK_CONTEXT_TO_SID: the context is ${size} bytes, more than ${FLASK_MAX_STRING}`);
  const bytes = new Uint8Array(size);
  if (size > 0 && native.spaceRead(space.id, ptr, bytes) !== 0) return env.fail('EFAULT', `FLASK_CONTEXT_TO_SID: the context at 0x${ptr.toString(16)} is not readable`);
  // string_to_context_struct must consume the whole size: one trailing NUL at most.
  const nul = bytes.indexOf(0);
  if (nul >= 0 && nul < size - 1) return env.fail('EINVAL', `FLASK_CONTEXT_TO_SID: the context has bytes after its NUL (at ${nul} of ${size})`);
  const context = new TextDecoder().decode(nul < 0 ? bytes : bytes.subarray(0, nul));
  const sid = flask.contextToSid(context);
  if (sid === null) return env.fail('EINVAL', `FLASK_CONTEXT_TO_SID: ${JSON.stringify(context)} is not a valid context in the loaded policy`);
  dv.setUint32(FLASK_OP_AT.sidContext.sid, sid, true);
  return 0;
}

/**
 * flask_relabel_domain, in its order: look the domain up (DOMID_SELF allowed;
 * the u32 domid is truncated to domid_t there) -> ESRCH; relabelself when
 * the u32 is DOMID_SELF, else relabelfrom (caller -> old) and relabelto
 * (caller -> new); then transition (old -> new). A denial is -EACCES; a
 * sid never issued is checked as unlabeled_t. There is no paused-state check.
 */
function relabelDomain(env: FlaskOpEnv, flask: Flask, caller: Domain, callerSid: number | null, dv: DataView): number {
  const domid = dv.getUint32(FLASK_OP_AT.relabel.domid, true);
  const sid = dv.getUint32(FLASK_OP_AT.relabel.sid, true);
  const id = domid & 0xffff;
  const d = id === DOMID.SELF ? caller : env.domainById(id);
  if (d === undefined) return env.fail('ESRCH', `FLASK_RELABEL_DOMAIN: no domain ${id}`);
  const oldSid = flask.contextToSid(d.label);
  if (oldSid === null || callerSid === null) return env.fail('EINVAL', `FLASK_RELABEL_DOMAIN: domain ${oldSid === null ? d.domid : caller.domid} has no valid label`);
  const check = (s: number, t: number, cls: FlaskClass, perm: string): number => {
    const rc = flask.hasPerm(s, t, cls, perm);
    return rc === 0 ? 0 : env.fail(errnoName(rc) as ErrnoName, `FLASK_RELABEL_DOMAIN of domain ${d.domid}: ${flask.why}`);
  };
  let rc: number;
  if (domid === DOMID.SELF) {
    rc = check(oldSid, sid, 'domain2', 'relabelself');
    if (rc !== 0) return rc;
  } else {
    rc = check(callerSid, oldSid, 'domain2', 'relabelfrom');
    if (rc !== 0) return rc;
    rc = check(callerSid, sid, 'domain2', 'relabelto');
    if (rc !== 0) return rc;
  }
  rc = check(oldSid, sid, 'domain', 'transition');
  if (rc !== 0) return rc;
  d.label = flask.sidToContext(sid);
  return 0;
}

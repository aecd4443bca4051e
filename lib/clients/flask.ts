// Flask's relabel, as a toolstack sends it: xsm_op (hypercall 27) with a
// struct xen_flask_op in a hypercall buffer. FLASK_CONTEXT_TO_SID turns a
// label (`system_u:system_r:vm_t`) into a sid; FLASK_RELABEL_DOMAIN moves a
// domain to that sid. The same bytes go to a real /dev/xen/privcmd and to the
// simulated host. On a Xen without Flask every xsm_op is ENOSYS, which these
// report as such: the domain keeps its label. The structs are written and
// read through the codec engine (lib/codec/layout.ts), from the layout table.
import { FLASK_MAX_STRING, FLASK_OP, XEN_FLASK_INTERFACE_VERSION } from '../abi/flask';
import { FLASK_STRUCTS, XEN_FLASK_OP_HEADER_SIZE } from '../abi/layouts';
import { getField, putFields } from '../codec/layout';
import { describe, invalidArgument, isPrivcmdError, withDetail, type PrivcmdError } from '../errors';
import type { Privcmd } from '../privcmd';
import { domidArg } from '../domid-arg';

const OP_SIZE = FLASK_STRUCTS.xen_flask_op.size;
/** Where the payload union sits in xen_flask_op. */
const U = XEN_FLASK_OP_HEADER_SIZE;

/** A zeroed xen_flask_op for `cmd` at the current interface version (its payload to fill). */
function newFlaskOp(cmd: number): Uint8Array {
  const op = new Uint8Array(OP_SIZE);
  putFields(op, 0, FLASK_STRUCTS.xen_flask_op, { cmd, interface_version: XEN_FLASK_INTERFACE_VERSION });
  return op;
}

/** The 40-byte xen_flask_op for FLASK_RELABEL_DOMAIN (what libxc's xc_flask_relabel_domain sends). */
export function encodeFlaskRelabel(domid: number, sid: number): Uint8Array {
  // Raw: any u32 (Xen's own checks are what a raw op is for); only values that cannot be encoded are refused.
  checkU32('domid', domid);
  checkU32('sid', sid);
  const op = newFlaskOp(FLASK_OP.RELABEL_DOMAIN);
  putFields(op, U, FLASK_STRUCTS.xen_flask_relabel, { domid, sid });
  return op;
}

/** The xen_flask_op for FLASK_CONTEXT_TO_SID, pointing at `size` bytes of context at `context`. */
export function encodeFlaskContextToSid(context: bigint, size: number): Uint8Array {
  if (typeof context !== 'bigint' || context < 0n || context >= 1n << 64n) throw invalidArgument('xsm_op', `context must be a u64 guest address, got ${describe(context)}`);
  checkU32('size', size);
  const op = newFlaskOp(FLASK_OP.CONTEXT_TO_SID);
  putFields(op, U, FLASK_STRUCTS.xen_flask_sid_context, { size, context });
  return op;
}

/** Say what an xsm_op refusal means; ENOSYS is "this Xen has no Flask". */
function explain(e: unknown, what: string): never {
  if (!isPrivcmdError(e)) throw e;
  const why = e.code === 'ENOSYS'
    ? 'Xen answered ENOSYS: it runs without Flask (the dummy XSM module answers every xsm_op so), so domains cannot be relabelled here'
    : e.code === 'EACCES'
      ? `the Flask policy denies it (${e.detail})`
      : e.detail;
  throw withDetail(e, `xsm_op ${what}: ${why}`);
}

function checkHandle(h: unknown): void {
  if (typeof h !== 'object' || h === null || typeof (h as Privcmd).hypercall !== 'function' || typeof (h as Privcmd).hypercallBuffer !== 'function') {
    throw invalidArgument('xsm_op', 'the first argument must be a privcmd handle (open())');
  }
}

function checkContext(context: unknown): Uint8Array {
  if (typeof context !== 'string' || context === '' || context.includes('\0')) {
    throw invalidArgument('xsm_op', `a security label must be a non-empty string without NUL, got ${describe(context)}`);
  }
  const bytes = new TextEncoder().encode(context);
  if (bytes.length > FLASK_MAX_STRING) throw invalidArgument('xsm_op', `a security label is at most ${FLASK_MAX_STRING} bytes, got ${bytes.length}`);
  return bytes;
}

function withBuffer<T>(h: Privcmd, size: number, f: (buf: ReturnType<Privcmd['hypercallBuffer']>) => T): T {
  const buf = h.hypercallBuffer(size);
  try {
    return f(buf);
  } finally {
    h.freeHypercallBuffer(buf);
  }
}

/** FLASK_CONTEXT_TO_SID: the sid of a security label (libxl's libxl_flask_context_to_sid). */
export function flaskContextToSid(h: Privcmd, context: string): number {
  checkHandle(h);
  const bytes = checkContext(context);
  return withBuffer(h, OP_SIZE, (op) => withBuffer(h, bytes.length, (str) => {
    str.view.set(bytes);
    op.view.set(encodeFlaskContextToSid(str.addr, bytes.length));
    try {
      h.hypercall('xsm_op', [op.addr]);
    } catch (e) {
      explain(e, `FLASK_CONTEXT_TO_SID ${JSON.stringify(context)}`);
    }
    return getField(op.view, U, FLASK_STRUCTS.xen_flask_sid_context, 'sid') as number;
  }));
}

function checkU32(what: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw invalidArgument('xsm_op', `${what} must be a u32, got ${describe(v)}`);
}

function checkSid(sid: unknown): void {
  if (typeof sid !== 'number' || !Number.isInteger(sid) || sid < 1 || sid > 0xffffffff) throw invalidArgument('xsm_op', `sid must be a u32 sid (not 0), got ${describe(sid)}`);
}

/** FLASK_RELABEL_DOMAIN: move domain `domid` (or DOMID_SELF) to `sid`. */
function checkRelabelDomid(domid: unknown): void {
  domidArg('xsm_op', 'domid', domid, 'domain-or-self');
}

export function flaskRelabelDomain(h: Privcmd, domid: number, sid: number): void {
  checkHandle(h);
  checkRelabelDomid(domid);
  checkSid(sid);
  withBuffer(h, OP_SIZE, (op) => {
    op.view.set(encodeFlaskRelabel(domid, sid));
    try {
      h.hypercall('xsm_op', [op.addr]);
    } catch (e) {
      explain(e, `FLASK_RELABEL_DOMAIN of domain ${domid} to sid ${sid}`);
    }
  });
}

/**
 * Whether this Xen runs Flask: FLASK_GETENFORCE answers 1 (enforcing) or 0
 * (permissive); the dummy XSM module answers ENOSYS ('absent'). Any other
 * refusal (a restricted handle's EPERM, say) is thrown.
 */
export function flaskStatus(h: Privcmd): 'enforcing' | 'permissive' | 'absent' {
  checkHandle(h);
  return withBuffer(h, OP_SIZE, (op) => {
    op.view.set(newFlaskOp(FLASK_OP.GETENFORCE));
    try {
      return h.hypercall('xsm_op', [op.addr]) === 0n ? 'permissive' : 'enforcing';
    } catch (e) {
      if ((e as PrivcmdError).code === 'ENOSYS') return 'absent';
      return explain(e, 'FLASK_GETENFORCE');
    }
  });
}

/** Relabel a domain to a security label: CONTEXT_TO_SID, then RELABEL_DOMAIN. Returns the sid. */
export function relabelDomain(h: Privcmd, domid: number, label: string): { sid: number } {
  checkHandle(h);
  checkRelabelDomid(domid);
  checkContext(label);
  const sid = flaskContextToSid(h, label);
  flaskRelabelDomain(h, domid, sid);
  return { sid };
}

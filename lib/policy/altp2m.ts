// altp2m (HVMOP_altp2m, an hvm_op sub-command) as policy sees it: Xen's
// gating of who may call which sub-op in each mode, this project's audited
// classification of the sub-ops for mixed mode (which an in-guest agent may
// be given), and the request codec over the shared codec engine. The ABI
// (sub-op table, struct layouts, constants) is lib/abi/altp2m.ts.
// Xen 4.17 semantics: do_altp2m_op in xen/arch/x86/hvm/hvm.c and
// xsm_hvm_altp2mhvm_op in xen/include/xsm/dummy.h.
import {
  ALTP2M_CMDS, ALTP2M_MODES, ALTP2M_OP_SIZE, ALTP2M_STRUCTS, ALTP2M_U, HVMOP_ALTP2M_INTERFACE_VERSION, XENMEM_ACCESS,
  type Altp2mCmdInfo, type Altp2mCmdName, type Altp2mModeName,
} from '../abi/altp2m';
import { decodeFields, fieldValue, planStruct, putFields, put, type FieldPlan, type StructInterface } from '../codec/layout';
import { types } from 'util';
import { describe, invalidArgument } from '../errors';
import { XSM, type XsmAction } from './xsm';
import { domidArg } from '../domid-arg';

// The ABI, for the callers that know altp2m through this module.
export {
  HVMOP_ALTP2M, HVMOP_ALTP2M_INTERFACE_VERSION, HVM_PARAM_ALTP2M, HVM_PARAM_NESTEDHVM, ALTP2M_MODES, MAX_ALTP2M, XENMEM_ACCESS,
  INVALID_ALTP2M, ALTP2M_STRUCTS, ALTP2M_U, ALTP2M_OP_SIZE, ALTP2M_CMDS,
  type Altp2mModeName, type Altp2mStructName, type Altp2mCmdName, type Altp2mCmdInfo,
} from '../abi/altp2m';

const MODE_NAMES = Object.keys(ALTP2M_MODES) as Altp2mModeName[];

/** The mode's name for a value 0..3 (undefined otherwise). */
export function altp2mModeName(mode: number): Altp2mModeName | undefined {
  return typeof mode === 'number' && Number.isInteger(mode) && mode >= 0 ? MODE_NAMES[mode] : undefined;
}

const BY_NAME = new Map<string, Altp2mCmdInfo>(ALTP2M_CMDS.map((c) => [c.name, c]));
const BY_CMD = new Map<number, Altp2mCmdInfo>(ALTP2M_CMDS.map((c) => [c.cmd, c]));

/** The table entry for a command name or number. */
export function altp2mCmd(c: Altp2mCmdName | number): Altp2mCmdInfo | undefined {
  return typeof c === 'number' ? BY_CMD.get(c) : typeof c === 'string' ? BY_NAME.get(c) : undefined;
}

// ---- who may call what (xsm_hvm_altp2mhvm_op, dummy.h) -----------------------

/**
 * The XSM action xsm_hvm_altp2mhvm_op(XSM_OTHER, d, mode, cmd) resolves to,
 * checked as xsm_default_action(action, current->domain, d):
 *   mixed -> XSM_TARGET (the guest itself, its device model, the control domain);
 *   external -> XSM_DM_PRIV (never the guest itself);
 *   limited -> XSM_TARGET for vcpu_enable_notify only, else XSM_DM_PRIV.
 * null for `disabled`: do_altp2m_op refuses with -EINVAL before asking XSM.
 * An unknown command never reaches XSM (-EOPNOTSUPP first): HOOK. A mode
 * above 3 cannot be set; dummy.h refuses it (XSM_OTHER is refused).
 */
export function altp2mXsmAction(mode: number, cmd: number): XsmAction | null {
  if (!BY_CMD.has(cmd)) return XSM.HOOK;
  switch (mode) {
    case ALTP2M_MODES.disabled: return null;
    case ALTP2M_MODES.mixed: return XSM.TARGET;
    case ALTP2M_MODES.external: return XSM.DM_PRIV;
    case ALTP2M_MODES.limited: return cmd === 3 ? XSM.TARGET : XSM.DM_PRIV;
    default: return XSM.OTHER;
  }
}

// ---- mixed mode, audited ------------------------------------------------------

export interface Altp2mGuestClass {
  readonly cmd: Altp2mCmdName;
  /** Safe to let an in-guest agent call on its own domain in mixed mode. */
  readonly safe: boolean;
  readonly reason: string;
}

/**
 * Beyond Xen: in mixed mode Xen lets the guest call every sub-op on itself,
 * which lets code in the guest undo what an external monitor (VMI through
 * altp2m views) set up. The threat considered: an in-guest agent (a process
 * using privcmd inside the guest, or a driver) is compromised and tries to
 * blind or escape the external monitor. A sub-op is safe when it only reads
 * the guest's own view state, or sets up the cooperative #VE channel, and
 * cannot weaken a protection the monitor installed. Data, shipped as is,
 * and the audit record: `altp2mGuestAllowList()` turns its safe entries into
 * an allow-list.
 */
const CLASSIFICATION = {
  get_domain_state: { safe: true, reason: 'read-only: whether altp2m is active, which the guest can already observe (VMFUNC, #VE).' },
  set_domain_state: { safe: false, reason: 'turning altp2m off flushes every view (p2m_flush_altp2m) and disables #VE on all vCPUs: it removes every protection the monitor built; turning it on resets the views.' },
  vcpu_enable_notify: { safe: true, reason: 'registers the #VE info page of one of the guest\'s own vCPUs (the cooperative channel; the only sub-op Xen allows the guest in limited mode). #VE only reports violations on pages whose suppress-#VE bit was cleared, so it cannot take events away from the monitor while set_suppress_ve stays denied.' },
  create_p2m: { safe: false, reason: 'consumes one of the MAX_ALTP2M (10) view slots, which the monitor needs, and the creator chooses the default access, so the new view can be an unrestricted one to switch into.' },
  destroy_p2m: { safe: false, reason: 'destroys any inactive view, including the monitor\'s restricted views.' },
  switch_p2m: { safe: false, reason: 'moves every vCPU to any visible view, e.g. out of a restricted view into an unrestricted one: escapes monitoring.' },
  set_mem_access: { safe: false, reason: 'changes the access rights of a page in any view (view 0 is the host p2m): lifts the monitor\'s execute/write restrictions.' },
  change_gfn: { safe: false, reason: 'remaps a gfn to another frame in a view: can redirect a protected page or hide code from the monitor.' },
  set_mem_access_multi: { safe: false, reason: 'set_mem_access for a list of pages.' },
  set_suppress_ve: { safe: false, reason: 'clearing the suppress-#VE bit turns EPT violations on that page into #VE in the guest instead of vm_event to the monitor: the guest swallows the monitor\'s events.' },
  get_suppress_ve: { safe: true, reason: 'read-only, about the guest\'s own pages; it does reveal which pages are routed to #VE.' },
  get_mem_access: { safe: true, reason: 'read-only, about the guest\'s own pages; it does reveal which pages the monitor restricts.' },
  vcpu_disable_notify: { safe: false, reason: 'tears down a vCPU\'s #VE channel, silencing the in-guest handler another component relies on; Xen\'s limited mode refuses it to the guest for the same reason.' },
  get_p2m_idx: { safe: true, reason: 'read-only: which view a vCPU runs in (the guest sees the EPTP index in #VE information anyway).' },
  set_suppress_ve_multi: { safe: false, reason: 'set_suppress_ve for a range of pages.' },
  set_visibility: { safe: false, reason: 'makes a view selectable by in-guest VMFUNC (EPTP switching) or hides the monitor\'s view: visible unrestricted views let the guest switch out of monitoring without a hypercall.' },
} as const satisfies Readonly<Record<Altp2mCmdName, { readonly safe: boolean; readonly reason: string }>>;

/** The classification above as a list, in the sub-op table's order. */
export const ALTP2M_MIXED_MODE_CLASSIFICATION: readonly Altp2mGuestClass[] = Object.freeze(
  ALTP2M_CMDS.map((c): Altp2mGuestClass => Object.freeze({ cmd: c.name, ...CLASSIFICATION[c.name] })));

/** Filter rule name of a sub-op (see lib/policy/xsm-actions.ts). */
export function altp2mRuleName(c: Altp2mCmdName): string {
  if (typeof c !== 'string' || !BY_NAME.has(c)) throw invalidArgument(SYSCALL, `unknown altp2m command ${describe(c)}`);
  return `hvm_op/altp2m/${c}`;
}

/** One entry of an allow-list: a rule kept, and why it may be. */
export interface AllowEntry {
  readonly rule: string;
  readonly reason: string;
}

/**
 * What an in-guest agent may call in mixed mode, as an allow-list for
 * createFilter({ allow }): the safe sub-ops of the classification, each with
 * its reason. Listing them confines hvm_op/altp2m to them: every other
 * sub-op, a number this table does not know (a future sub-op) and an
 * interface version other than HVMOP_ALTP2M_INTERFACE_VERSION are refused,
 * so nothing passes that was not judged safe.
 */
export function altp2mGuestAllowList(): AllowEntry[] {
  return ALTP2M_MIXED_MODE_CLASSIFICATION.filter((c) => c.safe).map((c) => Object.freeze({ rule: altp2mRuleName(c.cmd), reason: c.reason }));
}

// ---- codec ---------------------------------------------------------------------

type Access = keyof typeof XENMEM_ACCESS;
type Flag = boolean | number;
interface Base { domain: number }

/** Requests: fields are the camelCase of the C fields; u64 fields take bigints. */
export interface Altp2mRequests {
  get_domain_state: Base;
  set_domain_state: Base & { state: Flag };
  vcpu_enable_notify: Base & { vcpuId: number; gfn: bigint };
  create_p2m: Base & { hvmmemDefaultAccess?: Access | number };
  destroy_p2m: Base & { view: number };
  switch_p2m: Base & { view: number };
  set_mem_access: Base & { view: number; access: Access | number; gfn: bigint };
  change_gfn: Base & { view: number; oldGfn: bigint; newGfn: bigint };
  set_mem_access_multi: Base & { view: number; nr: number; opaque?: bigint; pfnList: bigint; accessList: bigint };
  set_suppress_ve: Base & { view: number; suppressVe: Flag; gfn: bigint };
  get_suppress_ve: Base & { view: number; gfn: bigint };
  get_mem_access: Base & { view: number; gfn: bigint };
  vcpu_disable_notify: Base & { vcpuId: number };
  get_p2m_idx: Base & { vcpuId: number };
  set_suppress_ve_multi: Base & { view: number; suppressVe: Flag; firstGfn: bigint; lastGfn: bigint };
  set_visibility: Base & { altp2mIdx: number; visible: Flag };
}

export interface Altp2mResults {
  get_domain_state: { state: boolean };
  set_domain_state: Record<string, never>;
  vcpu_enable_notify: Record<string, never>;
  create_p2m: { view: number };
  destroy_p2m: Record<string, never>;
  switch_p2m: Record<string, never>;
  set_mem_access: Record<string, never>;
  change_gfn: Record<string, never>;
  set_mem_access_multi: { opaque: bigint };
  set_suppress_ve: Record<string, never>;
  get_suppress_ve: { suppressVe: boolean };
  get_mem_access: { access: number };
  vcpu_disable_notify: Record<string, never>;
  get_p2m_idx: { altp2mIdx: number };
  set_suppress_ve_multi: { firstError: number; firstGfn: bigint; firstErrorGfn: bigint };
  set_visibility: Record<string, never>;
}

export type Altp2mRequest = { [K in Altp2mCmdName]: { cmd: K } & Altp2mRequests[K] }[Altp2mCmdName];
export type Altp2mResult<R extends Altp2mRequest> = Altp2mResults[R['cmd']];

// The request and result types name exactly the sub-ops of the table: one
// added there and forgotten here (or the other way round) does not compile.
type SameKeys<T, K extends PropertyKey> = [Exclude<keyof T, K>, Exclude<K, keyof T>] extends [never, never] ? true : false;
const inStep: [SameKeys<Altp2mRequests, Altp2mCmdName>, SameKeys<Altp2mResults, Altp2mCmdName>] = [true, true];
void inStep;

const SYSCALL = 'hvm_op';

/** Named values, booleans and defaults of the union members' fields, and how OUT fields come back. */
const IFACE: StructInterface = {
  names: { state: 'boolean', suppressVe: 'boolean', visible: 'boolean', access: XENMEM_ACCESS, hvmmemDefaultAccess: XENMEM_ACCESS },
  defaults: { opaque: 0n, hvmmemDefaultAccess: XENMEM_ACCESS.default },
  decode: { state: 'boolean', suppressVe: 'boolean', visible: 'boolean', firstError: 'i32' },
};

interface CmdPlan {
  readonly info: Altp2mCmdInfo;
  readonly inputs: readonly FieldPlan[];
  readonly outputs: readonly FieldPlan[];
  readonly keys: ReadonlySet<string>;
}

// Each command's IN and OUT fields of its union member (at ALTP2M_U), planned once.
const PLANS = new Map<string, CmdPlan>(ALTP2M_CMDS.map((info) => {
  const { inputs, outputs } = planStruct(ALTP2M_STRUCTS[info.struct], ALTP2M_U, IFACE, info);
  return [info.name, { info, inputs, outputs, keys: new Set(['cmd', 'domain', ...inputs.map((f) => f.key)]) }];
}));

/**
 * The 80-byte struct xen_hvm_altp2m_op for a request: version 1, the command,
 * the domain, pads zero, the command's IN fields in the union, the rest zero.
 */
export function encodeAltp2mOp(request: Altp2mRequest): Uint8Array {
  if (typeof request !== 'object' || request === null) throw invalidArgument(SYSCALL, 'an altp2m request must be an object such as { cmd: \'get_domain_state\', domain: 1 }');
  const c: unknown = request.cmd;
  const p = typeof c === 'string' ? PLANS.get(c) : undefined;
  if (p === undefined) throw invalidArgument(SYSCALL, `unknown altp2m command ${describe(c)} (known: ${[...PLANS.keys()].join(', ')})`);
  const what = `altp2m ${p.info.name}`;
  const r = request as unknown as Record<string, unknown>;
  for (const k in r) if (!p.keys.has(k)) throw invalidArgument(SYSCALL, `${what}: unknown field '${k}' (fields: ${[...p.keys].filter((x) => x !== 'cmd').join(', ')})`);
  // Any domid_t, DOMID_SELF included: do_altp2m_op (xen/arch/x86/hvm/hvm.c) judges it.
  const domain = domidArg(SYSCALL, `${what}.domain`, r.domain);
  const values = p.inputs.map((f) => fieldValue(SYSCALL, what, f, r[f.key]));
  const out = new Uint8Array(ALTP2M_OP_SIZE);
  putFields(out, 0, ALTP2M_STRUCTS.xen_hvm_altp2m_op, { version: HVMOP_ALTP2M_INTERFACE_VERSION, cmd: p.info.cmd, domain });
  p.inputs.forEach((f, i) => put(out, f.at, f.type, values[i] as number | bigint));
  return out;
}

/** The OUT fields of a command, read from the struct Xen wrote back. */
export function decodeAltp2mOp<R extends Altp2mRequest>(c: R['cmd'], bytes: Uint8Array): Altp2mResult<R> {
  const p = typeof c === 'string' ? PLANS.get(c) : undefined;
  if (p === undefined) throw invalidArgument(SYSCALL, `unknown altp2m command ${describe(c)}`);
  if (!types.isUint8Array(bytes)) throw invalidArgument(SYSCALL, `an altp2m op must be a Uint8Array, got ${describe(bytes)}`);
  if (bytes.byteLength < ALTP2M_OP_SIZE) throw invalidArgument(SYSCALL, `an altp2m op is ${ALTP2M_OP_SIZE} bytes, got ${bytes.byteLength}`);
  return decodeFields(bytes, p.outputs) as Altp2mResult<R>;
}

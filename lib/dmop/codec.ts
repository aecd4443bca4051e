// DMOP codec, built from the layout table (lib/abi/layouts.ts) and the op
// interface table (lib/dmop/ops.ts) rather than written op by op, through
// the codec engine the altp2m and Flask codecs share (lib/codec/layout.ts). encodeDmop
// produces exactly what libxendevicemodel sends: buffer 0 is the whole 32-byte
// struct xen_dm_op, zeroed, with op and the op's IN fields; then the op's extra
// buffer (track_dirty_vram's bitmap, modified_memory's extents).
import { DMOPS, DMOP_LIMITS, type DmopInfo } from '../abi/dmops';
import { DMOP_STRUCTS, SCALAR_SIZE, XEN_DM_OP_HEADER_SIZE, type Scalar } from '../abi/layouts';
import { codedError, describe, invalidArgument } from '../errors';
import { decodeFields, fieldValue, planStruct, put, type FieldPlan } from '../codec/layout';
import { OP_INTERFACE } from './ops';
import { types } from 'util';

const { isUint8Array } = types;
import type { DmopName, DmopRequest, DmopResult } from './types';

export const XEN_DM_OP_SIZE = DMOP_STRUCTS.xen_dm_op.size;
const EXTENT = DMOP_STRUCTS.xen_dm_op_modified_memory_extent;
const U = XEN_DM_OP_HEADER_SIZE;
const SYSCALL = 'dm_op';

export interface OpPlan {
  readonly info: DmopInfo;
  readonly inputs: readonly FieldPlan[];
  readonly outputs: readonly FieldPlan[];
  readonly keys: ReadonlySet<string>;
  readonly extra?: 'dirty-bitmap' | 'extents';
}

function plan(info: DmopInfo): OpPlan {
  const iface = OP_INTERFACE[info.name] ?? {};
  // The op's struct sits in xen_dm_op.u, after the header.
  const { inputs, outputs } = planStruct(DMOP_STRUCTS[info.struct], U, iface);
  const keys = new Set(['op', ...inputs.map((p) => p.key), ...(iface.extra === 'extents' ? ['extents'] : [])]);
  return { info, inputs, outputs, keys, ...(iface.extra ? { extra: iface.extra } : {}) };
}

const PLANS = new Map<string, OpPlan>(DMOPS.map((d) => [d.name, plan(d)]));
const BY_NUMBER = new Map<number, OpPlan>(DMOPS.map((d) => [d.op, PLANS.get(d.name) as OpPlan]));
const NO_EXTRAS: Uint8Array[] = [];
const MAX_BITMAP_PAGES = DMOP_LIMITS.builtBufferMaxBytes * 8;
const MAX_EXTENTS = DMOP_LIMITS.builtBufferMaxBytes / EXTENT.size;

/** The op table entry for a request's op name. */
export function dmopInfo(name: string): DmopInfo {
  const p = PLANS.get(name);
  if (p === undefined) throw invalidArgument(SYSCALL, `unknown DMOP '${name}' (known: ${[...PLANS.keys()].join(', ')})`);
  return p.info;
}

function value(op: string, f: FieldPlan, raw: unknown): number | bigint {
  return fieldValue(SYSCALL, op, f, raw);
}

// The last plan used: a device model repeats a few ops, and an interned op
// name compares by pointer, so this skips the Map lookup most of the time.
let lastName = '';
let lastPlan: OpPlan | undefined;

/** The plan for a request's op (validated), for encodePlanned/decodePlanned. */
export function planOf(request: unknown): OpPlan {
  if (typeof request !== 'object' || request === null) throw invalidArgument(SYSCALL, 'a DMOP request must be an object such as { op: \'nr_vcpus\' }');
  const op = (request as { op?: unknown }).op;
  if (op === lastName && lastPlan !== undefined) return lastPlan;
  if (typeof op !== 'string') throw invalidArgument(SYSCALL, 'a DMOP request needs an op name, e.g. { op: \'nr_vcpus\' }');
  const p = PLANS.get(op);
  if (p === undefined) throw invalidArgument(SYSCALL, `unknown DMOP '${op}' (known: ${[...PLANS.keys()].join(', ')})`);
  lastName = op;
  lastPlan = p;
  return p;
}

/** Refuse a field the op does not have (the slow path of the key count). */
function checkKeys(p: OpPlan, request: object): void {
  for (const k in request) {
    if (!p.keys.has(k)) throw invalidArgument(SYSCALL, `${p.info.name}: unknown field '${k}' (fields: ${[...p.keys].filter((x) => x !== 'op').join(', ') || 'none'})`);
  }
}

/**
 * Encode a request into buf0 (32 bytes, overwritten; `words`, if given, is a
 * Uint32Array over the same 32 bytes) and return the extra
 * buffers. A refused request may leave buf0 partly written: it is the
 * caller's scratch (encodeDmop always starts from a fresh one).
 */
export function encodeDmopInto(request: DmopRequest, buf0: Uint8Array, words?: Uint32Array): Uint8Array[] {
  return encodePlanned(planOf(request), request, buf0, words);
}

/** encodeDmopInto with the plan already found (planOf). */
export function encodePlanned(p: OpPlan, request: DmopRequest, buf0: Uint8Array, words?: Uint32Array): Uint8Array[] {
  if (!(buf0 instanceof Uint8Array) || buf0.byteLength < XEN_DM_OP_SIZE) throw invalidArgument(SYSCALL, `buffer 0 must be a Uint8Array of at least ${XEN_DM_OP_SIZE} bytes`);
  if (words !== undefined) return encodeOwned(p, request, buf0, words);
  for (let i = 0; i < XEN_DM_OP_SIZE; i++) buf0[i] = 0;
  put(buf0, 0, 'u32', p.info.op);
  return encodeFields(p, request, buf0);
}

/**
 * encodePlanned into a handle's own buffer 0: `buf0` is at least 32 bytes
 * and `words` views its first 32 (the handle made both), so neither is
 * checked. byteLength is not inlined by V8 11 (Node 20) and cost more than
 * the rest of a field-less op's encoding.
 */
export function encodeOwned(p: OpPlan, request: DmopRequest, buf0: Uint8Array, words: Uint32Array): Uint8Array[] {
  // Zeroing eight words beats 32 byte stores (or fill) several times over.
  words[0] = p.info.op;
  for (let i = 1; i < 8; i++) words[i] = 0;
  return encodeFields(p, request, buf0);
}

function encodeFields(p: OpPlan, request: DmopRequest, buf0: Uint8Array): Uint8Array[] {
  const r = request as unknown as Record<string, unknown>;
  const inputs = p.inputs;
  let nr = 0;
  // Every key must be a field of the op: count them (cheap), and look for
  // the stranger only when the count says there is one.
  let present = p.extra === 'extents' ? 2 : 1;
  for (let i = 0; i < inputs.length; i++) {
    const f = inputs[i]!;
    const raw = r[f.key];
    if (raw !== undefined) present++;
    const v = value(p.info.name, f, raw);
    if (f.key === 'nr') nr = v as number;
    put(buf0, f.at, f.type, v);
  }
  let keys = 0;
  for (const _k in r) keys++;
  if (keys !== present) checkKeys(p, r);
  return p.extra === undefined ? NO_EXTRAS : encodeExtra(p, r, buf0, nr);
}

/** The op's extra buffer; apart so that encodeFields stays small enough for V8 to inline. */
function encodeExtra(p: OpPlan, r: Record<string, unknown>, buf0: Uint8Array, nr: number): Uint8Array[] {
  if (p.extra === 'dirty-bitmap') {
    // Past DMOP_LIMITS.builtBufferMaxBytes of bitmap the kernel can only say
    // E2BIG (and Xen would refuse nr > 262144 anyway): say it without allocating.
    if (nr > MAX_BITMAP_PAGES) {
      throw codedError('E2BIG', 'ioctl', `track_dirty_vram.nr ${nr} needs a bitmap over ${DMOP_LIMITS.builtBufferMaxBytes} bytes, more than privcmd takes in one buffer (Xen allows at most ${DMOP_LIMITS.trackDirtyVramMaxPages} pages)`);
    }
    return [new Uint8Array(Math.ceil(nr / 8))];
  }
  const list = r.extents;
  if (!Array.isArray(list)) throw invalidArgument(SYSCALL, 'modified_memory.extents must be an array of { firstPfn, nr }');
  // privcmd caps each buffer at dm_op_buf_max_size (4 KiB by default); past
  // MAX_EXTENTS the request can only fail with E2BIG, so say so before
  // allocating (a sparse array's length costs nothing to fake).
  if (list.length > MAX_EXTENTS) {
    throw codedError('E2BIG', 'ioctl', `modified_memory: ${list.length} extents is more than ${MAX_EXTENTS} (${DMOP_LIMITS.builtBufferMaxBytes} bytes), more than privcmd takes in one buffer`);
  }
  const ext = new Uint8Array(list.length * EXTENT.size);
  const nrF: FieldPlan = { key: 'nr', at: 0, type: 'u32', boolean: false };
  const pfnF: FieldPlan = { key: 'firstPfn', at: 8, type: 'u64', boolean: false };
  for (let i = 0; i < list.length; i++) {
    const e: unknown = list[i]; // a hole reads as undefined and is refused, where forEach would skip it
    if (typeof e !== 'object' || e === null) throw invalidArgument(SYSCALL, `modified_memory.extents[${i}] must be { firstPfn, nr }`);
    const x = e as Record<string, unknown>;
    for (const k of Object.keys(x)) if (k !== 'nr' && k !== 'firstPfn') throw invalidArgument(SYSCALL, `modified_memory.extents[${i}]: unknown field '${k}'`);
    put(ext, i * EXTENT.size + nrF.at, 'u32', value(`modified_memory.extents[${i}]`, nrF, x.nr));
    put(ext, i * EXTENT.size + pfnF.at, 'u64', value(`modified_memory.extents[${i}]`, pfnF, x.firstPfn));
  }
  put(buf0, U, 'u32', list.length); // nr_extents
  return [ext];
}

/** The exact buffers the call sends: [struct xen_dm_op (32 bytes), ...extra buffers]. */
export function encodeDmop(request: DmopRequest): Uint8Array[] {
  const buf0 = new Uint8Array(XEN_DM_OP_SIZE);
  const extras = encodeDmopInto(request, buf0);
  return [buf0, ...extras];
}

/**
 * The OUT fields of an op, from the buffers after the call: buffer 0 as the
 * hypervisor left it, and the extra buffers.
 */
export function decodeDmop<R extends DmopRequest>(op: R['op'], buffers: readonly Uint8Array[]): DmopResult<R> {
  const p = op === lastName && lastPlan !== undefined ? lastPlan : PLANS.get(op);
  if (p === undefined) throw invalidArgument(SYSCALL, `unknown DMOP ${describe(op)}`);
  if (!Array.isArray(buffers)) throw invalidArgument(SYSCALL, `buffers must be an array of Uint8Arrays, got ${describe(buffers)}`);
  // Genuine typed arrays only (a Proxy passes instanceof), checked before reading.
  if (!isUint8Array(buffers[0])) throw invalidArgument(SYSCALL, `buffer 0 must be a Uint8Array of ${XEN_DM_OP_SIZE} bytes`);
  return decodePlanned<R>(p, buffers);
}

/** decodeDmop with the plan already found (planOf). */
export function decodePlanned<R extends DmopRequest>(p: OpPlan, buffers: readonly Uint8Array[]): DmopResult<R> {
  const buf0 = buffers[0];
  if (!(buf0 instanceof Uint8Array) || buf0.byteLength < XEN_DM_OP_SIZE) throw invalidArgument(SYSCALL, `buffer 0 must hold ${XEN_DM_OP_SIZE} bytes`);
  return decodeOwned<R>(p, buf0, buffers[1]);
}

/** decodePlanned from a handle's own buffer 0 (at least 32 bytes, unchecked) and the op's extra buffer. */
export function decodeOwned<R extends DmopRequest>(p: OpPlan, buf0: Uint8Array, extra: Uint8Array | undefined): DmopResult<R> {
  const out = decodeFields(buf0, p.outputs);
  if (p.extra === 'dirty-bitmap') out.bitmap = extra;
  return out as DmopResult<R>;
}

/** Op number -> name, for raw buffers. */
export function dmopName(op: number): DmopName | undefined {
  return BY_NUMBER.get(op)?.info.name as DmopName | undefined;
}

/** Fields of a layout as { name -> [offset, type] } for the simulator's handlers. */
export function fieldOffsets(struct: keyof typeof DMOP_STRUCTS): Readonly<Record<string, { offset: number; type: Scalar; size: number }>> {
  const r: Record<string, { offset: number; type: Scalar; size: number }> = {};
  for (const f of DMOP_STRUCTS[struct].fields) r[f.name] = { offset: f.offset, type: f.type, size: SCALAR_SIZE[f.type] * (f.count ?? 1) };
  return r;
}

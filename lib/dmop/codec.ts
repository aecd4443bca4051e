// DMOP codec, built from the layout table (lib/abi/layouts.ts) and the op
// interface table (lib/dmop/ops.ts) rather than written op by op. encodeDmop
// produces exactly what libxendevicemodel sends: buffer 0 is the whole 32-byte
// struct xen_dm_op, zeroed, with op and the op's IN fields; then the op's extra
// buffer (track_dirty_vram's bitmap, modified_memory's extents).
import { DMOPS, type DmopInfo } from '../abi/dmops';
import { DMOP_STRUCTS, SCALAR_SIZE, XEN_DM_OP_HEADER_SIZE, type Scalar } from '../abi/layouts';
import { invalidArgument } from '../errors';
import { OP_INTERFACE, camel } from './ops';
import type { DmopName, DmopRequest, DmopResult } from './types';

export const XEN_DM_OP_SIZE = DMOP_STRUCTS.xen_dm_op.size;
const EXTENT = DMOP_STRUCTS.xen_dm_op_modified_memory_extent;
const U = XEN_DM_OP_HEADER_SIZE;
const SYSCALL = 'dm_op';

interface FieldPlan {
  readonly key: string;
  readonly offset: number;
  readonly type: Scalar;
  readonly names?: Readonly<Record<string, number>>;
  readonly boolean: boolean;
  readonly dflt?: number | bigint;
}

interface OpPlan {
  readonly info: DmopInfo;
  readonly inputs: readonly FieldPlan[];
  readonly outputs: readonly FieldPlan[];
  readonly keys: ReadonlySet<string>;
  readonly extra?: 'dirty-bitmap' | 'extents';
}

function plan(info: DmopInfo): OpPlan {
  const iface = OP_INTERFACE[info.name] ?? {};
  const layout = DMOP_STRUCTS[info.struct];
  const inputs: FieldPlan[] = [];
  const outputs: FieldPlan[] = [];
  for (const f of layout.fields) {
    if (f.dir === 'pad' || iface.internal?.includes(f.name)) continue;
    const key = camel(f.name);
    const named = iface.names?.[key];
    const p: FieldPlan = {
      key, offset: f.offset, type: f.type, boolean: named === 'boolean',
      ...(named !== undefined && named !== 'boolean' ? { names: named } : {}),
      ...(iface.defaults?.[key] !== undefined ? { dflt: iface.defaults[key] } : {}),
    };
    if (f.dir === 'out') outputs.push(p);
    else inputs.push(p);
  }
  const keys = new Set(['op', ...inputs.map((p) => p.key), ...(iface.extra === 'extents' ? ['extents'] : [])]);
  return { info, inputs, outputs, keys, ...(iface.extra ? { extra: iface.extra } : {}) };
}

const PLANS = new Map<string, OpPlan>(DMOPS.map((d) => [d.name, plan(d)]));
const BY_NUMBER = new Map<number, OpPlan>(DMOPS.map((d) => [d.op, PLANS.get(d.name) as OpPlan]));
const NO_EXTRAS: Uint8Array[] = [];
const MAX = { u8: 0xff, u16: 0xffff, u32: 0xffffffff } as const;
const MAX_BITMAP_PAGES = 8 * 1024 * 1024;

/** The op table entry for a request's op name. */
export function dmopInfo(name: string): DmopInfo {
  const p = PLANS.get(name);
  if (p === undefined) throw invalidArgument(SYSCALL, `unknown DMOP '${name}' (known: ${[...PLANS.keys()].join(', ')})`);
  return p.info;
}

function value(op: string, f: FieldPlan, raw: unknown): number | bigint {
  let v = raw === undefined ? f.dflt : raw;
  if (v === undefined) throw invalidArgument(SYSCALL, `${op}: missing field '${f.key}'`);
  if (typeof v === 'string') {
    const n = f.names?.[v];
    if (n === undefined) {
      throw invalidArgument(SYSCALL, `${op}.${f.key}: unknown name '${v}'${f.names ? ` (known: ${Object.keys(f.names).join(', ')})` : ''}`);
    }
    v = n;
  } else if (typeof v === 'boolean') {
    if (!f.boolean) throw invalidArgument(SYSCALL, `${op}.${f.key} takes a number, not a boolean`);
    v = v ? 1 : 0;
  }
  if (f.type === 'u64') {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    if (typeof v === 'bigint' && v >= 0n && v < 1n << 64n) return v;
    throw invalidArgument(SYSCALL, `${op}.${f.key} must be a u64 (bigint, or a non-negative safe integer), got ${String(v)}`);
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX[f.type]) {
    throw invalidArgument(SYSCALL, `${op}.${f.key} must be a ${f.type} (0..${MAX[f.type]}), got ${String(v)}`);
  }
  return v;
}

function put(dv: DataView, at: number, type: Scalar, v: number | bigint): void {
  switch (type) {
    case 'u8': dv.setUint8(at, v as number); break;
    case 'u16': dv.setUint16(at, v as number, true); break;
    case 'u32': dv.setUint32(at, v as number, true); break;
    case 'u64': dv.setBigUint64(at, typeof v === 'bigint' ? v : BigInt(v), true); break;
  }
}

function get(dv: DataView, at: number, type: Scalar): number | bigint {
  switch (type) {
    case 'u8': return dv.getUint8(at);
    case 'u16': return dv.getUint16(at, true);
    case 'u32': return dv.getUint32(at, true);
    case 'u64': return dv.getBigUint64(at, true);
  }
}

function planOf(request: unknown): OpPlan {
  if (typeof request !== 'object' || request === null) throw invalidArgument(SYSCALL, 'a DMOP request must be an object such as { op: \'nr_vcpus\' }');
  const op = (request as { op?: unknown }).op;
  if (typeof op !== 'string') throw invalidArgument(SYSCALL, 'a DMOP request needs an op name, e.g. { op: \'nr_vcpus\' }');
  const p = PLANS.get(op);
  if (p === undefined) throw invalidArgument(SYSCALL, `unknown DMOP '${op}' (known: ${[...PLANS.keys()].join(', ')})`);
  for (const k of Object.keys(request)) {
    if (!p.keys.has(k)) throw invalidArgument(SYSCALL, `${op}: unknown field '${k}' (fields: ${[...p.keys].filter((x) => x !== 'op').join(', ') || 'none'})`);
  }
  return p;
}

/**
 * Encode a request into buf0 (32 bytes, overwritten) and return the extra
 * buffers. Every check happens before buf0 is touched, so a refused request
 * leaves it as it was.
 */
export function encodeDmopInto(request: DmopRequest, buf0: Uint8Array): Uint8Array[] {
  const p = planOf(request);
  const r = request as unknown as Record<string, unknown>;
  const values = p.inputs.map((f) => value(p.info.name, f, r[f.key]));
  let extras = NO_EXTRAS;
  let nrExtents = 0;
  if (p.extra === 'dirty-bitmap') {
    const nr = values[p.inputs.findIndex((f) => f.key === 'nr')] as number;
    // Xen refuses nr > 262144 and privcmd any bitmap over 4 KiB; past 1 MiB of
    // bitmap the request can only fail, so don't allocate it.
    if (nr > MAX_BITMAP_PAGES) throw invalidArgument(SYSCALL, `track_dirty_vram.nr ${nr} needs a bitmap over 1 MiB; Xen allows at most 262144 pages`);
    extras = [new Uint8Array(Math.ceil(nr / 8))];
  } else if (p.extra === 'extents') {
    const list = r.extents;
    if (!Array.isArray(list)) throw invalidArgument(SYSCALL, 'modified_memory.extents must be an array of { firstPfn, nr }');
    const ext = new Uint8Array(list.length * EXTENT.size);
    const dv = new DataView(ext.buffer);
    const nrF: FieldPlan = { key: 'nr', offset: 0, type: 'u32', boolean: false };
    const pfnF: FieldPlan = { key: 'firstPfn', offset: 8, type: 'u64', boolean: false };
    list.forEach((e: unknown, i: number) => {
      if (typeof e !== 'object' || e === null) throw invalidArgument(SYSCALL, `modified_memory.extents[${i}] must be { firstPfn, nr }`);
      const x = e as Record<string, unknown>;
      for (const k of Object.keys(x)) if (k !== 'nr' && k !== 'firstPfn') throw invalidArgument(SYSCALL, `modified_memory.extents[${i}]: unknown field '${k}'`);
      put(dv, i * EXTENT.size + nrF.offset, 'u32', value(`modified_memory.extents[${i}]`, nrF, x.nr));
      put(dv, i * EXTENT.size + pfnF.offset, 'u64', value(`modified_memory.extents[${i}]`, pfnF, x.firstPfn));
    });
    nrExtents = list.length;
    if (nrExtents > MAX.u32) throw invalidArgument(SYSCALL, 'modified_memory: too many extents');
    extras = [ext];
  }
  if (!(buf0 instanceof Uint8Array) || buf0.byteLength < XEN_DM_OP_SIZE) throw invalidArgument(SYSCALL, `buffer 0 must be a Uint8Array of at least ${XEN_DM_OP_SIZE} bytes`);
  const dv = new DataView(buf0.buffer, buf0.byteOffset, XEN_DM_OP_SIZE);
  buf0.fill(0, 0, XEN_DM_OP_SIZE);
  dv.setUint32(0, p.info.op, true);
  p.inputs.forEach((f, i) => put(dv, U + f.offset, f.type, values[i] as number | bigint));
  if (p.extra === 'extents') dv.setUint32(U, nrExtents, true);
  return extras;
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
  const p = PLANS.get(op);
  if (p === undefined) throw invalidArgument(SYSCALL, `unknown DMOP '${String(op)}'`);
  const buf0 = buffers[0];
  if (!(buf0 instanceof Uint8Array) || buf0.byteLength < XEN_DM_OP_SIZE) throw invalidArgument(SYSCALL, `buffer 0 must hold ${XEN_DM_OP_SIZE} bytes`);
  const out: Record<string, unknown> = {};
  if (p.outputs.length > 0) {
    const dv = new DataView(buf0.buffer, buf0.byteOffset, XEN_DM_OP_SIZE);
    for (const f of p.outputs) out[f.key] = get(dv, U + f.offset, f.type);
  }
  if (p.extra === 'dirty-bitmap') out.bitmap = buffers[1];
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

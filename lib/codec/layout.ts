// One small codec engine for the structs privcmd and Xen exchange, driven by
// the layout tables in lib/abi/: a caller's value checked against its field
// (width, named values, booleans, defaults), little-endian stores and loads
// at the field's offset, and a struct's IN and OUT fields planned once from
// its layout. The DMOP codec (lib/dmop/codec.ts), the altp2m codec
// (lib/policy/altp2m.ts) and Flask's xsm_op (lib/clients/flask.ts) encode
// and decode through it.
import type { Scalar, StructLayout } from '../abi/layouts';
import { describe, invalidArgument } from '../errors';

/** snake_case C field name -> the camelCase request/result key. */
export function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** One field as a codec sees it: its request/result key, where it sits in the buffer, and what it accepts. */
export interface FieldPlan {
  readonly key: string;
  /** Offset in the buffer the plan encodes (the struct's base included). */
  readonly at: number;
  readonly type: Scalar;
  readonly names?: Readonly<Record<string, number>>;
  readonly boolean: boolean;
  readonly dflt?: number | bigint;
  /** How a decoded value is given back: as read, as a boolean, or as a signed 32-bit int. */
  readonly as?: 'boolean' | 'i32';
}

/** How a struct looks to a caller beyond its layout. Keys are camelCase; `internal` and `pick` name C fields. */
export interface StructInterface {
  /** Named values a field accepts (numbers are always accepted); 'boolean': it takes a boolean. */
  readonly names?: Readonly<Record<string, Readonly<Record<string, number>> | 'boolean'>>;
  /** The value used when the request omits the field. */
  readonly defaults?: Readonly<Record<string, number | bigint>>;
  /** C fields the encoder fills itself: never taken from a request. */
  readonly internal?: readonly string[];
  /** How an OUT field is given back (default: as read). */
  readonly decode?: Readonly<Record<string, 'boolean' | 'i32'>>;
}

/**
 * The IN and OUT fields of `layout` placed at `base`: by the layout's
 * directions (pads skipped; inout counts as IN), or, for a union member
 * whose direction depends on the command, the C fields `pick` names.
 */
export function planStruct(layout: StructLayout, base: number, iface: StructInterface = {},
  pick?: { readonly inputs: readonly string[]; readonly outputs: readonly string[] }): { inputs: FieldPlan[]; outputs: FieldPlan[] } {
  const inputs: FieldPlan[] = [];
  const outputs: FieldPlan[] = [];
  for (const f of layout.fields) {
    if (f.dir === 'pad' || iface.internal?.includes(f.name)) continue;
    const key = camel(f.name);
    const named = iface.names?.[key];
    const p: FieldPlan = {
      key, at: base + f.offset, type: f.type, boolean: named === 'boolean',
      ...(named !== undefined && named !== 'boolean' ? { names: named } : {}),
      ...(iface.defaults?.[key] !== undefined ? { dflt: iface.defaults[key] } : {}),
      ...(iface.decode?.[key] !== undefined ? { as: iface.decode[key] } : {}),
    };
    if (pick !== undefined) {
      if (pick.inputs.includes(f.name)) inputs.push(p);
      if (pick.outputs.includes(f.name)) outputs.push(p);
    } else if (f.dir === 'out') {
      outputs.push(p);
    } else {
      inputs.push(p);
    }
  }
  return { inputs, outputs };
}

const MAX = { u8: 0xff, u16: 0xffff, u32: 0xffffffff } as const;
/** 2^64, once (V8 evaluates a BigInt shift on every call). */
const U64_END = 1n << 64n;

/**
 * A request's value for a field, checked: the default if omitted, a name
 * turned into its number, a boolean into 0 or 1 where the field takes one.
 * EINVAL on `syscall`, naming `what.key`, for anything that does not fit.
 */
export function fieldValue(syscall: string, what: string, f: FieldPlan, raw: unknown): number | bigint {
  let v = raw === undefined ? f.dflt : raw;
  if (v === undefined) throw invalidArgument(syscall, `${what}: missing field '${f.key}'`);
  if (typeof v === 'string') {
    const n = f.names !== undefined && Object.hasOwn(f.names, v) ? f.names[v] : undefined; // never an inherited key (toString, __proto__)
    if (n === undefined) {
      throw invalidArgument(syscall, `${what}.${f.key}: unknown name '${v}'${f.names ? ` (known: ${Object.keys(f.names).join(', ')})` : ''}`);
    }
    v = n;
  } else if (typeof v === 'boolean') {
    if (!f.boolean) throw invalidArgument(syscall, `${what}.${f.key} takes a number, not a boolean`);
    v = v ? 1 : 0;
  }
  if (f.type === 'u64') {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    if (typeof v === 'bigint' && v >= 0n && v < U64_END) return v;
    throw invalidArgument(syscall, `${what}.${f.key} must be a u64 (bigint, or a non-negative safe integer), got ${describe(v)}`);
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX[f.type]) {
    throw invalidArgument(syscall, `${what}.${f.key} must be a ${f.type} (0..${MAX[f.type]}), got ${describe(v)}`);
  }
  return v;
}

// Little-endian stores and loads on plain bytes: buffers are often Buffer
// views, and neither a DataView nor Buffer#fill per call is free. Neither
// calls itself: V8 does not inline a recursive function into its caller.

/** Store a checked value (it fits `type`) at `at`. */
export function put(b: Uint8Array, at: number, type: Scalar, v: number | bigint): void {
  if (type === 'u64') {
    putU32(b, at, typeof v === 'bigint' ? Number(v & 0xffffffffn) : (v as number) >>> 0);
    putU32(b, at + 4, typeof v === 'bigint' ? Number(v >> 32n) : Math.floor((v as number) / 0x100000000));
    return;
  }
  const n = v as number;
  b[at] = n & 0xff;
  if (type === 'u8') return;
  b[at + 1] = (n >>> 8) & 0xff;
  if (type === 'u16') return;
  b[at + 2] = (n >>> 16) & 0xff;
  b[at + 3] = (n >>> 24) & 0xff;
}

function putU32(b: Uint8Array, at: number, n: number): void {
  b[at] = n & 0xff;
  b[at + 1] = (n >>> 8) & 0xff;
  b[at + 2] = (n >>> 16) & 0xff;
  b[at + 3] = (n >>> 24) & 0xff;
}

function getU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

export function get(b: Uint8Array, at: number, type: Scalar): number | bigint {
  switch (type) {
    case 'u8': return b[at]!;
    case 'u16': return b[at]! | (b[at + 1]! << 8);
    case 'u32': return getU32(b, at);
    case 'u64': return BigInt(getU32(b, at)) | (BigInt(getU32(b, at + 4)) << 32n);
  }
}

/** The OUT fields of a plan, read from `b` and given back as the plan says. */
export function decodeFields(b: Uint8Array, outputs: readonly FieldPlan[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < outputs.length; i++) {
    const f = outputs[i]!;
    const v = get(b, f.at, f.type);
    out[f.key] = f.as === 'boolean' ? v !== 0 : f.as === 'i32' ? (v as number) | 0 : v;
  }
  return out;
}

function fieldOf(layout: StructLayout, name: string): { offset: number; type: Scalar } {
  const f = layout.fields.find((x) => x.name === name);
  if (f === undefined || f.count !== undefined) throw new Error(`layout table: struct ${layout.name} has no scalar field ${name}`);
  return f;
}

/** Store fields of `layout` (at `base`) by their C names; the values are already checked. */
export function putFields(b: Uint8Array, base: number, layout: StructLayout, values: Readonly<Record<string, number | bigint>>): void {
  for (const [name, v] of Object.entries(values)) {
    const f = fieldOf(layout, name);
    put(b, base + f.offset, f.type, v);
  }
}

/** Load one field of `layout` (at `base`) by its C name. */
export function getField(b: Uint8Array, base: number, layout: StructLayout, name: string): number | bigint {
  const f = fieldOf(layout, name);
  return get(b, base + f.offset, f.type);
}

// What a simulated DMOP handler sees: the target domain, the op's union (24
// bytes, as Xen copied it from buffer 0), and the other buffers through Xen's
// strict copy helpers. Handlers return 0 or -errno and say why on failure.
import { type DmopStructName } from '../../abi/layouts';
import { ERRNO, type ErrnoName } from '../../abi/errno';
import { fieldOffsets } from '../../dmop/codec';
import type { Domain } from '../domain';
import type { SimulatedHost } from '../host';

export interface GuestBuffers {
  /** Size of buffer idx, or undefined if the call has fewer buffers. */
  size(idx: number): bigint | undefined;
  /** COPY_FROM_GUEST_BUF_OFFSET: bytes, or -EFAULT. */
  copyFrom(idx: number, offset: number, len: number): Uint8Array | number;
  /** Copy to buffer idx at offset: 0 or -EFAULT. */
  copyTo(idx: number, offset: number, bytes: Uint8Array): number;
}

export interface DmopContext {
  readonly host: SimulatedHost;
  /** The calling domain (current->domain). */
  readonly caller: Domain;
  /** The target domain. */
  readonly d: Domain;
  /** xen_dm_op.u as copied from buffer 0; OUT fields are written back into it. */
  readonly u: DataView;
  readonly nrBufs: number;
  readonly bufs: GuestBuffers;
  /** Cleared by ops whose union Xen copies back. */
  constOp: boolean;
  /** Why the op failed, for the error message. */
  why: string;
}

export type DmopHandler = (ctx: DmopContext) => number;

export function fail(ctx: DmopContext, code: ErrnoName, why: string): number {
  ctx.why = why;
  return -ERRNO[code];
}

type Accessor = { get(u: DataView): number; set(u: DataView, v: number): void };
type Accessor64 = { get(u: DataView): bigint; set(u: DataView, v: bigint): void };

/** Typed accessors for one union member's fields, from the layout table. */
export function fields<S extends DmopStructName>(struct: S): Record<string, Accessor & { big: Accessor64 }> {
  const out: Record<string, Accessor & { big: Accessor64 }> = {};
  for (const [name, f] of Object.entries(fieldOffsets(struct))) {
    const o = f.offset;
    const small: Accessor = f.size === 1
      ? { get: (u) => u.getUint8(o), set: (u, v) => u.setUint8(o, v) }
      : f.size === 2
        ? { get: (u) => u.getUint16(o, true), set: (u, v) => u.setUint16(o, v, true) }
        : f.size === 3
          ? { get: (u) => u.getUint8(o) | u.getUint8(o + 1) | u.getUint8(o + 2), set: () => { throw new Error('read-only'); } }
          : { get: (u) => u.getUint32(o, true), set: (u, v) => u.setUint32(o, v, true) };
    out[name] = {
      ...small,
      big: { get: (u) => u.getBigUint64(o, true), set: (u, v) => u.setBigUint64(o, v, true) },
    };
  }
  return out;
}

/** A u64 pfn as a number, or Infinity when it cannot be a real pfn. */
export function pfnNumber(v: bigint): number {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : Infinity;
}

// DM_OP buffer arrays over the simulated address space:
//  - validateDmBuffers: Linux privcmd's checks of the (pointer, size) array, in
//    the driver's order, with the two limits as parameters like the module's;
//  - copyDmBufferFromGuest / copyDmBufferToGuest: the hypervisor's copies of
//    buffer idx, in the seed proposal's semantics or Xen's strict ones.
// The native core does the work; this file checks arguments and turns
// statuses into errors that say which buffer failed and why.
import { types } from 'util';
import { PRIVCMD_STRUCTS } from '../abi/layouts';
import { describe, errnoError, invalidArgument } from '../errors';
import { native } from '../native';
import { AddressSpace, isU64 } from './address-space';

const { isUint8Array } = types;

/** Linux privcmd module parameters (defaults of dm_op_max_nr_bufs / dm_op_buf_max_size). */
export interface DmBufferLimits {
  maxBufs?: number;
  maxBufSize?: number;
}
export const DEFAULT_DM_OP_MAX_NR_BUFS = 16;
export const DEFAULT_DM_OP_BUF_MAX_SIZE = 4096;

const DESC = PRIVCMD_STRUCTS.privcmd_dm_op_buf.size;

export type CopyMode = 'seed' | 'strict';
const MODE: Readonly<Record<CopyMode, number>> = { seed: 0, strict: 1 };

/** An array of xen_dm_op_buf descriptors (16 bytes each: u64 address, u64 size). */
export class DmBufArray {
  readonly bytes: Uint8Array;
  readonly nr: number;
  readonly #view: DataView;

  constructor(nr: number, bytes?: Uint8Array) {
    if (typeof nr !== 'number' || !Number.isSafeInteger(nr) || nr < 0 || nr > 0xffff) throw invalidArgument('dm_op', `nr must be an integer in [0, 65535], got ${describe(nr)}`);
    if (bytes !== undefined && (!isUint8Array(bytes) || isDetached(bytes.buffer))) throw invalidArgument('dm_op', `bytes must be a live Uint8Array, got ${describe(bytes)}`);
    this.nr = nr;
    this.bytes = bytes ?? new Uint8Array(nr * DESC);
    if (this.bytes.byteLength < nr * DESC) throw invalidArgument('dm_op', `${nr} descriptors need ${nr * DESC} bytes, got ${this.bytes.byteLength}`);
    this.#view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  static of(bufs: readonly { addr: bigint; size: bigint | number }[]): DmBufArray {
    if (!Array.isArray(bufs)) throw invalidArgument('dm_op', `bufs must be an array of { addr, size }, got ${describe(bufs)}`);
    const a = new DmBufArray(bufs.length);
    for (let i = 0; i < bufs.length; i++) {
      const b: unknown = bufs[i];
      if (typeof b !== 'object' || b === null) throw invalidArgument('dm_op', `descriptor ${i} must be { addr, size }, got ${describe(b)}`);
      a.set(i, (b as { addr: bigint }).addr, (b as { size: bigint | number }).size);
    }
    return a;
  }

  get(i: number): { addr: bigint; size: bigint } {
    this.#index(i);
    return { addr: this.#view.getBigUint64(i * DESC, true), size: this.#view.getBigUint64(i * DESC + 8, true) };
  }

  set(i: number, addr: bigint, size: bigint | number): void {
    this.#index(i);
    const sz = typeof size === 'number' && Number.isSafeInteger(size) ? BigInt(size) : size;
    if (!isU64(addr) || !isU64(sz)) throw invalidArgument('dm_op', `descriptor ${i}: address and size must be u64 (size a bigint or a non-negative safe integer), got ${describe(addr)} and ${describe(size)}`);
    this.#view.setBigUint64(i * DESC, addr, true);
    this.#view.setBigUint64(i * DESC + 8, sz, true);
  }

  #index(i: number): void {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= this.nr) throw invalidArgument('dm_op', `descriptor index ${describe(i)} is outside [0, ${this.nr})`);
  }
}

export interface DmValidationResult {
  /** The validated descriptors, as the driver hands them to Xen. */
  readonly bufs: DmBufArray;
  /** Pages the driver pins (its DIV_ROUND_UP(offset_in_page + size) sum). */
  readonly pages: number;
}

function limit(syscall: string, name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0xffffffff) throw invalidArgument(syscall, `${name} must be a u32, got ${describe(x)}`);
  return x;
}

const STEP_WHY: Record<number, (i: number, lim: { maxBufs: number; maxBufSize: number }, num: number) => string> = {
  1: (_i, lim, num) => `${num} buffers exceed dm_op_max_nr_bufs (${lim.maxBufs})`,
  2: (_i, _lim, num) => `the array of ${num} buffer descriptors is not readable user memory`,
  3: (i, lim) => `buffer ${i} is larger than dm_op_buf_max_size (${lim.maxBufSize} bytes)`,
  4: (i) => `buffer ${i} is not wholly in the user address range (access_ok)`,
  5: (i) => `buffer ${i} cannot be pinned for writing (pin_user_pages: a page is unmapped or read-only, or the buffer is zero-size at a page-aligned address, which pins nothing)`,
};

/**
 * Validate `num` descriptors at simulated address `ubufs` as privcmd's DM_OP
 * ioctl does after its restriction check. num == 0 is valid and pins nothing
 * (the driver then returns 0 without calling Xen).
 */
export function validateDmBuffers(space: AddressSpace, ubufs: bigint, num: number, limits: DmBufferLimits = {}): DmValidationResult {
  const syscall = 'ioctl';
  checkSpace(syscall, space);
  if (typeof limits !== 'object' || limits === null) throw invalidArgument(syscall, `limits must be { maxBufs?, maxBufSize? }, got ${describe(limits)}`);
  if (!isU64(ubufs)) throw invalidArgument(syscall, `ubufs must be a u64 bigint, got ${describe(ubufs)}`);
  if (typeof num !== 'number' || !Number.isInteger(num) || num < 0 || num > 0xffff) throw invalidArgument(syscall, `num must be a u16, got ${describe(num)}`);
  const lim = {
    maxBufs: limit(syscall, 'maxBufs', limits.maxBufs, DEFAULT_DM_OP_MAX_NR_BUFS),
    maxBufSize: limit(syscall, 'maxBufSize', limits.maxBufSize, DEFAULT_DM_OP_BUF_MAX_SIZE),
  };
  if (lim.maxBufs > 4096) throw invalidArgument(syscall, `maxBufs above 4096 is not supported, got ${lim.maxBufs}`);
  const n = Math.min(num, lim.maxBufs);
  const out = new Uint8Array(Math.max(n * DESC, 8));
  const rc = native.validateDmBuffers(space.id, ubufs, num, lim.maxBufs, lim.maxBufSize, out);
  if (rc < 0) {
    const detail = new Uint32Array(out.buffer, 0, 2);
    const why = STEP_WHY[detail[0] ?? 0]?.(detail[1] ?? 0, lim, num) ?? 'buffer array refused';
    throw errnoError(rc, syscall, `IOCTL_PRIVCMD_DM_OP: ${why}`);
  }
  return { bufs: new DmBufArray(n, out.subarray(0, n * DESC)), pages: rc };
}

export interface CopyOptions {
  /** Bytes to copy (default: the whole destination / source). */
  len?: number;
  /** Offset into the guest buffer (strict mode only; default 0). */
  offset?: bigint | number;
  /** 'strict' (Xen since 4.9, the default) or 'seed' (the original proposal). */
  mode?: CopyMode;
}

function copyArgs(syscall: string, space: AddressSpace, bufs: DmBufArray, idx: number, bytes: Uint8Array, o: CopyOptions) {
  checkSpace(syscall, space);
  if (!(bufs instanceof DmBufArray)) throw invalidArgument(syscall, 'bufs must be a DmBufArray');
  if (!isUint8Array(bytes)) throw invalidArgument(syscall, 'the local buffer must be a Uint8Array');
  // A detached buffer reads as length 0 but cannot be viewed: refuse it by name.
  if (bytes.buffer.byteLength === 0 && bytes.byteOffset === 0 && isDetached(bytes.buffer)) throw invalidArgument(syscall, 'the local buffer is detached');
  if (typeof idx !== 'number' || !Number.isInteger(idx) || idx < 0) throw invalidArgument(syscall, `idx must be a non-negative integer, got ${describe(idx)}`);
  if (typeof o !== 'object' || o === null) throw invalidArgument(syscall, `options must be { len?, offset?, mode? }, got ${describe(o)}`);
  const len = o.len ?? bytes.byteLength;
  if (typeof len !== 'number' || !Number.isInteger(len) || len < 0 || len > bytes.byteLength) {
    throw invalidArgument(syscall, `len must be an integer in [0, ${bytes.byteLength}], got ${describe(len)}`);
  }
  const offset = o.offset ?? 0;
  if (typeof offset === 'bigint' ? !isU64(offset) : !Number.isSafeInteger(offset) || offset < 0) {
    throw invalidArgument(syscall, `offset must be a non-negative integer, got ${describe(offset)}`);
  }
  const mode = o.mode ?? 'strict';
  const m = typeof mode === 'string' && Object.hasOwn(MODE, mode) ? MODE[mode] : undefined;
  if (m === undefined) throw invalidArgument(syscall, `mode must be 'seed' or 'strict', got ${describe(mode)}`);
  if (mode === 'seed' && offset !== 0 && offset !== 0n) throw invalidArgument(syscall, 'seed semantics take no offset');
  return { len, offset, m };
}

function checkSpace(syscall: string, space: unknown): void {
  if (!(space instanceof AddressSpace)) throw invalidArgument(syscall, `space must be an AddressSpace, got ${describe(space)}`);
}

/** Whether an ArrayBuffer has been detached (transferred): a zero-length buffer that cannot be sliced. */
function isDetached(ab: ArrayBufferLike): boolean {
  try {
    ab.slice(0, 0);
    return false;
  } catch {
    return true;
  }
}

function copyError(rc: number, syscall: string, bufs: DmBufArray, idx: number, len: number, offset: bigint | number): Error {
  const why = idx >= bufs.nr
    ? `buffer ${idx} does not exist (${bufs.nr} buffers)`
    : `buffer ${idx} cannot supply ${len} bytes at offset ${offset}: too small, or a page is not mapped`;
  return errnoError(rc, syscall, why);
}

/** Copy from guest buffer idx into dst[0..len). On error dst is unchanged (strict) or zero-filled (seed: it clears dst before any check). */
export function copyDmBufferFromGuest(space: AddressSpace, dst: Uint8Array, bufs: DmBufArray, idx: number, options: CopyOptions = {}): void {
  const syscall = 'copy_dm_buffer_from_guest';
  const { len, offset, m } = copyArgs(syscall, space, bufs, idx, dst, options);
  const rc = native.copyDmBufferFromGuest(space.id, dst.subarray(0, len), bufs.bytes.subarray(0, bufs.nr * DESC), idx, offset, m);
  if (rc !== 0) throw copyError(rc, syscall, bufs, idx, len, offset);
}

/** Copy src[0..len) into guest buffer idx. On error guest memory is unchanged. */
export function copyDmBufferToGuest(space: AddressSpace, bufs: DmBufArray, idx: number, src: Uint8Array, options: CopyOptions = {}): void {
  const syscall = 'copy_dm_buffer_to_guest';
  const { len, offset, m } = copyArgs(syscall, space, bufs, idx, src, options);
  const rc = native.copyDmBufferToGuest(space.id, bufs.bytes.subarray(0, bufs.nr * DESC), idx, offset, src.subarray(0, len), m);
  if (rc !== 0) throw copyError(rc, syscall, bufs, idx, len, offset);
}

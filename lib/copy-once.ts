// Copy once: the handle decides on bytes it owns and sends exactly those
// bytes, as Xen copies a guest's argument in once and never reads the
// guest's copy again (copy_from_guest, xen/include/xen/guest_access.h).
// Caller memory can change between a check and the call: an async call runs
// on a later turn or the thread pool, a SharedArrayBuffer changes under
// another thread, and a Proxy answers the filter's reads with one thing and
// the backend's copy with another. So:
// - only genuine Uint8Arrays are accepted, checked by V8 (util.types), and
//   their bytes are reached through fresh views, never through properties
//   the caller could have redefined;
// - the DMOP buffer 0 and every hypercall argument struct the filter reads
//   are snapshotted into memory the handle owns; the filter decides on the
//   snapshot; the snapshot is what goes out; what Xen changed in it is
//   copied back afterwards.
import { types } from 'util';
import type { Allocation } from './allocation';
import { argStructsRead, type ArgReader } from './policy/xsm-actions';

const TYPED_ARRAY = Object.getPrototypeOf(Uint8Array.prototype) as object;
function intrinsicGetter(name: string): () => unknown {
  return (Object.getOwnPropertyDescriptor(TYPED_ARRAY, name) as PropertyDescriptor).get as () => unknown;
}
const BUFFER = intrinsicGetter('buffer');
const BYTE_OFFSET = intrinsicGetter('byteOffset');
const BYTE_LENGTH = intrinsicGetter('byteLength');

/**
 * A fresh view over the bytes of a genuine Uint8Array (a Buffer counts), or
 * null: not a Uint8Array (a Proxy around one is not), or detached.
 */
export function genuineBytes(x: unknown): Uint8Array | null {
  if (!types.isUint8Array(x)) return null;
  const buffer = Reflect.apply(BUFFER, x, []) as ArrayBufferLike;
  const offset = Reflect.apply(BYTE_OFFSET, x, []) as number;
  const length = Reflect.apply(BYTE_LENGTH, x, []) as number;
  try {
    return new Uint8Array(buffer, offset, length);
  } catch {
    return null; // a detached ArrayBuffer cannot be viewed
  }
}

/**
 * genuineBytes for a backend that reaches the bytes only through the typed
 * array's internal slots (the device's native layer, napi_get_typedarray_info),
 * never its properties: the caller's array itself, without a fresh view, when
 * it is a genuine Uint8Array of this realm with bytes (so not detached) whose
 * prototype is Uint8Array's or Buffer's; anything else (another realm's, a
 * null or foreign prototype, empty, detached) as genuineBytes says. Callers
 * further on tell buffers from { addr, size } pairs by what they are, so an
 * array dressed with `addr` and `size` must never pass as itself.
 */
export function genuineInPlace(x: unknown): Uint8Array | null {
  if (!types.isUint8Array(x)) return null;
  const proto: unknown = Object.getPrototypeOf(x);
  if ((proto === Uint8Array.prototype || proto === Buffer.prototype) && (Reflect.apply(BYTE_LENGTH, x, []) as number) !== 0) return x;
  return genuineBytes(x);
}

/** A private copy of `bytes`. */
export function snapshotBytes(bytes: Uint8Array): Uint8Array {
  // The intrinsic length: an own `length` property must not size the copy.
  const copy = new Uint8Array(Reflect.apply(BYTE_LENGTH, bytes, []) as number);
  copy.set(bytes);
  return copy;
}

/**
 * Write into `dst` the bytes of `after` that differ from `before` (what the
 * call changed), leaving the rest of `dst` as the caller has it now. A `dst`
 * that was detached or resized meanwhile receives nothing.
 */
export function copyBackChanged(before: Uint8Array, after: Uint8Array, dst: Uint8Array): void {
  if ((Reflect.apply(BYTE_LENGTH, dst, []) as number) !== after.length) return; // intrinsic: not an own `length`
  for (let i = 0; i < after.length; i++) if (after[i] !== before[i]) dst[i] = after[i] as number;
}

/** The caller's memory as a kernel sees it, and memory of the handle's own to stage a call in. */
export interface CallerMemory {
  readonly read: ArgReader;
  write(addr: bigint, src: Uint8Array): boolean;
  /** Memory the kernel can read and write, owned by the handle for one call. */
  allocPrivate(size: number): Allocation;
  freePrivate(a: Allocation): void;
}

interface Region {
  readonly caller: bigint;
  /** Offset of the snapshot in the private allocation. */
  readonly at: number;
  readonly size: number;
}

/**
 * The argument structs a filter decision on one hypercall reads, copied into
 * handle-owned memory. `args` point at the copies; `read` serves the filter
 * from the copies only (any other read fails, so the filter fails closed).
 */
export class ArgSnapshot {
  readonly args: readonly bigint[];
  readonly #mem: CallerMemory;
  readonly #alloc: Allocation;
  readonly #before: Uint8Array;
  readonly #regions: Region[] = [];

  private constructor(mem: CallerMemory, args: readonly bigint[], sizes: Map<number, number>) {
    this.#mem = mem;
    let total = 0;
    for (const size of sizes.values()) total += (size + 7) & ~7;
    this.#alloc = mem.allocPrivate(total);
    const out = [...args];
    let at = 0;
    for (const [arg, size] of sizes) {
      const caller = args[arg] ?? 0n;
      // An unreadable struct keeps the caller's pointer; the filter's read
      // of it then fails and the call is refused.
      if (mem.read(caller, this.#alloc.view.subarray(at, at + size))) {
        this.#regions.push({ caller, at, size });
        out[arg] = this.#alloc.addr + BigInt(at);
      }
      at += (size + 7) & ~7;
    }
    this.args = out;
    this.#before = snapshotBytes(this.#alloc.view);
  }

  /** Snapshot what deciding hypercall `op` reads; null when it reads no memory. */
  static take(mem: CallerMemory, op: number, args: readonly bigint[]): ArgSnapshot | null {
    const sizes = argStructsRead(op, args, mem.read);
    return sizes.size === 0 ? null : new ArgSnapshot(mem, args, sizes);
  }

  readonly read: ArgReader = (addr, out) => {
    const base = this.#alloc.addr;
    for (const r of this.#regions) {
      const lo = base + BigInt(r.at);
      if (addr >= lo && addr + BigInt(out.length) <= lo + BigInt(r.size)) {
        const from = r.at + Number(addr - lo);
        out.set(this.#alloc.view.subarray(from, from + out.length));
        return true;
      }
    }
    return false;
  };

  /** After the call: what Xen wrote into the snapshots goes back to the caller's structs. */
  copyBack(): void {
    const now = this.#alloc.view;
    for (const r of this.#regions) {
      let i = 0;
      while (i < r.size) {
        if (now[r.at + i] === this.#before[r.at + i]) {
          i++;
          continue;
        }
        let j = i;
        while (j < r.size && now[r.at + j] !== this.#before[r.at + j]) j++;
        this.#mem.write(r.caller + BigInt(i), now.subarray(r.at + i, r.at + j));
        i = j;
      }
    }
  }

  release(): void {
    this.#mem.freePrivate(this.#alloc);
  }
}

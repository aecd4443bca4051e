// Ordered accesses on a page shared with Xen (an ioreq server's synchronous
// or buffered page), in the order the protocol needs (xen/common/ioreq.c:
// Xen writes the body, then the state; the device model reads the state,
// then the body; writes the response, then the state). JS cannot fence
// accesses to non-shared ArrayBuffers, so the ordered ones go through the
// native helpers (native/core/ordered_access.h); the rest are plain views.
// Works on any Uint8Array: a mapped page, or a plain ArrayBuffer in tests.
import { describe, errnoError, invalidArgument } from '../errors';
import { native } from '../native';

// The binding also takes bigints; this API takes numbers only, checked before any store.
function offsetOk(offset: unknown, what: string): void {
  if (typeof offset !== 'number') throw invalidArgument(what, `offset must be a number, got ${describe(offset)}`);
}

function checked(status: number, what: string, view: unknown, offset: unknown): number {
  if (status >= 0) return status;
  if (!(view instanceof Uint8Array)) throw invalidArgument(what, 'the page must be a Uint8Array');
  const detail = status === -34
    ? `offset ${String(offset)} is outside the ${view.length}-byte page`
    : `offset ${String(offset)} must be a non-negative integer, aligned to the access width`;
  throw errnoError(status, what, detail);
}

/** The byte at `offset`, loaded before any later access (acquire). */
export function loadAcquire8(view: Uint8Array, offset: number): number {
  offsetOk(offset, 'ioreq.loadAcquire8');
  return checked(native.loadAcquire8(view, offset), 'ioreq.loadAcquire8', view, offset);
}

/** The little-endian u32 at `offset` (4-aligned), acquire. */
export function loadAcquire32(view: Uint8Array, offset: number): number {
  offsetOk(offset, 'ioreq.loadAcquire32');
  return checked(native.loadAcquire32(view, offset), 'ioreq.loadAcquire32', view, offset);
}

/** Stores a byte after every earlier access (release). */
export function storeRelease8(view: Uint8Array, offset: number, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw invalidArgument('ioreq.storeRelease8', `value ${String(value)} is not a byte`);
  offsetOk(offset, 'ioreq.storeRelease8');
  checked(native.storeRelease8(view, offset, value), 'ioreq.storeRelease8', view, offset);
}

/** Stores a little-endian u32 (4-aligned), release. */
export function storeRelease32(view: Uint8Array, offset: number, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw invalidArgument('ioreq.storeRelease32', `value ${String(value)} is not a u32`);
  offsetOk(offset, 'ioreq.storeRelease32');
  checked(native.storeRelease32(view, offset, value), 'ioreq.storeRelease32', view, offset);
}

/** Atomically adds `delta` to the u32 at `offset` (4-aligned; wraps); returns the old value. */
export function fetchAdd32(view: Uint8Array, offset: number, delta: number): number {
  if (!Number.isInteger(delta) || delta < 0 || delta > 0xffffffff) throw invalidArgument('ioreq.fetchAdd32', `delta ${String(delta)} is not a u32`);
  offsetOk(offset, 'ioreq.fetchAdd32');
  return checked(native.fetchAdd32(view, offset, delta), 'ioreq.fetchAdd32', view, offset);
}

// Guest memory mapped into this process through privcmd: an ioreq server's
// pages or another resource (IOCTL_PRIVCMD_MMAP_RESOURCE) and guest RAM
// (IOCTL_PRIVCMD_MMAPBATCH_V2). Arguments are checked here, once, for every
// backend; the backend does the mmap and the ioctl (Linux's order: mmap the
// privcmd fd, then the ioctl fills the VMA).
//
// A Mapping owns its pages until unmap() (or the handle's close()): `bytes`
// is a zero-copy view of a writable mapping; unmap() detaches it and every
// view made from it, then munmaps. A read-only mapping has no view (a JS
// write to a read-only page would kill the process): read() copies out.
import { XENMEM_RESOURCE, type ResourceTypeName } from './abi/ioreq';
import { ERRNO } from './abi/errno';
import { codedError, describe, errnoError, invalidArgument, isPrivcmdError } from './errors';
import type { BackendMapping } from './backends/backend';
import type { NativeMapping } from './native';

export const PAGE_SIZE = 4096;
/** The most pages one mapping may have: its view is one ArrayBuffer (at most 4 GiB on Node 20). */
export const MAX_MAP_PAGES = 1 << 20;
/** The highest gfn accepted: x86-64 guests have at most 52 physical address bits. */
export const MAX_GFN = 2n ** 40n - 1n;

export interface ResourceId {
  /** 'ioreq_server' | 'grant_table' | 'vmtrace_buf', or its XENMEM_resource_* number. */
  type: ResourceTypeName | number;
  /** The ioreq server id, or XENMEM_resource_grant_table_id_*. */
  id: number;
}

export interface MapResourceOptions extends ResourceId {
  /** The first frame (for an ioreq server: 0 the buffered page, 1 the ioreq page). Default 0. */
  frame?: number;
  /** How many frames, at least 1. */
  count: number;
  /** Map for writing (default true). A read-only mapping has no `bytes`; use read(). */
  writable?: boolean;
}

export interface MapForeignOptions {
  /** Map for writing (default true). */
  writable?: boolean;
}

const RESOURCE_NUMBERS = new Set<number>(Object.values(XENMEM_RESOURCE));

function u32(syscall: string, what: string, v: unknown, min = 0, max = 0xffffffff): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidArgument(syscall, `${what} must be an integer in [${min}, ${max}], got ${describe(v)}`);
  }
  return v;
}

function options<T extends object>(syscall: string, o: unknown, shape: string): T {
  if (typeof o !== 'object' || o === null) throw invalidArgument(syscall, `options must be ${shape}, got ${describe(o)}`);
  try {
    return { ...(o as T) }; // every field read once
  } catch {
    throw invalidArgument(syscall, `options must be ${shape}: reading it threw`);
  }
}

/** { type, id } checked: the XENMEM_resource_* number and the id. */
export function checkResourceId(o: unknown): { type: number; id: number } {
  const r = options<ResourceId>('ioctl', o, '{ type, id }');
  const t: unknown = r.type;
  const type = typeof t === 'string' && Object.hasOwn(XENMEM_RESOURCE, t) ? XENMEM_RESOURCE[t as ResourceTypeName] : t;
  if (typeof type !== 'number' || !RESOURCE_NUMBERS.has(type)) {
    throw invalidArgument('ioctl', `unknown resource type ${describe(t)}: one of ${Object.keys(XENMEM_RESOURCE).join(', ')} (or its number)`);
  }
  return { type, id: u32('ioctl', 'id', r.id) };
}

/** mapResource's options checked: frame + count must stay a u32 frame number. */
export function checkMapResource(o: unknown): { type: number; id: number; frame: number; count: number; writable: boolean } {
  const r = options<MapResourceOptions>('mmap', o, '{ type, id, frame?, count, writable? }');
  const { type, id } = checkResourceId({ type: r.type, id: r.id });
  const frame = u32('mmap', 'frame', r.frame ?? 0);
  const count = u32('mmap', 'count', r.count, 1, MAX_MAP_PAGES);
  if (frame + count - 1 > 0xffffffff) throw invalidArgument('mmap', `frames ${frame}..${frame + count - 1} overflow the u32 frame number`);
  const w: unknown = r.writable ?? true;
  if (typeof w !== 'boolean') throw invalidArgument('mmap', `writable must be a boolean, got ${describe(w)}`);
  return { type, id, frame, count, writable: w };
}

/** mapForeign's gfns and options checked and copied once. */
export function checkMapForeign(gfns: unknown, o: unknown): { gfns: BigUint64Array; writable: boolean } {
  // Read once, into memory of our own; a Proxy's traps (or a revoked one) that throw are EINVAL too.
  let list: unknown[];
  try {
    if (!Array.isArray(gfns)) throw invalidArgument('mmap', `gfns must be an array of guest frame numbers, got ${describe(gfns)}`);
    const n = gfns.length;
    if (n < 1 || n > MAX_MAP_PAGES) throw invalidArgument('mmap', `gfns must hold 1 to ${MAX_MAP_PAGES} frames, got ${n}`);
    list = new Array<unknown>(n);
    for (let i = 0; i < n; i++) list[i] = gfns[i];
  } catch (e) {
    if (isPrivcmdError(e)) throw e;
    throw invalidArgument('mmap', 'gfns must be an array of guest frame numbers: reading it threw');
  }
  const out = new BigUint64Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    const g = typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : v;
    if (typeof g !== 'bigint' || g < 0n || g > MAX_GFN) throw invalidArgument('mmap', `gfns[${i}] must be a frame number in [0, 2^40), got ${describe(v)}`);
    out[i] = g;
  }
  const opt = o === undefined ? {} : options<MapForeignOptions>('mmap', o, '{ writable? }');
  const w: unknown = opt.writable ?? true;
  if (typeof w !== 'boolean') throw invalidArgument('mmap', `writable must be a boolean, got ${describe(w)}`);
  return { gfns: out, writable: w };
}

export class Mapping {
  /** The domain whose pages these are. */
  readonly domid: number;
  readonly kind: 'resource' | 'foreign';
  readonly writable: boolean;
  readonly pages: number;
  /** Per page: 0 (mapped) or the negative errno Xen or Linux gave it (err[]); a failed page reads as zeros. */
  readonly errors: readonly number[];
  #native: NativeMapping | null;
  readonly #bytes: Uint8Array | null;
  readonly #release: (() => void) | undefined;
  readonly #onUnmap: (m: Mapping) => void;

  /** @internal Made by Privcmd.mapResource / mapForeign. */
  constructor(m: BackendMapping, info: { domid: number; kind: 'resource' | 'foreign'; writable: boolean; pages: number; errors: readonly number[] },
    onUnmap: (m: Mapping) => void) {
    this.domid = info.domid;
    this.kind = info.kind;
    this.writable = info.writable;
    this.pages = info.pages;
    this.errors = Object.freeze([...info.errors]);
    this.#native = m.native;
    this.#bytes = m.native.buffer === null ? null : new Uint8Array(m.native.buffer);
    this.#release = m.release;
    this.#onUnmap = onUnmap;
  }

  /** A zero-copy view of the pages (writable mappings; null for read-only ones). Empty (detached) after unmap(). */
  get bytes(): Uint8Array | null {
    return this.#bytes;
  }

  get unmapped(): boolean {
    return this.#native === null;
  }

  /** A copy of [offset, offset + length) of the mapping. */
  read(offset = 0, length?: number): Uint8Array {
    const m = this.#native;
    if (m === null) throw codedError('EBADF', 'mmap', 'the mapping is unmapped');
    const size = this.pages * PAGE_SIZE;
    const off = u32('mmap', 'offset', offset, 0, size);
    const len = u32('mmap', 'length', length ?? size - off, 0, size - off);
    const r = m.copy(off, len);
    if (typeof r === 'number') throw errnoError(r, 'mmap', 'cannot read the mapping');
    return r;
  }

  /**
   * Detach the views, then munmap. Unmapping again is a no-op. EBUSY when
   * `bytes.buffer` was transferred away (structuredClone, postMessage): its
   * new owner can still read it, so the pages stay mapped until that is
   * collected.
   */
  unmap(): void {
    const m = this.#native;
    if (m === null) return;
    const rc = m.unmap(m.buffer);
    if (rc === 0 || rc === -ERRNO.EBADF) {
      this.#native = null;
      this.#release?.();
      this.#onUnmap(this);
      return;
    }
    throw errnoError(rc, 'munmap', rc === -ERRNO.EBUSY ? 'the mapping\'s ArrayBuffer was transferred away; it stays mapped until collected' : 'cannot unmap');
  }
}

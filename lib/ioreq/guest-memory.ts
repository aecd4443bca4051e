// Guest RAM for data_is_ptr requests (string I/O, REP MOVS to MMIO): the
// pages a request names are mapped one at a time with mapForeign
// (IOCTL_PRIVCMD_MMAPBATCH_V2), as QEMU's xen-mapcache does in buckets, and
// the last few are kept, since a repeated request walks neighbouring pages.
import { codedError, describe } from '../errors';
import { type GuestMemory } from './engine';

/** What the cache needs of a mapping (lib/mapping.ts's Mapping has it). */
export interface ForeignMapping {
  readonly bytes: Uint8Array | null;
  readonly errors: readonly number[];
  unmap(): void;
}

const PAGE = 4096;
const PAGE_SHIFT = 12n;
/** Pages kept mapped; the oldest is unmapped first. */
const KEEP = 16;

export class ForeignGuestMemory implements GuestMemory {
  readonly #map: (gfn: bigint) => ForeignMapping;
  readonly #pages = new Map<bigint, ForeignMapping>();
  #closed = false;

  constructor(map: (gfn: bigint) => ForeignMapping) {
    this.#map = map;
  }

  read(gpa: bigint, dst: Uint8Array): void {
    this.#each(gpa, dst.byteLength, (page, off, at, n) => dst.set(page.subarray(off, off + n), at));
  }

  write(gpa: bigint, src: Uint8Array): void {
    this.#each(gpa, src.byteLength, (page, off, at, n) => page.set(src.subarray(at, at + n), off));
  }

  /**
   * Unmaps every kept page, so the next access maps afresh: on
   * IOREQ_TYPE_INVALIDATE, when Xen has changed the guest's p2m (QEMU's
   * handle_ioreq calls xen_invalidate_map_cache there).
   */
  flush(): void {
    const pages = [...this.#pages.values()];
    this.#pages.clear();
    for (const m of pages) m.unmap();
  }

  /** Unmaps every kept page; later accesses throw EBADF. */
  close(): void {
    this.#closed = true;
    this.flush();
  }

  #each(gpa: bigint, length: number, f: (page: Uint8Array, off: number, at: number, n: number) => void): void {
    if (this.#closed) throw codedError('EBADF', 'mmap', 'the guest memory of a closed ioreq server');
    let at = 0;
    while (at < length) {
      const a = gpa + BigInt(at);
      const off = Number(a & BigInt(PAGE - 1));
      const n = Math.min(PAGE - off, length - at);
      f(this.#page(a >> PAGE_SHIFT), off, at, n);
      at += n;
    }
  }

  #page(gfn: bigint): Uint8Array {
    let m = this.#pages.get(gfn);
    if (m === undefined) {
      m = this.#map(gfn);
      const bytes = m.bytes;
      if (!(bytes instanceof Uint8Array) || bytes.byteLength < PAGE) {
        m.unmap();
        throw codedError('EFAULT', 'mmap', `gfn 0x${gfn.toString(16)} mapped as ${describe(bytes)}, not a writable page`);
      }
      if (this.#pages.size >= KEEP) {
        const [oldest, old] = this.#pages.entries().next().value as [bigint, ForeignMapping];
        this.#pages.delete(oldest);
        old.unmap();
      }
    } else {
      this.#pages.delete(gfn); // re-inserted as the newest
    }
    this.#pages.set(gfn, m);
    return m.bytes as Uint8Array;
  }
}

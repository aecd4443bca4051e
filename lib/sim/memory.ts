// Guest RAM of a simulated host as real memory. One sparse page store per
// host (native/core/mapping.h: a memfd), created when the first page is
// touched; a guest page gets a store offset when first touched (written by
// the guest, mapped, or read through a mapping), never up front, so an idle
// domain costs nothing here. A mapping maps each page's offset, so every
// mapping of a page, host.guestWrite and the hypervisor's own writes see the
// same bytes.
//
// A page is kept alive by its owner (the domain's p2m, or an ioreq server)
// and by every mapping of it, as Xen's page references keep a foreign-mapped
// page alive after the guest gives it up: its offset goes back to the store
// only when the last of these lets go, so a reused offset is never visible
// through an old mapping.
import { native, type NativeMapping, type NativePageStore } from '../native';
import { errnoError } from '../errors';

export const PAGE_SIZE = 4096;

export class GuestMemory {
  #store: NativePageStore | null = null;
  /** domid -> gfn -> store offset: only pages touched so far. */
  readonly #ram = new Map<number, Map<number, number>>();
  /** offset -> references (owner + mappings). */
  readonly #refs = new Map<number, number>();

  #live(): NativePageStore {
    if (this.#store === null) {
      const s = native.pageStoreCreate();
      if (typeof s === 'number') throw errnoError(s, 'memfd_create', 'cannot create the simulated host\'s guest memory');
      this.#store = s;
    }
    return this.#store;
  }

  /** A fresh zeroed page with one reference (its owner). */
  allocPage(): number {
    const off = this.#live().alloc();
    if (off < 0) throw errnoError(off, 'ftruncate', 'cannot grow the simulated host\'s guest memory');
    this.#refs.set(off, 1);
    return off;
  }

  /** Drop one reference; the last one returns the page to the store. */
  unref(off: number): void {
    const n = (this.#refs.get(off) ?? 0) - 1;
    if (n > 0) {
      this.#refs.set(off, n);
      return;
    }
    this.#refs.delete(off);
    this.#store?.free(off);
  }

  /** The page behind a domain's gfn, materialised now if it is not yet. */
  ramPage(domid: number, gfn: number): number {
    let m = this.#ram.get(domid);
    if (m === undefined) {
      m = new Map();
      this.#ram.set(domid, m);
    }
    let off = m.get(gfn);
    if (off === undefined) {
      off = this.allocPage();
      m.set(gfn, off);
    }
    return off;
  }

  hasPage(domid: number, gfn: number): boolean {
    return this.#ram.get(domid)?.has(gfn) === true;
  }

  /** The guest gave up the page at gfn (decrease_reservation), or the domain died (gfn null: all). */
  releaseRam(domid: number, gfn: number | null): void {
    const m = this.#ram.get(domid);
    if (m === undefined) return;
    if (gfn !== null) {
      const off = m.get(gfn);
      if (off !== undefined) {
        m.delete(gfn);
        this.unref(off);
      }
      return;
    }
    for (const off of m.values()) this.unref(off);
    this.#ram.delete(domid);
  }

  /** How many of a domain's pages have been materialised. */
  touchedPages(domid: number): number {
    return this.#ram.get(domid)?.size ?? 0;
  }

  write(off: number, at: number, bytes: Uint8Array): void {
    const rc = this.#live().write(off + at, bytes);
    if (rc < 0) throw errnoError(rc, 'pwrite', 'guest memory write failed');
  }

  read(off: number, at: number, out: Uint8Array): void {
    const rc = this.#live().read(off + at, out);
    if (rc < 0) throw errnoError(rc, 'pread', 'guest memory read failed');
  }

  /**
   * Map pages (null: a page that failed, shown as a private zero page). Each
   * mapped page gains a reference, dropped by release(). -errno on failure.
   */
  map(offsets: readonly (number | null)[], writable: boolean): { native: NativeMapping; release: () => void } | number {
    const list = Float64Array.from(offsets, (o) => (o === null ? -1 : o));
    const m = this.#live().map(list, writable);
    if (typeof m === 'number') return m;
    const held = offsets.filter((o): o is number => o !== null);
    for (const o of held) this.#refs.set(o, (this.#refs.get(o) ?? 0) + 1);
    let released = false;
    return {
      native: m,
      release: () => {
        if (released) return;
        released = true;
        for (const o of held) this.unref(o);
      },
    };
  }

  /** Pages the store holds (touched guest pages, ioreq pages, and pages only mappings still hold). */
  livePages(): number {
    return this.#store?.live() ?? 0;
  }
}

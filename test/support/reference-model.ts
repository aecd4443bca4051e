// A deliberately plain TypeScript model of the native core's rules, for the
// property tests: bigint arithmetic, byte-by-byte presence checks, no shared
// code with native/core. Only the allocations' addresses come from the native
// allocator; which pages they occupy is derived here from the allocator's
// documented placement (whole pages from the page holding the first byte).
export const PAGE = 4096n;
export const TASK_SIZE_MAX = (1n << 47n) - PAGE;
const U64 = 1n << 64n;

export const OK = 0;
export const E2BIG = -7;
export const EFAULT = -14;
export const EINVAL = -22;

export interface ModelAlloc {
  addr: bigint;
  size: number;
  readOnly: boolean;
  view: Uint8Array;
}

export interface Desc {
  addr: bigint;
  size: bigint;
}

export class ReferenceModel {
  constructor(private readonly allocs: ModelAlloc[]) {}

  private last: { a: ModelAlloc; first: bigint; end: bigint } | undefined;

  private owner(addr: bigint): { a: ModelAlloc; first: bigint } | undefined {
    if (this.last && addr >= this.last.first && addr < this.last.end) return this.last;
    for (const a of this.allocs) {
      const first = a.addr - (a.addr % PAGE);
      const pages = BigInt(Math.max(1, Math.ceil(a.size / 4096)));
      if (addr >= first && addr < first + pages * PAGE) {
        this.last = { a, first, end: first + pages * PAGE };
        return this.last;
      }
    }
    return undefined;
  }

  present(addr: bigint, write: boolean): boolean {
    const o = this.owner(addr);
    return o !== undefined && (!write || !o.a.readOnly);
  }

  /** Every byte of [addr, addr + len) present (and writable if asked). */
  rangeOk(addr: bigint, len: bigint, write: boolean): boolean {
    if (len === 0n) return true;
    if (addr + len > U64) return false;
    for (let p = addr - (addr % PAGE); p < addr + len; p += PAGE) {
      if (!this.present(p, write)) return false;
    }
    return true;
  }

  /** A byte of model memory (only called where rangeOk held). */
  byte(addr: bigint): number {
    const o = this.owner(addr);
    if (!o) throw new Error('model: read of unmapped byte');
    const i = Number(addr - o.a.addr);
    // Bytes on the allocation's pages but outside its view are zero.
    return i >= 0 && i < o.a.view.length ? (o.a.view[i] as number) : 0;
  }

  setByte(addr: bigint, v: number): void {
    const o = this.owner(addr);
    if (!o) throw new Error('model: write of unmapped byte');
    const i = Number(addr - o.a.addr);
    if (i >= 0 && i < o.a.view.length) o.a.view[i] = v;
  }

  static accessOk(addr: bigint, size: bigint): boolean {
    return size <= TASK_SIZE_MAX && addr <= TASK_SIZE_MAX - size;
  }

  validate(ubufs: bigint, num: number, maxNum: number, maxSize: number): { rc: number; pages?: number; bufs?: Desc[] } {
    if (num === 0) return { rc: OK, pages: 0, bufs: [] };
    if (num > maxNum) return { rc: E2BIG };
    const arrayLen = BigInt(num) * 16n;
    if (!ReferenceModel.accessOk(ubufs, arrayLen) || !this.rangeOk(ubufs, arrayLen, false)) return { rc: EFAULT };
    const u64 = (at: bigint) => {
      let v = 0n;
      for (let k = 7n; k >= 0n; k--) v = (v << 8n) | BigInt(this.byte(at + k));
      return v;
    };
    const bufs: Desc[] = [];
    for (let i = 0; i < num; i++) bufs.push({ addr: u64(ubufs + BigInt(i) * 16n), size: u64(ubufs + BigInt(i) * 16n + 8n) });
    let pages = 0n;
    for (const b of bufs) {
      if (b.size > BigInt(maxSize)) return { rc: E2BIG };
      if (!ReferenceModel.accessOk(b.addr, b.size)) return { rc: EFAULT };
      pages += ((b.addr % PAGE) + b.size + PAGE - 1n) / PAGE;
    }
    for (const b of bufs) {
      const n = ((b.addr % PAGE) + b.size + PAGE - 1n) / PAGE;
      if (n === 0n) return { rc: EFAULT }; // pin_user_pages_fast pins 0 pages: lock_pages says EFAULT
      for (let p = 0n; p < n; p++) if (!this.present(b.addr - (b.addr % PAGE) + p * PAGE, true)) return { rc: EFAULT };
    }
    return { rc: OK, pages: Number(pages), bufs };
  }

  /** Which guest bytes a copy touches, or an error (shared by both directions). */
  private span(bufs: Desc[], nr: number, idx: number, offset: bigint, len: bigint, mode: 'seed' | 'strict') {
    if (idx >= nr) return { rc: EFAULT };
    const b = bufs[idx] as Desc;
    if (mode === 'seed') {
      if (offset !== 0n) return { rc: EINVAL };
      return { rc: OK, addr: b.addr, n: len < b.size ? len : b.size };
    }
    if (offset + len > b.size) return { rc: EFAULT };
    if (b.addr + offset >= U64) return { rc: EFAULT };
    return { rc: OK, addr: b.addr + offset, n: len };
  }

  copyFrom(dst: Uint8Array, len: number, bufs: Desc[], nr: number, idx: number, offset: bigint, mode: 'seed' | 'strict'): number {
    // The seed's copy_dm_buffer_from_guest zero-fills the destination before any check.
    if (mode === 'seed') dst.fill(0, 0, len);
    const s = this.span(bufs, nr, idx, offset, BigInt(len), mode);
    if (s.rc !== OK) return s.rc;
    if (!this.rangeOk(s.addr as bigint, s.n as bigint, false)) return EFAULT;
    const n = Number(s.n);
    for (let i = 0; i < len; i++) dst[i] = i < n ? this.byte((s.addr as bigint) + BigInt(i)) : 0;
    return OK;
  }

  copyTo(bufs: Desc[], nr: number, idx: number, offset: bigint, src: Uint8Array, len: number, mode: 'seed' | 'strict'): number {
    const s = this.span(bufs, nr, idx, offset, BigInt(len), mode);
    if (s.rc !== OK) return s.rc;
    if (!this.rangeOk(s.addr as bigint, s.n as bigint, true)) return EFAULT;
    for (let i = 0; i < Number(s.n); i++) this.setByte((s.addr as bigint) + BigInt(i), src[i] as number);
    return OK;
  }
}

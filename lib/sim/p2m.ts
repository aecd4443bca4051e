// A domain's p2m types, kept small: plain RAM (ram_rw, what almost every
// populated page is) as sorted runs of pfns, every other type per page. A
// domain populated from pfn 0 costs two runs (its RAM and libxl's ioreq
// page pool), not an entry per page. The interface is the part of Map the
// simulator uses; iteration works on a snapshot, so it may change the p2m.
import type { P2mType } from './domain';

export class P2m {
  /** Disjoint, non-adjacent [start, end) runs of ram_rw pfns, sorted. */
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];
  /** Pages of any other type. */
  readonly #other = new Map<number, P2mType>();
  #ramPages = 0;

  /** The index of the last run starting at or before pfn, or -1. */
  #runAt(pfn: number): number {
    let lo = 0;
    let hi = this.#starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#starts[mid] as number) <= pfn) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  #isRam(pfn: number): boolean {
    const i = this.#runAt(pfn);
    return i >= 0 && pfn < (this.#ends[i] as number);
  }

  #addRam(pfn: number): void {
    if (this.#isRam(pfn)) return;
    const i = this.#runAt(pfn);
    const joinsLeft = i >= 0 && this.#ends[i] === pfn;
    const joinsRight = i + 1 < this.#starts.length && this.#starts[i + 1] === pfn + 1;
    if (joinsLeft && joinsRight) {
      this.#ends[i] = this.#ends[i + 1] as number;
      this.#starts.splice(i + 1, 1);
      this.#ends.splice(i + 1, 1);
    } else if (joinsLeft) {
      this.#ends[i] = pfn + 1;
    } else if (joinsRight) {
      this.#starts[i + 1] = pfn;
    } else {
      this.#starts.splice(i + 1, 0, pfn);
      this.#ends.splice(i + 1, 0, pfn + 1);
    }
    this.#ramPages++;
  }

  #removeRam(pfn: number): boolean {
    const i = this.#runAt(pfn);
    if (i < 0 || pfn >= (this.#ends[i] as number)) return false;
    const s = this.#starts[i] as number;
    const e = this.#ends[i] as number;
    if (s === pfn && e === pfn + 1) {
      this.#starts.splice(i, 1);
      this.#ends.splice(i, 1);
    } else if (s === pfn) {
      this.#starts[i] = pfn + 1;
    } else if (e === pfn + 1) {
      this.#ends[i] = pfn;
    } else {
      this.#ends[i] = pfn;
      this.#starts.splice(i + 1, 0, pfn + 1);
      this.#ends.splice(i + 1, 0, e);
    }
    this.#ramPages--;
    return true;
  }

  get(pfn: number): P2mType | undefined {
    return this.#other.get(pfn) ?? (this.#isRam(pfn) ? 'ram_rw' : undefined);
  }

  has(pfn: number): boolean {
    return this.#other.has(pfn) || this.#isRam(pfn);
  }

  set(pfn: number, t: P2mType): this {
    if (t === 'ram_rw') {
      this.#other.delete(pfn);
      this.#addRam(pfn);
    } else {
      this.#removeRam(pfn);
      this.#other.set(pfn, t);
    }
    return this;
  }

  delete(pfn: number): boolean {
    return this.#other.delete(pfn) || this.#removeRam(pfn);
  }

  get size(): number {
    return this.#ramPages + this.#other.size;
  }

  /** Every page, RAM runs first; from a snapshot taken now. */
  *entries(): IterableIterator<[number, P2mType]> {
    const starts = [...this.#starts];
    const ends = [...this.#ends];
    const other = [...this.#other];
    for (let i = 0; i < starts.length; i++) {
      for (let p = starts[i] as number; p < (ends[i] as number); p++) yield [p, 'ram_rw'];
    }
    yield* other;
  }

  [Symbol.iterator](): IterableIterator<[number, P2mType]> {
    return this.entries();
  }

  *values(): IterableIterator<P2mType> {
    for (const [, t] of this.entries()) yield t;
  }

  /** Pages that are not plain RAM (what inspect() reports as memory types). */
  *typed(): IterableIterator<[number, P2mType]> {
    yield* [...this.#other];
  }
}

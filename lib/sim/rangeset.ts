// Xen's rangeset (xen/common/rangeset.c) as ioreq servers use it: sorted,
// inclusive [start, end] ranges that merge when they touch, with a limit on
// how many distinct ranges may exist (adding one more is -ENOMEM).
export class RangeSet {
  #ranges: [bigint, bigint][] = [];
  constructor(readonly limit: number) {}

  get ranges(): readonly (readonly [bigint, bigint])[] {
    return this.#ranges.map((r) => [r[0], r[1]] as const);
  }

  overlaps(start: bigint, end: bigint): boolean {
    return this.#ranges.some(([s, e]) => s <= end && start <= e);
  }

  contains(start: bigint, end: bigint): boolean {
    return this.#ranges.some(([s, e]) => s <= start && end <= e);
  }

  /** 0 or -ENOMEM (12) when a new distinct range would exceed the limit. */
  add(start: bigint, end: bigint): number {
    const touching = this.#ranges.filter(([s, e]) => s <= end + 1n && start <= e + 1n);
    if (touching.length === 0 && this.#ranges.length >= this.limit) return -12;
    let lo = start;
    let hi = end;
    for (const [s, e] of touching) {
      if (s < lo) lo = s;
      if (e > hi) hi = e;
    }
    this.#ranges = this.#ranges.filter((r) => !touching.includes(r));
    this.#ranges.push([lo, hi]);
    this.#ranges.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    return 0;
  }

  /** Remove [start, end]; splitting a range needs one more slot (-ENOMEM when full). */
  remove(start: bigint, end: bigint): number {
    const next: [bigint, bigint][] = [];
    for (const [s, e] of this.#ranges) {
      if (e < start || s > end) { next.push([s, e]); continue; }
      if (s < start) next.push([s, start - 1n]);
      if (e > end) next.push([end + 1n, e]);
    }
    if (next.length > this.limit) return -12;
    this.#ranges = next;
    return 0;
  }
}

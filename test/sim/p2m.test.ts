// The compact p2m (lib/sim/p2m.ts) answers exactly as a Map of pfn -> type
// would, through random sets and deletes, while holding RAM as runs.
import { P2m } from '../../lib/sim/p2m';
import type { P2mType } from '../../lib/sim/domain';

const TYPES: P2mType[] = ['ram_rw', 'ram_rw', 'ram_rw', 'ram_ro', 'mmio_dm', 'ioreq_server'];

test('random sets and deletes: get, has, size and the entries agree with a Map', () => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const p = new P2m();
  const m = new Map<number, P2mType>();
  for (let i = 0; i < 20000; i++) {
    const pfn = rand(300);
    if (rand(4) === 0) {
      expect(p.delete(pfn)).toBe(m.delete(pfn));
    } else {
      const t = TYPES[rand(TYPES.length)] as P2mType;
      p.set(pfn, t);
      m.set(pfn, t);
    }
    const q = rand(310);
    expect([q, p.get(q), p.has(q)]).toEqual([q, m.get(q), m.has(q)]);
  }
  expect(p.size).toBe(m.size);
  expect(new Map(p.entries())).toEqual(m);
  expect(new Map(p.typed())).toEqual(new Map([...m].filter(([, t]) => t !== 'ram_rw')));
});

test('iteration is over a snapshot: changing types while iterating visits each page once', () => {
  const p = new P2m();
  for (let i = 0; i < 10; i++) p.set(i, i % 2 ? 'ioreq_server' : 'ram_rw');
  const seen: number[] = [];
  for (const [pfn, t] of p) {
    seen.push(pfn);
    if (t === 'ioreq_server') p.set(pfn, 'ram_rw');
  }
  expect(seen.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect([...p.typed()]).toEqual([]);
  expect(p.size).toBe(10);
});

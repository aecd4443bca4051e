// Property tests: the native validation and copy helpers against the plain
// TypeScript reference model (test/support/reference-model.ts) on random
// buffer arrays: random sizes, offsets, guard-page placements, unmapped,
// read-only, kernel-range, non-canonical and wrapping addresses. Canary bytes
// around every destination prove nothing outside it changes, and after every
// copy to the guest the whole simulated memory must equal the model's.
import fc from 'fast-check';
import { AddressSpace, KERNEL_BASE, PAGE_SIZE, type Allocation } from '../../lib/sim/address-space';
import { DmBufArray } from '../../lib/sim/dm-buffers';
import { native } from '../../lib/native';
import { ReferenceModel, TASK_SIZE_MAX, type Desc, type ModelAlloc } from '../support/reference-model';

const BASE = 0x10000000n;
const PAGES = 48;
const CANARY = 24;
const U64 = 1n << 64n;

// Where an address comes from; resolved once the allocations exist.
type AddrSpec =
  | { kind: 'alloc'; i: number; delta: number }
  | { kind: 'fixed'; at: bigint };

const addrSpec: fc.Arbitrary<AddrSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('alloc' as const), i: fc.nat(7), delta: fc.integer({ min: -64, max: 3 * PAGE_SIZE + 64 }) }) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.bigInt({ min: KERNEL_BASE, max: KERNEL_BASE + 0x10000n }),
      fc.bigInt({ min: TASK_SIZE_MAX - 0x2000n, max: TASK_SIZE_MAX + 0x2000n }),
      fc.bigInt({ min: U64 - 0x2000n, max: U64 - 1n }),
      fc.bigInt({ min: 0n, max: 0x20000n }),
      fc.bigInt({ min: BASE - 0x1000n, max: BASE + BigInt(PAGES * PAGE_SIZE) + 0x1000n }),
      fc.bigInt({ min: 1n << 47n, max: (1n << 47n) + 0x10000n }),
    ).map((at) => ({ kind: 'fixed' as const, at })),
  },
);

const sizeArb = fc.oneof(
  fc.constantFrom(0, 1, 8, 16, 32, 4095, 4096, 4097),
  fc.integer({ min: 0, max: 6000 }),
);

// A descriptor: either anything at all, or one that fits inside an allocation
// (so that successes, including multi-buffer ones, are common).
type DescSpec =
  | { kind: 'any'; addr: AddrSpec; size: number }
  | { kind: 'fit'; i: number; start: number; len: number };
const anyDesc: fc.Arbitrary<DescSpec> = fc.record({ kind: fc.constant('any' as const), addr: addrSpec, size: sizeArb });
const fitDesc: fc.Arbitrary<DescSpec> = fc.record({
  kind: fc.constant('fit' as const), i: fc.nat(7), start: fc.double({ min: 0, max: 1, noNaN: true }), len: fc.double({ min: 0, max: 1, noNaN: true }),
});
const descArray = (max: number) => fc.oneof(
  fc.array(fitDesc, { maxLength: max }),
  fc.array(fc.oneof({ weight: 1, arbitrary: anyDesc }, { weight: 2, arbitrary: fitDesc }), { maxLength: max }),
);

const allocSpec = fc.record({ size: fc.integer({ min: 0, max: 2 * PAGE_SIZE + 100 }), alignEnd: fc.boolean(), readOnly: fc.boolean() });

interface World {
  space: AddressSpace;
  allocs: Allocation[];
  model: ReferenceModel;
  resolve(spec: AddrSpec): bigint;
  desc(spec: DescSpec): Desc;
}

function world(specs: { size: number; alignEnd: boolean; readOnly: boolean }[], fill: number): World {
  const space = AddressSpace.create({ base: BASE, size: PAGES * PAGE_SIZE });
  const allocs: Allocation[] = [];
  const models: ModelAlloc[] = [];
  for (const [k, spec] of specs.entries()) {
    let a: Allocation;
    try {
      a = space.alloc(spec.size, spec);
    } catch {
      continue; // full: fewer allocations this run
    }
    for (let i = 0; i < a.view.length; i++) a.view[i] = (i * 31 + k * 7 + fill) & 0xff;
    allocs.push(a);
    models.push({ addr: a.addr, size: a.size, readOnly: spec.readOnly, view: a.view });
  }
  const resolve = (s: AddrSpec): bigint => {
    if (s.kind === 'fixed') return s.at;
    const a = allocs[s.i % allocs.length] as Allocation;
    const v = a.addr + BigInt(s.delta);
    return v < 0n ? 0n : v;
  };
  const desc = (d: DescSpec): Desc => {
    if (d.kind === 'any') return { addr: resolve(d.addr), size: BigInt(d.size) };
    const a = allocs[d.i % allocs.length] as Allocation;
    const start = Math.floor(d.start * a.size);
    return { addr: a.addr + BigInt(start), size: BigInt(Math.floor(d.len * (a.size - start))) };
  };
  return { space, allocs, model: new ReferenceModel(models), resolve, desc };
}

// The offset: random, or (edge set) right at the end of buffer idx, where
// off-by-one mistakes live: offset + len = size + edge.
function pickOffset(bufs: Desc[], idx: number, len: number, offset: bigint, mode: 'seed' | 'strict', edge: number | null): bigint {
  if (mode === 'seed') return offset % 5n === 0n ? offset : 0n; // mostly 0; sometimes EINVAL
  const b = bufs[idx];
  if (edge === null || b === undefined) return offset;
  const o = b.size - BigInt(len) + BigInt(edge);
  return o < 0n ? 0n : o;
}

const snapshot = (w: World) => Buffer.concat(w.allocs.map((a) => a.view));

// Every outcome class must actually occur, or the generators have drifted
// away from what they are meant to cover.
function tally(counts: Map<number, number>, rc: number) {
  const k = rc > 0 ? 0 : rc;
  counts.set(k, (counts.get(k) ?? 0) + 1);
}
function expectCoverage(counts: Map<number, number>, codes: number[]) {
  for (const c of codes) expect({ rc: c, seen: (counts.get(c) ?? 0) > 0 }).toEqual({ rc: c, seen: true });
}
const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
// Seeded, so the coverage checks are deterministic: unseeded, 300 runs missed
// a multi-buffer validation success about one time in three and failed
// npm test at random. PROPERTY_SEED=<n> (with PROPERTY_RUNS) explores others.
const SEED = Number(process.env.PROPERTY_SEED ?? 20261201);

describe('native core vs reference model', () => {
  test('validateDmBuffers: same status, page count and descriptors', () => {
    const counts = new Map<number, number>();
    fc.assert(fc.property(
      fc.array(allocSpec, { minLength: 2, maxLength: 8 }),
      descArray(18),
      addrSpec, fc.nat(20), fc.integer({ min: 0, max: 18 }), fc.constantFrom(4096, 16, 8192), fc.nat(255),
      (specs, descs, arrayAt, extraNum, maxNum, maxSize, fill) => {
        const w = world(specs, fill);
        try {
          // Write the descriptor array into the first allocation big enough.
          const holder = w.allocs.find((a) => a.size >= descs.length * 16);
          const resolved: Desc[] = descs.map((d) => w.desc(d));
          if (holder && descs.length > 0) holder.view.set(DmBufArray.of(resolved).bytes);
          const ubufs = holder && extraNum % 3 !== 0 ? holder.addr : w.resolve(arrayAt);
          const num = extraNum % 4 === 0 ? extraNum : descs.length;
          const out = new Uint8Array(Math.max(8, Math.min(num, maxNum) * 16));
          const rc = native.validateDmBuffers(w.space.id, ubufs, num, maxNum, maxSize, out);
          const expected = w.model.validate(ubufs, num, maxNum, maxSize);
          tally(counts, rc);
          if (rc >= 0 && num >= 2) counts.set(1, (counts.get(1) ?? 0) + 1); // key 1: a multi-buffer success
          if (expected.rc !== 0) {
            expect(rc).toBe(expected.rc);
          } else {
            expect(rc).toBe(expected.pages);
            const got = new DmBufArray(num, out);
            expect(Array.from({ length: num }, (_, i) => got.get(i))).toEqual(expected.bufs);
          }
        } finally {
          w.space.close();
        }
      },
    ), { numRuns: RUNS, seed: SEED });
    expectCoverage(counts, [0, 1, -7, -14]);
  });

  test('copyDmBufferFromGuest: same status and bytes; nothing outside dst changes', () => {
    const counts = new Map<number, number>();
    fc.assert(fc.property(
      fc.array(allocSpec, { minLength: 2, maxLength: 8 }),
      descArray(4),
      fc.nat(5), fc.integer({ min: 0, max: 5000 }),
      fc.oneof(fc.integer({ min: 0, max: 6000 }).map(BigInt), fc.bigInt({ min: U64 - 0x3000n, max: U64 - 1n })),
      fc.constantFrom('seed' as const, 'strict' as const), fc.nat(255), fc.option(fc.integer({ min: -2, max: 2 })),
      (specs, descs, idx, len, offset, mode, fill, edge) => {
        const w = world(specs, fill);
        try {
          const resolved: Desc[] = descs.map((d) => w.desc(d));
          const off = pickOffset(resolved, idx, len, offset, mode, edge);
          const host = new Uint8Array(len + 2 * CANARY).fill(0xc5);
          const dst = host.subarray(CANARY, CANARY + len);
          const expected = new Uint8Array(host);
          const rcModel = w.model.copyFrom(expected.subarray(CANARY, CANARY + len), len, resolved, resolved.length, idx, off, mode);
          const before = snapshot(w);
          const rc = native.copyDmBufferFromGuest(w.space.id, dst, DmBufArray.of(resolved).bytes, idx, off, mode === 'seed' ? 0 : 1);
          tally(counts, rc);
          expect(rc).toBe(rcModel);
          expect(Buffer.from(host).equals(Buffer.from(expected))).toBe(true);
          expect(host.subarray(0, CANARY).every((x) => x === 0xc5) && host.subarray(CANARY + len).every((x) => x === 0xc5)).toBe(true);
          expect(snapshot(w).equals(before)).toBe(true); // reading changes no guest memory
        } finally {
          w.space.close();
        }
      },
    ), { numRuns: RUNS, seed: SEED });
    expectCoverage(counts, [0, -14, -22]);
  });

  test('copyDmBufferToGuest: same status; guest memory equals the model afterwards', () => {
    const counts = new Map<number, number>();
    fc.assert(fc.property(
      fc.array(allocSpec, { minLength: 2, maxLength: 8 }),
      descArray(4),
      fc.nat(5), fc.integer({ min: 0, max: 5000 }),
      fc.oneof(fc.integer({ min: 0, max: 6000 }).map(BigInt), fc.bigInt({ min: U64 - 0x3000n, max: U64 - 1n })),
      fc.constantFrom('seed' as const, 'strict' as const), fc.nat(255), fc.option(fc.integer({ min: -2, max: 2 })),
      (specs, descs, idx, len, offset, mode, fill, edge) => {
        const w = world(specs, fill);
        try {
          const resolved: Desc[] = descs.map((d) => w.desc(d));
          const off = pickOffset(resolved, idx, len, offset, mode, edge);
          const src = Uint8Array.from({ length: len + 7 }, (_, i) => (i * 13 + 1) & 0xff);
          // The model works on a copy of the memory; the native call on the real views.
          const shadow = w.allocs.map((a) => Uint8Array.from(a.view));
          const model = new ReferenceModel(w.allocs.map((a, i) => ({
            addr: a.addr, size: a.size, readOnly: w.space.pageState(a.addr) === 'read-only', view: shadow[i] as Uint8Array,
          })));
          const rcModel = model.copyTo(resolved, resolved.length, idx, off, src, len, mode);
          const rc = native.copyDmBufferToGuest(w.space.id, DmBufArray.of(resolved).bytes, idx, off, src.subarray(0, len), mode === 'seed' ? 0 : 1);
          tally(counts, rc);
          expect(rc).toBe(rcModel);
          expect(snapshot(w).equals(Buffer.concat(shadow))).toBe(true);
        } finally {
          w.space.close();
        }
      },
    ), { numRuns: RUNS, seed: SEED });
    expectCoverage(counts, [0, -14, -22]);
  });
});

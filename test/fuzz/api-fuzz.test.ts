// The public-API fuzzer, bounded: fixed seeds, a few thousand calls. Every
// call must answer a value or a coded error, change nothing when refused
// (Xen's page-by-page ops aside), never let a restricted handle reach another
// domain, and settle. `npm run fuzz:api -- --seconds N` runs it long.
import { native } from '../../lib/native';
import { ENTRIES, fuzzApi, type Entry, type FuzzReport } from './api-fuzz';

const summary = (r: FuzzReport): string[] => [...r.kinds].map(([k, n]) => `${n} x ${k}`);

test.each([1, 2, 3])('seed %i: 1500 calls, no uncoded error, state change on refusal, escape or hang', async (seed) => {
  // hangMs generous: only a real stall (minutes, as a 2^32-1 sparse array once caused) may fail this under load.
  const r = await fuzzApi({ seed, calls: 1500, hangMs: 10000 });
  expect(r.calls).toBe(1500);
  expect(summary(r)).toEqual([]);
  // The run exercised all three outcomes (a fuzzer that only ever hits one path proves little).
  expect(r.values).toBeGreaterThan(100);
  expect(r.coded).toBeGreaterThan(500);
  expect(r.passedThrough).toBeGreaterThan(10);
  // The fuzzer never restricts the real process: that is one-way, and the
  // suites jest runs after this one in the same process open device handles.
  expect(native.processHandles().domid).toBe(-1);
});

test('every entry point is fuzzed, deterministically for a seed', async () => {
  const names = Object.keys(ENTRIES);
  for (const name of names) {
    const r = await fuzzApi({ seed: 7, calls: 40, entries: [name] });
    expect({ name, findings: summary(r) }).toEqual({ name, findings: [] });
  }
  const a = await fuzzApi({ seed: 11, calls: 300 });
  const b = await fuzzApi({ seed: 11, calls: 300 });
  expect([a.values, a.coded, a.passedThrough]).toEqual([b.values, b.coded, b.passedThrough]);
});

test('the checks can fail: planted faults are each reported as what they are', async () => {
  const custom: Record<string, Entry> = {
    uncoded: () => ({ entry: 'uncoded', run: () => { throw new TypeError('planted'); } }),
    changeThenRefuse: (_g, w) => ({
      entry: 'changeThenRefuse',
      run: () => { w.host.setLogDirty(w.fTarget, false); w.host.pauseDomain(w.fTarget); w.host.unpauseDomain(w.fTarget); throw Object.assign(new Error('planted'), { code: 'EINVAL' }); },
    }),
    escape: (_g, w) => ({ entry: 'escape', via: 'r', target: w.fTarget, run: () => 0 }),
    hang: () => ({ entry: 'hang', run: () => new Promise(() => undefined) }),
    stall: () => ({ entry: 'stall', run: () => { const end = Date.now() + 40; while (Date.now() < end); } }),
  };
  const kinds = async (name: string): Promise<string[]> =>
    [...new Set((await fuzzApi({ seed: 5, calls: 3, entries: [name], custom, hangMs: 20 })).findings.map((f) => f.kind))];
  expect(await kinds('uncoded')).toEqual(['uncoded']);
  expect(await kinds('changeThenRefuse')).toEqual(['state-change']);
  expect(await kinds('escape')).toEqual(['escape']);
  expect(await kinds('hang')).toEqual(['hang']);
  expect(await kinds('stall')).toEqual(['hang']);
});

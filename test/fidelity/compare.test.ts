// The comparison both checks rely on: any change in any observed value is a
// difference, in either direction, and the allow-list matches ids exactly or
// by pattern.
import { allowed, describeDifference, differences } from './compare';
import type { Observation } from './execute';

const base: Record<string, Observation> = {
  a: { steps: [{ rc: 'ok', out: { id: '0' } }], memTypes: { 16: '0' }, servers: { 0: 'port 2', 1: 'ENOENT' } },
  b: { steps: [{ rc: 'EINVAL' }] },
};
const copy = (): Record<string, Observation> => JSON.parse(JSON.stringify(base)) as Record<string, Observation>;

describe('fidelity comparison', () => {
  test('identical observations: no difference', () => {
    expect(differences(base, copy())).toEqual([]);
  });

  test('an errno, an OUT field, a memory type, a server, a missing or extra case: each is a difference', () => {
    const edits: ((o: Record<string, Observation>) => void)[] = [
      (o) => { o.b!.steps[0]!.rc = 'ENOENT'; },
      (o) => { o.a!.steps[0]!.out!.id = '1'; },
      (o) => { o.a!.memTypes![16] = '1'; },
      (o) => { o.a!.servers![1] = 'port 3'; },
      (o) => { delete o.b; },
      (o) => { o.c = { steps: [] }; },
      (o) => { o.a!.steps.push({ rc: 'ok' }); },
    ];
    for (const edit of edits) {
      const o = copy();
      edit(o);
      const d = differences(base, o);
      expect(d.length).toBe(1);
      expect(describeDifference(d[0]!)).toMatch(/^[abc]: /);
    }
  });

  test('the allow-list matches the 2^63 relocate case and nothing else here', () => {
    expect(allowed('relocate_memory/dst_gfn=9223372036854775808')?.reason).toMatch(/2\^63/);
    expect(allowed('relocate_memory/dst_gfn=68719476736')).toBeUndefined();
  });
});

// The DMOP codec's argument checks: every key of a request must be a field of
// its op (found by counting keys, then by name), and the one-entry plan cache
// never lets one op's plan serve another.
import { decodeDmop, encodeDmop, encodeDmopInto } from '../../lib/dmop/codec';

const refusal = (fn: () => unknown): { code?: string; message?: string } => {
  try {
    fn();
    return {};
  } catch (e) {
    return e as { code?: string; message?: string };
  }
};

describe('unknown fields', () => {
  test.each([
    ['an extra key', { op: 'nr_vcpus', bogus: 1 }, 'bogus'],
    ['an extra key beside every field', { op: 'set_isa_irq_level', isaIrq: 1, level: 0, bogus: 1 }, 'bogus'],
    ['an extra key while a defaulted field is absent', { op: 'create_ioreq_server', bogus: 1 }, 'bogus'],
    ['an extra key while a field is given as undefined', { op: 'create_ioreq_server', handleBufioreq: undefined, bogus: 1 }, 'bogus'],
    ['a misspelt field', { op: 'set_isa_irq_level', isa_irq: 1, isaIrq: 1, level: 0 }, 'isa_irq'],
    ['an extra key on modified_memory', { op: 'modified_memory', extents: [], bogus: 1 }, 'bogus'],
  ])('%s is EINVAL naming it', (_what, request, key) => {
    const e = refusal(() => encodeDmop(request as never));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain(`unknown field '${key}'`);
  });

  test('a field given as undefined takes its default; inherited enumerable keys count as keys', () => {
    expect(encodeDmop({ op: 'create_ioreq_server', handleBufioreq: undefined } as never)[0]![4]).toBe(0);
    const inherited = Object.create({ bogus: 1 }) as Record<string, unknown>;
    inherited.op = 'nr_vcpus';
    expect(refusal(() => encodeDmop(inherited as never)).code).toBe('EINVAL');
  });
});

describe('the plan cache', () => {
  test('alternating ops encode and decode each with its own layout', () => {
    const b0 = new Uint8Array(32);
    const words = new Uint32Array(b0.buffer);
    for (let i = 0; i < 3; i++) {
      encodeDmopInto({ op: 'set_isa_irq_level', isaIrq: 5, level: 1 }, b0, words);
      expect([...b0.subarray(0, 10)]).toEqual([9, 0, 0, 0, 0, 0, 0, 0, 5, 1]);
      encodeDmopInto({ op: 'nr_vcpus' }, b0, words);
      expect([...b0]).toEqual([20, ...new Array(31).fill(0)]);
      b0[8] = 3;
      expect(decodeDmop('nr_vcpus', [b0])).toEqual({ vcpus: 3 });
      expect(decodeDmop('set_isa_irq_level', [b0])).toEqual({});
    }
  });

  test('an unknown op is EINVAL even right after a known one', () => {
    encodeDmop({ op: 'nr_vcpus' });
    expect(refusal(() => encodeDmop({ op: 'nr_vcpu' } as never)).code).toBe('EINVAL');
    expect(refusal(() => decodeDmop('nope' as never, [new Uint8Array(32)])).code).toBe('EINVAL');
  });
});

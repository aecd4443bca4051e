// relocate_memory's gfn limits on the simulated host (issue 11, section 3).
import { type Privcmd, type SimulatedHost } from '../../lib';
import { code, withSimulatedWorld } from '../support/hostile';

let host: SimulatedHost;
let h: Privcmd;
let g: number;
withSimulatedWorld((w) => ({ host, h, g } = w));

describe('relocate_memory gfn limits (xenmem_add_to_physmap, ept_set_entry)', () => {
  test('dstGfn 1 << 60: EINVAL, nothing moved, maxGpfn unchanged, set_mem_type still answers', () => {
    const before = host.inspect(g);
    expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 1, srcGfn: 1n, dstGfn: 1n << 60n }))).toBe('EINVAL');
    expect(host.inspect(g)).toEqual(before);
    expect(Number.isSafeInteger(host.inspect(g).maxGpfn)).toBe(true);
    expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 2n, nr: 1 }))).toBe('ok');
  });

  test('INVALID_GFN as destination is EINVAL; a wrapping range EOVERFLOW; the last mappable gfn works', () => {
    const before = host.inspect(g);
    expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 1, srcGfn: 1n, dstGfn: (1n << 64n) - 1n }))).toBe('EINVAL');
    expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 2, srcGfn: 1n, dstGfn: (1n << 64n) - 2n }))).toBe('EOVERFLOW');
    expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 2, srcGfn: (1n << 64n) - 1n, dstGfn: 100n }))).toBe('EOVERFLOW');
    expect(host.inspect(g)).toEqual(before);
    h.dmop(g, { op: 'relocate_memory', size: 1, srcGfn: 1n, dstGfn: (1n << 36n) - 1n });
    expect(host.inspect(g).maxGpfn).toBe(2 ** 36 - 1);
    // Page by page, like Xen: the page below the limit moves, the next one is refused.
    expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 2, srcGfn: 2n, dstGfn: (1n << 36n) - 1n }))).toBe('EINVAL');
    expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 2n, nr: 1 }))).toBe('EINVAL'); // gfn 2 moved: a hole now
    expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 3n, nr: 1 }))).toBe('ok'); // gfn 3 stayed
  });
});

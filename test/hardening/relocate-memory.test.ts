// relocate_memory's gfn limits on the simulated host (issue 11, section 3).
import * as api from '../../lib';
import { type Privcmd, type SimulatedHost } from '../../lib';
import { code, withSimulatedWorld } from '../support/hostile';

let host: SimulatedHost;
let h: Privcmd;
let g: number;
withSimulatedWorld((w) => ({ host, h, g } = w));

describe('relocate_memory gfn limits (xenmem_add_to_physmap, as the real Xen 4.17.7 host answers)', () => {
  test('dstGfn 1 << 60: ENOENT, and the source page is gone (unmapped before the map failed); maxGpfn unchanged', () => {
    const before = host.inspect(g);
    expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 1, srcGfn: 1n, dstGfn: 1n << 60n }))).toBe('ENOENT');
    expect(host.inspect(g).maxGpfn).toBe(before.maxGpfn);
    expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 1n, nr: 1 }))).toBe('EINVAL'); // a hole now
    expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 2n, nr: 1 }))).toBe('ok');
  });

  test('INVALID_GFN as destination is EINVAL; a wrapping range EOVERFLOW; both before any page moves', () => {
    const before = host.inspect(g);
    expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 1, srcGfn: 1n, dstGfn: (1n << 64n) - 1n }))).toBe('EINVAL');
    expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 2, srcGfn: 1n, dstGfn: (1n << 64n) - 2n }))).toBe('EOVERFLOW');
    expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 2, srcGfn: (1n << 64n) - 1n, dstGfn: 100n }))).toBe('EOVERFLOW');
    expect(host.inspect(g)).toEqual(before);
  });

  test('the last mappable gfn works; page by page, the next one is refused and its source lost', () => {
    h.dmop(g, { op: 'relocate_memory', size: 1, srcGfn: 1n, dstGfn: (1n << 36n) - 1n });
    expect(host.inspect(g).maxGpfn).toBe(2 ** 36 - 1);
    expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 3, srcGfn: 2n, dstGfn: (1n << 36n) - 2n }))).toBe('ENOENT');
    expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: (1n << 36n) - 2n, nr: 1 }))).toBe('ok'); // gfn 2 moved there
    // gfn 3 replaced the page at 2^36 - 1; gfn 4 was unmapped, then 2^36 refused it: lost.
    for (const [gfn, want] of [[2n, 'EINVAL'], [3n, 'EINVAL'], [4n, 'EINVAL'], [5n, 'ok']] as const) {
      expect([gfn, code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: gfn, nr: 1 }))]).toEqual([gfn, want]);
    }
  });

  test('size is cut to 16 bits per round (struct xen_add_to_physmap): 0x10000 moves nothing, 0x10001 one page', () => {
    expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 0x10000, srcGfn: 1n, dstGfn: 200n }))).toBe('ok');
    expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 1n, nr: 1 }))).toBe('ok'); // still there
    const [b0] = api.encodeDmop({ op: 'relocate_memory', size: 0x10001, srcGfn: 2n, dstGfn: 200n });
    h.dmopRaw(g, [b0!]);
    // The -ERESTART after the first page wrote the progress back (size, src_gfn, dst_gfn after the header).
    const v = new DataView(b0!.buffer, b0!.byteOffset);
    expect([v.getUint32(8, true), v.getBigUint64(16, true), v.getBigUint64(24, true)]).toEqual([0x10000, 3n, 201n]);
    expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 2n, nr: 1 }))).toBe('EINVAL'); // moved
    expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 3n, nr: 1 }))).toBe('ok'); // not moved
  });
});

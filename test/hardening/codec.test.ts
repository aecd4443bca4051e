// The DMOP and altp2m codecs under bad input: a coded error (issue 11, section 3).
import * as api from '../../lib';
import { code, HUGE_SPARSE } from '../support/hostile';

describe('codec', () => {
  test('decodeDmop(op, null) and non-array or non-Uint8Array buffers: EINVAL', () => {
    expect(code(() => api.decodeDmop('nr_vcpus', null as never))).toBe('EINVAL');
    expect(code(() => api.decodeDmop('nr_vcpus', [null] as never))).toBe('EINVAL');
    expect(code(() => api.decodeDmop('nr_vcpus', [new Proxy(new Uint8Array(32), {})]))).toBe('EINVAL');
  });

  test('huge sparse extents are refused before allocating (E2BIG, the kernel\'s answer); holes are refused, not skipped', () => {
    expect(code(() => api.encodeDmop({ op: 'modified_memory', extents: HUGE_SPARSE }))).toBe('E2BIG');
    expect(code(() => api.encodeDmop({ op: 'modified_memory', extents: new Array(2 ** 20) as never }))).toBe('E2BIG');
    // At the limit the holes are what is refused: the length alone passes.
    expect(code(() => api.encodeDmop({ op: 'modified_memory', extents: new Array(65536) as never }))).toBe('EINVAL');
    // eslint-disable-next-line no-sparse-arrays
    expect(code(() => api.encodeDmop({ op: 'modified_memory', extents: [, { firstPfn: 1n, nr: 1 }] as never }))).toBe('EINVAL');
  });

  test('a dirty bitmap past 1 MiB is E2BIG without allocating; at 1 MiB it is built', () => {
    expect(code(() => api.encodeDmop({ op: 'track_dirty_vram', firstPfn: 0n, nr: 0xffffffff }))).toBe('E2BIG');
    expect(code(() => api.encodeDmop({ op: 'track_dirty_vram', firstPfn: 0n, nr: 8 * 2 ** 20 + 1 }))).toBe('E2BIG');
    const bufs = api.encodeDmop({ op: 'track_dirty_vram', firstPfn: 0n, nr: 8 * 2 ** 20 });
    expect(bufs[1]!.byteLength).toBe(2 ** 20);
  });

  test('pciSbdf takes integers in each field\'s range', () => {
    expect(api.pciSbdf(1, 0x2a, 0x1c, 5)).toBe(0x12ae5);
    expect(code(() => api.pciSbdf(0n as never, 0, 0, 0))).toBe('EINVAL');
    expect(code(() => api.pciSbdf(0, 256, 0, 0))).toBe('EINVAL');
    expect(code(() => api.pciSbdf(0, 0, 0.5, 0))).toBe('EINVAL');
  });
});

// The DMOP and altp2m codecs under bad input: a coded error (issue 11, section 3).
import * as api from '../../lib';
import { type Privcmd, type SimulatedHost } from '../../lib';
import { code, HUGE_SPARSE, withSimulatedWorld } from '../support/hostile';

let host: SimulatedHost;
let h: Privcmd;
let g: number;
withSimulatedWorld((w) => ({ host, h, g } = w));

describe('codec', () => {
  test('decodeDmop(op, null) and non-array or non-Uint8Array buffers: EINVAL', () => {
    expect(code(() => api.decodeDmop('nr_vcpus', null as never))).toBe('EINVAL');
    expect(code(() => api.decodeDmop('nr_vcpus', [null] as never))).toBe('EINVAL');
    expect(code(() => api.decodeDmop('nr_vcpus', [new Proxy(new Uint8Array(32), {})]))).toBe('EINVAL');
  });

  test('huge sparse extents are refused before allocating; holes are refused, not skipped', () => {
    expect(code(() => api.encodeDmop({ op: 'modified_memory', extents: HUGE_SPARSE }))).toBe('EINVAL');
    expect(code(() => api.encodeDmop({ op: 'modified_memory', extents: new Array(2 ** 20) as never }))).toBe('EINVAL');
    // eslint-disable-next-line no-sparse-arrays
    expect(code(() => api.encodeDmop({ op: 'modified_memory', extents: [, { firstPfn: 1n, nr: 1 }] as never }))).toBe('EINVAL');
  });

  test('pciSbdf takes integers in each field\'s range', () => {
    expect(api.pciSbdf(1, 0x2a, 0x1c, 5)).toBe(0x12ae5);
    expect(code(() => api.pciSbdf(0n as never, 0, 0, 0))).toBe('EINVAL');
    expect(code(() => api.pciSbdf(0, 256, 0, 0))).toBe('EINVAL');
    expect(code(() => api.pciSbdf(0, 0, 0.5, 0))).toBe('EINVAL');
  });
});

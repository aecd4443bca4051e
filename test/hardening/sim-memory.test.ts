// The address space and the DM buffer helpers under bad input: a coded error, nothing changed (issue 11, section 3).
import * as api from '../../lib';
import { code, detached, NULL_PROTO } from '../support/hostile';

describe('address space', () => {
  test('space.free({ addr }) of a live allocation: refused before anything is freed', () => {
    const s = api.AddressSpace.create({ size: 65536 });
    try {
      const a = s.alloc(4096);
      const live = s.liveAllocations;
      // Only an address (the old code freed, then threw reading .view.buffer).
      expect(code(() => s.free({ addr: a.addr } as never))).toBe('ok');
      expect(s.liveAllocations).toBe(live - 1);
      const b = s.alloc(16);
      expect(code(() => s.free(null as never))).toBe('EINVAL');
      expect(code(() => s.free(NULL_PROTO))).toBe('EINVAL');
      expect(code(() => s.free({ get addr() { throw Object.assign(new Error('getter'), { code: 'EGETTER' }); } } as never))).toBe('EGETTER');
      expect(s.liveAllocations).toBe(live);
      s.free(b);
    } finally {
      s.close();
    }
  });

  test('create(null), alloc(Symbol), alloc(1, null), read(addr, NaN), addressOf(non-view): coded or undefined', () => {
    expect(code(() => api.AddressSpace.create(null as never))).toBe('EINVAL');
    expect(code(() => api.AddressSpace.create({ size: NULL_PROTO }))).toBe('EINVAL');
    const s = api.AddressSpace.create({ size: 65536 });
    try {
      expect(code(() => s.alloc(Symbol('x') as never))).toBe('EINVAL');
      expect(code(() => s.alloc(1, null as never))).toBe('EINVAL');
      expect(code(() => s.read(s.base, NaN))).toBe('EINVAL');
      expect(s.addressOf(null as never)).toBeUndefined();
      expect(s.liveAllocations).toBe(0);
    } finally {
      s.close();
    }
  });
});

describe('DM buffer helpers', () => {
  let s: api.AddressSpace;
  beforeEach(() => {
    s = api.AddressSpace.create({ size: 65536 });
  });
  afterEach(() => s.close());

  test('validateDmBuffers(null, ...) and bad limits: EINVAL', () => {
    expect(code(() => api.validateDmBuffers(null as never, 0n, 0))).toBe('EINVAL');
    expect(code(() => api.validateDmBuffers(s, s.base, 1, null as never))).toBe('EINVAL');
    expect(code(() => api.validateDmBuffers(s, s.base, 1, { maxBufs: NULL_PROTO }))).toBe('EINVAL');
  });

  test('copy helpers: null options, detached local buffers, a size of 1.5: EINVAL, guest memory unchanged', () => {
    const a = s.alloc(64);
    a.view.fill(7);
    const bufs = api.DmBufArray.of([{ addr: a.addr, size: 64 }]);
    expect(code(() => api.copyDmBufferToGuest(s, bufs, 0, new Uint8Array(8), null as never))).toBe('EINVAL');
    expect(code(() => api.copyDmBufferFromGuest(s, new Uint8Array(8), bufs, 0, null as never))).toBe('EINVAL');
    expect(code(() => api.copyDmBufferToGuest(s, bufs, 0, detached()))).toBe('EINVAL');
    expect(code(() => api.copyDmBufferFromGuest(s, detached(), bufs, 0))).toBe('EINVAL');
    expect(code(() => api.copyDmBufferToGuest(null as never, bufs, 0, new Uint8Array(8)))).toBe('EINVAL');
    expect(code(() => api.copyDmBufferToGuest(s, bufs, 0, new Uint8Array(8), { mode: 'toString' as never }))).toBe('EINVAL');
    expect([...a.view]).toEqual(new Array(64).fill(7));
  });

  test('DmBufArray: sizes 1.5, NaN, Infinity; non-array of(); detached or non-Uint8Array bytes', () => {
    const d = new api.DmBufArray(1);
    for (const size of [1.5, NaN, Infinity, -1]) expect(code(() => d.set(0, 0x10000n, size))).toBe('EINVAL');
    expect(code(() => api.DmBufArray.of(null as never))).toBe('EINVAL');
    expect(code(() => api.DmBufArray.of([null] as never))).toBe('EINVAL');
    expect(code(() => new api.DmBufArray(1, new Uint16Array(8) as never))).toBe('EINVAL');
    expect(code(() => new api.DmBufArray(0, detached()))).toBe('EINVAL');
    expect(code(() => new api.DmBufArray(NULL_PROTO))).toBe('EINVAL');
  });
});

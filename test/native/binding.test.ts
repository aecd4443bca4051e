// The raw binding refuses malformed calls with a status, never a throw or a
// crash: the TypeScript layer validates first, this is the second line.
import { native } from '../../lib/native';

const EBADF = -9;
const EINVAL = -22;

describe('raw binding', () => {
  let id: number;
  let token: object;
  beforeEach(() => {
    const r = native.spaceCreate(0x10000000n, 16 * 4096);
    if (typeof r === 'number') throw new Error(`spaceCreate failed: ${r}`);
    [id, token] = r;
    expect(token).toBeDefined();
  });
  afterEach(() => native.spaceClose(id));

  const garbage: unknown[] = [undefined, null, 'x', {}, [], -1, 1.5, Number.NaN, 2 ** 60, -1n, 1n << 64n, new Uint16Array(4), new Float64Array(2)];

  test('unknown, stale or malformed space ids are EBADF', () => {
    for (const bad of [9999, -1, 'x', undefined, 1.5, 2 ** 40]) {
      const r = native.spaceRead(bad as number, 0x10001000n, new Uint8Array(1));
      expect({ bad: String(bad), r }).toEqual({ bad: String(bad), r: EBADF });
    }
    native.spaceClose(id);
    expect(native.spaceAlloc(id, 1, 0)).toBe(EBADF);
    expect(native.spaceClose(id)).toBe(EBADF);
  });

  test('no argument makes a function throw; malformed ones are EINVAL', () => {
    const a = native.spaceAlloc(id, 64, 0);
    if (typeof a === 'number') throw new Error('alloc failed');
    const bufs = new Uint8Array(16);
    const calls: [string, (g: unknown) => number | object][] = [
      ['spaceCreate.base', (g) => native.spaceCreate(g as bigint, 4096 * 4) as number],
      ['spaceAlloc.len', (g) => native.spaceAlloc(id, g as number, 0) as number],
      ['spaceAlloc.flags', (g) => native.spaceAlloc(id, 1, g as number) as number],
      ['spaceFree.addr', (g) => native.spaceFree(id, g as bigint)],
      ['spaceRead.dst', (g) => native.spaceRead(id, a.addr, g as Uint8Array)],
      ['spaceWrite.addr', (g) => native.spaceWrite(id, g as bigint, new Uint8Array(1))],
      ['validate.out', (g) => native.validateDmBuffers(id, a.addr, 1, 16, 4096, g as Uint8Array)],
      ['validate.num', (g) => native.validateDmBuffers(id, a.addr, g as number, 16, 4096, new Uint8Array(16))],
      ['copyFrom.dst', (g) => native.copyDmBufferFromGuest(id, g as Uint8Array, bufs, 0, 0, 1)],
      ['copyFrom.idx', (g) => native.copyDmBufferFromGuest(id, new Uint8Array(1), bufs, g as number, 0, 1)],
      ['copyFrom.mode', (g) => native.copyDmBufferFromGuest(id, new Uint8Array(1), bufs, 0, 0, g as number)],
      ['copyTo.src', (g) => native.copyDmBufferToGuest(id, bufs, 0, 0, g as Uint8Array, 1)],
      ['copyTo.offset', (g) => native.copyDmBufferToGuest(id, bufs, 0, g as number, new Uint8Array(1), 1)],
    ];
    // Whatever lands in each slot, the call returns (a status or a result) and never throws.
    for (const [name, call] of calls) {
      for (const g of garbage) {
        let threw: unknown = null;
        try { call(g); } catch (e) { threw = e; }
        expect({ name, g: String(g), threw }).toEqual({ name, g: String(g), threw: null });
      }
    }
    // The clearly malformed ones, one by one.
    expect(native.spaceRead(id, a.addr, 'x' as unknown as Uint8Array)).toBe(EINVAL);
    expect(native.spaceRead(id, a.addr, new Uint16Array(2) as unknown as Uint8Array)).toBe(EINVAL);
    expect(native.spaceAlloc(id, 1.5, 0)).toBe(EINVAL);
    expect(native.spaceAlloc(id, -1, 0)).toBe(EINVAL);
    expect(native.spaceFree(id, 1n << 64n)).toBe(EINVAL);
    expect(native.copyDmBufferFromGuest(id, new Uint8Array(1), bufs, 0, 0, 2)).toBe(EINVAL);
    expect(native.copyDmBufferFromGuest(id, new Uint8Array(1), bufs, 0, -1, 1)).toBe(EINVAL);
    expect(native.validateDmBuffers(id, a.addr, 1, 16, 4096, new Uint8Array(4))).toBe(EINVAL); // out too small
    expect(native.validateDmBuffers(id, a.addr, 1, 5000, 4096, new Uint8Array(16))).toBe(EINVAL);
  });
});

// The ordered-access helpers: values land where plain views see them, and
// every bad argument is a coded error with nothing written.
import { fetchAdd32, loadAcquire32, loadAcquire8, storeRelease32, storeRelease8 } from '../../lib/ioreq/shared-memory';
import { native } from '../../lib/native';

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? `uncoded ${String(e)}`;
  }
  return 'no error';
};

describe('ordered access on a shared page', () => {
  test('stores and loads agree with plain little-endian views', () => {
    const page = new Uint8Array(4096);
    const dv = new DataView(page.buffer);
    storeRelease8(page, 30, 0x23);
    expect(page[30]).toBe(0x23);
    page[31] = 0x7f;
    expect(loadAcquire8(page, 31)).toBe(0x7f);
    storeRelease32(page, 4, 0xdeadbeef);
    expect(dv.getUint32(4, true)).toBe(0xdeadbeef);
    dv.setUint32(4092, 0x01020304, true);
    expect(loadAcquire32(page, 4092)).toBe(0x01020304);
  });

  test('fetchAdd32 returns the old value and wraps modulo 2^32', () => {
    const page = new Uint8Array(8);
    const dv = new DataView(page.buffer);
    dv.setUint32(0, 0xffffffff, true);
    expect(fetchAdd32(page, 0, 2)).toBe(0xffffffff);
    expect(dv.getUint32(0, true)).toBe(1);
    expect(fetchAdd32(page, 0, 0)).toBe(1);
  });

  test('a view into the middle of a buffer addresses from its own start', () => {
    const buf = new ArrayBuffer(64);
    const view = new Uint8Array(buf, 16, 32);
    storeRelease32(view, 0, 0xaabbccdd);
    expect(new DataView(buf).getUint32(16, true)).toBe(0xaabbccdd);
    expect(code(() => loadAcquire32(view, 32))).toBe('ERANGE');
  });

  test('outside the page is ERANGE, misaligned EINVAL, and nothing is written', () => {
    const page = new Uint8Array(16);
    expect(code(() => loadAcquire8(page, 16))).toBe('ERANGE');
    expect(code(() => storeRelease8(page, 2 ** 53, 1))).toBe('ERANGE');
    expect(code(() => loadAcquire32(page, 13))).toBe('ERANGE');
    expect(code(() => storeRelease32(page, 16, 1))).toBe('ERANGE');
    expect(code(() => fetchAdd32(page, 14, 1))).toBe('ERANGE');
    expect(code(() => loadAcquire32(page, 2))).toBe('EINVAL');
    expect(code(() => storeRelease32(page, 6, 1))).toBe('EINVAL');
    expect(code(() => fetchAdd32(new Uint8Array(page.buffer, 1, 8), 0, 1))).toBe('EINVAL');
    expect(page.every((b) => b === 0)).toBe(true);
  });

  test('bad offsets, values and views are coded errors, never TypeErrors', () => {
    const page = new Uint8Array(16);
    for (const off of [-1, 1.5, Number.NaN, Infinity, '0', undefined, null, 2n]) {
      expect({ off: String(off), c: code(() => loadAcquire8(page, off as number)) }).toEqual({ off: String(off), c: 'EINVAL' });
      expect({ off: String(off), c: code(() => storeRelease32(page, off as number, 1)) }).toEqual({ off: String(off), c: 'EINVAL' });
      expect({ off: String(off), c: code(() => fetchAdd32(page, off as number, 1)) }).toEqual({ off: String(off), c: 'EINVAL' });
      expect({ off: String(off), c: code(() => storeRelease8(page, off as number, 1)) }).toEqual({ off: String(off), c: 'EINVAL' });
    }
    for (const v of [-1, 256, 1.5, Number.NaN, '1', 1n]) expect({ v: String(v), c: code(() => storeRelease8(page, 0, v as number)) }).toEqual({ v: String(v), c: 'EINVAL' });
    for (const v of [-1, 2 ** 32, 0.5, '1']) {
      expect(code(() => storeRelease32(page, 0, v as number))).toBe('EINVAL');
      expect(code(() => fetchAdd32(page, 0, v as number))).toBe('EINVAL');
    }
    for (const view of [new Uint16Array(8), new ArrayBuffer(16), [0, 0, 0, 0], 'page', null, undefined, new DataView(new ArrayBuffer(8))]) {
      expect({ view: String(view), c: code(() => loadAcquire32(view as unknown as Uint8Array, 0)) }).toEqual({ view: String(view), c: 'EINVAL' });
      expect({ view: String(view), c: code(() => storeRelease8(view as unknown as Uint8Array, 0, 0)) }).toEqual({ view: String(view), c: 'EINVAL' });
    }
    expect(page.every((b) => b === 0)).toBe(true);
  });

  test('a detached page is ERANGE (no bytes left), not a crash', () => {
    const page = new Uint8Array(16);
    structuredClone(page.buffer, { transfer: [page.buffer] });
    expect(page.byteLength).toBe(0);
    expect(code(() => loadAcquire8(page, 0))).toBe('ERANGE');
    expect(code(() => storeRelease32(page, 0, 1))).toBe('ERANGE');
  });

  test('the raw binding returns statuses for garbage and throws nothing', () => {
    const calls = [
      (g: unknown) => native.loadAcquire8(g as Uint8Array, 0),
      (g: unknown) => native.loadAcquire32(new Uint8Array(8), g as number),
      (g: unknown) => native.storeRelease8(new Uint8Array(8), 0, g as number),
      (g: unknown) => native.storeRelease32(new Uint8Array(8), g as number, 0),
      (g: unknown) => native.fetchAdd32(new Uint8Array(8), 0, g as number),
    ];
    for (const call of calls) {
      for (const g of [undefined, null, 'x', {}, -1, 1.5, 2 ** 64, -1n, new Uint16Array(4)]) expect(call(g)).toBe(-22);
    }
    expect((native.loadAcquire8 as unknown as () => number)()).toBe(-22);
    expect(native.storeRelease8(new Uint8Array(8), 0, 256)).toBe(-22);
  });
});

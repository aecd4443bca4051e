// Lifetime of native memory across the device binding's async calls, without
// Xen: the device is /dev/null (every ioctl answers ENOTTY), and the thread
// pool is held so that a call is still queued while the test frees or closes
// what it uses (threadpool.ts).
import { native } from '../../lib/native';
import { isMapped, whileQueued } from './threadpool';

function device() {
  const d = native.deviceOpen('/dev/null');
  if (typeof d === 'number') throw new Error(`open /dev/null: ${d}`);
  return d;
}

function hypercallBuffer(size: number) {
  const r = native.hypercallBufferAlloc(size);
  if (typeof r === 'number') throw new Error(`alloc: ${r}`);
  return r;
}

describe('hypercall buffers stay mapped while an async hypercall that may use them is in flight', () => {
  test('free: detached at once, unmapped only after the call returned; no new buffer at its address meanwhile', async () => {
    const d = device();
    const buf = hypercallBuffer(4096);
    const view = new Uint8Array(buf.buffer);
    let other = buf;
    const { call: p } = await whileQueued(() => d.hypercallAsync(17, BigUint64Array.from([1n, buf.addr, 0n, 0n, 0n])), () => {
      expect(native.hypercallBufferFree(buf.buffer)).toBe(0);
      expect(view.length).toBe(0); // JS can no longer reach it
      expect(isMapped(buf.addr)).toBe(true); // but Xen still could
      other = hypercallBuffer(4096);
      expect(other.addr).not.toBe(buf.addr);
    });
    await expect(p).resolves.toBe(-25);
    expect(isMapped(buf.addr)).toBe(false);
    expect(native.hypercallBufferFree(other.buffer)).toBe(0);
    d.close();
  });

  test('close of the device and free of every buffer (what close() does): unmapped after the call', async () => {
    const d = device();
    const bufs = [hypercallBuffer(100), hypercallBuffer(8192)];
    const { call: p } = await whileQueued(() => d.hypercallAsync(17, BigUint64Array.from([bufs[0]!.addr, 0n, 0n, 0n, 0n])), () => {
      expect(d.close()).toBe(0);
      for (const b of bufs) expect(native.hypercallBufferFree(b.buffer)).toBe(0);
      for (const b of bufs) expect(isMapped(b.addr)).toBe(true);
    });
    await expect(p).resolves.toBe(-25); // ran on the fd the call still held
    for (const b of bufs) expect(isMapped(b.addr)).toBe(false);
  });

  test('a buffer allocated after the call was made is not pinned by it', async () => {
    const d = device();
    const { call: p } = await whileQueued(() => d.hypercallAsync(17, new BigUint64Array(5)), () => {
      const late = hypercallBuffer(4096);
      expect(native.hypercallBufferFree(late.buffer)).toBe(0);
      expect(isMapped(late.addr)).toBe(false);
    });
    await expect(p).resolves.toBe(-25);
    d.close();
  });
});

describe('async DM_OP buffers are staged in native memory', () => {
  test('the ioctl sees the bytes as they were at the call; Xen\'s view is copied back over later writes', async () => {
    const d = device();
    const b = new Uint8Array(64).fill(7);
    const { call: p } = await whileQueued(() => d.dmOpAsync(1, [b], null), () => {
      b.fill(9); // the caller writes while the call is queued
    });
    await expect(p).resolves.toBe(-25);
    // The staged copy (all 7s; /dev/null wrote nothing) came back: the call
    // never used the caller's memory in place.
    expect([...new Set(b)]).toEqual([7]);
    d.close();
  });

  test('a buffer detached (transferred) meanwhile is left alone; the others get their copy back', async () => {
    const d = device();
    const a = new Uint8Array(32).fill(1);
    const b = new Uint8Array(48).fill(2);
    let moved = a;
    const { call: p } = await whileQueued(() => d.dmOpAsync(1, [a, b], null), () => {
      moved = new Uint8Array(structuredClone(a.buffer, { transfer: [a.buffer] }));
      moved.fill(5);
      b.fill(6);
    });
    await expect(p).resolves.toBe(-25);
    expect(a.length).toBe(0);
    expect([...new Set(moved)]).toEqual([5]); // no copy back into memory that moved
    expect([...new Set(b)]).toEqual([2]);
    d.close();
  });

  test('more than 16 buffers, or one over 4096 bytes: E2BIG (the driver\'s errno) before anything is staged or sent', async () => {
    const d = device();
    const one = () => new Uint8Array(32);
    await expect(d.dmOpAsync(1, Array.from({ length: 17 }, one), null)).resolves.toBe(-7);
    await expect(d.dmOpAsync(1, Array.from({ length: 3000 }, one), null)).resolves.toBe(-7);
    await expect(d.dmOpAsync(1, [one(), new Uint8Array(4097)], null)).resolves.toBe(-7);
    await expect(d.dmOpAsync(1, Array.from({ length: 16 }, () => new Uint8Array(4096)), null)).resolves.toBe(-25);
    // A raw descriptor in the kernel half fails access_ok first, as in the driver.
    await expect(d.dmOpAsync(1, [null, new Uint8Array(5000)], BigUint64Array.from([0xffff800000000000n, 8n, 0n, 0n]))).resolves.toBe(-14);
    await expect(d.dmOpAsync(1, [new Uint16Array(2) as unknown as Uint8Array], null)).resolves.toBe(-22);
    d.close();
  });
});

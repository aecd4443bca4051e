import { AddressSpace, KERNEL_BASE, PAGE_SIZE, TASK_SIZE_MAX, type Allocation } from '../../lib/sim/address-space';
import {
  DmBufArray, copyDmBufferFromGuest, copyDmBufferToGuest, validateDmBuffers,
} from '../../lib/sim/dm-buffers';

const P = BigInt(PAGE_SIZE);
let s: AddressSpace;
let arr: Allocation;
let data: Allocation;
let edge: Allocation;
let ro: Allocation;

beforeEach(() => {
  s = AddressSpace.create({ base: 0x10000000n, size: 64 * PAGE_SIZE });
  arr = s.alloc(16 * 20);
  data = s.alloc(2 * PAGE_SIZE);
  edge = s.alloc(64, { alignEnd: true });
  ro = s.alloc(64, { readOnly: true });
});
afterEach(() => s.close());

function put(bufs: { addr: bigint; size: number | bigint }[]): number {
  arr.view.set(DmBufArray.of(bufs).bytes);
  return bufs.length;
}
const validate = (num: number, limits = {}) => validateDmBuffers(s, arr.addr, num, limits);

describe('validateDmBuffers: Linux privcmd_ioctl_dm_op order', () => {
  test('num 0: nothing to do, even with a NULL array', () => {
    expect(validateDmBuffers(s, 0n, 0).pages).toBe(0);
  });

  test('num above dm_op_max_nr_bufs: E2BIG before the array is read', () => {
    expect(() => validateDmBuffers(s, KERNEL_BASE, 17)).toThrow(expect.objectContaining({
      code: 'E2BIG', errno: -7, syscall: 'ioctl', message: expect.stringContaining('dm_op_max_nr_bufs (16)'),
    }));
    expect(() => validateDmBuffers(s, KERNEL_BASE, 3, { maxBufs: 2 })).toThrow(expect.objectContaining({ code: 'E2BIG' }));
  });

  test('exactly dm_op_max_nr_bufs buffers are accepted', () => {
    const n = put(Array.from({ length: 16 }, () => ({ addr: data.addr, size: 8 })));
    expect(validate(n).bufs.nr).toBe(16);
  });

  test.each([
    ['kernel-range array', () => KERNEL_BASE],
    ['unmapped array', () => 0x20000n],
    ['array running into a guard page', () => edge.addr + 56n],
    ['array wrapping past 2^64', () => (1n << 64n) - 8n],
  ])('%s: EFAULT', (_what, at) => {
    expect(() => validateDmBuffers(s, at(), 1)).toThrow(expect.objectContaining({
      code: 'EFAULT', message: expect.stringContaining('descriptors'),
    }));
  });

  test('a buffer over dm_op_buf_max_size: E2BIG naming the buffer; the limit is a parameter', () => {
    put([{ addr: data.addr, size: 8 }, { addr: data.addr, size: 4097 }]);
    expect(() => validate(2)).toThrow(expect.objectContaining({ code: 'E2BIG', message: expect.stringContaining('buffer 1') }));
    expect(validate(2, { maxBufSize: 8192 }).pages).toBe(3);
  });

  test.each([
    ['kernel range', KERNEL_BASE, 8],
    ['straddling TASK_SIZE_MAX', TASK_SIZE_MAX - 4n, 8],
    ['wrapping past 2^64', (1n << 64n) - 4n, 8],
    ['non-canonical', 0x0000900000000000n, 8],
    ['zero-size in the kernel range', KERNEL_BASE + 1n, 0],
  ])('a buffer %s fails access_ok: EFAULT', (_what, addr, size) => {
    put([{ addr: data.addr, size: 8 }, { addr, size }]);
    expect(() => validate(2)).toThrow(expect.objectContaining({ code: 'EFAULT', message: expect.stringContaining('buffer 1') }));
  });

  test.each([
    ['unmapped', () => 0x20000n, 8],
    ['below mmap_min_addr', () => 0x100n, 8],
    ['running into the guard page', () => edge.addr, 65],
    ['in the guard page', () => edge.addr + 64n, 1],
    ['read-only (pinned FOLL_WRITE)', () => ro.addr, 8],
    ['zero-size, unaligned, unmapped page', () => 0x20001n, 0],
  ])('a buffer whose page is %s: EFAULT at pinning', (_what, addr, size) => {
    put([{ addr: data.addr, size: 8 }, { addr: addr(), size }]);
    expect(() => validate(2)).toThrow(expect.objectContaining({ code: 'EFAULT', message: expect.stringContaining('buffer 1') }));
  });

  test('every size and access_ok check runs before any page is pinned', () => {
    put([{ addr: 0x20000n, size: 8 }, { addr: data.addr, size: 5000 }]);
    expect(() => validate(2)).toThrow(expect.objectContaining({ code: 'E2BIG', message: expect.stringContaining('buffer 1') }));
    put([{ addr: 0x20000n, size: 8 }, { addr: KERNEL_BASE, size: 8 }]);
    expect(() => validate(2)).toThrow(expect.objectContaining({ code: 'EFAULT', message: expect.stringContaining('access_ok') }));
    put([{ addr: 0x20000n, size: 8 }, { addr: 0x30000n, size: 8 }]);
    expect(() => validate(2)).toThrow(expect.objectContaining({ message: expect.stringContaining('buffer 0') }));
  });

  test('page counts follow DIV_ROUND_UP(offset_in_page + size, PAGE_SIZE)', () => {
    put([
      { addr: data.addr, size: 4096 },       // 1
      { addr: data.addr + 1n, size: 4096 },  // 2
      { addr: data.addr + 5n, size: 0 },     // 1: unaligned zero-size pins its page
    ]);
    const r = validate(3);
    expect(r.pages).toBe(4);
    expect(r.bufs.get(1)).toEqual({ addr: data.addr + 1n, size: 4096n });
  });

  test('a zero-size buffer at a page-aligned address (or NULL) pins nothing, which lock_pages reports as EFAULT', () => {
    for (const addr of [data.addr, 0n, 0x20000n]) {
      put([{ addr: data.addr, size: 8 }, { addr, size: 0 }]);
      expect(() => validate(2)).toThrow(expect.objectContaining({ code: 'EFAULT', message: expect.stringContaining('buffer 1 cannot be pinned') }));
    }
  });

  test('a buffer ending exactly at TASK_SIZE_MAX passes access_ok', () => {
    const top = AddressSpace.create({ base: TASK_SIZE_MAX - 4n * P, size: 5 * PAGE_SIZE });
    try {
      const desc = top.alloc(16);
      const a = top.alloc(PAGE_SIZE);
      expect(a.addr + P).toBe(TASK_SIZE_MAX);
      desc.view.set(DmBufArray.of([{ addr: a.addr, size: PAGE_SIZE }]).bytes);
      expect(validateDmBuffers(top, desc.addr, 1).pages).toBe(1);
    } finally {
      top.close();
    }
  });

  test('bad arguments: EINVAL', () => {
    expect(() => validateDmBuffers(s, -1n, 1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => validateDmBuffers(s, arr.addr, 1.5)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => validateDmBuffers(s, arr.addr, 0x10000)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => validateDmBuffers(s, arr.addr, 1, { maxBufs: -1 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => validateDmBuffers(s, arr.addr, 1, { maxBufSize: 2 ** 32 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => validateDmBuffers(s, arr.addr, 1, { maxBufs: 5000 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe('copy helpers', () => {
  let bufs: DmBufArray;
  beforeEach(() => {
    for (let i = 0; i < 64; i++) data.view[i] = i + 1;
    // buffer 1 claims 80 bytes but only 64 are mapped before the guard page
    bufs = DmBufArray.of([{ addr: data.addr, size: 64 }, { addr: edge.addr, size: 80 }, { addr: ro.addr, size: 64 }]);
  });

  describe('strict (Xen >= 4.9)', () => {
    test('copies exactly len bytes at offset', () => {
      const dst = Buffer.alloc(20, 0xee);
      copyDmBufferFromGuest(s, dst, bufs, 0, { len: 16, offset: 48 });
      expect([...dst.subarray(0, 16)]).toEqual(Array.from({ length: 16 }, (_, i) => 49 + i));
      expect(dst[16]).toBe(0xee);
    });

    test.each([
      ['offset + len past the buffer', 0, 49, 16],
      ['offset + len overflowing u64', 0, (1n << 64n) - 4n, 16],
      ['a missing buffer', 3, 0, 1],
      ['a page fault part-way (guard page)', 1, 0, 80],
    ])('%s: EFAULT, destination untouched', (_what, idx, offset, len) => {
      const dst = Buffer.alloc(80, 0xee);
      expect(() => copyDmBufferFromGuest(s, dst, bufs, idx, { len, offset })).toThrow(expect.objectContaining({
        code: 'EFAULT', errno: -14, syscall: 'copy_dm_buffer_from_guest',
      }));
      expect(dst.every((x) => x === 0xee)).toBe(true);
    });

    test('zero bytes at the very end of a buffer are fine', () => {
      copyDmBufferFromGuest(s, Buffer.alloc(0), bufs, 0, { offset: 64 });
    });

    test('to guest: lands in the caller memory; read-only and short buffers are EFAULT and unchanged', () => {
      copyDmBufferToGuest(s, bufs, 0, Uint8Array.of(9, 9), { offset: 62 });
      expect([...data.view.subarray(62, 64)]).toEqual([9, 9]);
      expect(() => copyDmBufferToGuest(s, bufs, 0, Uint8Array.of(1, 2, 3), { offset: 62 })).toThrow(expect.objectContaining({ code: 'EFAULT', syscall: 'copy_dm_buffer_to_guest' }));
      expect(() => copyDmBufferToGuest(s, bufs, 2, Uint8Array.of(1))).toThrow(expect.objectContaining({ code: 'EFAULT' }));
      expect(ro.view.every((x) => x === 0)).toBe(true);
      expect(() => copyDmBufferToGuest(s, bufs, 1, new Uint8Array(80).fill(5))).toThrow(expect.objectContaining({ code: 'EFAULT' }));
      expect(edge.view.every((x) => x === 0)).toBe(true);
    });
  });

  describe('seed proposal', () => {
    test('zero-fills the destination and copies min(len, size)', () => {
      const dst = Buffer.alloc(100, 0xee);
      copyDmBufferFromGuest(s, dst, bufs, 0, { mode: 'seed' });
      expect(dst[63]).toBe(64);
      expect(dst.subarray(64).every((x) => x === 0)).toBe(true);
      const small = Buffer.alloc(8, 0xee);
      copyDmBufferFromGuest(s, small, bufs, 0, { mode: 'seed' });
      expect([...small]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });

    test('idx >= nr and a fault part-way fail with the destination zero-filled first, nothing copied', () => {
      const dst = Buffer.alloc(100, 0xee);
      expect(() => copyDmBufferFromGuest(s, dst, bufs, 3, { mode: 'seed' })).toThrow(expect.objectContaining({ code: 'EFAULT' }));
      expect(dst.every((x) => x === 0)).toBe(true);
      dst.fill(0xee);
      expect(() => copyDmBufferFromGuest(s, dst, bufs, 1, { mode: 'seed' })).toThrow(expect.objectContaining({ code: 'EFAULT' }));
      expect(dst.every((x) => x === 0)).toBe(true);
      copyDmBufferFromGuest(s, dst, bufs, 1, { mode: 'seed', len: 64 });
    });

    test('to guest copies min(buf.size, len)', () => {
      copyDmBufferToGuest(s, bufs, 0, new Uint8Array(100).fill(4), { mode: 'seed' });
      expect(data.view.subarray(0, 64).every((x) => x === 4)).toBe(true);
      expect(data.view[64]).toBe(0);
    });

    test('an offset is EINVAL: the seed helpers had none', () => {
      expect(() => copyDmBufferFromGuest(s, Buffer.alloc(4), bufs, 0, { mode: 'seed', offset: 4 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    });
  });

  test('bad arguments: EINVAL, nothing written', () => {
    const dst = Buffer.alloc(8, 0xee);
    const bad: [string, () => void][] = [
      ['len past dst', () => copyDmBufferFromGuest(s, dst, bufs, 0, { len: 9 })],
      ['negative idx', () => copyDmBufferFromGuest(s, dst, bufs, -1)],
      ['fractional len', () => copyDmBufferFromGuest(s, dst, bufs, 0, { len: 1.5 })],
      ['negative offset', () => copyDmBufferFromGuest(s, dst, bufs, 0, { offset: -1 })],
      ['unknown mode', () => copyDmBufferFromGuest(s, dst, bufs, 0, { mode: 'loose' as 'seed' })],
      ['not a Uint8Array', () => copyDmBufferFromGuest(s, [0] as unknown as Uint8Array, bufs, 0)],
      ['not a DmBufArray', () => copyDmBufferFromGuest(s, dst, { nr: 1, bytes: new Uint8Array(16) } as unknown as DmBufArray, 0)],
      ['src shorter than len', () => copyDmBufferToGuest(s, bufs, 0, new Uint8Array(2), { len: 3 })],
    ];
    for (const [what, fn] of bad) expect({ what, err: (() => { try { fn(); return null; } catch (e) { return (e as { code: string }).code; } })() }).toEqual({ what, err: 'EINVAL' });
    expect(dst.every((x) => x === 0xee)).toBe(true);
  });

  test('on a closed space: EBADF', () => {
    s.close();
    expect(() => copyDmBufferFromGuest(s, Buffer.alloc(1), bufs, 0)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});

describe('DmBufArray', () => {
  test('round-trips u64 fields and refuses bad input with EINVAL', () => {
    const a = new DmBufArray(2);
    a.set(1, (1n << 64n) - 1n, 4096);
    expect(a.get(1)).toEqual({ addr: (1n << 64n) - 1n, size: 4096n });
    expect(() => a.get(2)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => a.set(0, -1n, 0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => a.set(0, 0n, 1n << 64n)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => new DmBufArray(2, new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => new DmBufArray(-1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

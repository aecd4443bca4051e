import { AddressSpace, KERNEL_BASE, PAGE_SIZE, TASK_SIZE_MAX, MMAP_MIN_ADDR } from '../../lib/sim/address-space';

const P = BigInt(PAGE_SIZE);
const BASE = 0x10000000n;

function space(pages = 32): AddressSpace {
  return AddressSpace.create({ base: BASE, size: pages * PAGE_SIZE });
}

describe('AddressSpace.create', () => {
  test('x86-64 layout constants', () => {
    expect(PAGE_SIZE).toBe(4096);
    expect(MMAP_MIN_ADDR).toBe(0x10000n);
    expect(TASK_SIZE_MAX).toBe((1n << 47n) - P);
    expect(KERNEL_BASE).toBe(0xffff800000000000n);
  });

  test.each([
    ['unaligned base', { base: BASE + 1n, size: 8 * PAGE_SIZE }],
    ['unaligned size', { base: BASE, size: 8 * PAGE_SIZE + 1 }],
    ['base below mmap_min_addr', { base: 0x1000n, size: 8 * PAGE_SIZE }],
    ['a single page (no room past the guard page)', { base: BASE, size: PAGE_SIZE }],
    ['region past the canonical boundary', { base: TASK_SIZE_MAX, size: 2 * PAGE_SIZE }],
    ['region of guard pages only at the top', { base: TASK_SIZE_MAX - P, size: 2 * PAGE_SIZE }],
    ['kernel-range base', { base: KERNEL_BASE, size: 2 * PAGE_SIZE }],
  ])('%s: EINVAL', (_what, opts) => {
    expect(() => AddressSpace.create(opts)).toThrow(expect.objectContaining({ code: 'EINVAL', errno: -22, syscall: 'mmap' }));
  });

  test.each([
    ['a negative base', { base: -1n }],
    ['a number base', { base: 0x10000000 as unknown as bigint }],
    ['a fractional size', { size: 4096.5 }],
    ['a zero size', { size: 0 }],
  ])('%s: EINVAL naming the argument', (_what, opts) => {
    expect(() => AddressSpace.create(opts)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/base|size/) }));
  });

  test('a region may reach 2^47: data can end exactly at TASK_SIZE_MAX, whose page stays a guard', () => {
    const s = AddressSpace.create({ base: TASK_SIZE_MAX - 2n * P, size: 3 * PAGE_SIZE });
    const a = s.alloc(PAGE_SIZE);
    expect(a.addr + BigInt(a.size)).toBe(TASK_SIZE_MAX);
    expect(s.pageState(TASK_SIZE_MAX)).toBe('guard');
    expect(s.read(TASK_SIZE_MAX - 1n, 1)).toHaveLength(1);
    s.close();
  });
});

describe('allocations', () => {
  let s: AddressSpace;
  beforeEach(() => { s = space(); });
  afterEach(() => s.close());

  test('page-aligned by default, with a guard page before and after', () => {
    const a = s.alloc(100);
    expect(a.addr % P).toBe(0n);
    expect(s.pageState(a.addr - 1n)).toBe('guard');
    expect(s.pageState(a.addr)).toBe('read-write');
    expect(s.pageState(a.addr + P)).toBe('guard');
    expect(a.view.length).toBe(100);
  });

  test('alignEnd places the last byte just before the guard page', () => {
    const a = s.alloc(100, { alignEnd: true });
    expect((a.addr + 100n) % P).toBe(0n);
    expect(s.pageState(a.addr + 100n)).toBe('guard');
  });

  test('readOnly pages are read-only to the simulated process, writable through the view', () => {
    const a = s.alloc(8, { readOnly: true });
    expect(s.pageState(a.addr)).toBe('read-only');
    a.view.write('hi');
    expect(s.read(a.addr, 2).toString()).toBe('hi');
    expect(() => s.write(a.addr, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'EFAULT', syscall: 'copy_to_user' }));
  });

  test('views are zero-copy in both directions', () => {
    const a = s.alloc(16);
    a.view[3] = 0x5a;
    expect(s.read(a.addr + 3n, 1)[0]).toBe(0x5a);
    s.write(a.addr + 4n, Uint8Array.of(1, 2));
    expect([...a.view.subarray(4, 6)]).toEqual([1, 2]);
  });

  test('zero-byte allocations get distinct addresses', () => {
    const a = s.alloc(0);
    const b = s.alloc(0);
    expect(a.addr).not.toBe(b.addr);
    expect(a.view.length).toBe(0);
  });

  test('a full space is ENOMEM and changes nothing', () => {
    const before = s.liveAllocations;
    expect(() => s.alloc(32 * PAGE_SIZE)).toThrow(expect.objectContaining({ code: 'ENOMEM', errno: -12 }));
    expect(s.liveAllocations).toBe(before);
    expect(() => s.alloc(33 * PAGE_SIZE)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  test('bad sizes are EINVAL', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 60]) {
      expect(() => s.alloc(bad)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    }
  });

  test('free unmaps the pages, detaches every view and lets the space be reused', () => {
    const a = s.alloc(30 * PAGE_SIZE);
    const sub = a.view.subarray(10, 20);
    s.free(a);
    expect(a.view.length).toBe(0);
    expect(sub.length).toBe(0);
    expect(s.pageState(a.addr)).toBe('unmapped');
    expect(() => s.read(a.addr, 1)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    const b = s.alloc(30 * PAGE_SIZE);
    expect(b.view.every((x) => x === 0)).toBe(true);  // no stale bytes
  });

  test('free of an unknown, interior or already-freed address is EINVAL and frees nothing', () => {
    const a = s.alloc(64);
    expect(() => s.free(a.addr + 1n)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'munmap' }));
    expect(a.view.length).toBe(64);
    s.free(a.addr);
    expect(() => s.free(a)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => s.free('x' as unknown as bigint)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe('copy_from_user / copy_to_user', () => {
  let s: AddressSpace;
  let a: ReturnType<AddressSpace['alloc']>;
  beforeEach(() => { s = space(); a = s.alloc(64, { alignEnd: true }); });
  afterEach(() => s.close());

  test.each([
    ['into the guard page', () => a.addr + 60n, 8],
    ['kernel range', () => KERNEL_BASE, 1],
    ['kernel range, zero bytes (access_ok still fails)', () => KERNEL_BASE + 8n, 0],
    ['below mmap_min_addr', () => 0x1000n, 1],
    ['unmapped user memory', () => 0x20000n, 1],
    ['straddling TASK_SIZE_MAX', () => TASK_SIZE_MAX - 1n, 2],
    ['wrapping past 2^64', () => (1n << 64n) - 1n, 2],
  ])('%s: EFAULT', (_what, addr, len) => {
    expect(() => s.read(addr(), len)).toThrow(expect.objectContaining({ code: 'EFAULT', errno: -14, syscall: 'copy_from_user' }));
    expect(() => s.write(addr(), new Uint8Array(len))).toThrow(expect.objectContaining({ code: 'EFAULT', syscall: 'copy_to_user' }));
  });

  test('a failed write changes nothing', () => {
    a.view.fill(7);
    expect(() => s.write(a.addr + 60n, new Uint8Array(8))).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(a.view.every((x) => x === 7)).toBe(true);
  });

  test('bad arguments are EINVAL', () => {
    expect(() => s.read(1 as unknown as bigint, 1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => s.read(a.addr, -1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => s.write(a.addr, [1, 2] as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => s.pageState(-5n)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe('close', () => {
  test('detaches every view; every later use is EBADF; closing twice is harmless', () => {
    const s = space();
    const a = s.alloc(128);
    const b = s.alloc(3 * PAGE_SIZE);
    s.close();
    expect(a.view.length).toBe(0);
    expect(b.view.length).toBe(0);
    expect(s.closed).toBe(true);
    expect(() => s.alloc(1)).toThrow(expect.objectContaining({ code: 'EBADF', errno: -9 }));
    expect(() => s.read(a.addr, 1)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => s.free(a)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => s.close()).not.toThrow();
  });

  test('views stay usable while the space is open even if the allocation record is dropped', () => {
    const s = space();
    let view: Buffer | undefined = s.alloc(16).view;
    view.fill(3);
    expect(view[15]).toBe(3);
    view = undefined;
    s.close();
  });
});

// The ioreq engine against hand-built pages in plain ArrayBuffers, laid out
// as xen/hvm/ioreq.h says (offsets from lib/abi/ioreq.ts, itself checked
// against the header): Xen's side of each exchange is played by the test.
import {
  BUFFERED_IOPAGE_AT, IOREQ_AT, IOREQ_BUFFER_SLOT_NUM, IOREQ_READ, IOREQ_STATE, IOREQ_TYPE, IOREQ_WRITE,
} from '../../lib/abi/ioreq';
import { pciSbdf } from '../../lib/dmop/ops';
import { type DeviceErrorEvent, type GuestMemory, IoreqEngine, MAX_REPS } from '../../lib/ioreq/engine';
import { type IoDevice } from '../../lib/ioreq/claims';

interface Req {
  addr: bigint; data?: bigint; count?: number; size: number; type: number; dir: number;
  df?: boolean; ptr?: boolean; state?: number; eport?: number;
}

function putReq(page: Uint8Array, vcpu: number, r: Req): void {
  const dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const b = vcpu * 32;
  dv.setBigUint64(b + IOREQ_AT.addr, r.addr, true);
  dv.setBigUint64(b + IOREQ_AT.data, r.data ?? 0n, true);
  dv.setUint32(b + IOREQ_AT.count, r.count ?? 1, true);
  dv.setUint32(b + IOREQ_AT.size, r.size, true);
  dv.setUint32(b + IOREQ_AT.vpEport, r.eport ?? 7, true);
  dv.setUint8(b + IOREQ_AT.type, r.type);
  const flags = (r.state ?? IOREQ_STATE.IOREQ_READY) | (r.ptr ? 0x10 : 0) | (r.dir << 5) | (r.df ? 0x40 : 0);
  dv.setUint8(b + IOREQ_AT.flags, flags);
}

const slot = (page: Uint8Array, vcpu = 0) => {
  const dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const f = dv.getUint8(vcpu * 32 + IOREQ_AT.flags);
  return { state: f & 0xf, upper: f & 0xf0, data: dv.getBigUint64(vcpu * 32 + IOREQ_AT.data, true) };
};

type Op = [string, number, number, (number | bigint)?];

/** A device that records every access and reads back `value(offset, size)`. */
function recorder(value: (offset: number, size: number) => unknown = (o) => o + 0x40): IoDevice & { ops: Op[] } {
  const ops: Op[] = [];
  return {
    ops,
    read(offset, size) { ops.push(['r', offset, size]); return value(offset, size) as number; },
    write(offset, size, v) { ops.push(['w', offset, size, v]); },
  };
}

/** Guest memory as a flat byte array from gpa 0. */
function memory(bytes = 0x10000): GuestMemory & { ram: Uint8Array } {
  const ram = new Uint8Array(bytes);
  return {
    ram,
    read(gpa, dst) { dst.set(ram.subarray(Number(gpa), Number(gpa) + dst.length)); },
    write(gpa, src) { ram.set(src, Number(gpa)); },
  };
}

const code = (f: () => unknown): string => {
  try { f(); } catch (e) { return (e as { code?: string }).code ?? `uncoded ${String(e)}`; }
  return 'no error';
};

function engine(opts: { vcpus?: number; mem?: GuestMemory; buffered?: boolean } = {}) {
  const page = new Uint8Array(4096);
  const buf = opts.buffered ? new Uint8Array(4096) : undefined;
  const e = new IoreqEngine({ ioreqPage: page, bufioreqPage: buf, vcpus: opts.vcpus ?? 1, guestMemory: opts.mem });
  const errors: DeviceErrorEvent[] = [];
  e.on('deviceError', (ev: DeviceErrorEvent) => errors.push(ev));
  return { e, page, buf, errors };
}

describe('synchronous requests', () => {
  test('a PIO write reaches the claim at its offset; the state goes to IORESP_READY, other bits kept', () => {
    const { e, page, errors } = engine();
    const uart = recorder();
    e.claimPorts(0x3f8, 0x3ff, uart);
    putReq(page, 0, { addr: 0x3f8n, data: 0x41n, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_WRITE, df: true });
    expect(e.serveVcpu(0)).toBe(true);
    expect(uart.ops).toEqual([['w', 0, 1, 0x41]]);
    expect(slot(page)).toEqual({ state: IOREQ_STATE.IORESP_READY, upper: 0x40, data: 0x41n });
    expect(errors).toEqual([]);
    expect(e.stats.served).toBe(1);
  });

  test.each([1, 2, 4] as const)('a %i-byte PIO read answers the device value in data', (size) => {
    const { e, page } = engine();
    const dev = recorder(() => (size === 4 ? 0xfedcba98 : size === 2 ? 0xbeef : 0x60));
    e.claimPorts(0x3f8, 0x3ff, dev);
    putReq(page, 0, { addr: 0x3fdn, data: 0xffff_ffff_ffff_ffffn, size, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
    expect(e.serveVcpu(0)).toBe(true);
    expect(dev.ops).toEqual([['r', 5, size]]);
    expect(slot(page).data).toBe(BigInt(size === 4 ? 0xfedcba98 : size === 2 ? 0xbeef : 0x60));
    expect(slot(page).upper).toBe(IOREQ_READ << 5);
  });

  test('a write passes only the low `size` bytes of data', () => {
    const { e, page } = engine();
    const dev = recorder();
    e.claimPorts(0x10, 0x1f, dev);
    putReq(page, 0, { addr: 0x12n, data: 0x1234_5678_9abcn, size: 2, type: IOREQ_TYPE.PIO, dir: IOREQ_WRITE });
    e.serveVcpu(0);
    expect(dev.ops).toEqual([['w', 2, 2, 0x9abc]]);
  });

  test.each([IOREQ_STATE.NONE, IOREQ_STATE.IOREQ_INPROCESS, IOREQ_STATE.IORESP_READY])('a slot in state %i is left alone', (state) => {
    const { e, page } = engine();
    const dev = recorder();
    e.claimPorts(0, 0xffff, dev);
    putReq(page, 0, { addr: 1n, data: 5n, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_READ, state });
    const before = page.slice();
    expect(e.serveVcpu(0)).toBe(false);
    expect(page).toEqual(before);
    expect(dev.ops).toEqual([]);
    expect(e.stats.served).toBe(0);
  });

  test('unclaimed: reads are all-ones of their size, writes are dropped', () => {
    const { e, page, errors } = engine();
    putReq(page, 0, { addr: 0x80n, size: 2, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
    e.serveVcpu(0);
    expect(slot(page).data).toBe(0xffffn);
    putReq(page, 0, { addr: 0xfee00000n, size: 8, type: IOREQ_TYPE.COPY, dir: IOREQ_READ });
    e.serveVcpu(0);
    expect(slot(page).data).toBe(0xffff_ffff_ffff_ffffn);
    putReq(page, 0, { addr: 0x80n, data: 3n, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_WRITE });
    expect(e.serveVcpu(0)).toBe(true);
    expect(e.stats.unclaimed).toBe(3);
    expect(errors).toEqual([]);
  });

  test('each vCPU has its own slot, 32 bytes apart, in a view that need not start its buffer', () => {
    const backing = new ArrayBuffer(8192);
    const page = new Uint8Array(backing, 4096, 4096);
    const e = new IoreqEngine({ ioreqPage: page, vcpus: 4 });
    const dev = recorder((o) => o);
    e.claimPorts(0x100, 0x1ff, dev);
    putReq(page, 2, { addr: 0x123n, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
    expect(e.serveVcpu(0)).toBe(false);
    expect(e.serveVcpu(2)).toBe(true);
    expect(slot(page, 2).data).toBe(0x23n);
    expect(new Uint8Array(backing, 0, 4096).every((b) => b === 0)).toBe(true);
    expect(code(() => e.serveVcpu(4))).toBe('EINVAL');
    for (const bad of [-1, 1.5, '0', undefined, Number.NaN]) expect(code(() => e.serveVcpu(bad as number))).toBe('EINVAL');
  });
});

describe('MMIO (IOREQ_TYPE_COPY) and repetitions', () => {
  test('an 8-byte MMIO read and write carry bigints', () => {
    const { e, page } = engine();
    const dev = recorder(() => 0x0123_4567_89ab_cdefn);
    e.claimMmio(0xfed00000n, 0xfed00fffn, dev);
    putReq(page, 0, { addr: 0xfed00010n, size: 8, type: IOREQ_TYPE.COPY, dir: IOREQ_READ });
    e.serveVcpu(0);
    expect(slot(page).data).toBe(0x0123_4567_89ab_cdefn);
    putReq(page, 0, { addr: 0xfed00018n, data: 0xffff_0000_ffff_0000n, size: 8, type: IOREQ_TYPE.COPY, dir: IOREQ_WRITE });
    e.serveVcpu(0);
    expect(dev.ops).toEqual([['r', 0x10, 8], ['w', 0x18, 8, 0xffff_0000_ffff_0000n]]);
  });

  test('count > 1 without a pointer walks the MMIO addresses, upwards or (df) downwards', () => {
    const { e, page } = engine();
    const dev = recorder();
    e.claimMmio(0x1000, 0x1fff, dev);
    putReq(page, 0, { addr: 0x1100n, data: 0xabn, count: 3, size: 4, type: IOREQ_TYPE.COPY, dir: IOREQ_WRITE });
    e.serveVcpu(0);
    putReq(page, 0, { addr: 0x1100n, data: 0xcdn, count: 3, size: 2, type: IOREQ_TYPE.COPY, dir: IOREQ_WRITE, df: true });
    e.serveVcpu(0);
    expect(dev.ops).toEqual([
      ['w', 0x100, 4, 0xab], ['w', 0x104, 4, 0xab], ['w', 0x108, 4, 0xab],
      ['w', 0x100, 2, 0xcd], ['w', 0x0fe, 2, 0xcd], ['w', 0x0fc, 2, 0xcd],
    ]);
  });

  test('data_is_ptr MMIO reads copy device values into guest memory item by item', () => {
    const mem = memory();
    const { e, page } = engine({ mem });
    const dev = recorder((o) => 0x1000 + o);
    e.claimMmio(0xa0000, 0xbffff, dev);
    putReq(page, 0, { addr: 0xa0010n, data: 0x2000n, count: 3, size: 2, type: IOREQ_TYPE.COPY, dir: IOREQ_READ, ptr: true });
    e.serveVcpu(0);
    expect([...mem.ram.subarray(0x2000, 0x2006)]).toEqual([0x10, 0x10, 0x12, 0x10, 0x14, 0x10]);
    expect(slot(page).data).toBe(0x2000n); // the pointer stays; Xen reads the values from guest memory
  });

  test('data_is_ptr MMIO writes, downwards with df, read guest memory and write the device', () => {
    const mem = memory();
    mem.ram.set([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0], 0x3000);
    const { e, page } = engine({ mem });
    const dev = recorder();
    e.claimMmio(0xa0000, 0xbffff, dev);
    putReq(page, 0, { addr: 0xa0100n, data: 0x3008n, count: 3, size: 4, type: IOREQ_TYPE.COPY, dir: IOREQ_WRITE, ptr: true, df: true });
    e.serveVcpu(0);
    expect(dev.ops).toEqual([['w', 0x100, 4, 3], ['w', 0xfc, 4, 2], ['w', 0xf8, 4, 1]]);
  });

  test('rep ins (PIO read, data_is_ptr) fills guest memory from one port; rep outs reads it', () => {
    const mem = memory();
    const { e, page } = engine({ mem });
    let n = 0;
    const dev = recorder(() => ++n);
    e.claimPorts(0x60, 0x64, dev);
    putReq(page, 0, { addr: 0x60n, data: 0x4000n, count: 4, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_READ, ptr: true });
    e.serveVcpu(0);
    expect([...mem.ram.subarray(0x4000, 0x4004)]).toEqual([1, 2, 3, 4]);
    putReq(page, 0, { addr: 0x64n, data: 0x4003n, count: 2, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_WRITE, ptr: true, df: true });
    e.serveVcpu(0);
    expect(dev.ops.slice(4)).toEqual([['w', 4, 1, 4], ['w', 4, 1, 3]]);
  });

  test('a pointer walk wraps modulo 2^64 like Xen\'s addresses', () => {
    const seen: bigint[] = [];
    const mem: GuestMemory = { read: (gpa, dst) => { seen.push(gpa); dst.fill(0); }, write: () => undefined };
    const { e, page } = engine({ mem });
    e.claimPorts(0x60, 0x60, recorder());
    putReq(page, 0, { addr: 0x60n, data: 2n, count: 2, size: 4, type: IOREQ_TYPE.PIO, dir: IOREQ_WRITE, ptr: true, df: true });
    e.serveVcpu(0);
    expect(seen).toEqual([2n, 0xffff_ffff_ffff_fffen]);
  });

  test('PIO without a pointer makes one access whatever count says (QEMU cpu_ioreq_pio)', () => {
    const { e, page } = engine();
    const dev = recorder();
    e.claimPorts(0x60, 0x60, dev);
    putReq(page, 0, { addr: 0x60n, data: 9n, count: 5, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_WRITE });
    e.serveVcpu(0);
    expect(dev.ops).toEqual([['w', 0, 1, 9]]);
  });
});

describe('PCI config', () => {
  test('the SBDF in the high half picks the claim; the register offset reaches the device', () => {
    const { e, page } = engine();
    const dev = recorder(() => 0x12345678);
    const sbdf = pciSbdf(0, 0, 3, 0);
    e.claimPci(sbdf, dev);
    putReq(page, 0, { addr: (BigInt(sbdf) << 32n) | 0x10n, size: 4, type: IOREQ_TYPE.PCI_CONFIG, dir: IOREQ_READ });
    e.serveVcpu(0);
    expect(slot(page).data).toBe(0x12345678n);
    putReq(page, 0, { addr: (BigInt(pciSbdf(0, 0, 4, 0)) << 32n) | 0x10n, size: 4, type: IOREQ_TYPE.PCI_CONFIG, dir: IOREQ_READ });
    e.serveVcpu(0);
    expect(slot(page).data).toBe(0xffffffffn);
    expect(dev.ops).toEqual([['r', 0x10, 4]]);
  });
});

describe('a failing device never wedges the guest', () => {
  test('a throwing read is answered all-ones, reported once, and the next request is served', () => {
    const { e, page, errors } = engine();
    const boom = new Error('boom');
    e.claimPorts(0x70, 0x71, { read: () => { throw boom; }, write: () => { throw boom; } });
    e.claimPorts(0x72, 0x72, recorder(() => 7));
    putReq(page, 0, { addr: 0x70n, size: 2, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
    expect(e.serveVcpu(0)).toBe(true);
    expect(slot(page)).toMatchObject({ state: IOREQ_STATE.IORESP_READY, data: 0xffffn });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ error: boom, from: 0, access: { addr: 0x70n, size: 2, dir: IOREQ_READ, type: IOREQ_TYPE.PIO } });
    putReq(page, 0, { addr: 0x71n, data: 1n, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_WRITE });
    expect(e.serveVcpu(0)).toBe(true);
    expect(slot(page).state).toBe(IOREQ_STATE.IORESP_READY);
    putReq(page, 0, { addr: 0x72n, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
    e.serveVcpu(0);
    expect(slot(page).data).toBe(7n);
    expect(errors).toHaveLength(2);
    expect(e.stats).toMatchObject({ served: 3, errors: 2 });
  });

  test.each([
    ['too wide', 1, 0x100], ['negative', 1, -1], ['fractional', 2, 1.5], ['a string', 1, '1'], ['undefined', 4, undefined],
    ['a bigint too wide', 4, 1n << 32n], ['a negative bigint', 8, -1n], ['an object', 1, {}],
  ])('a read returning %s is answered all-ones with an ERANGE event', (_n, size, value) => {
    const { e, page, errors } = engine();
    e.claimMmio(0x1000, 0x1fff, recorder(() => value));
    putReq(page, 0, { addr: 0x1000n, size, type: IOREQ_TYPE.COPY, dir: IOREQ_READ });
    expect(e.serveVcpu(0)).toBe(true);
    expect(slot(page).data).toBe((1n << BigInt(8 * size)) - 1n);
    expect(errors.map((x) => (x.error as { code: string }).code)).toEqual(['ERANGE']);
  });

  // Port accesses of 1, 2 and 4 bytes take the engine's BigInt-free path: the same answers and events.
  test.each([
    ['too wide', 1, 0x100], ['negative', 2, -1], ['fractional', 2, 1.5], ['a string', 1, '1'], ['undefined', 4, undefined],
    ['a bigint too wide', 4, 1n << 32n], ['a negative bigint', 2, -1n], ['an object', 1, {}],
  ])('a port read returning %s is answered all-ones with an ERANGE event', (_n, size, value) => {
    const { e, page, errors } = engine();
    e.claimPorts(0x60, 0x6f, recorder(() => value));
    putReq(page, 0, { addr: 0x64n, data: 0x1234_5678_9abc_def0n, size, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
    expect(e.serveVcpu(0)).toBe(true);
    expect(slot(page)).toMatchObject({ state: IOREQ_STATE.IORESP_READY, data: (1n << BigInt(8 * size)) - 1n });
    expect(errors.map((x) => (x.error as { code: string }).code)).toEqual(['ERANGE']);
    expect(errors[0]?.access).toMatchObject({ addr: 0x64n, size, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
  });

  test('a port read may answer a bigint that fits; the whole data field is rewritten', () => {
    const { e, page, errors } = engine();
    e.claimPorts(0x60, 0x6f, recorder(() => 0xbeefn));
    putReq(page, 0, { addr: 0x61n, data: 0xffff_ffff_ffff_ffffn, size: 2, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
    e.serveVcpu(0);
    expect(slot(page).data).toBe(0xbeefn);
    expect(errors).toEqual([]);
  });

  test('a port address with high bits set is no port: unclaimed, all-ones; a released port claim is not dispatched', () => {
    const { e, page } = engine();
    const dev = recorder(() => 1);
    const c = e.claimPorts(0x60, 0x6f, dev);
    e.claimPorts(0x70, 0x7f, recorder(() => 2));
    putReq(page, 0, { addr: (1n << 32n) | 0x60n, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
    e.serveVcpu(0);
    expect(slot(page).data).toBe(0xffn);
    e.release(c);
    putReq(page, 0, { addr: 0x60n, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
    e.serveVcpu(0);
    expect(slot(page).data).toBe(0xffn);
    putReq(page, 0, { addr: 0x70n, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
    e.serveVcpu(0);
    expect(slot(page).data).toBe(2n);
    expect(dev.ops).toEqual([]);
    expect(e.stats).toMatchObject({ served: 3, unclaimed: 2 });
  });

  test('a port read whose deviceError listener throws: answered all-ones (8 bytes), then the throw', () => {
    const page = new Uint8Array(4096);
    const e = new IoreqEngine({ ioreqPage: page, vcpus: 1 });
    const listener = new Error('listener');
    e.on('deviceError', () => { throw listener; });
    e.claimPorts(0x60, 0x60, { read: () => { throw new Error('boom'); }, write: () => undefined });
    putReq(page, 0, { addr: 0x60n, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
    expect(() => e.serveVcpu(0)).toThrow(listener);
    expect(slot(page)).toMatchObject({ state: IOREQ_STATE.IORESP_READY, data: 0xffff_ffff_ffff_ffffn });
  });

  test('a number up to 2^53 is a fine 8-byte answer', () => {
    const { e, page, errors } = engine();
    e.claimMmio(0x1000, 0x1fff, recorder(() => 2 ** 40));
    putReq(page, 0, { addr: 0x1000n, size: 8, type: IOREQ_TYPE.COPY, dir: IOREQ_READ });
    e.serveVcpu(0);
    expect(slot(page).data).toBe(1n << 40n);
    expect(errors).toEqual([]);
  });

  test.each([
    ['a 3-byte access', { size: 3, type: IOREQ_TYPE.PIO }],
    ['an 8-byte port access', { size: 8, type: IOREQ_TYPE.PIO }],
    ['an 8-byte PCI config access', { size: 8, type: IOREQ_TYPE.PCI_CONFIG }],
    ['an unknown type', { size: 4, type: 5 }],
    ['a size of 0', { size: 0, type: IOREQ_TYPE.COPY }],
  ])('%s is answered (all-ones) and reported as EINVAL', (_n, r) => {
    const { e, page, errors } = engine();
    const dev = recorder();
    e.claimPorts(0, 0xffff, dev);
    e.claimMmio(0, 0xffff, dev);
    putReq(page, 0, { addr: 0x10n, dir: IOREQ_READ, ...r });
    expect(e.serveVcpu(0)).toBe(true);
    expect(slot(page).state).toBe(IOREQ_STATE.IORESP_READY);
    expect(slot(page).data).toBe(r.size === 1 || r.size === 2 || r.size === 4 ? (1n << BigInt(8 * r.size)) - 1n : 0xffff_ffff_ffff_ffffn);
    expect(dev.ops).toEqual([]);
    expect(errors.map((x) => (x.error as { code: string }).code)).toEqual(['EINVAL']);
  });

  test(`more than ${MAX_REPS} repetitions are refused, not looped on`, () => {
    const mem = memory();
    const { e, page, errors } = engine({ mem });
    const dev = recorder();
    e.claimMmio(0, 0xffff, dev);
    putReq(page, 0, { addr: 0n, data: 0n, count: MAX_REPS + 1, size: 1, type: IOREQ_TYPE.COPY, dir: IOREQ_WRITE, ptr: true });
    expect(e.serveVcpu(0)).toBe(true);
    expect(dev.ops).toEqual([]);
    expect(errors.map((x) => (x.error as { code: string }).code)).toEqual(['EINVAL']);
    putReq(page, 0, { addr: 0n, data: 0n, count: MAX_REPS, size: 1, type: IOREQ_TYPE.COPY, dir: IOREQ_WRITE, ptr: true });
    e.serveVcpu(0);
    expect(dev.ops).toHaveLength(MAX_REPS);
  });

  test('data_is_ptr without guest memory is answered and reported as EOPNOTSUPP', () => {
    const { e, page, errors } = engine();
    const dev = recorder();
    e.claimPorts(0x60, 0x60, dev);
    putReq(page, 0, { addr: 0x60n, data: 0x1000n, count: 2, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_READ, ptr: true });
    expect(e.serveVcpu(0)).toBe(true);
    expect(slot(page).data).toBe(0x1000n);
    expect(dev.ops).toEqual([]);
    expect(errors.map((x) => (x.error as { code: string }).code)).toEqual(['EOPNOTSUPP']);
  });

  test('a guest-memory failure is reported; the items that worked still happen', () => {
    const boom = new Error('unmapped');
    const mem: GuestMemory = {
      read: (gpa, dst) => { if (gpa === 0x11n) throw boom; dst.fill(Number(gpa)); },
      write: () => { throw boom; },
    };
    const { e, page, errors } = engine({ mem });
    const dev = recorder();
    e.claimPorts(0x60, 0x60, dev);
    putReq(page, 0, { addr: 0x60n, data: 0x10n, count: 3, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_WRITE, ptr: true });
    e.serveVcpu(0);
    expect(dev.ops).toEqual([['w', 0, 1, 0x10], ['w', 0, 1, 0x12]]);
    putReq(page, 0, { addr: 0x60n, data: 0x10n, count: 2, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_READ, ptr: true });
    expect(e.serveVcpu(0)).toBe(true);
    expect(errors.map((x) => x.error)).toEqual([boom, boom]);
  });
});

describe('claims', () => {
  test('overlaps are EEXIST, bad bounds and devices EINVAL; release stops dispatch', () => {
    const { e, page } = engine();
    const dev = recorder();
    const c = e.claimPorts(0x3f8, 0x3ff, dev);
    expect(code(() => e.claimPorts(0x3ff, 0x400, dev))).toBe('EEXIST');
    expect(code(() => e.claimPorts(0x3f0, 0x3f8, dev))).toBe('EEXIST');
    expect(e.claimMmio(0x3f8, 0x3ff, dev).kind).toBe('mmio'); // another kind, another space
    for (const [s, en] of [[0x10, 0x0f], [-1, 2], [0, 0x10000], [1.5, 2], ['1', 2], [undefined, 1], [0, 2n ** 64n]]) {
      expect({ s: String(s), en: String(en), c: code(() => e.claimPorts(s as number, en as number, dev)) }).toEqual({ s: String(s), en: String(en), c: 'EINVAL' });
    }
    expect(code(() => e.claimMmio(0n, 1n << 60n, dev))).toBe('EINVAL'); // offsets must stay safe integers
    expect(code(() => e.claimMmio(0n, (1n << 64n), dev))).toBe('EINVAL');
    expect(code(() => e.claimPci(-1, dev))).toBe('EINVAL');
    expect(code(() => e.claimPci(2 ** 32, dev))).toBe('EINVAL');
    for (const bad of [null, {}, { read() { return 0; } }, 'dev']) expect(code(() => e.claimPorts(0x500, 0x500, bad as unknown as IoDevice))).toBe('EINVAL');
    expect(e.claimed()).toHaveLength(2);
    expect(e.release(c)).toBe(true);
    expect(e.release(c)).toBe(false);
    putReq(page, 0, { addr: 0x3f8n, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
    e.serveVcpu(0);
    expect(slot(page).data).toBe(0xffn);
    expect(dev.ops).toEqual([]);
    expect(e.claimPorts(0x3f8, 0x3ff, dev).start).toBe(0x3f8n);
  });

  test('bad engine options are EINVAL', () => {
    const page = new Uint8Array(4096);
    const bad: unknown[] = [
      null, 'x', { ioreqPage: page, vcpus: 0 }, { ioreqPage: page, vcpus: 129 }, { ioreqPage: page, vcpus: 1.5 },
      { ioreqPage: new Uint8Array(63), vcpus: 2 }, { ioreqPage: new Uint16Array(2048), vcpus: 1 }, { ioreqPage: page.buffer, vcpus: 1 },
      { ioreqPage: page, vcpus: 1, bufioreqPage: new Uint8Array(100) }, { ioreqPage: page, vcpus: 1, guestMemory: { read() { /* */ } } },
    ];
    for (const o of bad) expect(code(() => new IoreqEngine(o as never))).toBe('EINVAL');
    expect(code(() => new IoreqEngine({ ioreqPage: page, vcpus: 1 }).drainBuffered())).toBe('EINVAL');
  });
});

describe('the buffered ring', () => {
  const entry = (type: number, dir: number, log2: number, addr: number) => (type | (dir << 9) | (log2 << 10) | (addr << 12)) >>> 0;

  function ring(buf: Uint8Array) {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    return {
      put(ptr: number, word: number, data: number) {
        const at = BUFFERED_IOPAGE_AT.slots + (ptr % IOREQ_BUFFER_SLOT_NUM) * 8;
        dv.setUint32(at, word, true);
        dv.setUint32(at + 4, data, true);
      },
      set(rd: number, wr: number) {
        dv.setUint32(BUFFERED_IOPAGE_AT.readPointer, rd, true);
        dv.setUint32(BUFFERED_IOPAGE_AT.writePointer, wr, true);
      },
      get rd() { return dv.getUint32(BUFFERED_IOPAGE_AT.readPointer, true); },
    };
  }

  test('writes of 1, 2 and 4 bytes, and an 8-byte write across two slots that wraps the ring', () => {
    const { e, buf, errors } = engine({ buffered: true });
    const vga = recorder();
    const port = recorder();
    e.claimMmio(0xa0000, 0xbffff, vga);
    e.claimPorts(0x3c0, 0x3df, port);
    const r = ring(buf as Uint8Array);
    const start = IOREQ_BUFFER_SLOT_NUM - 2; // slots 509, 510, then 0, 1, 2
    r.put(start, entry(IOREQ_TYPE.COPY, IOREQ_WRITE, 0, 0xa0001), 0xaa);
    r.put(start + 1, entry(IOREQ_TYPE.COPY, IOREQ_WRITE, 3, 0xa0008), 0x44332211);
    r.put(start + 2, 0, 0x88776655); // the second half
    r.put(start + 3, entry(IOREQ_TYPE.PIO, IOREQ_WRITE, 1, 0x3c4), 0x0f02);
    r.put(start + 4, entry(IOREQ_TYPE.COPY, IOREQ_WRITE, 2, 0xb8000), 0x07410741);
    r.set(start, start + 5);
    expect(e.drainBuffered()).toBe(4);
    expect(vga.ops).toEqual([['w', 1, 1, 0xaa], ['w', 8, 8, 0x88776655_44332211n], ['w', 0x18000, 4, 0x07410741]]);
    expect(port.ops).toEqual([['w', 4, 2, 0x0f02]]);
    expect(r.rd).toBe(start + 5);
    expect(e.drainBuffered()).toBe(0);
    expect(errors).toEqual([]);
    expect(e.stats.buffered).toBe(4);
  });

  test('free-running pointers past 2^32 - 1 keep working (read_pointer wraps with them)', () => {
    const { e, buf } = engine({ buffered: true });
    const dev = recorder();
    e.claimPorts(0x80, 0x80, dev);
    const r = ring(buf as Uint8Array);
    r.put(0xffffffff, entry(IOREQ_TYPE.PIO, IOREQ_WRITE, 0, 0x80), 1);
    r.put(0, entry(IOREQ_TYPE.PIO, IOREQ_WRITE, 0, 0x80), 2); // pointer 2^32 wraps to 0
    r.set(0xffffffff, 1);
    expect(e.drainBuffered()).toBe(2);
    expect(r.rd).toBe(1);
    expect(dev.ops.map((o) => o[3])).toEqual([1, 2]);
  });

  test('TIMEOFFSET and INVALIDATE become events', () => {
    const { e, buf, page } = engine({ buffered: true });
    const offsets: bigint[] = [];
    let invalidations = 0;
    e.on('timeoffset', (v: bigint) => offsets.push(v));
    e.on('invalidate', () => { invalidations++; });
    const r = ring(buf as Uint8Array);
    r.put(0, entry(IOREQ_TYPE.TIMEOFFSET, IOREQ_WRITE, 3, 0), 0xfffffffe);
    r.put(1, 0, 0xffffffff);
    r.set(0, 2);
    expect(e.drainBuffered()).toBe(1);
    expect(offsets).toEqual([-2n]);
    putReq(page, 0, { addr: 0n, size: 4, type: IOREQ_TYPE.INVALIDATE, dir: IOREQ_WRITE });
    expect(e.serveVcpu(0)).toBe(true);
    expect(invalidations).toBe(1);
  });

  test('a ring claiming more entries than slots, or half an 8-byte write, is reported and left alone', () => {
    const { e, buf, errors } = engine({ buffered: true });
    const dev = recorder();
    e.claimPorts(0, 0xffff, dev);
    const r = ring(buf as Uint8Array);
    r.set(5, 5 + IOREQ_BUFFER_SLOT_NUM + 1);
    expect(e.drainBuffered()).toBe(0);
    expect(r.rd).toBe(5);
    r.put(7, entry(IOREQ_TYPE.PIO, IOREQ_WRITE, 3, 0x10), 1);
    r.set(7, 8);
    expect(e.drainBuffered()).toBe(0);
    expect(r.rd).toBe(7);
    expect(dev.ops).toEqual([]);
    expect(errors.map((x) => [(x.error as { code: string }).code, x.from])).toEqual([['EIO', 'buffered'], ['EIO', 'buffered']]);
  });

  test('a throwing device on the ring is reported and the ring still drains', () => {
    const { e, buf, errors } = engine({ buffered: true });
    e.claimPorts(0x80, 0x80, { read: () => 0, write: () => { throw new Error('no'); } });
    const r = ring(buf as Uint8Array);
    r.put(0, entry(IOREQ_TYPE.PIO, IOREQ_WRITE, 0, 0x80), 1);
    r.put(1, entry(IOREQ_TYPE.PIO, IOREQ_WRITE, 0, 0x80), 2);
    r.set(0, 2);
    expect(e.drainBuffered()).toBe(2);
    expect(r.rd).toBe(2);
    expect(errors).toHaveLength(2);
  });
});

describe('a deviceError listener that throws', () => {
  test('the throw reaches the caller, but only after the request was answered and the ring advanced', () => {
    const page = new Uint8Array(4096);
    const buf = new Uint8Array(4096);
    const e = new IoreqEngine({ ioreqPage: page, bufioreqPage: buf, vcpus: 1 });
    const oops = new Error('listener');
    e.on('deviceError', () => { throw oops; });
    e.claimPorts(0x70, 0x70, { read: () => { throw new Error('device'); }, write: () => { throw new Error('device'); } });
    putReq(page, 0, { addr: 0x70n, data: 5n, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_READ });
    expect(() => e.serveVcpu(0)).toThrow(oops);
    expect(slot(page)).toEqual({ state: IOREQ_STATE.IORESP_READY, upper: IOREQ_READ << 5, data: 0xffff_ffff_ffff_ffffn });
    putReq(page, 0, { addr: 0x70n, data: 5n, size: 1, type: IOREQ_TYPE.PIO, dir: IOREQ_WRITE });
    expect(() => e.serveVcpu(0)).toThrow(oops);
    expect(slot(page)).toEqual({ state: IOREQ_STATE.IORESP_READY, upper: 0, data: 5n });
    const dv = new DataView(buf.buffer);
    dv.setUint32(BUFFERED_IOPAGE_AT.slots, (IOREQ_TYPE.PIO | (0x70 << 12)) >>> 0, true);
    dv.setUint32(BUFFERED_IOPAGE_AT.writePointer, 1, true);
    expect(() => e.drainBuffered()).toThrow(oops);
    expect(dv.getUint32(BUFFERED_IOPAGE_AT.readPointer, true)).toBe(1);
    expect(e.stats).toMatchObject({ served: 2, buffered: 1, errors: 3 });
  });
});

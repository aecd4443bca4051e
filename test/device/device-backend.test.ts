// The device backend on a machine without Xen: what open() says, and the raw
// device binding's refusals. The backend's success paths run on a real Xen in
// the real-host harness (scripts/real-host), with the contract suite.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { open } from '../../lib/privcmd';
import { native } from '../../lib/native';

const code = (fn: () => unknown): string => {
  try { fn(); return 'ok'; } catch (e) { return (e as { code?: string }).code ?? String(e); }
};
const hasXen = fs.existsSync('/dev/xen/privcmd');

(hasXen ? describe.skip : describe)('open() on a machine without Xen [skipped where /dev/xen/privcmd exists]', () => {
  test('says it is not a Xen dom0 and how to use the simulated host', () => {
    expect(() => open()).toThrow(expect.objectContaining({
      code: 'ENOENT', errno: -2, syscall: 'open', message: expect.stringContaining('createSimulatedHost'),
    }));
  });
});

describe('device backend refusals', () => {
  test('a missing device path is ENOENT', () => {
    expect(code(() => open({ device: '/nonexistent/privcmd' }))).toBe('ENOENT');
  });

  test('a file that is not privcmd fails the DM_OP probe with ENOTTY, and nothing stays open', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'privcmd-dev-')), 'not-privcmd');
    fs.writeFileSync(f, '');
    expect(code(() => open({ device: f }))).toBe('ENOTTY');
    expect(code(() => open({ device: '/dev/null' }))).toBe('ENOTTY');
  });

  test('domain is only for simulated hosts', () => {
    expect(code(() => open({ domain: 1 }))).toBe('EINVAL');
  });
});

describe('raw device binding', () => {
  test('bound methods answer -errno; after close -EBADF; bad arguments -EINVAL', async () => {
    const d = native.deviceOpen('/dev/null');
    if (typeof d === 'number') throw new Error(`open /dev/null: ${d}`);
    expect(d.dmOp(1, [], null)).toBe(-25); // ENOTTY from the real ioctl
    expect(d.restrict(1)).toBe(-25);
    expect(d.hypercall(17, new BigUint64Array(5))).toBe(-25);
    await expect(d.dmOpAsync(1, [new Uint8Array(8)], null)).resolves.toBe(-25);
    await expect(d.hypercallAsync(17, new BigUint64Array(5))).resolves.toBe(-25);
    expect(d.dmOp(70000, [], null)).toBe(-22);
    expect(d.dmOp(1, [new Uint16Array(2) as unknown as Uint8Array], null)).toBe(-22);
    expect(d.dmOp(1, [null], null)).toBe(-22); // null needs a raw descriptor
    expect(d.hypercall(17, new BigUint64Array(4))).toBe(-22);
    expect(d.hypercall(-1, new BigUint64Array(5))).toBe(-22);
    expect(d.restrict(1.5)).toBe(-22);
    expect(d.close()).toBe(0);
    expect(d.close()).toBe(-9);
    expect(d.dmOp(1, [], null)).toBe(-9);
    await expect(d.dmOpAsync(1, [], null)).resolves.toBe(-9);
  });

  test('dmOp takes one Uint8Array alone as one buffer', () => {
    const d = native.deviceOpen('/dev/null');
    if (typeof d === 'number') throw new Error('open');
    expect(d.dmOp(1, new Uint8Array(32), null)).toBe(-25);
    expect(d.dmOp(1, new Uint8Array(0), null)).toBe(-25);
    expect(d.dmOp(1, new Uint16Array(2) as unknown as Uint8Array, null)).toBe(-22);
    d.close();
    expect(d.dmOp(1, new Uint8Array(32), null)).toBe(-9);
  });

  test('a buffer list whose index getter closes the device or detaches a buffer is refused or sent safely', () => {
    const d = native.deviceOpen('/dev/null');
    if (typeof d === 'number') throw new Error('open');
    const closing: Uint8Array[] = [new Uint8Array(8)];
    Object.defineProperty(closing, 1, { get: () => { d.close(); return new Uint8Array(8); } });
    expect(d.dmOp(1, closing, null)).toBe(-9);
    const e = native.deviceOpen('/dev/null');
    if (typeof e === 'number') throw new Error('open');
    const first = new Uint8Array(64);
    const detaching: Uint8Array[] = [first];
    Object.defineProperty(detaching, 1, { get: () => { structuredClone(first.buffer, { transfer: [first.buffer] }); return new Uint8Array(8); } });
    // Every entry is read before any is described: the detached one goes out empty, never at its old address.
    expect(e.dmOp(1, detaching, null)).toBe(-25);
    expect(first.byteLength).toBe(0);
    e.close();
  });

  test('an async call whose index getter closes the device or detaches a buffer is refused or staged safely', async () => {
    const d = native.deviceOpen('/dev/null');
    if (typeof d === 'number') throw new Error('open');
    const closing: Uint8Array[] = [new Uint8Array(8)];
    Object.defineProperty(closing, 1, { get: () => { d.close(); return new Uint8Array(8); } });
    await expect(d.dmOpAsync(1, closing, null)).resolves.toBe(-9);
    const e = native.deviceOpen('/dev/null');
    if (typeof e === 'number') throw new Error('open');
    const first = new Uint8Array(64);
    const detaching: Uint8Array[] = [first];
    Object.defineProperty(detaching, 1, { get: () => { structuredClone(first.buffer, { transfer: [first.buffer] }); return new Uint8Array(8); } });
    // Every entry is read before any is staged: the detached one is staged empty, never read at its old address.
    await expect(e.dmOpAsync(1, detaching, null)).resolves.toBe(-25);
    expect(first.byteLength).toBe(0);
    e.close();
  });

  test('an async call keeps the device open until the ioctl returns, even if closed meanwhile', async () => {
    const d = native.deviceOpen('/dev/null');
    if (typeof d === 'number') throw new Error('open');
    const p = d.dmOpAsync(1, [new Uint8Array(32)], null);
    d.close();
    await expect(p).resolves.toBe(-25); // the ioctl ran on the still-open fd
  });

  test('hypercall buffers: page-backed, writable, detached and unmapped on free', () => {
    const r = native.hypercallBufferAlloc(100);
    if (typeof r === 'number') throw new Error(`alloc: ${r}`);
    const v = new Uint8Array(r.buffer);
    v[99] = 7;
    expect(Number(r.addr % 4096n)).toBe(0);
    expect(native.hypercallBufferFree(r.buffer)).toBe(0);
    expect(v.length).toBe(0);
    expect(native.hypercallBufferFree(r.buffer)).toBe(-22);
    expect(native.hypercallBufferAlloc(-1)).toBe(-22);
    expect(native.hypercallBufferFree(new ArrayBuffer(8))).toBe(-22);
  });
});

describe('open({ fd })', () => {
  test('a bad fd, or fd with device, is EINVAL; an fd that is not privcmd fails the probe (ENOTTY); a closed fd is EBADF', () => {
    for (const fd of [-1, 1.5, '3' as never]) expect(code(() => open({ fd }))).toBe('EINVAL');
    expect(code(() => open({ fd: 0, device: '/dev/null' }))).toBe('EINVAL');
    const nul = fs.openSync('/dev/null', 'r+');
    expect(code(() => open({ fd: nul }))).toBe('ENOTTY');
    fs.closeSync(nul);
    expect(code(() => open({ fd: nul }))).toBe('EBADF');
  });
});

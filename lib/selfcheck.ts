// A short end-to-end check of the native core, run by `privcmd-shim selfcheck`:
// each line is a rule of the privcmd driver or of Xen's copy helpers, checked
// against the real native code over a fresh simulated address space.
import { AddressSpace, KERNEL_BASE, PAGE_SIZE } from './sim/address-space';
import { DmBufArray, copyDmBufferFromGuest, copyDmBufferToGuest, validateDmBuffers } from './sim/dm-buffers';
import { nativePath } from './native';

export interface CheckResult {
  readonly what: string;
  readonly ok: boolean;
  readonly got: string;
}

function outcome(fn: () => unknown): string {
  try {
    const v = fn();
    return v === undefined ? 'ok' : `ok ${String(v)}`;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

export function runSelfCheck(): { results: CheckResult[]; native: string } {
  const space = AddressSpace.create({ size: 64 * PAGE_SIZE });
  const results: CheckResult[] = [];
  const check = (what: string, expect: string, fn: () => unknown) => {
    const got = outcome(fn);
    results.push({ what, ok: got === expect, got });
  };
  try {
    const arr = space.alloc(16 * 17);
    const data = space.alloc(64);
    const edge = space.alloc(64, { alignEnd: true });
    const ro = space.alloc(64, { readOnly: true });
    const put = (bufs: { addr: bigint; size: number }[]) => {
      const a = DmBufArray.of(bufs);
      arr.view.set(a.bytes);
      return bufs.length;
    };
    const validate = (n: number, limits = {}) => validateDmBuffers(space, arr.addr, n, limits).pages;

    check('0 buffers: nothing to do, nothing pinned', 'ok 0', () => validate(put([])));
    check('17 buffers: E2BIG (dm_op_max_nr_bufs = 16)', 'E2BIG', () => validate(17));
    check('a 4097-byte buffer: E2BIG (dm_op_buf_max_size = 4096)', 'E2BIG', () => validate(put([{ addr: data.addr, size: 4097 }])));
    check('a kernel-range buffer: EFAULT (access_ok)', 'EFAULT', () => validate(put([{ addr: KERNEL_BASE, size: 8 }])));
    check('a buffer running into a guard page: EFAULT', 'EFAULT', () => validate(put([{ addr: edge.addr, size: 65 }])));
    check('a read-only buffer: EFAULT (pinned for writing)', 'EFAULT', () => validate(put([{ addr: ro.addr, size: 8 }])));
    check('size is checked for every buffer before any page is pinned', 'E2BIG',
      () => validate(put([{ addr: 0x20000n, size: 8 }, { addr: data.addr, size: 5000 }])));
    check('zero-size unaligned buffer pins its page', 'ok 1', () => validate(put([{ addr: data.addr + 3n, size: 0 }])));
    check('two good buffers validate', 'ok 2', () => validate(put([{ addr: data.addr, size: 64 }, { addr: edge.addr, size: 64 }])));

    data.view.fill(7);
    const bufs = DmBufArray.of([{ addr: data.addr, size: 64 }, { addr: edge.addr, size: 80 }]);
    const dst = Buffer.alloc(96, 0xaa);
    check('strict copy: offset + len within the buffer', 'ok', () => copyDmBufferFromGuest(space, dst, bufs, 0, { len: 32, offset: 32 }));
    check('strict copy: offset + len past the buffer is EFAULT', 'EFAULT', () => copyDmBufferFromGuest(space, dst, bufs, 0, { len: 32, offset: 33 }));
    check('seed copy: zero-fills past a short buffer', 'ok 0', () => {
      copyDmBufferFromGuest(space, dst, bufs, 0, { mode: 'seed' });
      return dst[64];
    });
    check('copy of a missing buffer index is EFAULT', 'EFAULT', () => copyDmBufferFromGuest(space, dst, bufs, 2));
    check('a fault part-way (guard page) copies nothing', 'ok 170', () => {
      const d = Buffer.alloc(80, 0xaa);
      try { copyDmBufferFromGuest(space, d, bufs, 1); } catch { /* EFAULT expected */ }
      return d[0];
    });
    check('copy to guest lands in the caller\'s view', 'ok 9', () => {
      copyDmBufferToGuest(space, bufs, 0, Buffer.from([9]), {});
      return data.view[0];
    });
    check('freeing an allocation detaches its view', 'ok 0', () => {
      const a = space.alloc(32);
      space.free(a);
      return a.view.length;
    });
  } finally {
    space.close();
  }
  return { results, native: nativePath() };
}

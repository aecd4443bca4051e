// Memory DMOPs: mem types, dirty VRAM, modified memory, relocation, cache attributes.
import type { Privcmd } from '../../../lib/privcmd';
import { encodeDmop } from '../../../lib/dmop/codec';
import { code, raw, type ContractEnv, type ContractCapabilities, type Fixture } from './suite';

export function memoryCases(_caps: ContractCapabilities, f: Fixture): void {
  describe('memory', () => {
    let env: ContractEnv;
    let h: Privcmd;
    let g: number;
    beforeEach(() => ({ env, h, g } = f()));

    const memType = (hh: Privcmd, domid: number, pfn: bigint): number => {
      const arg = hh.hypercallBuffer(16);
      const dv = new DataView(arg.view.buffer, arg.view.byteOffset, 16);
      dv.setUint16(0, domid, true);
      dv.setBigUint64(8, pfn, true);
      hh.hypercall('hvm_op', [15, arg.addr]);
      const t = dv.getUint16(2, true);
      hh.freeHypercallBuffer(arg);
      return t;
    };

    test('set_mem_type: ram_rw <-> ram_ro, seen through HVMOP_get_mem_type', () => {
      expect(memType(h, g, 5n)).toBe(0);
      h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 5n, nr: 2 });
      expect([memType(h, g, 4n), memType(h, g, 5n), memType(h, g, 6n), memType(h, g, 7n)]).toEqual([0, 1, 1, 0]);
      h.dmop(g, { op: 'set_mem_type', memType: 'ram_rw', firstPfn: 5n, nr: 2 });
      expect(memType(h, g, 5n)).toBe(0);
      expect(memType(h, g, BigInt(env.memoryPages + 10))).toBe(2); // a hole reads as mmio_dm
    });

    test('set_mem_type: empty or out-of-range ranges, unused and unknown types, no ioreq claim: EINVAL', () => {
      const last = BigInt(env.memoryPages - 1);
      expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 0, firstPfn: 1n, nr: 0 }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 0, firstPfn: last, nr: 2 }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'unused', firstPfn: 1n, nr: 1 }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 5, firstPfn: 1n, nr: 1 }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ioreq_server', firstPfn: 1n, nr: 1 }))).toBe('EINVAL');
      expect(code(() => h.dmopRaw(g, raw({ op: 'set_mem_type', memType: 0, firstPfn: 1n, nr: 1 }, (v) => v.setUint16(14, 1, true))))).toBe('EINVAL');
    });

    test('map_mem_type_to_ioreq_server: claim, second claim EBUSY, pages become ioreq_server, release resets them', () => {
      const { id } = h.dmop(g, { op: 'create_ioreq_server' });
      const { id: other } = h.dmop(g, { op: 'create_ioreq_server' });
      expect(code(() => h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id, type: 'ram_rw', flags: 2 }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id, type: 'ioreq_server', flags: 1 }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id: 7, type: 'ioreq_server', flags: 2 }))).toBe('ENOENT');
      h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id, type: 'ioreq_server', flags: 2 });
      expect(code(() => h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id: other, type: 'ioreq_server', flags: 2 }))).toBe('EBUSY');
      expect(code(() => h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id: other, type: 'ioreq_server', flags: 0 }))).toBe('EINVAL');
      h.dmop(g, { op: 'set_mem_type', memType: 'ioreq_server', firstPfn: 8n, nr: 1 });
      expect(memType(h, g, 8n)).toBe(4);
      expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 8n, nr: 1 }))).toBe('EINVAL');
      h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id, type: 'ioreq_server', flags: 0 });
      expect(memType(h, g, 8n)).toBe(0);
      h.dmop(g, { op: 'destroy_ioreq_server', id });
      h.dmop(g, { op: 'destroy_ioreq_server', id: other });
    });

    test('track_dirty_vram: a new range reads all dirty, then clean; size and buffer checks', () => {
      const first = h.dmop(g, { op: 'track_dirty_vram', firstPfn: 16n, nr: 12 }).bitmap;
      expect([...first]).toEqual([0xff, 0xff]); // Xen memsets the whole bitmap, bits past nr included
      expect([...h.dmop(g, { op: 'track_dirty_vram', firstPfn: 16n, nr: 12 }).bitmap]).toEqual([0, 0]);
      h.dmop(g, { op: 'track_dirty_vram', firstPfn: 0n, nr: 0 }); // stop tracking
      const one = encodeDmop({ op: 'track_dirty_vram', firstPfn: 0n, nr: 8 });
      expect(code(() => h.dmopRaw(g, [one[0]!]))).toBe('EINVAL'); // no bitmap buffer
      expect(code(() => h.dmopRaw(g, [one[0]!, new Uint8Array(0)]))).toBe('EINVAL'); // bitmap too small
      const huge = encodeDmop({ op: 'track_dirty_vram', firstPfn: 0n, nr: 8 })[0]!;
      new DataView(huge.buffer).setUint32(8, 262145, true);
      expect(code(() => h.dmopRaw(g, [huge, new Uint8Array(4096)]))).toBe('EINVAL'); // more than 1 GiB of pages
      expect(code(() => h.dmopRaw(g, raw({ op: 'track_dirty_vram', firstPfn: 0n, nr: 8 }, (v) => v.setUint32(12, 1, true))))).toBe('EINVAL'); // pad
    });

    test('modified_memory: bad extents are EINVAL (when in log-dirty mode, else ignored)', () => {
      // Not in log-dirty mode: Xen returns 0 without looking at the extents.
      expect(h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 1n << 40n, nr: 1 }] })).toEqual({});
      // Tracking dirty VRAM does not turn the domain's log-dirty mode on (Xen 4.17.7).
      h.dmop(g, { op: 'track_dirty_vram', firstPfn: 0n, nr: 8 });
      expect(h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 1n << 40n, nr: 1 }] })).toEqual({});
      env.enableLogDirty(g);
      h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 1n, nr: 3 }, { firstPfn: 10n, nr: 1 }] });
      expect(code(() => h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 1n << 40n, nr: 1 }] }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 1n, nr: 0 }] }))).toBe('EINVAL');
      const [b0, ext] = encodeDmop({ op: 'modified_memory', extents: [{ firstPfn: 1n, nr: 1 }] });
      new DataView(ext!.buffer).setUint32(4, 1, true);
      expect(code(() => h.dmopRaw(g, [b0!, ext!]))).toBe('EINVAL'); // extent pad
      const [c0] = encodeDmop({ op: 'modified_memory', extents: [{ firstPfn: 1n, nr: 1 }, { firstPfn: 2n, nr: 1 }] });
      expect(code(() => h.dmopRaw(g, [c0!, new Uint8Array(16)]))).toBe('EINVAL'); // 2 extents announced, 1 present
    });

    test('relocate_memory moves pages; a hole as source is EINVAL; pad EINVAL', () => {
      const hole = BigInt(env.memoryPages + 64);
      h.dmop(g, { op: 'relocate_memory', size: 2, srcGfn: 20n, dstGfn: hole });
      expect([memType(h, g, 20n), memType(h, g, hole), memType(h, g, hole + 1n)]).toEqual([2, 0, 0]);
      expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 1, srcGfn: 20n, dstGfn: 30n }))).toBe('EINVAL');
      expect(code(() => h.dmopRaw(g, raw({ op: 'relocate_memory', size: 1, srcGfn: 21n, dstGfn: 30n }, (v) => v.setUint32(12, 1, true))))).toBe('EINVAL');
    });

    test('pin_memory_cacheattr: pin, retype, overlap EBUSY, delete, delete again ENOENT, bad input EINVAL', () => {
      h.dmop(g, { op: 'pin_memory_cacheattr', start: 0xa0n, end: 0xbfn, type: 'uc' });
      h.dmop(g, { op: 'pin_memory_cacheattr', start: 0xa0n, end: 0xbfn, type: 'wc' });
      expect(code(() => h.dmop(g, { op: 'pin_memory_cacheattr', start: 0xb0n, end: 0xc0n, type: 'wb' }))).toBe('EBUSY');
      h.dmop(g, { op: 'pin_memory_cacheattr', start: 0xa0n, end: 0xbfn, type: 'delete' });
      expect(code(() => h.dmop(g, { op: 'pin_memory_cacheattr', start: 0xa0n, end: 0xbfn, type: 'delete' }))).toBe('ENOENT');
      expect(code(() => h.dmop(g, { op: 'pin_memory_cacheattr', start: 2n, end: 1n, type: 'wb' }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'pin_memory_cacheattr', start: 1n, end: 2n, type: 2 }))).toBe('EINVAL');
      expect(code(() => h.dmopRaw(g, raw({ op: 'pin_memory_cacheattr', start: 1n, end: 2n, type: 6 }, (v) => v.setUint32(28, 1, true))))).toBe('EINVAL');
    });
  });
}

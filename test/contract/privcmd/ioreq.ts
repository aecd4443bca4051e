// The ioreq server lifecycle through DMOPs (xen/common/ioreq.c).
import type { Privcmd } from '../../../lib/privcmd';
import { code, raw, type ContractCapabilities, type Fixture } from './suite';

export function ioreqCases(_caps: ContractCapabilities, f: Fixture): void {
  describe('ioreq server lifecycle', () => {
    let h: Privcmd;
    let g: number;
    beforeEach(() => ({ h, g } = f()));

    test('create, info, map, enable, unmap, disable, destroy', () => {
      const { id } = h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 'atomic' });
      const info = h.dmop(g, { op: 'get_ioreq_server_info', id });
      // Pages from libxl's pool (0xfeff0..0xfeff7); event channels: one per
      // vCPU, the buffered one right after vCPU 0's.
      expect(info).toEqual({ ioreqGfn: 0xfeff0n, bufioreqGfn: 0xfeff1n, bufioreqPort: 2 });
      expect(h.dmop(g, { op: 'get_ioreq_server_info', id })).toEqual(info); // stable once mapped
      h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'port', start: 0x3f8n, end: 0x3ffn });
      h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'memory', start: 0xfebf0000n, end: 0xfebf0fffn });
      h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'pci', start: 0x18n, end: 0x18n });
      h.dmop(g, { op: 'set_ioreq_server_state', id, enabled: true });
      h.dmop(g, { op: 'unmap_io_range_from_ioreq_server', id, type: 'port', start: 0x3f8n, end: 0x3ffn });
      h.dmop(g, { op: 'set_ioreq_server_state', id, enabled: false });
      h.dmop(g, { op: 'destroy_ioreq_server', id });
      expect(code(() => h.dmop(g, { op: 'get_ioreq_server_info', id }))).toBe('ENOENT');
      expect(code(() => h.dmop(g, { op: 'destroy_ioreq_server', id }))).toBe('ENOENT');
    });

    test('eight servers per domain, then ENOSPC; ids are reused after destroy', () => {
      const ids = Array.from({ length: 8 }, () => h.dmop(g, { op: 'create_ioreq_server' }).id);
      expect(new Set(ids).size).toBe(8);
      expect(code(() => h.dmop(g, { op: 'create_ioreq_server' }))).toBe('ENOSPC');
      h.dmop(g, { op: 'destroy_ioreq_server', id: ids[3]! });
      expect(h.dmop(g, { op: 'create_ioreq_server' }).id).toBe(ids[3]);
      for (const id of ids) h.dmop(g, { op: 'destroy_ioreq_server', id });
    });

    test('create: handle_bufioreq above 2 or a non-zero pad is EINVAL', () => {
      expect(code(() => h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 3 }))).toBe('EINVAL');
      expect(code(() => h.dmopRaw(g, raw({ op: 'create_ioreq_server' }, (v) => v.setUint8(9, 1))))).toBe('EINVAL');
    });

    test('get_ioreq_server_info: unknown flags EINVAL, unknown id ENOENT, no_gfns leaves the gfns alone', () => {
      const { id } = h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 0 });
      expect(code(() => h.dmop(g, { op: 'get_ioreq_server_info', id, flags: 2 }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'get_ioreq_server_info', id: 7 }))).toBe('ENOENT');
      expect(code(() => h.dmop(g, { op: 'get_ioreq_server_info', id: 200 }))).toBe('ENOENT');
      const r = h.dmop(g, { op: 'get_ioreq_server_info', id, flags: 1 });
      expect(r).toEqual({ bufioreqPort: 0, ioreqGfn: 0n, bufioreqGfn: 0n });
      h.dmop(g, { op: 'destroy_ioreq_server', id });
    });

    test('ranges: start > end and unknown types EINVAL; overlaps EEXIST; unmapping what is not mapped ENOENT', () => {
      const { id } = h.dmop(g, { op: 'create_ioreq_server' });
      expect(code(() => h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'port', start: 2n, end: 1n }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 3, start: 1n, end: 2n }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'map_io_range_to_ioreq_server', id: 6, type: 'port', start: 1n, end: 2n }))).toBe('ENOENT');
      h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'port', start: 0x60n, end: 0x64n });
      expect(code(() => h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'port', start: 0x64n, end: 0x70n }))).toBe('EEXIST');
      h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'memory', start: 0x64n, end: 0x70n }); // other type: fine
      expect(code(() => h.dmop(g, { op: 'unmap_io_range_from_ioreq_server', id, type: 'port', start: 0x60n, end: 0x65n }))).toBe('ENOENT');
      h.dmop(g, { op: 'unmap_io_range_from_ioreq_server', id, type: 'port', start: 0x61n, end: 0x62n }); // a split
      expect(code(() => h.dmopRaw(g, raw({ op: 'map_io_range_to_ioreq_server', id, type: 0, start: 1n, end: 1n }, (v) => v.setUint16(10, 1, true))))).toBe('EINVAL');
      h.dmop(g, { op: 'destroy_ioreq_server', id });
    });

    test('set_ioreq_server_state and destroy: non-zero pad EINVAL, unknown id ENOENT', () => {
      const { id } = h.dmop(g, { op: 'create_ioreq_server' });
      expect(code(() => h.dmopRaw(g, raw({ op: 'set_ioreq_server_state', id, enabled: 1 }, (v) => v.setUint8(11, 1))))).toBe('EINVAL');
      expect(code(() => h.dmopRaw(g, raw({ op: 'destroy_ioreq_server', id }, (v) => v.setUint16(10, 1, true))))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'set_ioreq_server_state', id: 5, enabled: 1 }))).toBe('ENOENT');
      h.dmop(g, { op: 'destroy_ioreq_server', id });
    });
  });
}

// Binary layouts of the structures privcmd and Xen exchange (x86-64, LP64).
// One table: the codec and the simulator read it, and test/abi checks every
// size and offset against Xen's own headers (libxen-dev: xen/sys/privcmd.h,
// xen/hvm/dm_op.h) compiled by gcc.
import { f, struct } from './define';

export type Scalar = 'u8' | 'u16' | 'u32' | 'u64';

/** in: the caller fills it; out: Xen fills it; inout: both; pad: must be zero. */
export type Direction = 'in' | 'out' | 'inout' | 'pad';

export interface Field {
  /** The C field name, exactly as in the header. */
  readonly name: string;
  readonly offset: number;
  readonly type: Scalar;
  /** Array length, for fields such as `uint8_t pad[3]`. */
  readonly count?: number;
  readonly dir: Direction;
}

export interface StructLayout {
  /** The C struct tag (`struct <name>`). */
  readonly name: string;
  readonly size: number;
  readonly fields: readonly Field[];
}

export const SCALAR_SIZE: Readonly<Record<Scalar, number>> = { u8: 1, u16: 2, u32: 4, u64: 8 };

/** Linux privcmd uAPI (xen/sys/privcmd.h). Pointers are u64 on x86-64. */
export const PRIVCMD_STRUCTS = {
  privcmd_hypercall: struct('privcmd_hypercall', 48, f('op', 0, 'u64', 'in'), f('arg', 8, 'u64', 'in', 5)),
  privcmd_dm_op_buf: struct('privcmd_dm_op_buf', 16, f('uptr', 0, 'u64', 'in'), f('size', 8, 'u64', 'in')),
  privcmd_dm_op: struct('privcmd_dm_op', 16, f('dom', 0, 'u16', 'in'), f('num', 2, 'u16', 'in'), f('ubufs', 8, 'u64', 'in')),
  // arr: xen_pfn_t[num] (u64 each); err: int[num], per-page errors written by the driver.
  privcmd_mmapbatch_v2: struct('privcmd_mmapbatch_v2', 32, f('num', 0, 'u32', 'in'), f('dom', 4, 'u16', 'in'),
    f('addr', 8, 'u64', 'in'), f('arr', 16, 'u64', 'in'), f('err', 24, 'u64', 'in')),
  // addr = 0 and num = 0: the size query, num comes back as the resource's frame count.
  privcmd_mmap_resource: struct('privcmd_mmap_resource', 32, f('dom', 0, 'u16', 'in'), f('type', 4, 'u32', 'in'),
    f('id', 8, 'u32', 'in'), f('idx', 12, 'u32', 'in'), f('num', 16, 'u64', 'inout'), f('addr', 24, 'u64', 'in')),
} as const;

/** Xen's DMOP ABI (xen/hvm/dm_op.h). */
export const DMOP_STRUCTS = {
  xen_dm_op_buf: struct('xen_dm_op_buf', 16, f('h', 0, 'u64', 'in'), f('size', 8, 'u64', 'in')),
  xen_dm_op: struct('xen_dm_op', 32, f('op', 0, 'u32', 'in'), f('pad', 4, 'u32', 'pad'), f('u', 8, 'u8', 'inout', 24)),
  xen_dm_op_create_ioreq_server: struct('xen_dm_op_create_ioreq_server', 6,
    f('handle_bufioreq', 0, 'u8', 'in'), f('pad', 1, 'u8', 'pad', 3), f('id', 4, 'u16', 'out')),
  xen_dm_op_get_ioreq_server_info: struct('xen_dm_op_get_ioreq_server_info', 24,
    f('id', 0, 'u16', 'in'), f('flags', 2, 'u16', 'in'), f('bufioreq_port', 4, 'u32', 'out'),
    f('ioreq_gfn', 8, 'u64', 'out'), f('bufioreq_gfn', 16, 'u64', 'out')),
  xen_dm_op_ioreq_server_range: struct('xen_dm_op_ioreq_server_range', 24,
    f('id', 0, 'u16', 'in'), f('pad', 2, 'u16', 'pad'), f('type', 4, 'u32', 'in'),
    f('start', 8, 'u64', 'in'), f('end', 16, 'u64', 'in')),
  xen_dm_op_set_ioreq_server_state: struct('xen_dm_op_set_ioreq_server_state', 4,
    f('id', 0, 'u16', 'in'), f('enabled', 2, 'u8', 'in'), f('pad', 3, 'u8', 'pad')),
  xen_dm_op_destroy_ioreq_server: struct('xen_dm_op_destroy_ioreq_server', 4,
    f('id', 0, 'u16', 'in'), f('pad', 2, 'u16', 'pad')),
  xen_dm_op_track_dirty_vram: struct('xen_dm_op_track_dirty_vram', 16,
    f('nr', 0, 'u32', 'in'), f('pad', 4, 'u32', 'pad'), f('first_pfn', 8, 'u64', 'in')),
  xen_dm_op_set_pci_intx_level: struct('xen_dm_op_set_pci_intx_level', 6,
    f('domain', 0, 'u16', 'in'), f('bus', 2, 'u8', 'in'), f('device', 3, 'u8', 'in'),
    f('intx', 4, 'u8', 'in'), f('level', 5, 'u8', 'in')),
  xen_dm_op_set_isa_irq_level: struct('xen_dm_op_set_isa_irq_level', 2,
    f('isa_irq', 0, 'u8', 'in'), f('level', 1, 'u8', 'in')),
  xen_dm_op_set_pci_link_route: struct('xen_dm_op_set_pci_link_route', 2,
    f('link', 0, 'u8', 'in'), f('isa_irq', 1, 'u8', 'in')),
  xen_dm_op_modified_memory: struct('xen_dm_op_modified_memory', 8,
    f('nr_extents', 0, 'u32', 'inout'), f('opaque', 4, 'u32', 'inout')),
  xen_dm_op_modified_memory_extent: struct('xen_dm_op_modified_memory_extent', 16,
    f('nr', 0, 'u32', 'in'), f('pad', 4, 'u32', 'pad'), f('first_pfn', 8, 'u64', 'in')),
  xen_dm_op_set_mem_type: struct('xen_dm_op_set_mem_type', 16,
    f('nr', 0, 'u32', 'inout'), f('mem_type', 4, 'u16', 'in'), f('pad', 6, 'u16', 'pad'),
    f('first_pfn', 8, 'u64', 'inout')),
  xen_dm_op_inject_event: struct('xen_dm_op_inject_event', 24,
    f('vcpuid', 0, 'u32', 'in'), f('vector', 4, 'u8', 'in'), f('type', 5, 'u8', 'in'),
    f('insn_len', 6, 'u8', 'in'), f('pad0', 7, 'u8', 'pad'), f('error_code', 8, 'u32', 'in'),
    f('pad1', 12, 'u32', 'pad'), f('cr2', 16, 'u64', 'in')),
  xen_dm_op_inject_msi: struct('xen_dm_op_inject_msi', 16,
    f('data', 0, 'u32', 'in'), f('pad', 4, 'u32', 'pad'), f('addr', 8, 'u64', 'in')),
  xen_dm_op_map_mem_type_to_ioreq_server: struct('xen_dm_op_map_mem_type_to_ioreq_server', 16,
    f('id', 0, 'u16', 'in'), f('type', 2, 'u16', 'in'), f('flags', 4, 'u32', 'in'), f('opaque', 8, 'u64', 'inout')),
  xen_dm_op_remote_shutdown: struct('xen_dm_op_remote_shutdown', 4, f('reason', 0, 'u32', 'in')),
  xen_dm_op_relocate_memory: struct('xen_dm_op_relocate_memory', 24,
    f('size', 0, 'u32', 'inout'), f('pad', 4, 'u32', 'pad'), f('src_gfn', 8, 'u64', 'inout'),
    f('dst_gfn', 16, 'u64', 'inout')),
  xen_dm_op_pin_memory_cacheattr: struct('xen_dm_op_pin_memory_cacheattr', 24,
    f('start', 0, 'u64', 'in'), f('end', 8, 'u64', 'in'), f('type', 16, 'u32', 'in'), f('pad', 20, 'u32', 'pad')),
  xen_dm_op_set_irq_level: struct('xen_dm_op_set_irq_level', 8,
    f('irq', 0, 'u32', 'in'), f('level', 4, 'u8', 'in'), f('pad', 5, 'u8', 'pad', 3)),
  xen_dm_op_nr_vcpus: struct('xen_dm_op_nr_vcpus', 4, f('vcpus', 0, 'u32', 'out')),
} as const;

export type DmopStructName = keyof typeof DMOP_STRUCTS;

/** Size of the xen_dm_op header before the union (op + pad). */
export const XEN_DM_OP_HEADER_SIZE = 8;

/**
 * Flask's xsm_op argument (xen/xsm/flask_op.h): a 40-byte struct whose
 * union holds the command's payload. Pointers (guest handles) are u64.
 */
export const FLASK_STRUCTS = {
  xen_flask_op: struct('xen_flask_op', 40,
    f('cmd', 0, 'u32', 'in'), f('interface_version', 4, 'u32', 'in'), f('u', 8, 'u8', 'inout', 32)),
  xen_flask_sid_context: struct('xen_flask_sid_context', 16,
    f('sid', 0, 'u32', 'inout'), f('size', 4, 'u32', 'inout'), f('context', 8, 'u64', 'in')),
  xen_flask_relabel: struct('xen_flask_relabel', 8, f('domid', 0, 'u32', 'in'), f('sid', 4, 'u32', 'in')),
} as const;

/** Offset of the payload union in struct xen_flask_op. */
export const XEN_FLASK_OP_HEADER_SIZE = 8;

/** The offset of a named field, from the table (a missing name is a bug in the caller). */
export function fieldOffset(s: StructLayout, name: string): number {
  const f = s.fields.find((x) => x.name === name);
  if (f === undefined) throw new Error(`layout table: struct ${s.name} has no field ${name}`);
  return f.offset;
}

/** Where each field the library and the simulator use sits in a xen_flask_op, union members included. */
export const FLASK_OP_AT = (() => {
  const op = FLASK_STRUCTS.xen_flask_op;
  const u = (s: StructLayout, name: string): number => XEN_FLASK_OP_HEADER_SIZE + fieldOffset(s, name);
  const sc = FLASK_STRUCTS.xen_flask_sid_context;
  const rl = FLASK_STRUCTS.xen_flask_relabel;
  return {
    cmd: fieldOffset(op, 'cmd'),
    interfaceVersion: fieldOffset(op, 'interface_version'),
    sidContext: { sid: u(sc, 'sid'), size: u(sc, 'size'), context: u(sc, 'context') },
    relabel: { domid: u(rl, 'domid'), sid: u(rl, 'sid') },
  } as const;
})();

// XEN_DMOP_* op numbers (xen/hvm/dm_op.h) and the union member each one uses.
// `opSize` is Xen's op_size[] entry: what buffer 0 must hold after the 8-byte
// header. Checked against the header by test/abi.
import { DMOP_STRUCTS, type DmopStructName } from './layouts';

export interface DmopInfo {
  readonly op: number;
  /** Xen's name without the XEN_DMOP_ prefix. */
  readonly name: string;
  /** The member of xen_dm_op.u this op uses. */
  readonly member: string;
  readonly struct: DmopStructName;
  /** Where Xen implements it: x86 only, Arm only, or both. */
  readonly arch: 'x86' | 'arm' | 'both';
}

function op(n: number, name: string, struct: DmopStructName, arch: DmopInfo['arch'] = 'x86'): DmopInfo {
  return { op: n, name, member: name, struct, arch };
}

export const DMOPS: readonly DmopInfo[] = [
  op(1, 'create_ioreq_server', 'xen_dm_op_create_ioreq_server', 'both'),
  op(2, 'get_ioreq_server_info', 'xen_dm_op_get_ioreq_server_info', 'both'),
  op(3, 'map_io_range_to_ioreq_server', 'xen_dm_op_ioreq_server_range', 'both'),
  op(4, 'unmap_io_range_from_ioreq_server', 'xen_dm_op_ioreq_server_range', 'both'),
  op(5, 'set_ioreq_server_state', 'xen_dm_op_set_ioreq_server_state', 'both'),
  op(6, 'destroy_ioreq_server', 'xen_dm_op_destroy_ioreq_server', 'both'),
  op(7, 'track_dirty_vram', 'xen_dm_op_track_dirty_vram'),
  op(8, 'set_pci_intx_level', 'xen_dm_op_set_pci_intx_level'),
  op(9, 'set_isa_irq_level', 'xen_dm_op_set_isa_irq_level'),
  op(10, 'set_pci_link_route', 'xen_dm_op_set_pci_link_route'),
  op(11, 'modified_memory', 'xen_dm_op_modified_memory'),
  op(12, 'set_mem_type', 'xen_dm_op_set_mem_type'),
  op(13, 'inject_event', 'xen_dm_op_inject_event'),
  op(14, 'inject_msi', 'xen_dm_op_inject_msi'),
  op(15, 'map_mem_type_to_ioreq_server', 'xen_dm_op_map_mem_type_to_ioreq_server'),
  op(16, 'remote_shutdown', 'xen_dm_op_remote_shutdown'),
  op(17, 'relocate_memory', 'xen_dm_op_relocate_memory'),
  op(18, 'pin_memory_cacheattr', 'xen_dm_op_pin_memory_cacheattr'),
  op(19, 'set_irq_level', 'xen_dm_op_set_irq_level', 'arm'),
  op(20, 'nr_vcpus', 'xen_dm_op_nr_vcpus', 'both'),
];

/** Xen's op_size[op] for a known op. */
export function opSize(info: DmopInfo): number {
  return DMOP_STRUCTS[info.struct].size;
}

/** Number of entries in Xen's op_size[] (ops 0..20); op >= this is EOPNOTSUPP. */
export const DMOP_TABLE_SIZE = 21;

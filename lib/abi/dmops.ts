// XEN_DMOP_* op numbers (xen/hvm/dm_op.h) and the union member each one uses.
// `opSize` is Xen's op_size[] entry: what buffer 0 must hold after the 8-byte
// header. Checked against the header by test/abi.
import { DMOP_STRUCTS, type DmopStructName } from './layouts';

/**
 * THE DMOP table: number, name, union struct, and where Xen implements it.
 * Every other table about DMOPs is keyed by the names in it and declared
 * `satisfies Record<DmopName, ...>`, so the compiler refuses an op added
 * here and forgotten there (the codec's interface table, the simulated
 * handlers, the request and result types, the limits).
 */
const TABLE = [
  [1, 'create_ioreq_server', 'xen_dm_op_create_ioreq_server', 'both'],
  [2, 'get_ioreq_server_info', 'xen_dm_op_get_ioreq_server_info', 'both'],
  [3, 'map_io_range_to_ioreq_server', 'xen_dm_op_ioreq_server_range', 'both'],
  [4, 'unmap_io_range_from_ioreq_server', 'xen_dm_op_ioreq_server_range', 'both'],
  [5, 'set_ioreq_server_state', 'xen_dm_op_set_ioreq_server_state', 'both'],
  [6, 'destroy_ioreq_server', 'xen_dm_op_destroy_ioreq_server', 'both'],
  [7, 'track_dirty_vram', 'xen_dm_op_track_dirty_vram', 'x86'],
  [8, 'set_pci_intx_level', 'xen_dm_op_set_pci_intx_level', 'x86'],
  [9, 'set_isa_irq_level', 'xen_dm_op_set_isa_irq_level', 'x86'],
  [10, 'set_pci_link_route', 'xen_dm_op_set_pci_link_route', 'x86'],
  [11, 'modified_memory', 'xen_dm_op_modified_memory', 'x86'],
  [12, 'set_mem_type', 'xen_dm_op_set_mem_type', 'x86'],
  [13, 'inject_event', 'xen_dm_op_inject_event', 'x86'],
  [14, 'inject_msi', 'xen_dm_op_inject_msi', 'x86'],
  [15, 'map_mem_type_to_ioreq_server', 'xen_dm_op_map_mem_type_to_ioreq_server', 'x86'],
  [16, 'remote_shutdown', 'xen_dm_op_remote_shutdown', 'x86'],
  [17, 'relocate_memory', 'xen_dm_op_relocate_memory', 'x86'],
  [18, 'pin_memory_cacheattr', 'xen_dm_op_pin_memory_cacheattr', 'x86'],
  [19, 'set_irq_level', 'xen_dm_op_set_irq_level', 'arm'],
  [20, 'nr_vcpus', 'xen_dm_op_nr_vcpus', 'both'],
] as const satisfies readonly (readonly [number, string, DmopStructName, 'x86' | 'arm' | 'both'])[];

/** Xen's name of a DMOP, without the XEN_DMOP_ prefix. */
export type DmopName = (typeof TABLE)[number][1];

export interface DmopInfo {
  readonly op: number;
  readonly name: DmopName;
  /** The member of xen_dm_op.u this op uses (its name, in Xen's header). */
  readonly member: DmopName;
  readonly struct: DmopStructName;
  /** Where Xen implements it: x86 only, Arm only, or both. */
  readonly arch: 'x86' | 'arm' | 'both';
}

export const DMOPS: readonly DmopInfo[] = TABLE.map(([op, name, struct, arch]) => ({ op, name, member: name, struct, arch }));

/** Limits on DMOP arguments, each from the one place that enforces it. */
export const DMOP_LIMITS = {
  /** xen/arch/x86/hvm/dm.c, track_dirty_vram(): nr > GB(1) >> PAGE_SHIFT is -EINVAL. */
  trackDirtyVramMaxPages: 262144,
  /**
   * The library's own guard, not Xen's: a DMOP buffer the codec builds
   * (track_dirty_vram's bitmap, modified_memory's extents) is never over
   * 1 MiB. Linux refuses any buffer over dm_op_buf_max_size (4 KiB by
   * default, drivers/xen/privcmd.c) with -E2BIG, so past this the request
   * can only fail that way; the codec says E2BIG without allocating.
   */
  builtBufferMaxBytes: 1 << 20,
} as const;

/** Xen's op_size[op] for a known op. */
export function opSize(info: DmopInfo): number {
  return DMOP_STRUCTS[info.struct].size;
}

/** Number of entries in Xen's op_size[] (ops 0..20); op >= this is EOPNOTSUPP. */
export const DMOP_TABLE_SIZE = 21;

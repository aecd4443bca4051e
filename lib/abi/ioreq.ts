// The pages an ioreq server shares with Xen (xen/hvm/ioreq.h) and the
// resource frames that name them (xen/memory.h, XENMEM_acquire_resource).
// test/abi/ioreq-headers.test.ts checks every offset, bit position and
// constant here against those headers compiled by gcc.
import { type StructLayout } from './layouts';

/** ioreq_t.dir / buf_ioreq_t.dir. */
export const IOREQ_READ = 1;
export const IOREQ_WRITE = 0;

/** ioreq_t.state: Xen writes READY; the device model answers RESP_READY. */
export const IOREQ_STATE = {
  NONE: 0,
  IOREQ_READY: 1,
  IOREQ_INPROCESS: 2,
  IORESP_READY: 3,
} as const satisfies Record<string, number>;

/** ioreq_t.type (IOREQ_TYPE_*). */
export const IOREQ_TYPE = {
  PIO: 0,
  /** MMIO. */
  COPY: 1,
  PCI_CONFIG: 2,
  TIMEOFFSET: 7,
  /** Mapcache invalidation; carries no access. */
  INVALIDATE: 8,
} as const satisfies Record<string, number>;

/**
 * struct ioreq (32 bytes), one per vCPU in the synchronous page. The byte
 * at offset 30 holds the bitfields `state:4, data_is_ptr:1, dir:1, df:1,
 * _pad1:1` (IOREQ_BITS).
 */
export const IOREQ_STRUCT: StructLayout = {
  name: 'ioreq',
  size: 32,
  fields: [
    { name: 'addr', offset: 0, type: 'u64', dir: 'in' },
    { name: 'data', offset: 8, type: 'u64', dir: 'inout' },
    { name: 'count', offset: 16, type: 'u32', dir: 'in' },
    { name: 'size', offset: 20, type: 'u32', dir: 'in' },
    { name: 'vp_eport', offset: 24, type: 'u32', dir: 'in' },
    { name: '_pad0', offset: 28, type: 'u16', dir: 'pad' },
    { name: 'type', offset: 31, type: 'u8', dir: 'in' },
  ],
};

/** A C bitfield: `width` bits from bit `shift` of the little-endian unit of `unit` bytes at `offset`. */
export interface BitField {
  readonly name: string;
  readonly offset: number;
  readonly unit: 1 | 4;
  readonly shift: number;
  readonly width: number;
}

/** The offset of the byte that holds ioreq_t's bitfields (state first, in its low nibble). */
export const IOREQ_FLAGS_OFFSET = 30;

export const IOREQ_BITS: Readonly<Record<'state' | 'data_is_ptr' | 'dir' | 'df' | '_pad1', BitField>> = {
  state: { name: 'state', offset: IOREQ_FLAGS_OFFSET, unit: 1, shift: 0, width: 4 },
  data_is_ptr: { name: 'data_is_ptr', offset: IOREQ_FLAGS_OFFSET, unit: 1, shift: 4, width: 1 },
  dir: { name: 'dir', offset: IOREQ_FLAGS_OFFSET, unit: 1, shift: 5, width: 1 },
  df: { name: 'df', offset: IOREQ_FLAGS_OFFSET, unit: 1, shift: 6, width: 1 },
  _pad1: { name: '_pad1', offset: IOREQ_FLAGS_OFFSET, unit: 1, shift: 7, width: 1 },
};

/** Where each ioreq_t field sits, by name, for the engine. */
export const IOREQ_AT = {
  addr: 0,
  data: 8,
  count: 16,
  size: 20,
  vpEport: 24,
  flags: IOREQ_FLAGS_OFFSET,
  type: 31,
} as const;

/** struct shared_iopage: vcpu_ioreq[] from offset 0, one ioreq_t per vCPU id. */
export const SHARED_IOPAGE_VCPU_STRIDE = IOREQ_STRUCT.size;
export const IOREQ_PAGE_SIZE = 4096;
/** vCPU slots that fit the one synchronous page. */
export const SHARED_IOPAGE_MAX_VCPUS = IOREQ_PAGE_SIZE / SHARED_IOPAGE_VCPU_STRIDE;

/**
 * struct buf_ioreq (8 bytes). As one little-endian u32 at offset 0:
 * type bits 0-7, pad bit 8, dir bit 9, size bits 10-11 (log2 of the size:
 * 0..3 = 1, 2, 4, 8 bytes; an 8-byte write takes two slots, the second
 * holding the high 32 bits in `data`), addr bits 12-31 (20 bits); then
 * `data`, a u32 at offset 4.
 */
export const BUF_IOREQ_STRUCT: StructLayout = {
  name: 'buf_ioreq',
  size: 8,
  fields: [
    { name: 'type', offset: 0, type: 'u8', dir: 'in' },
    { name: 'data', offset: 4, type: 'u32', dir: 'in' },
  ],
};

export const BUF_IOREQ_BITS: Readonly<Record<'type' | 'pad' | 'dir' | 'size' | 'addr', BitField>> = {
  type: { name: 'type', offset: 0, unit: 4, shift: 0, width: 8 },
  pad: { name: 'pad', offset: 0, unit: 4, shift: 8, width: 1 },
  dir: { name: 'dir', offset: 0, unit: 4, shift: 9, width: 1 },
  size: { name: 'size', offset: 0, unit: 4, shift: 10, width: 2 },
  addr: { name: 'addr', offset: 0, unit: 4, shift: 12, width: 20 },
};

/** Slots in the buffered ring; pointers run freely and index modulo this. */
export const IOREQ_BUFFER_SLOT_NUM = 511;

/** struct buffered_iopage as the tools see it (the `ptrs` union is Xen-internal). */
export const BUFFERED_IOPAGE_STRUCT: StructLayout = {
  name: 'buffered_iopage',
  size: 8 + 8 * IOREQ_BUFFER_SLOT_NUM,
  fields: [
    { name: 'read_pointer', offset: 0, type: 'u32', dir: 'inout' },
    { name: 'write_pointer', offset: 4, type: 'u32', dir: 'in' },
    { name: 'buf_ioreq', offset: 8, type: 'u64', dir: 'in', count: IOREQ_BUFFER_SLOT_NUM },
  ],
};

export const BUFFERED_IOPAGE_AT = { readPointer: 0, writePointer: 4, slots: 8 } as const;

/** The XENMEM_acquire_resource memory_op (what IOCTL_PRIVCMD_MMAP_RESOURCE issues). */
export const XENMEM_ACQUIRE_RESOURCE = 28;

/** XENMEM_resource_* (the `type` of privcmd_mmap_resource). */
export const XENMEM_RESOURCE = {
  ioreq_server: 0,
  grant_table: 1,
  vmtrace_buf: 2,
} as const;
export type ResourceTypeName = keyof typeof XENMEM_RESOURCE;

/** XENMEM_resource_grant_table_id_* (the `id` for grant tables). */
export const GRANT_TABLE_ID = { shared: 0, status: 1 } as const;

/** An ioreq server's frames (XENMEM_resource_ioreq_server_frame_*). */
export const IOREQ_SERVER_FRAME = {
  /** XENMEM_resource_ioreq_server_frame_bufioreq. */
  bufioreq: 0,
  /** XENMEM_resource_ioreq_server_frame_ioreq(n): the n-th synchronous page (n = 0 for up to 128 vCPUs). */
  ioreq: (n: number): number => 1 + n,
} as const;

/**
 * IOREQ_TYPE_PCI_CONFIG's addr: `SEGMENT(63..48) BUS(47..40) DEV(39..35)
 * FN(34..32) OFFSET(31..0)` (the comment above struct ioreq).
 */
export const PCI_CONFIG_ADDR = { offsetBits: 32, fnShift: 32, devShift: 35, busShift: 40, segShift: 48 } as const;

// One ioreq_t, decoded from its slot in the synchronous page
// (xen/hvm/ioreq.h), and one buf_ioreq_t entry from the buffered ring.
// Plain reads: the caller has already loaded the slot's state with acquire
// ordering (shared-memory.ts), so the body Xen wrote before it is visible.
import { BUFFERED_IOPAGE_AT, IOREQ_AT, SHARED_IOPAGE_VCPU_STRIDE } from '../abi/ioreq';

export type IoSize = 1 | 2 | 4 | 8;

export interface IoRequest {
  /** Port, guest physical address, or PCI config address (segment:bus:dev.fn << 32 | register). */
  readonly addr: bigint;
  /** The value to write, or (data_is_ptr) the guest physical address of the values. */
  readonly data: bigint;
  readonly count: number;
  /** As Xen wrote it: not yet checked to be 1, 2, 4 or 8. */
  readonly size: number;
  readonly vpEport: number;
  readonly state: number;
  readonly dataIsPtr: boolean;
  /** IOREQ_READ (1) or IOREQ_WRITE (0). */
  readonly dir: number;
  /** Repeated items walk downwards (the guest's EFLAGS.DF). */
  readonly df: boolean;
  readonly type: number;
}

/** The byte offset of vCPU `vcpu`'s ioreq_t in the synchronous page. */
export function slotOffset(vcpu: number): number {
  return vcpu * SHARED_IOPAGE_VCPU_STRIDE;
}

/** Decodes the ioreq_t at `base` (a slot offset) of `page`; `flags` is the bitfield byte already loaded. */
export function decodeIoreq(dv: DataView, base: number, flags: number): IoRequest {
  return {
    addr: dv.getBigUint64(base + IOREQ_AT.addr, true),
    data: dv.getBigUint64(base + IOREQ_AT.data, true),
    count: dv.getUint32(base + IOREQ_AT.count, true),
    size: dv.getUint32(base + IOREQ_AT.size, true),
    vpEport: dv.getUint32(base + IOREQ_AT.vpEport, true),
    state: flags & 0x0f,
    dataIsPtr: (flags & 0x10) !== 0,
    dir: (flags >> 5) & 1,
    df: (flags & 0x40) !== 0,
    type: dv.getUint8(base + IOREQ_AT.type),
  };
}

/** One buffered entry: always a single item; `size` from its 2-bit log2 field. */
export interface BufferedRequest {
  readonly type: number;
  readonly dir: number;
  readonly size: IoSize;
  /** 20 bits: Xen buffers only low addresses (xen/common/ioreq.c: ioreq_send_buffered). */
  readonly addr: number;
  /** The low 32 bits (the high ones, for an 8-byte write, are in the next slot). */
  readonly data: number;
}

/** Decodes ring slot `slot` (0 .. IOREQ_BUFFER_SLOT_NUM - 1). */
export function decodeBuffered(dv: DataView, slot: number): BufferedRequest {
  const at = BUFFERED_IOPAGE_AT.slots + slot * 8;
  const w = dv.getUint32(at, true);
  return {
    type: w & 0xff,
    dir: (w >>> 9) & 1,
    size: (1 << ((w >>> 10) & 3)) as IoSize,
    addr: w >>> 12,
    data: dv.getUint32(at + 4, true),
  };
}

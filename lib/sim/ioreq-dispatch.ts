// The hypervisor's half of the ioreq protocol on the simulated host (Xen
// 4.17): choosing the ioreq server for an access (xen/common/ioreq.c
// ioreq_server_select, xen/arch/x86/hvm/ioreq.c
// arch_ioreq_server_get_type_addr), writing the request into the vCPU's
// ioreq_t slot and signalling its port (ioreq_send), reading the answer back
// (wait_for_io), and the buffered ring (ioreq_send_buffered). Layouts are
// xen/include/public/hvm/ioreq.h's (lib/abi/ioreq.ts). Xen writes the body,
// then the state; the pages are shared memory written through the page
// store, one ordered write after the other.
import {
  BUFFERED_IOPAGE_AT, IOREQ_AT, IOREQ_BUFFER_SLOT_NUM, IOREQ_STATE, IOREQ_STRUCT, IOREQ_TYPE,
} from '../abi/ioreq';
import type { Domain, IoreqServer } from './domain';
import { MAX_NR_IOREQ_SERVERS } from './domain';
import { notifyViaXen, type DomainLookup } from './evtchn';
import type { GuestMemory } from './memory';

/** The fields of an ioreq_t the emulator fills (state and vp_eport are ioreq_send's). */
export interface IoRequest {
  /** IOREQ_TYPE_PIO or _COPY; _PCI_CONFIG once a server claimed a 0xcfc access. */
  type: number;
  addr: bigint;
  /** The value (a direct write or, once answered, a read), or the guest buffer's address (dataIsPtr). */
  data: bigint;
  count: number;
  size: number;
  /** IOREQ_READ (1) or IOREQ_WRITE (0). */
  dir: number;
  df: boolean;
  dataIsPtr: boolean;
}

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** ioreq_mmio_first_byte / ioreq_mmio_last_byte (xen/include/xen/ioreq.h), in unsigned 64-bit arithmetic. */
export function mmioFirstByte(p: IoRequest): bigint {
  return p.df ? U64(p.addr - BigInt(p.count - 1) * BigInt(p.size)) : p.addr;
}

export function mmioLastByte(p: IoRequest): bigint {
  return p.df ? U64(p.addr + BigInt(p.size) - 1n) : U64(p.addr + BigInt(p.count) * BigInt(p.size) - 1n);
}

/** CF8_ENABLED (xen/arch/x86/include/asm/pci.h). */
export function cf8Enabled(cf8: number): boolean {
  return (cf8 & 0x80000000) !== 0;
}

/**
 * arch_ioreq_server_get_type_addr: a PIO access to 0xcfc-0xcff while the
 * latched 0xcf8 value has its enable bit is a PCI config cycle, addressed
 * `sbdf << 32 | register` (hvm_pci_decode_addr: segment 0, the register's
 * low two bits from the port). AMD's extended register bits (CF8_ADDR_HI)
 * are not modelled: the simulated CPU is not an AMD family 10h-16h one.
 */
export function ioreqTypeAddr(d: Domain, p: IoRequest): { range: 'port' | 'memory' | 'pci'; addr: bigint } | null {
  if (p.type !== IOREQ_TYPE.PIO && p.type !== IOREQ_TYPE.COPY) return null;
  if (p.type === IOREQ_TYPE.PIO && (p.addr & ~3n) === 0xcfcn && cf8Enabled(d.pciCf8)) {
    const bdf = (d.pciCf8 & 0x00ffff00) >>> 8;
    const reg = (d.pciCf8 & 0xfc) | Number(p.addr & 3n);
    return { range: 'pci', addr: (BigInt(bdf) << 32n) | BigInt(reg) };
  }
  return { range: p.type === IOREQ_TYPE.PIO ? 'port' : 'memory', addr: p.addr };
}

/**
 * ioreq_server_select: the enabled server whose range holds the whole
 * access, from the highest id down (FOR_EACH_IOREQ_SERVER). A PCI match
 * rewrites the request into IOREQ_TYPE_PCI_CONFIG, as Xen does.
 */
export function selectIoreqServer(d: Domain, p: IoRequest): IoreqServer | null {
  const ta = ioreqTypeAddr(d, p);
  if (ta === null) return null;
  for (let id = MAX_NR_IOREQ_SERVERS; id !== 0;) {
    const s = d.ioreqServers[--id];
    if (!s || !s.enabled) continue;
    const r = s.ranges[ta.range];
    if (ta.range === 'port') {
      if (r.contains(ta.addr, ta.addr + BigInt(p.size) - 1n)) return s;
    } else if (ta.range === 'memory') {
      if (r.contains(mmioFirstByte(p), mmioLastByte(p))) return s;
    } else if (r.contains(ta.addr >> 32n, ta.addr >> 32n)) {
      p.type = IOREQ_TYPE.PCI_CONFIG;
      p.addr = ta.addr;
      return s;
    }
  }
  return null;
}

const STATE_MASK = 0x0f;

function slot(v: number): number {
  return v * IOREQ_STRUCT.size;
}

/** The 32 bytes of vcpu_ioreq[v] (a copy). */
function readSlot(mem: GuestMemory, page: number, v: number): DataView {
  const b = new Uint8Array(IOREQ_STRUCT.size);
  mem.read(page, slot(v), b);
  return new DataView(b.buffer);
}

/**
 * ioreq_send, synchronous: check the slot is idle and carries the vCPU's
 * port (else Xen refuses: IOREQ_STATUS_UNHANDLED, returned here as the
 * reason), write the request with state NONE, then the state
 * STATE_IOREQ_READY, then notify the vCPU's port. Returns null when sent.
 */
export function sendIoreq(mem: GuestMemory, lookup: DomainLookup, d: Domain, s: IoreqServer, v: number, p: IoRequest): string | null {
  if (s.pages === null) return `ioreq server ${s.id} has no ioreq page (map it with XENMEM_acquire_resource first)`;
  const port = s.vcpuPorts[v];
  if (port === undefined) return `ioreq server ${s.id} has no slot for vCPU ${v}`;
  const cur = readSlot(mem, s.pages.ioreq, v);
  const state = cur.getUint8(IOREQ_AT.flags) & STATE_MASK;
  if (state !== IOREQ_STATE.NONE) return `device model set bad IO state ${state}`;
  if (cur.getUint32(IOREQ_AT.vpEport, true) !== port) return `device model set bad event channel ${cur.getUint32(IOREQ_AT.vpEport, true)}`;
  const b = new Uint8Array(IOREQ_STRUCT.size);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(IOREQ_AT.addr, U64(p.addr), true);
  dv.setBigUint64(IOREQ_AT.data, U64(p.data), true);
  dv.setUint32(IOREQ_AT.count, p.count, true);
  dv.setUint32(IOREQ_AT.size, p.size, true);
  dv.setUint32(IOREQ_AT.vpEport, port, true);
  // state:4 (NONE for now), data_is_ptr:1, dir:1, df:1, _pad1:1.
  const flags = (p.dataIsPtr ? 0x10 : 0) | (p.dir ? 0x20 : 0) | (p.df ? 0x40 : 0);
  dv.setUint8(IOREQ_AT.flags, flags);
  dv.setUint8(IOREQ_AT.type, p.type);
  mem.write(s.pages.ioreq, slot(v), b);
  // The body is in place before the state says so (prepare_wait_on_xen_event_channel is Xen's barrier).
  mem.write(s.pages.ioreq, slot(v) + IOREQ_AT.flags, Uint8Array.of(flags | IOREQ_STATE.IOREQ_READY));
  notifyViaXen(d, lookup, port);
  return null;
}

/** The slot's state, then its data (wait_for_io reads them in that order). */
export function readResponse(mem: GuestMemory, s: IoreqServer, v: number): { state: number; data: bigint } | null {
  if (s.pages === null) return null;
  const flags = new Uint8Array(1);
  mem.read(s.pages.ioreq, slot(v) + IOREQ_AT.flags, flags);
  const data = new Uint8Array(8);
  mem.read(s.pages.ioreq, slot(v) + IOREQ_AT.data, data);
  return { state: flags[0]! & STATE_MASK, data: new DataView(data.buffer).getBigUint64(0, true) };
}

/** IORESP_READY -> NONE: the slot is free for the next request (the other bits of the byte kept, as a bitfield store keeps them). */
export function completeSlot(mem: GuestMemory, s: IoreqServer, v: number): void {
  if (s.pages === null) return;
  const flags = new Uint8Array(1);
  mem.read(s.pages.ioreq, slot(v) + IOREQ_AT.flags, flags);
  mem.write(s.pages.ioreq, slot(v) + IOREQ_AT.flags, Uint8Array.of((flags[0]! & ~STATE_MASK) | IOREQ_STATE.NONE));
}

const BUF_SIZE_CODE: Readonly<Record<number, number>> = { 1: 0, 2: 1, 4: 2, 8: 3 };

/** HVM_IOREQSRV_BUFIOREQ_ATOMIC: Xen may rewrite both pointers at once. */
const BUFIOREQ_ATOMIC = 2;

/**
 * ioreq_send_buffered: 'unhandled' (no buffered page, an odd size, or the
 * ring full: Xen sends it synchronously instead), 'dropped' (what the ring
 * cannot carry: an address past 1 MiB, data_is_ptr, count > 1; Xen answers
 * "handled" and drops it), or 'handled': the entry (two slots for 8 bytes,
 * the second with the high half), then write_pointer, the atomic mode's
 * pointer canonicalisation, and the buffered port's notification.
 */
export function sendBuffered(mem: GuestMemory, lookup: DomainLookup, d: Domain, s: IoreqServer, p: IoRequest): 'handled' | 'unhandled' | 'dropped' {
  const pg = s.pages?.buf ?? null;
  if (pg === null) return 'unhandled';
  if (p.addr > 0xfffffn || p.dataIsPtr || p.count !== 1) return 'dropped';
  const sizeCode = BUF_SIZE_CODE[p.size];
  if (sizeCode === undefined) return 'unhandled';
  const qw = p.size === 8 ? 1 : 0;
  const ptrs = new Uint8Array(8);
  mem.read(pg, BUFFERED_IOPAGE_AT.readPointer, ptrs);
  const pv = new DataView(ptrs.buffer);
  let rd = pv.getUint32(BUFFERED_IOPAGE_AT.readPointer, true);
  let wr = pv.getUint32(BUFFERED_IOPAGE_AT.writePointer, true);
  if (((wr - rd) >>> 0) >= IOREQ_BUFFER_SLOT_NUM - qw) return 'unhandled';
  // buf_ioreq_t: type:8, pad:1, dir:1, size:2, addr:20 in one u32; then data.
  const entry = (hi: boolean): Uint8Array => {
    const e = new Uint8Array(8);
    const ev = new DataView(e.buffer);
    ev.setUint32(0, ((p.type & 0xff) | ((p.dir & 1) << 9) | (sizeCode << 10) | (Number(p.addr) << 12)) >>> 0, true);
    ev.setUint32(4, Number(hi ? (U64(p.data) >> 32n) & 0xffffffffn : U64(p.data) & 0xffffffffn), true);
    return e;
  };
  mem.write(pg, BUFFERED_IOPAGE_AT.slots + (wr % IOREQ_BUFFER_SLOT_NUM) * 8, entry(false));
  if (qw) mem.write(pg, BUFFERED_IOPAGE_AT.slots + ((wr + 1) % IOREQ_BUFFER_SLOT_NUM) * 8, entry(true));
  // The entries are visible before write_pointer moves (Xen's smp_wmb).
  wr = (wr + (qw ? 2 : 1)) >>> 0;
  const w = new Uint8Array(4);
  new DataView(w.buffer).setUint32(0, wr, true);
  mem.write(pg, BUFFERED_IOPAGE_AT.writePointer, w);
  if (s.bufioreq === BUFIOREQ_ATOMIC && rd >= IOREQ_BUFFER_SLOT_NUM) {
    // Both pointers at once (guest_cmpxchg64 on ptrs.full), so they never overflow.
    const n = Math.floor(rd / IOREQ_BUFFER_SLOT_NUM) * IOREQ_BUFFER_SLOT_NUM;
    rd -= n;
    wr = (wr - n) >>> 0;
    pv.setUint32(BUFFERED_IOPAGE_AT.readPointer, rd, true);
    pv.setUint32(BUFFERED_IOPAGE_AT.writePointer, wr, true);
    mem.write(pg, BUFFERED_IOPAGE_AT.readPointer, ptrs);
  }
  if (s.bufioreqPort !== null) notifyViaXen(d, lookup, s.bufioreqPort);
  return 'handled';
}

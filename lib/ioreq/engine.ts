// The ioreq protocol, on pages from anywhere (mapped from Xen, or plain
// ArrayBuffers in tests): serve one vCPU's synchronous slot, drain the
// buffered ring, dispatch each access to the device whose claim holds it.
// Xen's side is xen/common/ioreq.c (ioreq_send, ioreq_send_buffered,
// hvm_wait_for_io); the device model's mirrors QEMU's hw/i386/xen/xen-hvm.c
// (handle_ioreq, cpu_ioreq_pio, cpu_ioreq_move, handle_buffered_iopage).
// Notifying the vCPU's port after serveVcpu() returns true is the caller's.
import { EventEmitter } from 'events';
import {
  BUFFERED_IOPAGE_AT, BUFFERED_IOPAGE_STRUCT, IOREQ_AT, IOREQ_BUFFER_SLOT_NUM, IOREQ_READ, IOREQ_STATE, IOREQ_TYPE,
  SHARED_IOPAGE_MAX_VCPUS,
} from '../abi/ioreq';
import { codedError, describe, invalidArgument } from '../errors';
import { type Claim, ClaimTable, type ClaimKind, type IoDevice } from './claims';
import { decodeBuffered, decodeIoreq, type IoSize, slotOffset } from './request';
import { fetchAdd32, loadAcquire32, loadAcquire8, storeRelease8 } from './shared-memory';

/** Guest physical memory, for data_is_ptr requests (a foreign mapping, in the end). */
export interface GuestMemory {
  /** Fills `dst` from guest physical address `gpa`. */
  read(gpa: bigint, dst: Uint8Array): void;
  /** Copies `src` to guest physical address `gpa`. */
  write(gpa: bigint, src: Uint8Array): void;
}

export interface IoreqEngineOptions {
  /** The synchronous page: one ioreq_t per vCPU. */
  ioreqPage: Uint8Array;
  /** The buffered page, if the server has one. */
  bufioreqPage?: Uint8Array;
  /** vCPUs whose slots this engine serves (1 .. 128). */
  vcpus: number;
  guestMemory?: GuestMemory;
}

/** The access an error happened on: the fields of the ioreq_t (or buffered entry) that matter. */
export interface Access {
  readonly type: number;
  readonly addr: bigint;
  readonly data: bigint;
  readonly count: number;
  readonly size: number;
  readonly dir: number;
  readonly df: boolean;
  readonly dataIsPtr: boolean;
}

/** Emitted as 'deviceError': the access was answered regardless (a read with all-ones). */
export interface DeviceErrorEvent {
  readonly error: unknown;
  readonly access: Access;
  /** The vCPU whose slot it came in, or 'buffered'. */
  readonly from: number | 'buffered';
}

export interface IoreqStats {
  /** Synchronous requests answered. */
  served: number;
  /** Buffered entries consumed (an 8-byte write counts once). */
  buffered: number;
  /** Items no claim held: reads answered all-ones, writes dropped. */
  unclaimed: number;
  /** 'deviceError' events emitted. */
  errors: number;
}

/**
 * Xen never sends more repetitions than fit a page (xen/arch/x86/hvm/
 * emulate.c clips reps to 4096); a larger count is refused, not looped on.
 */
export const MAX_REPS = 4096;

const ONES: Readonly<Record<IoSize, bigint>> = { 1: 0xffn, 2: 0xffffn, 4: 0xffffffffn, 8: 0xffffffffffffffffn };
const SIZES: Readonly<Record<number, readonly number[]>> = {
  [IOREQ_TYPE.PIO]: [1, 2, 4],
  [IOREQ_TYPE.COPY]: [1, 2, 4, 8],
  [IOREQ_TYPE.PCI_CONFIG]: [1, 2, 4],
};
const KIND: Readonly<Record<number, ClaimKind>> = { [IOREQ_TYPE.PIO]: 'port', [IOREQ_TYPE.COPY]: 'mmio', [IOREQ_TYPE.PCI_CONFIG]: 'pci' };
const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

function isUint8Array(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

export class IoreqEngine extends EventEmitter {
  readonly stats: IoreqStats = { served: 0, buffered: 0, unclaimed: 0, errors: 0 };
  private readonly page: Uint8Array;
  private readonly dv: DataView;
  private readonly buf: Uint8Array | undefined;
  private readonly bufDv: DataView | undefined;
  private readonly vcpus: number;
  private readonly memory: GuestMemory | undefined;
  private readonly claims = new ClaimTable();
  private readonly item = new Uint8Array(8);
  private readonly itemDv = new DataView(this.item.buffer);
  /** servePortFast's scratch: the offset into the claim found. */
  private readonly fastOffset: number[] = [0];

  constructor(options: IoreqEngineOptions) {
    super();
    const what = 'ioreq.engine';
    if (typeof options !== 'object' || options === null) throw invalidArgument(what, `options must be an object, got ${describe(options)}`);
    const { ioreqPage, bufioreqPage, vcpus, guestMemory } = options;
    if (typeof vcpus !== 'number' || !Number.isInteger(vcpus) || vcpus < 1 || vcpus > SHARED_IOPAGE_MAX_VCPUS) {
      throw invalidArgument(what, `vcpus must be an integer in [1, ${SHARED_IOPAGE_MAX_VCPUS}], got ${describe(vcpus)}`);
    }
    if (!isUint8Array(ioreqPage) || ioreqPage.byteLength < slotOffset(vcpus)) {
      throw invalidArgument(what, `ioreqPage must be a Uint8Array of at least ${slotOffset(vcpus)} bytes, got ${describe(ioreqPage)}`);
    }
    if (bufioreqPage !== undefined && (!isUint8Array(bufioreqPage) || bufioreqPage.byteLength < BUFFERED_IOPAGE_STRUCT.size)) {
      throw invalidArgument(what, `bufioreqPage must be a Uint8Array of at least ${BUFFERED_IOPAGE_STRUCT.size} bytes, got ${describe(bufioreqPage)}`);
    }
    if (guestMemory !== undefined && (typeof guestMemory !== 'object' || guestMemory === null ||
        typeof guestMemory.read !== 'function' || typeof guestMemory.write !== 'function')) {
      throw invalidArgument(what, `guestMemory must have read() and write(), got ${describe(guestMemory)}`);
    }
    this.page = ioreqPage;
    this.dv = new DataView(ioreqPage.buffer, ioreqPage.byteOffset, ioreqPage.byteLength);
    this.buf = bufioreqPage;
    this.bufDv = bufioreqPage === undefined ? undefined : new DataView(bufioreqPage.buffer, bufioreqPage.byteOffset, bufioreqPage.byteLength);
    this.vcpus = vcpus;
    this.memory = guestMemory;
  }

  /** I/O ports [start, end] (inclusive) go to `device`, at offsets from start. */
  claimPorts(start: number, end: number, device: IoDevice): Claim {
    return this.claims.add('port', start, end, device, 'ioreq.claimPorts');
  }

  /** Guest physical addresses [start, end] (inclusive) go to `device`. */
  claimMmio(start: bigint | number, end: bigint | number, device: IoDevice): Claim {
    return this.claims.add('mmio', start, end, device, 'ioreq.claimMmio');
  }

  /** PCI config space of one function (sbdf as XEN_DMOP_PCI_SBDF packs it: pciSbdf()) goes to `device`, at register offsets. */
  claimPci(sbdf: number, device: IoDevice): Claim {
    return this.claims.add('pci', sbdf, sbdf, device, 'ioreq.claimPci');
  }

  /** Stops dispatching a claim's accesses; false if it was already released. */
  release(claim: Claim): boolean {
    return this.claims.remove(claim);
  }

  /** The claims held, in order of kind. */
  claimed(): Claim[] {
    return this.claims.all();
  }

  /**
   * Serves vCPU `vcpu`'s slot if Xen left a request in it: state READY, then
   * the body; dispatch; the response data, then state IORESP_READY (release).
   * Returns true when it answered (the caller then notifies the vCPU's port),
   * false when the slot held no request (a spurious or replayed event).
   */
  serveVcpu(vcpu: number): boolean {
    if (typeof vcpu !== 'number' || !Number.isInteger(vcpu) || vcpu < 0 || vcpu >= this.vcpus) {
      throw invalidArgument('ioreq.serveVcpu', `vcpu must be an integer in [0, ${this.vcpus - 1}], got ${describe(vcpu)}`);
    }
    const base = slotOffset(vcpu);
    const flags = loadAcquire8(this.page, base + IOREQ_AT.flags);
    if ((flags & 0x0f) !== IOREQ_STATE.IOREQ_READY) return false;
    if (this.servePortFast(base, flags, vcpu)) return true;
    const req = decodeIoreq(this.dv, base, flags);
    let answer: bigint | undefined = ONES[8];
    let handled = false;
    try {
      answer = this.handle(req, vcpu);
      handled = true;
    } finally {
      // Answered even if a 'deviceError' listener threw (then a direct read gets all-ones).
      if (!handled && (req.dir !== IOREQ_READ || req.dataIsPtr)) answer = undefined;
      if (answer !== undefined) this.dv.setBigUint64(base + IOREQ_AT.data, answer, true);
      storeRelease8(this.page, base + IOREQ_AT.flags, (flags & 0xf0) | IOREQ_STATE.IORESP_READY);
      this.stats.served++;
    }
    return true;
  }

  /**
   * The common request, without a BigInt or an allocation: PIO of 1, 2 or 4
   * bytes, the value in `data` (no data_is_ptr), to a claimed port. For
   * PIO without a pointer, count does not matter: one access (QEMU's
   * cpu_ioreq_pio). Answers exactly as handle() would, the same
   * 'deviceError' included; false (nothing done) for anything else.
   */
  private servePortFast(base: number, flags: number, vcpu: number): boolean {
    const dv = this.dv;
    if ((flags & 0x10) !== 0 || dv.getUint8(base + IOREQ_AT.type) !== IOREQ_TYPE.PIO) return false;
    const size = dv.getUint32(base + IOREQ_AT.size, true);
    if ((size !== 1 && size !== 2 && size !== 4) || dv.getUint32(base + IOREQ_AT.addr + 4, true) !== 0) return false;
    const claim = this.claims.findPort(dv.getUint32(base + IOREQ_AT.addr, true), this.fastOffset);
    if (claim === undefined) return false;
    const offset = this.fastOffset[0] as number;
    const mask = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    let error: { e: unknown } | undefined;
    try {
      if (((flags >> 5) & 1) === IOREQ_READ) {
        let v: unknown;
        try {
          v = claim.device.read(offset, size as IoSize);
        } catch (e) {
          error = { e };
        }
        if (error === undefined && typeof v === 'bigint' && v >= 0n && v <= BigInt(mask)) v = Number(v);
        if (error === undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= mask)) {
          error = { e: codedError('ERANGE', 'ioreq', `the port device returned ${describe(v)} for a ${size}-byte read`) };
        }
        dv.setUint32(base + IOREQ_AT.data, error === undefined ? v as number : mask, true);
        dv.setUint32(base + IOREQ_AT.data + 4, 0, true);
      } else {
        try {
          claim.device.write(offset, size as IoSize, size === 4 ? dv.getUint32(base + IOREQ_AT.data, true) : dv.getUint32(base + IOREQ_AT.data, true) & mask);
        } catch (e) {
          error = { e };
        }
      }
      if (error !== undefined) {
        try {
          this.report(error.e, decodeIoreq(dv, base, flags), vcpu);
        } catch (e) {
          // As handle(): a read whose 'deviceError' listener threw is answered all-ones, 8 bytes.
          if (((flags >> 5) & 1) === IOREQ_READ) dv.setBigUint64(base + IOREQ_AT.data, ONES[8], true);
          throw e;
        }
      }
    } finally {
      storeRelease8(this.page, base + IOREQ_AT.flags, (flags & 0xf0) | IOREQ_STATE.IORESP_READY);
      this.stats.served++;
    }
    return true;
  }

  /**
   * Consumes every entry of the buffered ring (QEMU's handle_buffered_iopage):
   * read_pointer, then write_pointer, re-check read_pointer (Xen may
   * canonicalise both at once), entries, then advance read_pointer
   * atomically. Returns the entries consumed.
   */
  drainBuffered(): number {
    const buf = this.buf;
    const dv = this.bufDv;
    if (buf === undefined || dv === undefined) throw invalidArgument('ioreq.drainBuffered', 'this engine has no buffered page');
    const { readPointer, writePointer } = BUFFERED_IOPAGE_AT;
    let consumed = 0;
    for (;;) {
      const rd = loadAcquire32(buf, readPointer);
      const wr = loadAcquire32(buf, writePointer);
      if (rd !== loadAcquire32(buf, readPointer)) continue;
      if (rd === wr) break;
      const pending = (wr - rd) >>> 0;
      if (pending > IOREQ_BUFFER_SLOT_NUM) {
        // Xen never lets the ring hold more than it has slots (ioreq_send_buffered's full check).
        this.report(codedError('EIO', 'ioreq.drainBuffered', `buffered ring holds ${pending} entries (read ${rd}, write ${wr}), more than ${IOREQ_BUFFER_SLOT_NUM}`),
          { type: -1, addr: 0n, data: 0n, count: 0, size: 0, dir: 0, df: false, dataIsPtr: false }, 'buffered');
        break;
      }
      const e = decodeBuffered(dv, rd % IOREQ_BUFFER_SLOT_NUM);
      let data = BigInt(e.data);
      const qw = e.size === 8 ? 1 : 0;
      if (qw) {
        if (pending < 2) {
          this.report(codedError('EIO', 'ioreq.drainBuffered', `8-byte buffered write at ${rd} without its second slot`),
            { type: e.type, addr: BigInt(e.addr), data, count: 1, size: 8, dir: e.dir, df: false, dataIsPtr: false }, 'buffered');
          break;
        }
        data |= BigInt(decodeBuffered(dv, (rd + 1) % IOREQ_BUFFER_SLOT_NUM).data) << 32n;
      }
      try {
        this.handle({ type: e.type, addr: BigInt(e.addr), data, count: 1, size: e.size, dir: e.dir, df: false, dataIsPtr: false }, 'buffered');
      } finally {
        // Consumed even if a 'deviceError' listener threw, so the ring never sticks.
        fetchAdd32(buf, readPointer, qw + 1);
        this.stats.buffered++;
        consumed++;
      }
    }
    return consumed;
  }

  /** One request: the value to answer a direct read with, or undefined. */
  private handle(a: Access, from: number | 'buffered'): bigint | undefined {
    const isRead = a.dir === IOREQ_READ;
    if (a.type === IOREQ_TYPE.TIMEOFFSET) {
      this.emit('timeoffset', BigInt.asIntN(64, a.data));
      return undefined;
    }
    if (a.type === IOREQ_TYPE.INVALIDATE) {
      this.emit('invalidate');
      return undefined;
    }
    const kind = KIND[a.type];
    const sizes = SIZES[a.type];
    const fallback = (a.size in ONES) ? ONES[a.size as IoSize] : ONES[8];
    if (kind === undefined || sizes === undefined || !sizes.includes(a.size)) {
      this.report(invalidArgument('ioreq', `unsupported request: type ${a.type}, size ${a.size}`), a, from);
      return isRead && !a.dataIsPtr ? fallback : undefined;
    }
    const size = a.size as IoSize;
    const rep = a.dataIsPtr || a.type === IOREQ_TYPE.COPY;
    if (rep && a.count > MAX_REPS) {
      this.report(invalidArgument('ioreq', `count ${a.count} is over ${MAX_REPS} repetitions`), a, from);
      return isRead && !a.dataIsPtr ? fallback : undefined;
    }
    if (a.dataIsPtr && this.memory === undefined) {
      this.report(codedError('EOPNOTSUPP', 'ioreq', 'data_is_ptr request, but the engine has no guestMemory'), a, from);
      return undefined;
    }
    const step = BigInt(size) * (a.df ? -1n : 1n);
    const errors: unknown[] = [];
    // PIO and PCI config address one register every time; MMIO walks with the items.
    const devAddr = (i: number): bigint => (a.type === IOREQ_TYPE.COPY ? U64(a.addr + BigInt(i) * step) : a.addr);
    const ptrAddr = (i: number): bigint => U64(a.data + BigInt(i) * step);
    let answer: bigint | undefined;
    if (!rep) {
      // PIO / PCI config without a pointer: one access, whatever count says (cpu_ioreq_pio, cpu_ioreq_config).
      if (isRead) answer = this.deviceRead(kind, a.addr, size, errors);
      else this.deviceWrite(kind, a.addr, size, a.data & ONES[size], errors);
    } else {
      for (let i = 0; i < a.count; i++) {
        if (isRead) {
          const v = this.deviceRead(kind, devAddr(i), size, errors);
          if (a.dataIsPtr) this.guestWrite(ptrAddr(i), size, v, errors);
          else answer = v;
        } else {
          const v = a.dataIsPtr ? this.guestRead(ptrAddr(i), size, errors) : a.data & ONES[size];
          if (v !== undefined) this.deviceWrite(kind, devAddr(i), size, v, errors);
        }
      }
    }
    if (errors.length > 0) this.report(errors[0], a, from);
    return isRead && !a.dataIsPtr ? (answer ?? fallback) : undefined;
  }

  private deviceRead(kind: ClaimKind, addr: bigint, size: IoSize, errors: unknown[]): bigint {
    const claim = this.claims.find(kind, this.claimKey(kind, addr));
    if (claim === undefined) {
      this.stats.unclaimed++;
      return ONES[size];
    }
    let v: unknown;
    try {
      v = claim.device.read(this.offset(kind, addr, claim), size);
    } catch (e) {
      errors.push(e);
      return ONES[size];
    }
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && BigInt(v) <= ONES[size]) return BigInt(v);
    if (typeof v === 'bigint' && v >= 0n && v <= ONES[size]) return v;
    errors.push(codedError('ERANGE', 'ioreq', `the ${kind} device returned ${describe(v)} for a ${size}-byte read`));
    return ONES[size];
  }

  private deviceWrite(kind: ClaimKind, addr: bigint, size: IoSize, value: bigint, errors: unknown[]): void {
    const claim = this.claims.find(kind, this.claimKey(kind, addr));
    if (claim === undefined) {
      this.stats.unclaimed++;
      return;
    }
    try {
      claim.device.write(this.offset(kind, addr, claim), size, size === 8 ? value : Number(value));
    } catch (e) {
      errors.push(e);
    }
  }

  // PCI config: the claim is the SBDF in the high half, the register offset the low half.
  private claimKey(kind: ClaimKind, addr: bigint): bigint {
    return kind === 'pci' ? addr >> 32n : addr;
  }

  private offset(kind: ClaimKind, addr: bigint, claim: Claim): number {
    return kind === 'pci' ? Number(addr & 0xffffffffn) : Number(addr - claim.start);
  }

  private guestRead(gpa: bigint, size: IoSize, errors: unknown[]): bigint | undefined {
    const dst = this.item.subarray(0, size);
    try {
      (this.memory as GuestMemory).read(gpa, dst);
    } catch (e) {
      errors.push(e);
      return undefined;
    }
    return size === 8 ? this.itemDv.getBigUint64(0, true) : BigInt(this.itemDv.getUint32(0, true)) & ONES[size];
  }

  private guestWrite(gpa: bigint, size: IoSize, value: bigint, errors: unknown[]): void {
    this.itemDv.setBigUint64(0, value, true);
    try {
      (this.memory as GuestMemory).write(gpa, this.item.slice(0, size));
    } catch (e) {
      errors.push(e);
    }
  }

  private report(error: unknown, access: Access, from: number | 'buffered'): void {
    this.stats.errors++;
    const event: DeviceErrorEvent = { error, access, from };
    this.emit('deviceError', event);
  }
}

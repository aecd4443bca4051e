// The JS side of a space's mailbox: the native fast calls (prologue,
// copyFrom, copyTo, bound to the space) take their arguments from it and
// leave their results in it, so a call passes no arguments at all. Offsets come
// from the addon (native/core/mailbox.h, namespace mb), never typed twice.
import { native, type MailboxCalls } from '../native';

const L = native.constants.mailbox;
const DESC = native.constants.dmBufDescSize;

export const MAILBOX_MAX_DESCS = L.maxDescs;
export const MAILBOX_DATA_SIZE = L.dataSize;

export class Mailbox {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  /** The data area: buffer 0's header after a prologue; copy source/target. */
  readonly data: Uint8Array;

  /** The driver's DM_OP buffer checks, then buffer 0's first 32 bytes: pages | -errno. */
  readonly prologue: () => number;
  /** Buffer idx -> data[0..len): 0 | -errno. */
  readonly copyFrom: () => number;
  /** data[0..len) -> buffer idx: 0 | -errno. */
  readonly copyTo: () => number;

  constructor(box: ArrayBuffer, calls: MailboxCalls) {
    this.prologue = calls.prologue;
    this.copyFrom = calls.copyFrom;
    this.copyTo = calls.copyTo;
    this.view = new DataView(box);
    this.bytes = new Uint8Array(box);
    this.data = new Uint8Array(box, L.data, L.dataSize);
  }

  // Addresses are written as two u32 halves: numbers below 2^53 need no BigInt.
  setU64(at: number, v: number | bigint): void {
    if (typeof v === 'bigint') {
      this.view.setBigUint64(at, v, true);
    } else {
      this.view.setUint32(at, v >>> 0, true);
      this.view.setUint32(at + 4, Math.floor(v / 0x100000000), true);
    }
  }

  /** Arguments of mbDmOpPrologue. */
  setValidation(ubufs: number | bigint, num: number, maxNum: number, maxSize: number): void {
    this.setU64(L.ubufs, ubufs);
    this.view.setUint32(L.num, num, true);
    this.view.setUint32(L.maxNum, maxNum, true);
    this.view.setUint32(L.maxSize, maxSize, true);
  }

  get failedStep(): number { return this.view.getUint32(L.step, true); }
  get failedIndex(): number { return this.view.getUint32(L.index, true); }

  /** Number of descriptors (the nr of the copy helpers). */
  get num(): number { return this.view.getUint32(L.num, true); }
  set num(n: number) { this.view.setUint32(L.num, n, true); }

  setDesc(i: number, addr: number | bigint, size: number | bigint): void {
    this.setU64(L.descs + i * DESC, addr);
    this.setU64(L.descs + i * DESC + 8, size);
  }

  descAddr(i: number): bigint { return this.view.getBigUint64(L.descs + i * DESC, true); }
  /** A descriptor's size as a number (exact below 2^53; larger sizes only compare as huge). */
  descSizeNumber(i: number): number {
    const at = L.descs + i * DESC + 8;
    return this.view.getUint32(at, true) + this.view.getUint32(at + 4, true) * 0x100000000;
  }
  /** Buffer sizes are at most a few KiB on every path that reads them as numbers. */
  descSize(i: number): bigint { return this.view.getBigUint64(L.descs + i * DESC + 8, true); }

  /** Arguments of mbCopyFromGuest / mbCopyToGuest (strict mode). */
  setCopy(idx: number, offset: number | bigint, len: number): void {
    this.view.setUint32(L.mode, 1, true);
    this.setU64(L.idx, idx);
    this.setU64(L.offset, offset);
    this.setU64(L.len, len);
  }
}

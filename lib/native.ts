// Loads the addon: build/Release from a source build, else the prebuild that
// ships in prebuilds/linux-x64 (node-gyp-build's order). For testing only,
// PRIVCMD_SHIM_NATIVE_BUILD=<dir> (relative to the package root) loads it from
// <dir> laid out the same way instead: `npm run test:asan` points it at the
// ASan+UBSan build in build-asan/ (scripts/asan.js). The interface below
// is the whole native surface; every call returns a status (0 or -errno)
// instead of throwing.
import * as path from 'path';
import nodeGypBuild = require('node-gyp-build');
import { libraryError } from './errors';

export interface NativeAllocation {
  addr: bigint;
  buffer: ArrayBuffer;
}

/** Opaque: keeps a space's slot alive until collected. */
export type NativeToken = object;

/**
 * Address-space functions take the space's id first. Descriptor arrays are
 * 16 bytes per buffer ({u64 addr, u64 size}, little-endian); their length
 * gives nr. Copies move exactly dst.length / src.length bytes.
 */
export interface NativeBinding {
  noop(): void;
  /** [id, token, mailbox, the mailbox calls bound to this space] | -errno */
  spaceCreate(base: bigint, size: number): [number, NativeToken, ArrayBuffer, MailboxCalls] | number;
  spaceAlloc(id: number, len: number, flags: number): NativeAllocation | number;
  spaceFree(id: number, addr: bigint): number;
  /** Detach an allocation's views, keep its pages. */
  spaceDetach(id: number, addr: bigint): number;
  spaceRead(id: number, addr: bigint, dst: Uint8Array): number;
  spaceWrite(id: number, addr: bigint, src: Uint8Array): number;
  spacePageState(id: number, addr: bigint): number;
  spaceLiveAllocations(id: number): number;
  spaceClose(id: number): number;
  /** pages | -errno; on failure out[0..8) holds [step, index] as u32. */
  validateDmBuffers(id: number, ubufs: bigint, num: number, maxNum: number, maxSize: number, out: Uint8Array): number;
  copyDmBufferFromGuest(id: number, dst: Uint8Array, bufs: Uint8Array, idx: number, offset: bigint | number, mode: number): number;
  copyDmBufferToGuest(id: number, bufs: Uint8Array, idx: number, offset: bigint | number, src: Uint8Array, mode: number): number;
  /**
   * Ordered accesses on memory another agent writes concurrently (an ioreq
   * server's pages): value | 0 | -errno (-ERANGE outside the view, -EINVAL
   * misaligned or a bad argument). Little-endian, the view used only during
   * the call. Loads are acquire, stores release, fetchAdd32 both (it returns
   * the old value and wraps modulo 2^32).
   */
  loadAcquire8(view: Uint8Array, offset: number): number;
  loadAcquire32(view: Uint8Array, offset: number): number;
  storeRelease8(view: Uint8Array, offset: number, value: number): number;
  storeRelease32(view: Uint8Array, offset: number, value: number): number;
  fetchAdd32(view: Uint8Array, offset: number, delta: number): number;
  /** A path to open, or an inherited fd to duplicate. */
  deviceOpen(pathOrFd: string | number): NativeDevice | number;
  /** Every Xen device handle of the process, across worker threads (static in the addon). */
  processHandles(): { open: number; unrestricted: number; domid: number };
  /** Later device opens, in any worker, start restricted to domid: 0, or -EINVAL if already another. */
  processRestrict(domid: number): number;
  /** /dev/xen/evtchn: a path to open. */
  evtchnOpen(path: string): NativeEvtchn | number;
  /** A duplicate of an inherited descriptor, restricted to domid (or found so already by the kernel). */
  evtchnFromFd(fd: number, domid: number): NativeEvtchn | number;
  /** The simulated host's guest RAM (native/core/mapping.h). */
  pageStoreCreate(): NativePageStore | number;
  hypercallBufferAlloc(size: number): { addr: bigint; buffer: ArrayBuffer; fromDevice: boolean } | number;
  hypercallBufferFree(buffer: ArrayBuffer): number;
  constants: {
    pageSize: number;
    mmapMinAddr: bigint;
    taskSizeMax: bigint;
    kernelBase: bigint;
    dmBufDescSize: number;
    mailbox: MailboxLayout;
  };
}

/** Calls bound to one space: arguments and results in its mailbox (lib/sim/mailbox.ts). */
export interface MailboxCalls {
  /** The driver's DM_OP buffer checks, then buffer 0's first 32 bytes: pages | -errno. */
  prologue(): number;
  /** Buffer idx -> data area: 0 | -errno. */
  copyFrom(): number;
  /** Data area -> buffer idx: 0 | -errno. */
  copyTo(): number;
}

/** One open /dev/xen/privcmd; methods bound to it. Results: value or -errno. */
export interface NativeDevice {
  /** The domain the process restriction restricted it to at open, or -1. */
  readonly restrictedAtOpen: number;
  /** 256 bytes: [0, 248) buffer 0 of dmOpMailbox(); u16 domain at 248, u32 length at 252. */
  readonly mailbox: ArrayBuffer;
  /** DM_OP with one buffer, the mailbox's first `length` bytes, for its domain. */
  dmOpMailbox(): number;
  restrict(domid: number): number;
  /** The descriptor (owned by the handle), or -EBADF once closed. */
  fd(): number;
  /** Entries: the caller's Uint8Arrays, or null where raw[2i], raw[2i+1] give {addr, size} (test-only). One Uint8Array alone is one buffer. */
  dmOp(dom: number, buffers: Uint8Array | (Uint8Array | null)[], raw: BigUint64Array | null): number;
  dmOpAsync(dom: number, buffers: (Uint8Array | null)[], raw: BigUint64Array | null): Promise<number>;
  hypercall(op: number, args: BigUint64Array): bigint | number;
  hypercallAsync(op: number, args: BigUint64Array): Promise<bigint | number>;
  /** IOCTL_PRIVCMD_MMAP_RESOURCE's size query: frames | -errno. */
  resourceSize(dom: number, type: number, id: number): number;
  /** mmap + IOCTL_PRIVCMD_MMAP_RESOURCE. */
  mapResource(dom: number, type: number, id: number, frame: number, count: number, writable: boolean): NativeMapping | number;
  /** mmap + IOCTL_PRIVCMD_MMAPBATCH_V2; errs gets each page's errno (0 or negative). */
  mapForeign(dom: number, gfns: BigUint64Array, errs: Int32Array, writable: boolean): NativeMapping | number;
  close(): number;
}

/**
 * Mapped guest pages. buffer: an external ArrayBuffer over them (writable
 * mappings only; null for read-only ones, read with copy()). unmap(buffer)
 * detaches it, then munmaps, once: -EBADF after, -EBUSY when the buffer was
 * transferred away.
 */
export interface NativeMapping {
  readonly buffer: ArrayBuffer | null;
  readonly size: number;
  copy(offset: number, length: number): Uint8Array | number;
  unmap(buffer: ArrayBuffer | null): number;
}

/** One sparse page store (a memfd); offsets are byte offsets of whole pages. */
export interface NativePageStore {
  alloc(): number;
  free(offset: number): number;
  /** Within one live page. */
  read(offset: number, dst: Uint8Array): number;
  write(offset: number, src: Uint8Array): number;
  /** offsets: -1 for a private zero page. */
  map(offsets: Float64Array, writable: boolean): NativeMapping | number;
  live(): number;
}

/** One open /dev/xen/evtchn; methods bound to it. Results: value or -errno. */
export interface NativeEvtchn {
  /** The domain the process restriction restricted it to at open, or -1. */
  readonly restrictedAtOpen: number;
  bindVirq(virq: number): number;
  bindInterdomain(remoteDomain: number, remotePort: number): number;
  bindUnboundPort(remoteDomain: number): number;
  unbind(port: number): number;
  notify(port: number): number;
  reset(): number;
  restrict(domid: number): number;
  /** Ports read without blocking (-EAGAIN: none). */
  read(max: number): number[] | number;
  /** write() of one port: bytes written. */
  unmask(port: number): number;
  /** 1 readable, 0 cancelled by close(), or -errno. */
  waitReadable(): Promise<number>;
  /** poll() on the calling thread for at most timeoutMs: 1 readable, 0 timed out, or -errno. */
  waitSync(timeoutMs: number): number;
  fd(): number;
  close(): number;
}

export interface MailboxLayout {
  ubufs: number; num: number; maxNum: number; maxSize: number; step: number; index: number;
  mode: number; idx: number; offset: number; len: number; descs: number; maxDescs: number;
  data: number; dataSize: number; size: number;
}

export const packageRoot = path.resolve(__dirname, '..');

const override = process.env.PRIVCMD_SHIM_NATIVE_BUILD;
const buildRoot = override ? path.resolve(packageRoot, override) : packageRoot;

function load(): NativeBinding {
  try {
    return nodeGypBuild(buildRoot) as NativeBinding;
  } catch (cause) {
    throw libraryError(
      'ERR_PRIVCMD_NATIVE_MISSING',
      `privcmd-shim: no native build for ${process.platform}-${process.arch} (node ${process.version}). ` +
        'Prebuilt binaries ship for linux-x64; elsewhere run `npm run build:native` in the package ' +
        '(needs python3, make and a C++ compiler).' +
        (override ? ` PRIVCMD_SHIM_NATIVE_BUILD=${override} names ${buildRoot}, which holds none.` : ''),
      {},
      { cause },
    );
  }
}

export const native: NativeBinding = load();

/** Where the loaded addon came from (build/Release or a prebuild). */
export function nativePath(): string {
  return nodeGypBuild.resolve(buildRoot);
}

// The device backend: the real /dev/xen/privcmd. Caller buffers are used in
// place (the kernel pins them); raw-hypercall pointers must point into
// hypercall buffers (mmap'd from /dev/xen/hypercall), never the V8 heap.
import { types } from 'util';
import { existsSync, readFileSync } from 'fs';
import { DOMID } from '../abi/domids';
import { ERRNO } from '../abi/errno';
import { codedError, errnoError } from '../errors';
import { native, type NativeDevice, type NativeMapping } from '../native';
import type { Allocation } from '../allocation';
import type { FilterContext } from '../policy/filter';
import type { ProcessSelector } from '../handle-registry';
import { DONE, madeBackend, type Backend, type BackendMapping, type BufferArg, type Outcome } from './backend';

export const PRIVCMD_DEVICE = '/dev/xen/privcmd';
export const PRIVCMD_PARAMETERS = '/sys/module/xen_privcmd/parameters';

/** The native device mailbox (native/device_binding.cc): data bytes, then domain and length. */
const MAILBOX_DATA = 248;
const MAILBOX_DOM = 248;

export interface DeviceOptions {
  path?: string;
  /** An inherited privcmd fd (duplicated; the original stays the caller's). */
  fd?: number;
  /** Test-only: allow DM_OP buffers as { addr, size } (kernel-range, unmapped...). */
  testOnlyRawPointers?: boolean;
}

/** What the kernel can say about a failed ioctl, when it says only an errno. */
const HINTS: Record<string, Partial<Record<string, string>>> = {
  dm_op: {
    EPERM: 'the handle is restricted to another domain, or Xen\'s XSM refused the caller (dm_op needs the control domain or the target\'s device model)',
    E2BIG: 'more buffers than dm_op_max_nr_bufs or than Xen\'s 2, or a buffer over dm_op_buf_max_size',
    EFAULT: 'a buffer is not readable/writable user memory, or buffer 0 is too short for the op',
    ESRCH: 'no such domain',
    EINVAL: 'an argument the op does not accept (a pad, a range, a level), or a PV target',
    EOPNOTSUPP: 'Xen does not implement this op here',
    ENOTTY: 'the kernel\'s privcmd has no IOCTL_PRIVCMD_DM_OP',
  },
  hypercall: {
    EPERM: 'the handle is restricted (raw hypercalls are refused), or Xen refused the caller',
    ENOSYS: 'Xen does not implement this hypercall or sub-command',
    EFAULT: 'an argument pointer is not hypercall-safe memory',
  },
  mmap: {
    EPERM: 'the handle is restricted to another domain, or Xen refused the caller (XSM), or the ioreq server belongs to another device model or has guest frames',
    EINVAL: 'Xen has no such resource or frame (an unknown type, a frame past the resource, a PV domain), or a count of 0',
    ENOENT: 'no such ioreq server, or it has no buffered ring',
    ESRCH: 'no such domain',
    ENOMEM: 'the kernel cannot hold that many frames',
  },
  restrict: {
    EINVAL: 'the handle is already restricted to another domain',
    ENOTTY: 'the kernel\'s privcmd has no IOCTL_PRIVCMD_RESTRICT',
  },
};

function hint(kind: keyof typeof HINTS, rc: number | bigint): string {
  const name = Object.entries(ERRNO).find(([, v]) => v === -Number(rc))?.[0] ?? '';
  return HINTS[kind]?.[name] ?? '';
}

/** An ioctl's return value with the kernel's reason, when it failed. */
function answered(kind: keyof typeof HINTS, rc: number): Outcome<number> {
  return rc === 0 ? DONE : { result: rc, why: rc < 0 ? hint(kind, rc) : '' };
}

/** Xen's result of a hypercall (the binding gives a failure as a negative number), with the reason. */
function hypercallOutcome(r: bigint | number): Outcome<bigint> {
  return typeof r === 'number' ? { result: BigInt(r), why: hint('hypercall', r) } : { result: r, why: '' };
}

/** A mapping, or the errno it failed with and why. */
function mapped(r: NativeMapping | number): Outcome<BackendMapping | number> {
  return typeof r === 'number' ? { result: r, why: hint('mmap', r) } : { result: { native: r }, why: '' };
}

export interface DeviceProbe {
  /** DM_OP with no buffers and DOMID_INVALID answered 0 (libxendevicemodel's probe). */
  dmOp: boolean;
  /** The kernel restricted this handle before we did (XSA-482, in a domU). */
  restrictedByKernel: boolean;
}

export class DeviceBackend implements Backend {
  readonly kind = 'device' as const;
  readonly rawPointers: boolean;
  readonly probe: DeviceProbe;
  readonly restrictedAtOpen: number | null;
  /**
   * On a device the caller's domain is unknown (the filter's `self` option
   * can name it) and only this handle's hypercall buffers can be read: the
   * filter refuses the calls it cannot judge.
   */
  readonly filterContext: FilterContext = { self: null, read: (addr, out) => this.readHypercallMemory(addr, out) };
  #dev: NativeDevice | null;
  readonly #buffers = new Set<Allocation>();
  // The fast path for single-buffer DMOPs: the handle's scratch buffer 0
  // lives in the native mailbox, whose tail carries the domain and length.
  #mailbox: Uint8Array | null = null;
  /** Its length, kept here: V8 11 (Node 20) does not inline byteLength. */
  #mailboxLength = 0;
  #mailboxTail: Uint32Array | null = null;

  constructor(options: DeviceOptions = {}) {
    const path = options.fd !== undefined ? `fd ${options.fd}` : options.path ?? PRIVCMD_DEVICE;
    this.rawPointers = options.testOnlyRawPointers === true;
    const r = native.deviceOpen(options.fd ?? path);
    if (typeof r === 'number') {
      if (options.fd !== undefined) throw errnoError(r, 'fcntl', `cannot take over inherited ${path}`);
      if (-r === ERRNO.ENOENT && !existsSync(path)) {
        throw codedError('ENOENT', 'open', `${path} does not exist: this is not a Xen dom0 or driver domain ` +
          '(or the xen_privcmd module is not loaded). To run against a simulated host: open({ host: createSimulatedHost() })');
      }
      throw errnoError(r, 'open', `cannot open ${path}`);
    }
    this.#dev = r;
    this.restrictedAtOpen = r.restrictedAtOpen >= 0 ? r.restrictedAtOpen : null;
    this.#mailboxTail = new Uint32Array(r.mailbox, MAILBOX_DOM, 2);
    const rc = r.dmOp(DOMID.INVALID, [], null);
    if (rc === -ERRNO.ENOTTY) {
      r.close();
      this.#dev = null;
      throw codedError('ENOTTY', 'ioctl', `${path} has no IOCTL_PRIVCMD_DM_OP (kernel too old, or not privcmd)`);
    }
    // EPERM from a handle the process restriction (restrictAll, in any
    // worker) restricted at open is ours, not the kernel's.
    this.probe = { dmOp: rc === 0, restrictedByKernel: rc === -ERRNO.EPERM && r.restrictedAtOpen < 0 };
    madeBackend(this);
  }

  #live(): NativeDevice {
    if (this.#dev === null) throw codedError('EBADF', 'ioctl', 'the privcmd handle is closed');
    return this.#dev;
  }

  restrict(domid: number): Outcome<number> {
    return answered('restrict', this.#live().restrict(domid));
  }

  resourceSize(domid: number, type: number, id: number): Outcome<number> {
    return answered('mmap', this.#live().resourceSize(domid, type, id));
  }

  mapResource(domid: number, type: number, id: number, frame: number, count: number, writable: boolean): Outcome<BackendMapping | number> {
    return mapped(this.#live().mapResource(domid, type, id, frame, count, writable));
  }

  mapForeign(domid: number, gfns: BigUint64Array, errs: Int32Array, writable: boolean): Outcome<BackendMapping | number> {
    return mapped(this.#live().mapForeign(domid, gfns, errs, writable));
  }

  #unpack(buffers: readonly BufferArg[]): [(Uint8Array | null)[], BigUint64Array | null] {
    let raw: BigUint64Array | null = null;
    const list = buffers.map((b, i) => {
      if (types.isUint8Array(b)) return b; // what it is, never its prototype chain
      raw ??= new BigUint64Array(buffers.length * 2);
      raw[2 * i] = b.addr;
      raw[2 * i + 1] = BigInt(b.size);
      return null;
    });
    return [list, raw];
  }

  // Small, so that V8 inlines it into the handle's dmop(); the rest is #dmOpList.
  dmOp(domid: number, buffers: readonly BufferArg[]): Outcome<number> {
    if (buffers.length !== 1 || buffers[0] !== this.#mailbox || this.#mailbox === null) return this.#dmOpList(domid, buffers);
    const dev = this.#live();
    const tail = this.#mailboxTail as Uint32Array;
    tail[0] = domid; // u16 domain, then 2 bytes of padding
    tail[1] = this.#mailboxLength;
    return answered('dm_op', dev.dmOpMailbox());
  }

  #dmOpList(domid: number, buffers: readonly BufferArg[]): Outcome<number> {
    const dev = this.#live();
    const only = buffers.length === 1 ? buffers[0] : undefined;
    if (types.isUint8Array(only)) return answered('dm_op', dev.dmOp(domid, only, null)); // one buffer: no list to build
    const [list, raw] = this.#unpack(buffers);
    return answered('dm_op', dev.dmOp(domid, list, raw));
  }

  async dmOpAsync(domid: number, buffers: readonly BufferArg[]): Promise<Outcome<number>> {
    const [list, raw] = this.#unpack(buffers);
    return answered('dm_op', await this.#live().dmOpAsync(domid, list, raw));
  }

  hypercall(op: number, args: readonly bigint[]): Outcome<bigint> {
    return hypercallOutcome(this.#live().hypercall(op, BigUint64Array.from(args)));
  }

  async hypercallAsync(op: number, args: readonly bigint[]): Promise<Outcome<bigint>> {
    return hypercallOutcome(await this.#live().hypercallAsync(op, BigUint64Array.from(args)));
  }

  allocHypercallBuffer(size: number): Allocation {
    this.#live();
    const r = native.hypercallBufferAlloc(size);
    if (typeof r === 'number') throw errnoError(r, 'mmap', `cannot allocate a ${size}-byte hypercall buffer`);
    const a = { addr: r.addr, size, view: Buffer.from(r.buffer, 0, size) };
    this.#buffers.add(a);
    return a;
  }

  freeHypercallBuffer(buffer: Allocation): void {
    if (!this.#buffers.has(buffer)) throw codedError('EINVAL', 'munmap', 'not a hypercall buffer of this handle (or already freed)');
    const rc = native.hypercallBufferFree(buffer.view.buffer as ArrayBuffer);
    if (rc !== 0) throw errnoError(rc, 'munmap', 'cannot free the hypercall buffer');
    this.#buffers.delete(buffer);
  }

  /** The open descriptor, for passing to a child process (still owned here). */
  /** The real process: the handle joins its registry. */
  readonly process: ProcessSelector = {};

  descriptor(): number {
    return this.fd();
  }

  fd(): number {
    return this.#live().fd();
  }

  /**
   * Copy [addr, addr + out.length) out of one of this handle's hypercall
   * buffers; false if no buffer holds it all. The filter reads sub-ops and
   * domids this way, so on a device it can judge only calls whose argument
   * structs live in hypercall buffers of the same handle.
   */
  readHypercallMemory(addr: bigint, out: Uint8Array): boolean {
    const b = this.#bufferHolding(addr, out.length);
    if (b === undefined) return false;
    const at = Number(addr - b.addr);
    out.set(b.view.subarray(at, at + out.length));
    return true;
  }

  writeCaller(addr: bigint, src: Uint8Array): boolean {
    const b = this.#bufferHolding(addr, src.length);
    if (b === undefined) return false;
    b.view.set(src, Number(addr - b.addr));
    return true;
  }

  #bufferHolding(addr: bigint, length: number): Allocation | undefined {
    for (const b of this.#buffers) {
      if (addr >= b.addr && addr - b.addr + BigInt(length) <= BigInt(b.size)) return b;
    }
    return undefined;
  }

  /** A hypercall buffer of the handle's own, not the caller's to free; lives for one call. */
  allocPrivate(size: number): Allocation {
    const r = native.hypercallBufferAlloc(size);
    if (typeof r === 'number') throw errnoError(r, 'mmap', `cannot allocate a ${size}-byte hypercall buffer for the filter's snapshot`);
    return { addr: r.addr, size, view: Buffer.from(r.buffer, 0, size) };
  }

  freePrivate(a: Allocation): void {
    native.hypercallBufferFree(a.view.buffer as ArrayBuffer);
  }

  scratch(size: number): Uint8Array {
    // The first scratch buffer that fits is the mailbox (the handle's buffer 0).
    if (this.#mailbox === null && this.#dev !== null && size > 0 && size <= MAILBOX_DATA) {
      this.#mailbox = new Uint8Array(this.#dev.mailbox, 0, size);
      this.#mailboxLength = size;
      return this.#mailbox;
    }
    return new Uint8Array(size);
  }

  close(): void {
    if (this.#dev === null) return;
    for (const b of this.#buffers) native.hypercallBufferFree(b.view.buffer as ArrayBuffer);
    this.#buffers.clear();
    this.#dev.close();
    this.#dev = null;
  }
}

/** The privcmd module's DM_OP limits, if the driver exposes them. */
export function privcmdParameters(): { dmOpMaxNrBufs?: number; dmOpBufMaxSize?: number } {
  const read = (name: string): number | undefined => {
    try {
      const v = Number(readFileSync(`${PRIVCMD_PARAMETERS}/${name}`, 'utf8').trim());
      return Number.isFinite(v) ? v : undefined;
    } catch {
      return undefined;
    }
  };
  const out: { dmOpMaxNrBufs?: number; dmOpBufMaxSize?: number } = {};
  const n = read('dm_op_max_nr_bufs');
  const s = read('dm_op_buf_max_size');
  if (n !== undefined) out.dmOpMaxNrBufs = n;
  if (s !== undefined) out.dmOpBufMaxSize = s;
  return out;
}

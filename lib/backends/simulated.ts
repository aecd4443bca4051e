// The simulated backend: a privcmd handle opened by a process running in a
// domain of a simulated host. Caller Uint8Arrays that live in the process's
// simulated memory are used in place; others are staged into it for the call
// and copied back after, as a real kernel would read and write the caller's
// memory.
import { codedError, invalidArgument } from '../errors';
import { native } from '../native';
import type { FilterContext } from '../policy/filter';
import { isU64, type Allocation, type AddressSpace } from '../sim/address-space';
import { SimPrivcmdFile } from '../sim/driver';
import type { SimulatedHost } from '../sim/host';
import { later } from '../later';
import type { ProcessSelector } from '../handle-registry';
import { DONE, madeBackend, type Backend, type BackendMapping, type BufferArg, type Outcome } from './backend';

const DESC = 16;

const PAGE = 4096;

export class SimulatedBackend implements Backend {
  readonly kind = 'simulated' as const;
  readonly rawPointers = true;
  readonly restrictedAtOpen = null;
  readonly file: SimPrivcmdFile;
  readonly #space: AddressSpace;
  readonly #descs: Allocation;
  readonly #descsAddr: number;
  readonly #descView: DataView;
  // Views this backend handed out (scratch) -> their address: the hot path
  // of typed DMOPs finds buffer 0 here without a WeakMap or a BigInt.
  readonly #known = new Map<Uint8Array, number>();
  readonly #staging: (Allocation | undefined)[] = [];
  readonly #owned: Allocation[] = [];
  readonly #hypercallBuffers = new Set<Allocation>();
  // Async calls queued and not yet run. Like the device (whose thread-pool
  // calls keep the fd and pin the hypercall buffers), what they may use stays
  // allocated until the last one has run: hypercall buffers freed meanwhile,
  // and after close() the handle's own memory.
  #pending = 0;
  readonly #deferredFrees: Allocation[] = [];
  #closed = false;
  #released = false;

  readonly filterContext: FilterContext;

  /** The simulated process the handle runs in (its registry, for restrictAll). */
  readonly process: ProcessSelector;

  constructor(readonly host: SimulatedHost, domid: number) {
    const process = host.process(domid);
    this.process = { host, domain: domid };
    this.file = new SimPrivcmdFile(host, process);
    this.#space = process.space;
    const space = this.#space;
    // The filter knows the caller's domain and reads its memory as Xen would.
    this.filterContext = { self: process.domain.domid, read: (addr, out) => !space.closed && native.spaceRead(space.id, addr, out) === 0 };
    this.#descs = this.#space.alloc(16 * DESC);
    this.#descsAddr = Number(this.#descs.addr);
    this.#descView = new DataView(this.#descs.view.buffer, this.#descs.view.byteOffset, this.#descs.view.byteLength);
    madeBackend(this);
  }

  /** A simulated process has no file descriptor. */
  descriptor(): null {
    return null;
  }

  get space(): AddressSpace {
    return this.#space;
  }

  // The simulated driver keeps the reason for its last failure (as the
  // kernel logs one); each call takes it at once, into its own outcome.
  #answered(rc: number): Outcome<number> {
    return rc === 0 ? DONE : { result: rc, why: rc < 0 ? this.file.why : '' };
  }

  #mapped(r: BackendMapping | number, pagesWhy = false): Outcome<BackendMapping | number> {
    return typeof r === 'number' || pagesWhy ? { result: r, why: this.file.why } : { result: r, why: '' };
  }

  restrict(domid: number): Outcome<number> {
    return this.#answered(this.file.restrict(domid));
  }

  resourceSize(domid: number, type: number, id: number): Outcome<number> {
    this.#open();
    return this.#answered(this.file.mmapResource(domid, type, id, 0, 0, false) as number);
  }

  mapResource(domid: number, type: number, id: number, frame: number, count: number, writable: boolean): Outcome<BackendMapping | number> {
    this.#open();
    return this.#mapped(this.file.mmapResource(domid, type, id, frame, count, writable));
  }

  mapForeign(domid: number, gfns: BigUint64Array, errs: Int32Array, writable: boolean): Outcome<BackendMapping | number> {
    this.#open();
    // Linux: -ENOENT with err[] filled when a frame is paged out; the mapping stands.
    return this.#mapped(this.file.mmapBatchV2(domid, [...gfns], errs, writable), true);
  }

  #open(): void {
    if (this.#closed) throw codedError('EBADF', 'ioctl', 'the privcmd handle is closed');
  }

  #stage(i: number, bytes: Uint8Array): number {
    let s = this.#staging[i];
    if (s === undefined || s.size < bytes.length) {
      const grown = this.#space.alloc(Math.max(PAGE, bytes.length));
      if (s !== undefined) this.#space.free(s);
      s = grown;
      this.#staging[i] = s;
    }
    s.view.set(bytes);
    return Number(s.addr);
  }

  dmOp(domid: number, buffers: readonly BufferArg[]): Outcome<number> {
    const n = buffers.length;
    // More buffers than the driver takes (at most 16, as on Linux): it
    // refuses them (after the restriction check) before reading a
    // descriptor, so nothing is staged, and the descriptor block made for
    // 16 never has to grow.
    if (n > this.host.privcmdParams.dmOpMaxNrBufs) return this.#answered(this.file.dmOp(domid, n, this.#descsAddr));
    const dv = this.#descView;
    let staged = false;
    for (let i = 0; i < n; i++) {
      const b = buffers[i] as BufferArg;
      if (b instanceof Uint8Array) {
        // Empty buffers point one byte into a page of our own, as the device
        // backend passes them: the driver pins that page, where an aligned
        // or NULL zero-size buffer would pin nothing and fail with EFAULT.
        let addr: number | bigint | undefined = b.byteLength === 0 ? this.#descsAddr + 1 : this.#known.get(b);
        if (addr === undefined) {
          addr = this.#space.addressOf(b);
          if (addr === undefined) {
            addr = this.#stage(i, b);
            staged = true;
          }
        }
        if (typeof addr === 'number') {
          // Simulated user addresses are below 2^47: two u32 halves, no BigInt.
          dv.setUint32(i * DESC, addr >>> 0, true);
          dv.setUint32(i * DESC + 4, Math.floor(addr / 0x100000000), true);
        } else {
          dv.setBigUint64(i * DESC, addr, true);
        }
        dv.setUint32(i * DESC + 8, b.byteLength, true);
        dv.setUint32(i * DESC + 12, 0, true);
      } else {
        const size = typeof b.size === 'number' && Number.isSafeInteger(b.size) ? BigInt(b.size) : b.size;
        if (!isU64(b.addr) || !isU64(size)) throw invalidArgument('ioctl', `buffer ${i}: addr and size must be u64 values`);
        dv.setBigUint64(i * DESC, b.addr, true);
        dv.setBigUint64(i * DESC + 8, size, true);
      }
    }
    const rc = this.#answered(this.file.dmOp(domid, n, this.#descsAddr));
    if (staged) {
      for (let i = 0; i < n; i++) {
        const b = buffers[i];
        if (b instanceof Uint8Array && b.byteLength > 0 && !this.#known.has(b) && this.#space.addressOf(b) === undefined) {
          b.set((this.#staging[i] as Allocation).view.subarray(0, b.byteLength));
        }
      }
    }
    return rc;
  }

  hypercall(op: number, args: readonly bigint[]): Outcome<bigint> {
    const r = this.file.hypercall(op, args);
    return { result: r, why: r < 0n ? this.file.why : '' };
  }

  // The simulated kernel has no thread pool: the call runs on a later turn of
  // the event loop, as a thread-pool completion would arrive. A call queued
  // before close() still runs, with its real result, as a queued device call
  // runs on the fd it holds.
  #later<T>(fn: () => T): Promise<T> {
    this.#pending++;
    return later(() => {
      try {
        return fn();
      } finally {
        if (--this.#pending === 0) this.#drain();
      }
    });
  }

  #drain(): void {
    if (this.#space.closed) return; // the process is gone, and its memory with it
    for (const a of this.#deferredFrees) this.#space.free(a);
    this.#deferredFrees.length = 0;
    if (this.#closed) this.#release();
  }

  dmOpAsync(domid: number, buffers: readonly BufferArg[]): Promise<Outcome<number>> {
    return this.#later(() => this.dmOp(domid, buffers));
  }

  hypercallAsync(op: number, args: readonly bigint[]): Promise<Outcome<bigint>> {
    return this.#later(() => this.hypercall(op, args));
  }

  allocHypercallBuffer(size: number): Allocation {
    const a = this.#space.alloc(size);
    this.#hypercallBuffers.add(a);
    return a;
  }

  /**
   * Detached at once; unmapped now, or once the async calls queued before it
   * have run (as the device binding pins hypercall buffers).
   */
  freeHypercallBuffer(buffer: Allocation): void {
    if (!this.#hypercallBuffers.has(buffer)) throw codedError('EINVAL', 'munmap', 'not a hypercall buffer of this handle (or already freed)');
    this.#hypercallBuffers.delete(buffer);
    if (this.#pending > 0) {
      this.#space.detachViews(buffer);
      this.#deferredFrees.push(buffer);
    } else {
      this.#space.free(buffer);
    }
  }

  writeCaller(addr: bigint, src: Uint8Array): boolean {
    return !this.#space.closed && native.spaceWrite(this.#space.id, addr, src) === 0;
  }

  allocPrivate(size: number): Allocation {
    return this.#space.alloc(size);
  }

  freePrivate(a: Allocation): void {
    if (!this.#space.closed) this.#space.free(a);
  }

  scratch(size: number): Uint8Array {
    const a = this.#space.alloc(size);
    this.#owned.push(a);
    // A plain Uint8Array over the allocation: element access on a Buffer
    // subclass is measurably slower on the hot path.
    const view = new Uint8Array(a.view.buffer, a.view.byteOffset, size);
    this.#known.set(view, Number(a.addr));
    return view;
  }

  /** Frees the hypercall buffers and the handle's own memory, after any queued async call has run. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const a of this.#hypercallBuffers) {
      if (this.#pending > 0 && !this.#space.closed) this.#space.detachViews(a);
      this.#deferredFrees.push(a);
    }
    this.#hypercallBuffers.clear();
    if (this.#pending === 0) this.#drain();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const s of this.#staging) if (s) this.#space.free(s);
    this.#staging.length = 0;
    for (const a of this.#owned) this.#space.free(a);
    this.#owned.length = 0;
    this.#known.clear();
    this.#space.free(this.#descs);
  }
}

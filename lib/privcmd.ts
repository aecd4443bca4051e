// The public handle: open(), restrict(), dmop(), dmopRaw(), hypercall(),
// close(), sync and async. Argument checks and encoding happen here, once,
// for every backend; the backend does the ioctl.
import { types } from 'util';
import { DOMID } from './abi/domids';
import { HYPERCALLS, type HypercallName } from './abi/hypercalls';
import { describe, codedError, errnoError, invalidArgument, type PrivcmdError } from './errors';
import { decodeOwned, decodePlanned, encodeOwned, encodePlanned, planOf, XEN_DM_OP_SIZE } from './dmop/codec';
import type { DmopRequest, DmopResult } from './dmop/types';
import { bindBackend, claimBackend, type Backend, type BufferArg, type Outcome } from './backends/backend';
import { SimulatedBackend } from './backends/simulated';
import { later } from './later';
import { DeviceBackend, PRIVCMD_DEVICE } from './backends/device';
import type { Allocation } from './allocation';
import { isSimulatedHost, type SimulatedHost } from './sim/host';
import { HypercallFilter } from './policy/filter';
import { ArgSnapshot, copyBackChanged, genuineBytes, genuineInPlace, snapshotBytes } from './copy-once';
import { registryOf, type HandleRegistry } from './handle-registry';
import { domidArg } from './domid-arg';
import { Mapping, checkMapForeign, checkMapResource, checkResourceId, type MapForeignOptions, type MapResourceOptions, type ResourceId } from './mapping';
import { ERRNO } from './abi/errno';

export { PRIVCMD_DEVICE };

export interface OpenOptions {
  /** Open a handle on a simulated host instead of /dev/xen/privcmd. */
  host?: SimulatedHost;
  /** On a simulated host: the domain the opening process runs in (default 0). */
  domain?: number;
  /** The device to open instead of /dev/xen/privcmd. */
  device?: string;
  /** An inherited privcmd descriptor to use (duplicated), e.g. PRIVCMD_SHIM_FD from the launcher. */
  fd?: number;
  /** Test-only: on a device, allow DM_OP buffers as { addr, size } (kernel-range, unmapped...). */
  testOnlyRawPointers?: boolean;
  /** A hypercall filter (createFilter()): consulted before every DMOP and hypercall goes out. */
  filter?: HypercallFilter;
  /**
   * The backend to use, made by createDeviceBackend() or
   * createSimulatedBackend() (better-sqlite3's nativeBinding is the model):
   * the seam for injecting one. Alone or with `filter`; each backend serves
   * one handle. open({ host }) and open() go through the same seam.
   */
  backend?: Backend;
}

/** The DMOP number in buffer 0 (a view the handle owns), or -1 when it cannot be seen. */
function rawDmopNumber(buffers: readonly BufferArg[]): number {
  const b = buffers[0];
  if (!(b instanceof Uint8Array) || b.byteLength < 4) return -1;
  return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
}

/**
 * A { addr, size } buffer (simulated host, or test-only on a device), read
 * once into an object of our own: a getter cannot answer the check with one
 * value and the backend with another.
 */
function rawPointer(b: Backend, x: unknown, i: number): BufferArg {
  const want = `buffer ${i} must be a Uint8Array${b.rawPointers ? ' or { addr: bigint, size: bigint | number }' : ''}`;
  if (!b.rawPointers || typeof x !== 'object' || x === null || types.isProxy(x)) throw invalidArgument('ioctl', want);
  let addr: unknown;
  let size: unknown;
  try {
    ({ addr, size } = x as { addr?: unknown; size?: unknown });
  } catch {
    throw invalidArgument('ioctl', `${want}: reading it threw`);
  }
  if (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) size = BigInt(size);
  if (typeof addr !== 'bigint' || typeof size !== 'bigint' || addr < 0n || addr >= U64_END || size < 0n || size >= U64_END) {
    throw invalidArgument('ioctl', `${want}: addr and size must be u64 values (size may be a non-negative integer number)`);
  }
  return Object.freeze({ addr, size });
}

/**
 * What a filtered raw DMOP sends: buffer 0 replaced by a private snapshot,
 * decided on and copied back after the call (copy once, lib/copy-once.ts).
 */
interface RawCall {
  readonly sent: readonly BufferArg[];
  /** The caller's buffer 0, its snapshot as sent, and the snapshot's bytes before the call; null if not snapshotted. */
  readonly buf0: { caller: Uint8Array; sent: Uint8Array; before: Uint8Array } | null;
}

function finishRaw(call: RawCall): void {
  const b = call.buf0;
  if (b !== null) copyBackChanged(b.before, b.sent, b.caller);
}

/** 2^64, once (V8 evaluates a BigInt shift on every call). */
const U64_END = 1n << 64n;

const HYPERCALL_NAMES = new Map<number, string>(Object.entries(HYPERCALLS).map(([k, v]) => [v, k]));

const checkDomid = (syscall: string, domid: unknown): number => domidArg(syscall, 'domid', domid);

function hypercallArgs(op: number | HypercallName, args: readonly (bigint | number)[]): [number, bigint[]] {
  const num = typeof op === 'string' ? HYPERCALLS[op] : op;
  if (typeof num !== 'number' || !Number.isInteger(num) || num < 0 || num > 0xffffffff) {
    throw invalidArgument('ioctl', `unknown hypercall ${describe(op)}`);
  }
  if (!Array.isArray(args) || args.length > 5) throw invalidArgument('ioctl', 'a hypercall takes at most five arguments');
  // Indexed reads, not map(): map skips a sparse array's holes, which then reached the backend as undefined.
  const a: bigint[] = [];
  for (let i = 0; i < args.length; i++) {
    const v: unknown = args[i];
    const x = typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : v;
    if (typeof x !== 'bigint' || x < 0n || x >= U64_END) throw invalidArgument('ioctl', `hypercall argument ${i} must be a u64, got ${describe(v)}`);
    a.push(x);
  }
  while (a.length < 5) a.push(0n);
  return [num, a];
}

/** The hypercall verifyRestricted tries: xen_version(XENVER_version), harmless. */
export const PROBE_HYPERCALL = HYPERCALLS.xen_version;

export class Privcmd {
  readonly handleKind = 'privcmd' as const;
  #backend: Backend | null;
  #restrictedTo: number | null = null;
  readonly #buf0: Uint8Array;
  readonly #words: Uint32Array;
  readonly #one: Uint8Array[];
  readonly #filter: HypercallFilter | null;
  #registry: HandleRegistry | null = null;
  /** Live mappings: close() unmaps them. */
  readonly #mappings = new Set<Mapping>();

  /** @internal Use open(): a handle is built only on a backend open() claimed (so that it joins its process's registry). */
  constructor(backend: Backend, filter?: HypercallFilter | null) {
    if (!bindBackend(backend, this)) throw invalidArgument('open', 'a privcmd handle is made by open(); this backend was not claimed by it');
    this.#backend = backend;
    this.#restrictedTo = backend.restrictedAtOpen;
    this.#buf0 = backend.scratch(XEN_DM_OP_SIZE);
    this.#words = new Uint32Array(this.#buf0.buffer, this.#buf0.byteOffset, XEN_DM_OP_SIZE / 4);
    this.#one = [this.#buf0];
    this.#filter = filter ?? null;
  }

  /** The filter this handle consults, or null. */
  get filter(): HypercallFilter | null {
    return this.#filter;
  }

  /** 'simulated' or 'device'. */
  get kind(): Backend['kind'] {
    return this.#live('privcmd').kind;
  }

  /** The domain this handle is restricted to, or null. */
  get restrictedTo(): number | null {
    return this.#restrictedTo;
  }

  get closed(): boolean {
    return this.#backend === null;
  }

  #live(syscall: string): Backend {
    if (this.#backend === null) throw codedError('EBADF', syscall, 'the privcmd handle is closed');
    return this.#backend;
  }

  /** The error for a refused call, with the reason its own outcome brought (sync or async alike). */
  #fail(rc: number, what: string, why: string): PrivcmdError {
    return errnoError(rc, 'ioctl', why ? `${what}: ${why}` : what);
  }

  /**
   * Restrict the handle to one domain (IOCTL_PRIVCMD_RESTRICT). One-way: the
   * same domid again is fine, another one is EINVAL. Afterwards only DMOPs
   * for that domain pass; raw hypercalls are EPERM.
   */
  restrict(domid: number): void {
    const b = this.#live('ioctl');
    checkDomid('ioctl', domid);
    if (domid === DOMID.INVALID) throw invalidArgument('ioctl', 'restricting to DOMID_INVALID would leave the handle unrestricted');
    const { result: rc, why } = b.restrict(domid);
    if (rc < 0) throw this.#fail(rc, `IOCTL_PRIVCMD_RESTRICT to domain ${domid} refused`, why);
    this.#restrictedTo = domid;
  }

  /** A typed DMOP: `dmop(5, { op: 'nr_vcpus' })` -> `{ vcpus }`. */
  dmop<R extends DmopRequest>(domid: number, request: R): DmopResult<R> {
    const b = this.#live('ioctl');
    checkDomid('ioctl', domid);
    const plan = planOf(request);
    const extras = encodeOwned(plan, request, this.#buf0, this.#words);
    // Buffer 0 is the handle's own: the filter reads the bytes that are sent.
    if (this.#filter !== null) this.#filter.checkDmop(domid, this.#words[0] as number, b.filterContext);
    const o = b.dmOp(domid, extras.length === 0 ? this.#one : [this.#buf0, ...extras]);
    // The op name from the plan: request.op is read once (a getter may answer differently later).
    if (o.result < 0) throw this.#fail(o.result, `DM_OP ${plan.info.name} on domain ${domid} refused`, o.why);
    return decodeOwned<R>(plan, this.#buf0, extras[0]);
  }

  /**
   * The multi-buffer call itself (IOCTL_PRIVCMD_DM_OP). What the hypervisor
   * writes back lands in the buffers. Returns the call's result (0).
   */
  dmopRaw(domid: number, buffers: readonly BufferArg[]): number {
    const b = this.#live('ioctl');
    const call = this.#prepareRaw(b, domid, buffers);
    const { result: rc, why } = b.dmOp(domid, call.sent);
    finishRaw(call);
    if (rc < 0) throw this.#fail(rc, `DM_OP with ${call.sent.length} buffers on domain ${domid} refused`, why);
    return rc;
  }

  /**
   * Check a raw DMOP's arguments, taking every buffer through a view of our
   * own (genuine Uint8Arrays only; { addr, size } copied out once), and, with
   * a filter, decide on a private snapshot of buffer 0 that is then sent.
   */
  #prepareRaw(b: Backend, domid: number, buffers: readonly BufferArg[]): RawCall {
    checkDomid('ioctl', domid);
    if (!Array.isArray(buffers)) throw invalidArgument('ioctl', 'buffers must be an array');
    const n = buffers.length;
    if (n > 0xffff) throw invalidArgument('ioctl', `privcmd_dm_op.num is a u16; ${n} buffers cannot be passed`);
    const sent: BufferArg[] = new Array<BufferArg>(n);
    // A device's native layer reads typed arrays by their internal slots only: it needs no fresh view.
    const inPlace = b.kind === 'device';
    for (let i = 0; i < n; i++) {
      const x: unknown = buffers[i];
      const bytes = inPlace ? genuineInPlace(x) : genuineBytes(x);
      if (bytes !== null) {
        sent[i] = bytes;
        continue;
      }
      if (types.isUint8Array(x)) throw invalidArgument('ioctl', `buffer ${i} is detached`);
      sent[i] = rawPointer(b, x, i);
    }
    let buf0: RawCall['buf0'] = null;
    if (this.#filter !== null) {
      const caller = sent[0];
      if (types.isUint8Array(caller)) {
        const snap = snapshotBytes(caller);
        buf0 = { caller, sent: snap, before: snapshotBytes(snap) };
        sent[0] = snap;
      }
      this.#filter.checkDmop(domid, rawDmopNumber(sent), b.filterContext);
    }
    return { sent, buf0 };
  }

  /** A raw hypercall (IOCTL_PRIVCMD_HYPERCALL): five 64-bit arguments; Xen's result. */
  hypercall(op: number | HypercallName, args: readonly (bigint | number)[] = []): bigint {
    const b = this.#live('ioctl');
    const [num, a] = hypercallArgs(op, args);
    const snap = this.#decideHypercall(b, num, a);
    let o: Outcome<bigint>;
    try {
      o = b.hypercall(num, snap?.args ?? a);
      snap?.copyBack();
    } finally {
      snap?.release();
    }
    if (o.result < 0n) throw this.#fail(Number(o.result), `HYPERCALL ${HYPERCALL_NAMES.get(num) ?? num} refused`, o.why);
    return o.result;
  }

  /**
   * With a filter: snapshot the argument structs the decision reads into
   * memory of the handle's own, decide on the snapshot, and return it (its
   * args point at the snapshot; the caller sends those, then copies back and
   * releases). null: no filter, or the decision reads no memory.
   */
  #decideHypercall(b: Backend, num: number, a: bigint[]): ArgSnapshot | null {
    if (this.#filter === null) return null;
    const ctx = b.filterContext;
    const snap = ctx.read === null ? null : ArgSnapshot.take({ read: ctx.read, write: (addr, src) => b.writeCaller(addr, src), allocPrivate: (n) => b.allocPrivate(n), freePrivate: (x) => b.freePrivate(x) }, num, a);
    try {
      this.#filter.checkHypercall(num, snap?.args ?? a, snap === null ? ctx : { self: ctx.self, read: snap.read });
    } catch (e) {
      snap?.release();
      throw e;
    }
    return snap;
  }

  /** Memory that raw hypercalls may point at (its addr is the pointer to pass). */
  hypercallBuffer(size: number): Allocation {
    return this.#live('mmap').allocHypercallBuffer(size);
  }

  freeHypercallBuffer(buffer: Allocation): void {
    this.#live('munmap').freeHypercallBuffer(buffer);
  }

  /**
   * How many frames a resource has (IOCTL_PRIVCMD_MMAP_RESOURCE with addr and
   * num 0): `resourceFrames(guest, { type: 'ioreq_server', id })`.
   */
  resourceFrames(domid: number, resource: ResourceId): number {
    const b = this.#live('ioctl');
    checkDomid('ioctl', domid);
    const { type, id } = checkResourceId(resource);
    const { result: rc, why } = b.resourceSize(domid, type, id);
    if (rc < 0) throw this.#fail(rc, `IOCTL_PRIVCMD_MMAP_RESOURCE size query (type ${type}, id ${id}) on domain ${domid} refused`, why);
    return rc;
  }

  /**
   * Map frames of a domain's resource (IOCTL_PRIVCMD_MMAP_RESOURCE), e.g. an
   * ioreq server's pages: `{ type: 'ioreq_server', id, frame: 1, count: 1 }`
   * is its synchronous ioreq page (frame 0 the buffered one).
   */
  mapResource(domid: number, options: MapResourceOptions): Mapping {
    const b = this.#live('mmap');
    checkDomid('mmap', domid);
    const o = checkMapResource(options);
    const { result: r, why } = b.mapResource(domid, o.type, o.id, o.frame, o.count, o.writable);
    if (typeof r === 'number') {
      throw this.#fail(r, `IOCTL_PRIVCMD_MMAP_RESOURCE of frames ${o.frame}..${o.frame + o.count - 1} (type ${o.type}, id ${o.id}) on domain ${domid} refused`, why);
    }
    return this.#adopt(new Mapping(r, { domid, kind: 'resource', writable: o.writable, pages: o.count, errors: new Array<number>(o.count).fill(0) }, (m) => this.#mappings.delete(m)));
  }

  /**
   * Map guest frames of a domain (IOCTL_PRIVCMD_MMAPBATCH_V2). A page that
   * fails is reported in `mapping.errors` (its negative errno; it reads as
   * zeros) rather than thrown; the call throws only when the whole call is
   * refused or when every page failed (with the first page's error).
   */
  mapForeign(domid: number, gfns: readonly (number | bigint)[], options?: MapForeignOptions): Mapping {
    const b = this.#live('mmap');
    checkDomid('mmap', domid);
    const o = checkMapForeign(gfns, options);
    const errs = new Int32Array(o.gfns.length);
    const { result: r, why } = b.mapForeign(domid, o.gfns, errs, o.writable);
    if (typeof r === 'number') throw this.#fail(r, `IOCTL_PRIVCMD_MMAPBATCH_V2 of ${o.gfns.length} frames of domain ${domid} refused`, why);
    const m = new Mapping(r, { domid, kind: 'foreign', writable: o.writable, pages: o.gfns.length, errors: [...errs] }, (x) => this.#mappings.delete(x));
    if (errs.every((e) => e !== 0)) {
      m.unmap();
      throw this.#fail(errs[0] as number, `IOCTL_PRIVCMD_MMAPBATCH_V2: none of the ${errs.length} frames of domain ${domid} mapped (gfn 0x${(o.gfns[0] as bigint).toString(16)} first)`, why);
    }
    return this.#adopt(m);
  }

  #adopt(m: Mapping): Mapping {
    this.#mappings.add(m);
    return m;
  }

  restrictAsync(domid: number): Promise<void> {
    return later(() => this.restrict(domid));
  }

  /**
   * dmop on the thread pool (device) or a later turn (simulated host). Each
   * call encodes into buffers of its own, so concurrent calls never share one.
   */
  async dmopAsync<R extends DmopRequest>(domid: number, request: R): Promise<DmopResult<R>> {
    const b = this.#live('ioctl');
    checkDomid('ioctl', domid);
    // One plan, from one read of request.op, for encoding, the message and
    // decoding; fresh buffers of this call's own, so the filter reads the
    // bytes that are sent.
    const plan = planOf(request);
    const buf0 = new Uint8Array(XEN_DM_OP_SIZE);
    const bufs = [buf0, ...encodePlanned(plan, request, buf0)];
    if (this.#filter !== null) this.#filter.checkDmop(domid, rawDmopNumber(bufs), b.filterContext);
    const { result: rc, why } = await b.dmOpAsync(domid, bufs);
    if (rc < 0) throw this.#fail(rc, `DM_OP ${plan.info.name} on domain ${domid} refused`, why);
    return decodePlanned<R>(plan, bufs);
  }

  async dmopRawAsync(domid: number, buffers: readonly BufferArg[]): Promise<number> {
    const b = this.#live('ioctl');
    const call = this.#prepareRaw(b, domid, buffers);
    const { result: rc, why } = await b.dmOpAsync(domid, call.sent);
    finishRaw(call);
    if (rc < 0) throw this.#fail(rc, `DM_OP with ${call.sent.length} buffers on domain ${domid} refused`, why);
    return rc;
  }

  async hypercallAsync(op: number | HypercallName, args: readonly (bigint | number)[] = []): Promise<bigint> {
    const b = this.#live('ioctl');
    const [num, a] = hypercallArgs(op, args);
    const snap = this.#decideHypercall(b, num, a);
    let r: bigint;
    let why: string;
    try {
      ({ result: r, why } = await b.hypercallAsync(num, snap?.args ?? a));
      snap?.copyBack();
    } finally {
      snap?.release();
    }
    if (r < 0n) throw this.#fail(Number(r), `HYPERCALL ${HYPERCALL_NAMES.get(num) ?? num} refused`, why);
    return r;
  }

  /** How many live mappings of `domid`'s memory this handle holds. */
  mappingsOf(domid: number): number {
    let n = 0;
    for (const m of this.#mappings) if (m.domid === domid) n++;
    return n;
  }

  /**
   * Live mappings of `domid`'s memory held by any privcmd handle of this
   * handle's process (the relabel-on-build flow refuses to relabel while
   * there are any: they would outlive the relabel).
   */
  processMappingsOf(domid: number): number {
    return this.#registry?.mappingsOf(domid) ?? this.mappingsOf(domid);
  }

  /** Close the handle; any later use is EBADF. Closing twice is harmless. */
  close(): void {
    if (this.#backend === null) return;
    // A mapping whose buffer was transferred away (EBUSY) stays mapped until collected.
    for (const m of [...this.#mappings]) {
      try {
        m.unmap();
      } catch {
        this.#mappings.delete(m);
      }
    }
    this.#backend.close();
    this.#backend = null;
    this.#registry?.forget(this);
    this.#registry = null;
  }

  /** @internal The device descriptor (device handles only), for the launcher. */
  deviceFd(): number {
    const fd = this.#live('fcntl').descriptor();
    if (fd === null) throw codedError('EINVAL', 'fcntl', 'a simulated handle has no file descriptor');
    return fd;
  }

  /** @internal Join the process's handles (restrictAll); restricted at once if the process is. */
  enroll(registry: HandleRegistry): void {
    this.#registry = registry;
    registry.adopt(this);
  }

  /**
   * @internal For verifyRestricted: a raw hypercall and a DMOP for another
   * domain, straight to the backend (no filter), so only the kernel answers.
   * DOMID_INVALID with no buffers is 0 on an unrestricted handle (the probe)
   * and EPERM on a restricted one; nothing reaches Xen either way.
   */
  probeRestriction(): { hypercall: bigint; dmop: number; foreignMap: number } {
    const b = this.#live('ioctl');
    return { hypercall: b.hypercall(PROBE_HYPERCALL, [0n, 0n, 0n, 0n, 0n]).result, dmop: b.dmOp(DOMID.INVALID, []).result, foreignMap: this.#probeForeignMap(b) };
  }

  /**
   * A foreign map of DOMID_INVALID's gfn 0: on a restricted handle the
   * driver says EPERM before Xen sees it; unrestricted, every page fails in
   * Xen (no such domain) and nothing stays mapped. 0 if something mapped.
   */
  #probeForeignMap(b: Backend): number {
    const errs = new Int32Array(1);
    const { result: r } = b.mapForeign(DOMID.INVALID, new BigUint64Array(1), errs, false);
    if (typeof r === 'number') return r;
    const rc = r.native.unmap(r.native.buffer);
    r.release?.();
    return errs[0] !== 0 ? (errs[0] as number) : rc === 0 ? 0 : -ERRNO.EIO;
  }
}

/**
 * Open a privcmd handle: on a simulated host with `{ host, domain }`, else
 * the real /dev/xen/privcmd.
 */
export function open(options: OpenOptions = {}): Privcmd {
  if (typeof options !== 'object' || options === null) throw invalidArgument('open', 'options must be an object');
  // Each option read once: a getter must not answer one thing to the checks and another to the open.
  const { host, domain: dom, filter, device, fd, testOnlyRawPointers, backend } = options;
  // The filter is checked before any backend is made (a device opened for nothing would be an fd to leak).
  if (filter !== undefined && filter !== null && !(filter instanceof HypercallFilter)) throw invalidArgument('open', 'filter must be made by createFilter()');
  if (backend !== undefined) {
    if (host !== undefined || dom !== undefined || device !== undefined || fd !== undefined || testOnlyRawPointers !== undefined) {
      throw invalidArgument('open', '`backend` names the handle\'s backend whole: it takes no host, domain, device, fd or testOnlyRawPointers');
    }
    return openOn(backend, filter);
  }
  return openOn(makeBackend({ host, domain: dom, device, fd, testOnlyRawPointers }), filter);
}

/** The backend open() makes itself: a simulated process, or the device. */
function makeBackend(o: { host: unknown; domain: unknown; device: unknown; fd: unknown; testOnlyRawPointers: unknown }): Backend {
  if (o.host !== undefined) {
    if (o.device !== undefined || o.fd !== undefined) throw invalidArgument('open', '`device` and `fd` name a real device; a simulated host has none');
    return createSimulatedBackend(o.host as SimulatedHost, (o.domain ?? 0) as number);
  }
  if (o.domain !== undefined) throw invalidArgument('open', '`domain` only applies to a simulated host; a real handle belongs to the domain it runs in');
  return createDeviceBackend({
    ...(o.device !== undefined ? { device: o.device as string } : {}),
    ...(o.fd !== undefined ? { fd: o.fd as number } : {}),
    testOnlyRawPointers: o.testOnlyRawPointers === true,
  });
}

/** A handle on a backend of ours that no other handle uses, in the backend's process. */
function openOn(backend: unknown, filter: HypercallFilter | null | undefined): Privcmd {
  if (!claimBackend(backend)) {
    throw invalidArgument('open', `backend must come from createDeviceBackend() or createSimulatedBackend() and serve no other handle, got ${describe(backend)}`);
  }
  const b: Backend = backend;
  let h: Privcmd;
  try {
    h = new Privcmd(b, filter);
  } catch (e) {
    b.close();
    throw e;
  }
  h.enroll(registryOf(b.process));
  return h;
}

/** A backend for open({ backend }): a process of a simulated host (domain default 0). */
export function createSimulatedBackend(host: SimulatedHost, domain = 0): Backend {
  if (!isSimulatedHost(host)) throw invalidArgument('open', `host must be a simulated host made by createSimulatedHost(), got ${describe(host)}`);
  checkDomid('open', domain);
  return new SimulatedBackend(host, domain);
}

/** A backend for open({ backend }): /dev/xen/privcmd (or `device`), or an inherited descriptor `fd`. */
export function createDeviceBackend(options: { device?: string; fd?: number; testOnlyRawPointers?: boolean } = {}): Backend {
  if (typeof options !== 'object' || options === null) throw invalidArgument('open', 'options must be an object');
  const { device, fd, testOnlyRawPointers } = options;
  if (fd !== undefined && (!Number.isInteger(fd) || fd < 0 || device !== undefined)) {
    throw invalidArgument('open', '`fd` must be a non-negative integer, and not combined with `device`');
  }
  return new DeviceBackend({
    ...(device !== undefined ? { path: device } : {}),
    ...(fd !== undefined ? { fd } : {}),
    testOnlyRawPointers: testOnlyRawPointers === true,
  });
}

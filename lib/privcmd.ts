// The public handle: open(), restrict(), dmop(), dmopRaw(), hypercall(),
// close(), sync and async. Argument checks and encoding happen here, once,
// for every backend; the backend does the ioctl.
import { DOMID } from './abi/domids';
import { HYPERCALLS, type HypercallName } from './abi/hypercalls';
import { codedError, errnoError, invalidArgument, type PrivcmdError } from './errors';
import { decodeDmop, decodePlanned, encodeDmop, encodePlanned, planOf, XEN_DM_OP_SIZE } from './dmop/codec';
import type { DmopRequest, DmopResult } from './dmop/types';
import type { Backend, BufferArg } from './backends/backend';
import { later, SimulatedBackend } from './backends/simulated';
import { DeviceBackend, PRIVCMD_DEVICE } from './backends/device';
import type { Allocation } from './sim/address-space';
import type { SimulatedHost } from './sim/host';
import { native } from './native';
import { HypercallFilter, type FilterContext } from './policy/filter';
import { PROBE_HYPERCALL, registryOf, type HandleRegistry } from './deprivilege/restrict-all';

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
}

/** The DMOP number in a raw buffer 0, or -1 when it cannot be seen. */
function rawDmopNumber(buffers: readonly BufferArg[]): number {
  const b = buffers[0];
  if (!(b instanceof Uint8Array) || b.byteLength < 4) return -1;
  return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
}

const HYPERCALL_NAMES = new Map<number, string>(Object.entries(HYPERCALLS).map(([k, v]) => [v, k]));

function checkDomid(syscall: string, domid: unknown): number {
  if (typeof domid !== 'number' || !Number.isInteger(domid) || domid < 0 || domid > 0xffff) {
    throw invalidArgument(syscall, `domid must be an integer in [0, 65535] (domid_t), got ${String(domid)}`);
  }
  return domid;
}

function hypercallArgs(op: number | HypercallName, args: readonly (bigint | number)[]): [number, bigint[]] {
  const num = typeof op === 'string' ? HYPERCALLS[op] : op;
  if (typeof num !== 'number' || !Number.isInteger(num) || num < 0 || num > 0xffffffff) {
    throw invalidArgument('ioctl', `unknown hypercall ${String(op)}`);
  }
  if (!Array.isArray(args) || args.length > 5) throw invalidArgument('ioctl', 'a hypercall takes at most five arguments');
  const a = args.map((v, i) => {
    const x = typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : v;
    if (typeof x !== 'bigint' || x < 0n || x >= 1n << 64n) throw invalidArgument('ioctl', `hypercall argument ${i} must be a u64, got ${String(v)}`);
    return x;
  });
  while (a.length < 5) a.push(0n);
  return [num, a];
}


export class Privcmd {
  #backend: Backend | null;
  #restrictedTo: number | null = null;
  readonly #buf0: Uint8Array;
  readonly #words: Uint32Array;
  readonly #one: Uint8Array[];
  readonly #filter: HypercallFilter | null;
  readonly #filterCtx: FilterContext;
  #registry: HandleRegistry | null = null;

  /** @internal Use open(). */
  constructor(backend: Backend, filter?: HypercallFilter | null) {
    if (filter !== undefined && filter !== null && !(filter instanceof HypercallFilter)) {
      throw invalidArgument('open', 'filter must be made by createFilter()');
    }
    this.#backend = backend;
    this.#buf0 = backend.scratch(XEN_DM_OP_SIZE);
    this.#words = new Uint32Array(this.#buf0.buffer, this.#buf0.byteOffset, XEN_DM_OP_SIZE / 4);
    this.#one = [this.#buf0];
    this.#filter = filter ?? null;
    // What the filter may know of the caller: on a simulated host its domain
    // and its memory (to read a sub-op or domid from an argument struct, as
    // Xen does). On a device the domain is unknown (the filter's `self`
    // option can name it) and only this handle's hypercall buffers can be
    // read; the filter refuses the calls it cannot judge.
    if (backend instanceof SimulatedBackend) {
      const id = backend.space.id;
      this.#filterCtx = { self: backend.file.process.domain.domid, read: (addr, out) => native.spaceRead(id, addr, out) === 0 };
    } else if (backend instanceof DeviceBackend) {
      this.#filterCtx = { self: null, read: (addr, out) => backend.readHypercallMemory(addr, out) };
    } else {
      this.#filterCtx = { self: null, read: null };
    }
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

  #fail(rc: number, what: string): PrivcmdError {
    const why = this.#backend?.why;
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
    const rc = b.restrict(domid);
    if (rc < 0) throw this.#fail(rc, `IOCTL_PRIVCMD_RESTRICT to domain ${domid} refused`);
    this.#restrictedTo = domid;
  }

  /** A typed DMOP: `dmop(5, { op: 'nr_vcpus' })` -> `{ vcpus }`. */
  dmop<R extends DmopRequest>(domid: number, request: R): DmopResult<R> {
    const b = this.#live('ioctl');
    checkDomid('ioctl', domid);
    const plan = planOf(request);
    const extras = encodePlanned(plan, request, this.#buf0, this.#words);
    if (this.#filter !== null) this.#filter.checkDmop(domid, this.#words[0] as number, this.#filterCtx);
    const bufs = extras.length === 0 ? this.#one : [this.#buf0, ...extras];
    const rc = b.dmOp(domid, bufs);
    if (rc < 0) throw this.#fail(rc, `DM_OP ${request.op} on domain ${domid} refused`);
    return decodePlanned<R>(plan, bufs);
  }

  /**
   * The multi-buffer call itself (IOCTL_PRIVCMD_DM_OP). What the hypervisor
   * writes back lands in the buffers. Returns the call's result (0).
   */
  dmopRaw(domid: number, buffers: readonly BufferArg[]): number {
    const b = this.#live('ioctl');
    this.#checkRaw(b, domid, buffers);
    if (this.#filter !== null) this.#filter.checkDmop(domid, rawDmopNumber(buffers), this.#filterCtx);
    const rc = b.dmOp(domid, buffers);
    if (rc < 0) throw this.#fail(rc, `DM_OP with ${buffers.length} buffers on domain ${domid} refused`);
    return rc;
  }

  #checkRaw(b: Backend, domid: number, buffers: readonly BufferArg[]): void {
    checkDomid('ioctl', domid);
    if (!Array.isArray(buffers)) throw invalidArgument('ioctl', 'buffers must be an array');
    if (buffers.length > 0xffff) throw invalidArgument('ioctl', `privcmd_dm_op.num is a u16; ${buffers.length} buffers cannot be passed`);
    buffers.forEach((x, i) => {
      if (x instanceof Uint8Array) return;
      if (!b.rawPointers || typeof x !== 'object' || x === null || typeof (x as { addr?: unknown }).addr !== 'bigint') {
        throw invalidArgument('ioctl', `buffer ${i} must be a Uint8Array${b.rawPointers ? ' or { addr: bigint, size }' : ''}`);
      }
    });
  }

  /** A raw hypercall (IOCTL_PRIVCMD_HYPERCALL): five 64-bit arguments; Xen's result. */
  hypercall(op: number | HypercallName, args: readonly (bigint | number)[] = []): bigint {
    const b = this.#live('ioctl');
    const [num, a] = hypercallArgs(op, args);
    if (this.#filter !== null) this.#filter.checkHypercall(num, a, this.#filterCtx);
    const r = b.hypercall(num, a);
    if (r < 0n) throw this.#fail(Number(r), `HYPERCALL ${HYPERCALL_NAMES.get(num) ?? num} refused`);
    return r;
  }

  /** Memory that raw hypercalls may point at (its addr is the pointer to pass). */
  hypercallBuffer(size: number): Allocation {
    return this.#live('mmap').allocHypercallBuffer(size);
  }

  freeHypercallBuffer(buffer: Allocation): void {
    this.#live('munmap').freeHypercallBuffer(buffer);
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
    const bufs = encodeDmop(request);
    if (this.#filter !== null) this.#filter.checkDmop(domid, rawDmopNumber(bufs), this.#filterCtx);
    const rc = await b.dmOpAsync(domid, bufs);
    if (rc < 0) throw this.#fail(rc, `DM_OP ${request.op} on domain ${domid} refused`);
    return decodeDmop<R>(request.op, bufs);
  }

  async dmopRawAsync(domid: number, buffers: readonly BufferArg[]): Promise<number> {
    const b = this.#live('ioctl');
    this.#checkRaw(b, domid, buffers);
    if (this.#filter !== null) this.#filter.checkDmop(domid, rawDmopNumber(buffers), this.#filterCtx);
    const rc = await b.dmOpAsync(domid, buffers);
    if (rc < 0) throw this.#fail(rc, `DM_OP with ${buffers.length} buffers on domain ${domid} refused`);
    return rc;
  }

  async hypercallAsync(op: number | HypercallName, args: readonly (bigint | number)[] = []): Promise<bigint> {
    const b = this.#live('ioctl');
    const [num, a] = hypercallArgs(op, args);
    if (this.#filter !== null) this.#filter.checkHypercall(num, a, this.#filterCtx);
    const r = await b.hypercallAsync(num, a);
    if (r < 0n) throw this.#fail(Number(r), `HYPERCALL ${HYPERCALL_NAMES.get(num) ?? num} refused`);
    return r;
  }

  /** Close the handle; any later use is EBADF. Closing twice is harmless. */
  close(): void {
    if (this.#backend === null) return;
    this.#backend.close();
    this.#backend = null;
    this.#registry?.forget(this);
    this.#registry = null;
  }

  /** @internal The device descriptor (device handles only), for the launcher. */
  deviceFd(): number {
    const b = this.#live('fcntl');
    if (!(b instanceof DeviceBackend)) throw codedError('EINVAL', 'fcntl', 'a simulated handle has no file descriptor');
    return b.fd();
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
  probeRestriction(): { hypercall: bigint; dmop: number } {
    const b = this.#live('ioctl');
    return { hypercall: b.hypercall(PROBE_HYPERCALL, [0n, 0n, 0n, 0n, 0n]), dmop: b.dmOp(DOMID.INVALID, []) };
  }
}

/**
 * Open a privcmd handle: on a simulated host with `{ host, domain }`, else
 * the real /dev/xen/privcmd.
 */
export function open(options: OpenOptions = {}): Privcmd {
  if (typeof options !== 'object' || options === null) throw invalidArgument('open', 'options must be an object');
  if (options.host !== undefined) {
    const domain = options.domain ?? 0;
    checkDomid('open', domain);
    const h = new Privcmd(new SimulatedBackend(options.host, domain), options.filter);
    h.enroll(registryOf({ host: options.host, domain }));
    return h;
  }
  if (options.domain !== undefined) throw invalidArgument('open', '`domain` only applies to a simulated host; a real handle belongs to the domain it runs in');
  if (options.fd !== undefined && (!Number.isInteger(options.fd) || options.fd < 0 || options.device !== undefined)) {
    throw invalidArgument('open', '`fd` must be a non-negative integer, and not combined with `device`');
  }
  const h = new Privcmd(new DeviceBackend({
    ...(options.device !== undefined ? { path: options.device } : {}),
    ...(options.fd !== undefined ? { fd: options.fd } : {}),
    testOnlyRawPointers: options.testOnlyRawPointers === true,
  }), options.filter);
  h.enroll(registryOf());
  return h;
}

// The public event-channel handle: openEventChannels() on /dev/xen/evtchn,
// on a simulated host with { host, domain }, or on a backend made beforehand
// with { backend } (the same seam as open({ backend })). Argument checks happen here,
// once, for both backends; the backend does the ioctl. The kernel's rules
// are Linux's (drivers/xen/evtchn.c), which differ from privcmd's: a handle
// is restricted once (again is EACCES, even to the same domain); domain 0
// and reserved domids are EINVAL; a restricted handle may bind only
// interdomain ports of its domain (else EACCES), no VIRQs and no unbound
// ports.
import { codedError, describe, errnoError, invalidArgument, type PrivcmdError } from './errors';
import { ERRNO } from './abi/errno';
import type { Outcome } from './backends/backend';
import { bindBackend, claimEvtchnBackend } from './backends/backend';
import type { EvtchnBackend } from './backends/evtchn-backend';
import { SimulatedEvtchnBackend } from './backends/evtchn-simulated';
import { DeviceEvtchnBackend, EVTCHN_DEVICE } from './backends/evtchn-device';
import { isSimulatedHost, type SimulatedHost } from './sim/host';
import { registryOf, type HandleRegistry } from './handle-registry';
import { domidArg } from './domid-arg';

export { EVTCHN_DEVICE };

export interface OpenEventChannelsOptions {
  /** Open on a simulated host instead of /dev/xen/evtchn. */
  host?: SimulatedHost;
  /** On a simulated host: the domain the opening process runs in (default 0). */
  domain?: number;
  /** The device to open instead of /dev/xen/evtchn. */
  device?: string;
  /** An inherited descriptor of /dev/xen/evtchn (duplicated; the caller keeps its own). Needs `restrictTo`. */
  fd?: number;
  /**
   * With `fd`: the domain the handle is restricted to. An unrestricted fd is
   * restricted now; one the kernel holds restricted to another domain is
   * EACCES. (Restricting an evtchn handle is once only, so an inherited one
   * must say which domain it is for.)
   */
  restrictTo?: number;
  /**
   * The backend to use, made by createDeviceEvtchnBackend() or
   * createSimulatedEvtchnBackend(): the seam for injecting one, as
   * open({ backend }) is for privcmd. Alone; each backend serves one handle.
   * openEventChannels({ host }) and openEventChannels() go through the same seam.
   */
  backend?: EvtchnBackend;
}

const checkDomid = (syscall: string, what: string, v: unknown): number => domidArg(syscall, what, v);

function checkU32(syscall: string, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw invalidArgument(syscall, `${what} must be an integer in [0, 2^32) (an unsigned int), got ${describe(v)}`);
  }
  return v;
}

/** At most a page of ports per read(), as the driver caps it. */
const MAX_READ = 1024;

export class EventChannels {
  readonly handleKind = 'evtchn' as const;
  #backend: EvtchnBackend | null;
  #restrictedTo: number | null;
  #registry: HandleRegistry | null = null;

  /** @internal Use openEventChannels(): a handle is built only on a backend it claimed (so that it joins its process's registry). */
  constructor(backend: EvtchnBackend) {
    if (!bindBackend(backend, this)) throw invalidArgument('open', 'an event-channel handle is made by openEventChannels(); this backend was not claimed by it');
    this.#backend = backend;
    this.#restrictedTo = backend.restrictedAtOpen;
  }

  get kind(): EvtchnBackend['kind'] {
    return this.#live('ioctl').kind;
  }

  /** The domain this handle is restricted to, or null. */
  get restrictedTo(): number | null {
    return this.#restrictedTo;
  }

  get closed(): boolean {
    return this.#backend === null;
  }

  #live(syscall: string): EvtchnBackend {
    if (this.#backend === null) throw codedError('EBADF', syscall, 'the event-channel handle is closed');
    return this.#backend;
  }

  /** The error for a refused call, with the reason its own outcome brought. */
  #fail(rc: number, what: string, why: string, syscall = 'ioctl'): PrivcmdError {
    return errnoError(rc, syscall, why ? `${what}: ${why}` : what);
  }

  #port(o: Outcome<number>, what: string): number {
    if (o.result < 0) throw this.#fail(o.result, what, o.why);
    return o.result;
  }

  /** IOCTL_EVTCHN_BIND_INTERDOMAIN: bind the remote domain's unbound port; returns the local port. */
  bindInterdomain(remoteDomid: number, remotePort: number): number {
    const b = this.#live('ioctl');
    checkDomid('ioctl', 'remoteDomid', remoteDomid);
    checkU32('ioctl', 'remotePort', remotePort);
    return this.#port(b.bindInterdomain(remoteDomid, remotePort), `IOCTL_EVTCHN_BIND_INTERDOMAIN to port ${remotePort} of domain ${remoteDomid} refused`);
  }

  /** IOCTL_EVTCHN_BIND_UNBOUND_PORT: a fresh local port the remote domain may bind; returns it. */
  bindUnboundPort(remoteDomid: number): number {
    const b = this.#live('ioctl');
    checkDomid('ioctl', 'remoteDomid', remoteDomid);
    return this.#port(b.bindUnboundPort(remoteDomid), `IOCTL_EVTCHN_BIND_UNBOUND_PORT for domain ${remoteDomid} refused`);
  }

  /** IOCTL_EVTCHN_BIND_VIRQ: bind a VIRQ on vCPU 0; returns the local port. */
  bindVirq(virq: number): number {
    const b = this.#live('ioctl');
    checkU32('ioctl', 'virq', virq);
    return this.#port(b.bindVirq(virq), `IOCTL_EVTCHN_BIND_VIRQ ${virq} refused`);
  }

  /** IOCTL_EVTCHN_UNBIND: a port this handle bound (else ENOTCONN). */
  unbind(port: number): void {
    const b = this.#live('ioctl');
    checkU32('ioctl', 'port', port);
    this.#port(b.unbind(port), `IOCTL_EVTCHN_UNBIND of port ${port} refused`);
  }

  /** IOCTL_EVTCHN_NOTIFY: signal the other end of a port this handle bound (else ENOTCONN). */
  notify(port: number): void {
    const b = this.#live('ioctl');
    checkU32('ioctl', 'port', port);
    this.#port(b.notify(port), `IOCTL_EVTCHN_NOTIFY on port ${port} refused`);
  }

  /**
   * IOCTL_EVTCHN_RESTRICT_DOMID: one-way and once only (a second call is
   * EACCES, even with the same domain); 0 and reserved domids are EINVAL.
   * Ports bound before keep working.
   */
  restrict(domid: number): void {
    const b = this.#live('ioctl');
    checkDomid('ioctl', 'domid', domid);
    this.#port(b.restrict(domid), `IOCTL_EVTCHN_RESTRICT_DOMID to domain ${domid} refused`);
    this.#restrictedTo = domid;
  }

  /**
   * The ports that fired since the last call (read() without blocking); []
   * when none. Each stays masked until unmask(port).
   */
  pending(): number[] {
    const b = this.#live('read');
    const { result: r, why } = b.read(MAX_READ);
    if (typeof r === 'number') {
      if (r === -ERRNO.EAGAIN) return [];
      throw this.#fail(r, 'read of /dev/xen/evtchn failed', why);
    }
    return r;
  }

  /** Unmask a port that fired, so that it can fire again (write()). */
  unmask(port: number): void {
    const b = this.#live('write');
    checkU32('write', 'port', port);
    const { result: r, why } = b.unmask([port]);
    if (r < 0) throw this.#fail(r, `unmasking port ${port} failed`, why, 'write');
  }

  /** Wait until at least one port fired, and return them (as pending()). EBADF if the handle is closed meanwhile. */
  async wait(): Promise<number[]> {
    for (;;) {
      const now = this.pending();
      if (now.length > 0) return now;
      const b = this.#live('poll');
      const rc = await b.waitReadable();
      if (this.#backend === null) throw codedError('EBADF', 'poll', 'the event-channel handle was closed while waiting');
      if (rc < 0) throw errnoError(rc, 'poll', 'waiting on /dev/xen/evtchn failed');
    }
  }

  /**
   * Like wait(), but blocking the thread (poll() on it) for at most
   * `timeoutMs`: the ports that fired, or [] if none did in time. For a
   * device model's loop that owns its thread, as a C one's is: wait() polls
   * on the thread pool, so each event costs two thread switches, which a PV
   * dom0 pays dearly for. On a simulated host events come from this same
   * thread, so none can arrive while it blocks: it returns what is pending,
   * or [] at once.
   */
  waitSync(timeoutMs: number): number[] {
    const b = this.#live('poll');
    if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 0x7fffffff) {
      throw invalidArgument('poll', `timeoutMs must be an integer in [0, 2^31) (poll()'s int), got ${describe(timeoutMs)}`);
    }
    // poll(), then read(), as a C device model's loop does: two calls per
    // event. Reading first would cost a third whenever nothing is pending yet.
    // A simulated backend never blocks: its read() says what is pending.
    const rc = b.waitReadableSync(timeoutMs);
    if (rc < 0) throw errnoError(rc, 'poll', 'waiting on /dev/xen/evtchn failed');
    return this.pending();
  }

  /** Close the handle: its ports are unbound; waiters reject with EBADF. Closing twice is harmless. */
  close(): void {
    if (this.#backend === null) return;
    const b = this.#backend;
    this.#backend = null;
    b.close();
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
   * @internal For verifyRestricted, straight to the kernel: allocating an
   * unbound port (EACCES when restricted; a port allocated on an
   * unrestricted handle is unbound again at once) and binding another
   * domain's port 0 (EACCES when restricted; port 0 is never bindable, so an
   * unrestricted handle gets Xen's refusal and nothing changes).
   */
  probeRestriction(): { unboundPort: number; otherDomainBind: number } {
    const b = this.#live('ioctl');
    const unboundPort = b.bindUnboundPort(0).result;
    if (unboundPort >= 0) b.unbind(unboundPort);
    const other = this.#restrictedTo === 1 ? 2 : 1;
    return { unboundPort, otherDomainBind: b.bindInterdomain(other, 0).result };
  }
}

/**
 * Open an event-channel handle: on a simulated host with `{ host, domain }`,
 * on a backend with `{ backend }`, else the real /dev/xen/evtchn.
 */
export function openEventChannels(options: OpenEventChannelsOptions = {}): EventChannels {
  if (typeof options !== 'object' || options === null) throw invalidArgument('open', `options must be an object, got ${describe(options)}`);
  // Each option read once: a getter must not answer one thing to the checks and another to the open.
  const { host, domain, device, fd, restrictTo, backend } = options;
  if (backend !== undefined) {
    if (host !== undefined || domain !== undefined || device !== undefined || fd !== undefined || restrictTo !== undefined) {
      throw invalidArgument('open', '`backend` names the handle\'s backend whole: it takes no host, domain, device, fd or restrictTo');
    }
    return openOn(backend);
  }
  if (host !== undefined && (device !== undefined || fd !== undefined || restrictTo !== undefined)) {
    throw invalidArgument('open', '`device`, `fd` and `restrictTo` name a real device; a simulated host has none');
  }
  if (host !== undefined) return openOn(createSimulatedEvtchnBackend(host, (domain ?? 0) as number));
  if (domain !== undefined) throw invalidArgument('open', '`domain` only applies to a simulated host; a real handle belongs to the domain it runs in');
  return openOn(createDeviceEvtchnBackend({
    ...(device !== undefined ? { device } : {}),
    ...(fd !== undefined ? { fd } : {}),
    ...(restrictTo !== undefined ? { restrictTo } : {}),
  }));
}

/** A handle on an event-channel backend of ours that no other handle uses, in the backend's process. */
function openOn(backend: unknown): EventChannels {
  if (!claimEvtchnBackend(backend)) {
    throw invalidArgument('open', `backend must come from createDeviceEvtchnBackend() or createSimulatedEvtchnBackend() and serve no other handle, got ${describe(backend)}`);
  }
  const b: EvtchnBackend = backend;
  let h: EventChannels;
  try {
    h = new EventChannels(b);
  } catch (e) {
    b.close();
    throw e;
  }
  h.enroll(registryOf(b.process));
  return h;
}

/** A backend for openEventChannels({ backend }): /dev/xen/evtchn of a process of a simulated host (domain default 0). */
export function createSimulatedEvtchnBackend(host: SimulatedHost, domain = 0): EvtchnBackend {
  if (!isSimulatedHost(host)) throw invalidArgument('open', `host must be a simulated host made by createSimulatedHost(), got ${describe(host)}`);
  return new SimulatedEvtchnBackend(host, checkDomid('open', 'domain', domain));
}

/** A backend for openEventChannels({ backend }): /dev/xen/evtchn (or `device`). */
export function createDeviceEvtchnBackend(options: { device?: string; fd?: number; restrictTo?: number } = {}): EvtchnBackend {
  if (typeof options !== 'object' || options === null) throw invalidArgument('open', `options must be an object, got ${describe(options)}`);
  const { device, fd, restrictTo } = options;
  if (device !== undefined && typeof device !== 'string') throw invalidArgument('open', `device must be a path, got ${describe(device)}`);
  if (fd !== undefined || restrictTo !== undefined) {
    if (device !== undefined) throw invalidArgument('open', '`fd` is an open device: give `fd` or `device`, not both');
    if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw invalidArgument('open', `fd must be a file descriptor, got ${describe(fd)}`);
    // Not 0 or reserved: the kernel's rule for IOCTL_EVTCHN_RESTRICT_DOMID.
    const d = domidArg('open', 'restrictTo', restrictTo, 'guest');
    return new DeviceEvtchnBackend({ fd, restrictTo: d });
  }
  return new DeviceEvtchnBackend(device ?? EVTCHN_DEVICE);
}

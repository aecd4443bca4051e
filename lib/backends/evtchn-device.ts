// /dev/xen/evtchn on a real Xen host, through the native binding
// (native/evtchn_binding.cc). The file is opened O_NONBLOCK: read() never
// blocks the event loop; waiting for events polls on the thread pool.
import { existsSync } from 'fs';
import { ERRNO } from '../abi/errno';
import { codedError, errnoError } from '../errors';
import { native, type NativeEvtchn } from '../native';
import type { ProcessSelector } from '../handle-registry';
import { DONE, madeEvtchnBackend, type Outcome } from './backend';
import type { EvtchnBackend } from './evtchn-backend';

export const EVTCHN_DEVICE = '/dev/xen/evtchn';

/** What the kernel can say about a failed ioctl, when it says only an errno. */
const HINTS: Partial<Record<string, string>> = {
  EACCES: 'the handle is restricted (IOCTL_EVTCHN_RESTRICT_DOMID): only interdomain ports of its domain may be bound',
  ENOTCONN: 'the port is not bound by this handle',
  ESRCH: 'no such domain',
  EINVAL: 'Xen refused the port (not an unbound port offered to this domain, or out of range)',
  ENOSPC: 'no free event channel',
  EEXIST: 'the VIRQ is already bound',
};

function hint(rc: number): string {
  return HINTS[Object.entries(ERRNO).find(([, v]) => v === -rc)?.[0] ?? ''] ?? '';
}

export class DeviceEvtchnBackend implements EvtchnBackend {
  readonly kind = 'device' as const;
  readonly restrictedAtOpen: number | null;
  /** The real process: the handle joins its registry. */
  readonly process: ProcessSelector = {};
  #dev: NativeEvtchn | null;

  /**
   * `path` opens the device; `{ fd, restrictTo }` takes a duplicate of an
   * inherited descriptor and restricts it to `restrictTo`, or finds it
   * restricted to it already (the kernel's word, not the caller's).
   */
  constructor(path: string | { fd: number; restrictTo: number }) {
    if (typeof path !== 'string') {
      const r = native.evtchnFromFd(path.fd, path.restrictTo);
      if (typeof r === 'number') {
        const why = -r === ERRNO.EACCES ? `: it is restricted to another domain than ${path.restrictTo}` : '';
        throw errnoError(r, -r === ERRNO.EBADF ? 'fcntl' : 'ioctl', `cannot take inherited fd ${path.fd} as an event-channel handle restricted to domain ${path.restrictTo}${why}`);
      }
      this.#dev = r;
      this.restrictedAtOpen = path.restrictTo;
      madeEvtchnBackend(this);
      return;
    }
    const r = native.evtchnOpen(path);
    if (typeof r === 'number') {
      if (-r === ERRNO.ENOENT && !existsSync(path)) {
        throw codedError('ENOENT', 'open', `${path} does not exist: this is not a Xen domain with the xen_evtchn module loaded. ` +
          'To run against a simulated host: openEventChannels({ host: createSimulatedHost() })');
      }
      throw errnoError(r, 'open', `cannot open ${path}`);
    }
    this.#dev = r;
    this.restrictedAtOpen = r.restrictedAtOpen >= 0 ? r.restrictedAtOpen : null;
    madeEvtchnBackend(this);
  }

  #call(fn: (d: NativeEvtchn) => number): Outcome<number> {
    if (this.#dev === null) return { result: -ERRNO.EBADF, why: '' };
    const rc = fn(this.#dev);
    return rc === 0 ? DONE : { result: rc, why: rc < 0 ? hint(rc) : '' };
  }

  bindVirq(virq: number): Outcome<number> {
    return this.#call((d) => d.bindVirq(virq));
  }

  bindInterdomain(remoteDomid: number, remotePort: number): Outcome<number> {
    return this.#call((d) => d.bindInterdomain(remoteDomid, remotePort));
  }

  bindUnboundPort(remoteDomid: number): Outcome<number> {
    return this.#call((d) => d.bindUnboundPort(remoteDomid));
  }

  unbind(port: number): Outcome<number> {
    return this.#call((d) => d.unbind(port));
  }

  notify(port: number): Outcome<number> {
    return this.#call((d) => d.notify(port));
  }

  reset(): Outcome<number> {
    return this.#call((d) => d.reset());
  }

  restrict(domid: number): Outcome<number> {
    return this.#call((d) => d.restrict(domid));
  }

  read(max: number): Outcome<number[] | number> {
    if (this.#dev === null) return { result: -ERRNO.EBADF, why: '' };
    // EAGAIN (nothing pending) is no failure to explain.
    return { result: this.#dev.read(max), why: '' };
  }

  unmask(ports: readonly number[]): Outcome<number> {
    let total = 0;
    for (const p of ports) {
      const o = this.#call((d) => d.unmask(p));
      if (o.result < 0) return o;
      total += o.result;
    }
    return { result: total, why: '' };
  }

  waitReadable(): Promise<number> {
    if (this.#dev === null) return Promise.resolve(-ERRNO.EBADF);
    return this.#dev.waitReadable().then((rc) => (rc < 0 ? rc : 0));
  }

  waitReadableSync(timeoutMs: number): number {
    if (this.#dev === null) return -ERRNO.EBADF;
    return this.#dev.waitSync(timeoutMs);
  }

  /** The open descriptor, for passing to a child process (still owned here). */
  descriptor(): number | null {
    return this.#dev === null ? null : this.#dev.fd();
  }

  close(): void {
    if (this.#dev === null) return;
    this.#dev.close();
    this.#dev = null;
  }
}

// The simulated Linux /dev/xen/evtchn driver (drivers/xen/evtchn.c, Linux
// 6.1): one SimEvtchnFile per open file, each ioctl one method with the
// driver's checks in the driver's order, over the simulated hypervisor's
// event channels (lib/sim/evtchn.ts). Ports a file binds are the kernel's
// (one owner per port in the domain); an event on one is masked and queued
// for read() until the user unmasks it by write()-ing the port back.
import { DOMID } from '../abi/domids';
import { ERRNO } from '../abi/errno';
import { EVTCHN_2L_NR_CHANNELS } from '../abi/evtchn';
import * as xen from './evtchn';
import type { EventChannelTable, EvtchnDomain, DomainLookup } from './evtchn';

/** UNRESTRICTED_DOMID: (domid_t)-1. */
const UNRESTRICTED = 0xffff;

/** The kernel's port -> file map, one per domain (port_user / the per-user rb-tree). */
const owners = new WeakMap<EventChannelTable, Map<number, SimEvtchnFile>>();

function ownersOf(d: EvtchnDomain): Map<number, SimEvtchnFile> {
  let m = owners.get(d.evtchn);
  if (m === undefined) {
    const map = new Map<number, SimEvtchnFile>();
    m = map;
    owners.set(d.evtchn, map);
    d.evtchn.deliver = (port) => map.get(port)?.deliver(port) ?? false;
  }
  return m;
}

export class SimEvtchnFile {
  /** u->restrict_domid. */
  restrictDomid = UNRESTRICTED;
  /** Why the last ioctl failed, for error messages. */
  why = '';
  /** Bound ports -> enabled (not waiting to be unmasked). */
  readonly #bound = new Map<number, { enabled: boolean }>();
  readonly #ring: number[] = [];
  readonly #waiters: (() => void)[] = [];
  #open = true;

  constructor(readonly domain: EvtchnDomain, readonly lookup: DomainLookup) {}

  #fail(errno: keyof typeof ERRNO, why: string): number {
    this.why = why;
    return -ERRNO[errno];
  }

  /** evtchn_bind_to_user: the port is this file's from now on. */
  #bindToUser(port: number): number {
    ownersOf(this.domain).set(port, this);
    this.#bound.set(port, { enabled: true });
    // A port bound while pending (a fresh interdomain port is) is delivered now.
    xen.unmask(this.domain, port);
    return port;
  }

  /** IOCTL_EVTCHN_BIND_VIRQ: refused on a restricted file before anything else. */
  bindVirq(virq: number): number {
    if (this.restrictDomid !== UNRESTRICTED) return this.#fail('EACCES', `the handle is restricted to domain ${this.restrictDomid}: VIRQs cannot be bound`);
    const port = xen.bindVirq(this.domain, virq >>> 0);
    if (port < 0) return this.#fail(port === -ERRNO.EEXIST ? 'EEXIST' : port === -ERRNO.ENOSPC ? 'ENOSPC' : 'EINVAL',
      port === -ERRNO.EEXIST ? `VIRQ ${virq} is already bound in domain ${this.domain.domid}` : `EVTCHNOP_bind_virq ${virq} refused`);
    return this.#bindToUser(port);
  }

  /** IOCTL_EVTCHN_BIND_INTERDOMAIN: a restricted file binds only to its domain (EACCES). */
  bindInterdomain(remoteDomain: number, remotePort: number): number {
    if (this.restrictDomid !== UNRESTRICTED && this.restrictDomid !== remoteDomain) {
      return this.#fail('EACCES', `the handle is restricted to domain ${this.restrictDomid}`);
    }
    // struct evtchn_bind_interdomain takes a domid_t and an evtchn_port_t.
    const port = xen.bindInterdomain(this.domain, this.lookup, remoteDomain & 0xffff, remotePort >>> 0);
    if (port < 0) {
      const why = port === -ERRNO.ESRCH ? `no domain ${remoteDomain & 0xffff}` : port === -ERRNO.ENOSPC ? 'no free port'
        : `port ${remotePort} of domain ${remoteDomain & 0xffff} is not an unbound port offered to domain ${this.domain.domid}`;
      this.why = `EVTCHNOP_bind_interdomain: ${why}`;
      return port;
    }
    return this.#bindToUser(port);
  }

  /** IOCTL_EVTCHN_BIND_UNBOUND_PORT: refused on a restricted file (EACCES). */
  bindUnboundPort(remoteDomain: number): number {
    if (this.restrictDomid !== UNRESTRICTED) return this.#fail('EACCES', `the handle is restricted to domain ${this.restrictDomid}: unbound ports cannot be allocated`);
    const port = xen.allocUnbound(this.domain, remoteDomain & 0xffff);
    if (port < 0) return this.#fail('ENOSPC', 'EVTCHNOP_alloc_unbound: no free port');
    return this.#bindToUser(port);
  }

  /** IOCTL_EVTCHN_UNBIND: EINVAL past the port space, ENOTCONN for a port this file did not bind. */
  unbind(port: number): number {
    if (port >>> 0 >= EVTCHN_2L_NR_CHANNELS) return this.#fail('EINVAL', `port ${port} is past the ${EVTCHN_2L_NR_CHANNELS} event channels`);
    if (!this.#bound.has(port)) return this.#fail('ENOTCONN', `port ${port} is not bound by this handle`);
    this.#unbindPort(port);
    return 0;
  }

  #unbindPort(port: number): void {
    this.#bound.delete(port);
    ownersOf(this.domain).delete(port);
    const at = this.#ring.indexOf(port);
    if (at >= 0) this.#ring.splice(at, 1);
    xen.close(this.domain, this.lookup, port);
  }

  /** IOCTL_EVTCHN_NOTIFY: only a port this file bound (ENOTCONN). */
  notify(port: number): number {
    if (!this.#bound.has(port)) return this.#fail('ENOTCONN', `port ${port} is not bound by this handle`);
    xen.send(this.domain, this.lookup, port);
    return 0;
  }

  /** IOCTL_EVTCHN_RESET: empty the ring. */
  reset(): number {
    this.#ring.length = 0;
    return 0;
  }

  /** IOCTL_EVTCHN_RESTRICT_DOMID: once only (EACCES even for the same domid); 0 and reserved domids EINVAL. */
  restrict(domid: number): number {
    if (this.restrictDomid !== UNRESTRICTED) return this.#fail('EACCES', `the handle is already restricted to domain ${this.restrictDomid}`);
    if (domid === 0 || domid >= DOMID.FIRST_RESERVED) return this.#fail('EINVAL', `domain ${domid} cannot be a restriction (0 and reserved domids are refused)`);
    this.restrictDomid = domid;
    return 0;
  }

  /** The kernel took an event on a bound port: queue it, mask it until unmasked. */
  deliver(port: number): boolean {
    const b = this.#bound.get(port);
    if (b === undefined || !b.enabled) return false;
    b.enabled = false;
    this.#ring.push(port);
    for (const w of this.#waiters.splice(0)) w();
    return true;
  }

  /** read() with O_NONBLOCK: the queued ports (at most `max`), or -EAGAIN when there are none. */
  read(max: number): number[] | number {
    if (this.#ring.length === 0) return -ERRNO.EAGAIN;
    return this.#ring.splice(0, Math.max(1, max));
  }

  /** write(): unmask each port this file bound and that is waiting. */
  write(ports: readonly number[]): number {
    for (const port of ports) {
      const b = this.#bound.get(port);
      if (b !== undefined && !b.enabled) {
        b.enabled = true;
        xen.unmask(this.domain, port);
      }
    }
    return ports.length * 4;
  }

  /** Resolve when read() has something (poll(POLLIN)), or when the file is closed. */
  waitReadable(): Promise<void> {
    if (this.#ring.length > 0 || !this.#open) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  get boundPorts(): number[] {
    return [...this.#bound.keys()];
  }

  /** release(): every bound port is unbound (and closed in Xen). */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const port of [...this.#bound.keys()]) this.#unbindPort(port);
    for (const w of this.#waiters.splice(0)) w();
  }
}

// Xen's event channels (xen/common/event_channel.c, Xen 4.17) as the
// simulated hypervisor keeps them: a per-domain port table, interdomain
// binding, VIRQs, and the pending and mask bits of the 2-level ABI. Each
// operation checks in Xen's order and answers Xen's errno. Delivery into a
// domain's kernel (Linux's evtchn driver, lib/sim/evtchn-driver.ts) goes
// through the domain's `deliver` hook: Xen sets the pending bit, and an
// unmasked pending port is handed to whatever the domain's kernel bound it to.
import { DOMID } from '../abi/domids';
import { ERRNO } from '../abi/errno';
import { EVTCHN_2L_NR_CHANNELS, NR_VIRQS } from '../abi/evtchn';

export type ChannelState =
  | { readonly kind: 'unbound'; readonly remoteDomid: number }
  | { readonly kind: 'interdomain'; readonly remoteDomid: number; readonly remotePort: number }
  | { readonly kind: 'virq'; readonly virq: number };

interface Channel {
  state: ChannelState;
  pending: boolean;
  masked: boolean;
  /** consumer_is_xen: Xen itself owns this end (an ioreq server's ports); a send wakes Xen, sets no bit. */
  xen: boolean;
}

/** What a domain's kernel does with a port that became pending and is unmasked: true if it took it (and masked it). */
export type Deliver = (port: number) => boolean;

/** One domain's event channels (d->evtchn). Port 0 is reserved (ECS_RESERVED), never handed out. */
export class EventChannelTable {
  readonly #ports: (Channel | undefined)[] = [];
  /** The domain's kernel, if it runs one the simulator models (set by its evtchn driver). */
  deliver: Deliver | null = null;
  /**
   * xen_notification_fn of the domain's Xen-consumed ports: what an event
   * sent to one of them does (default_xen_notification_fn wakes the vCPU
   * blocked on it; the guest runner sets this, lib/sim/guest-runner.ts).
   */
  xenNotify: ((port: number) => void) | null = null;

  /** get_free_port: the lowest free port, or -ENOSPC. */
  allocate(state: ChannelState, xen = false): number {
    let p = 1;
    while (p < this.#ports.length && this.#ports[p] !== undefined) p++;
    if (p >= EVTCHN_2L_NR_CHANNELS) return -ERRNO.ENOSPC;
    this.#ports[p] = { state, pending: false, masked: false, xen };
    return p;
  }

  channel(port: number): Channel | undefined {
    return Number.isInteger(port) && port > 0 ? this.#ports[port] : undefined;
  }

  free(port: number): void {
    this.#ports[port] = undefined;
    while (this.#ports.length > 0 && this.#ports[this.#ports.length - 1] === undefined) this.#ports.length--;
  }

  /** Ports in use (for inspect()). */
  snapshot(): { port: number; state: ChannelState; pending: boolean; masked: boolean }[] {
    const out: { port: number; state: ChannelState; pending: boolean; masked: boolean }[] = [];
    this.#ports.forEach((c, port) => {
      if (c !== undefined) out.push({ port, state: c.state, pending: c.pending, masked: c.masked });
    });
    return out;
  }

  /** Ports whose channel is in this state kind. */
  ports(): number[] {
    const out: number[] = [];
    this.#ports.forEach((c, port) => {
      if (c !== undefined) out.push(port);
    });
    return out;
  }
}

/** What the event-channel operations need of the host: domains by id. */
export interface EvtchnDomain {
  readonly domid: number;
  readonly maxVcpus: number;
  readonly dying: boolean;
  readonly evtchn: EventChannelTable;
}
export type DomainLookup = (domid: number) => EvtchnDomain | undefined;

/**
 * evtchn_port_set_pending: mark the port pending; if it was not already and
 * is not masked, the domain's kernel takes it.
 */
export function setPending(d: EvtchnDomain, port: number): void {
  const c = d.evtchn.channel(port);
  if (c === undefined || c.pending) return;
  c.pending = true;
  if (!c.masked) deliverPort(d, c, port);
}

function deliverPort(d: EvtchnDomain, c: Channel, port: number): void {
  // The kernel's upcall: it acknowledges (clears pending) and masks the
  // port, then hands it to the user that bound it (Linux evtchn_interrupt).
  if (d.evtchn.deliver?.(port) === true) {
    c.pending = false;
    c.masked = true;
  }
}

/** EVTCHNOP_unmask: clear the mask; a port that is still pending is delivered again. */
export function unmask(d: EvtchnDomain, port: number): number {
  const c = d.evtchn.channel(port);
  if (c === undefined) return -ERRNO.EINVAL;
  c.masked = false;
  if (c.pending) deliverPort(d, c, port);
  return 0;
}

/**
 * EVTCHNOP_alloc_unbound (dom = DOMID_SELF): a fresh port accepting a bind
 * from remote_dom. Xen does not check that remote_dom exists; DOMID_SELF
 * names the caller.
 */
export function allocUnbound(d: EvtchnDomain, remoteDomid: number): number {
  const remote = remoteDomid === DOMID.SELF ? d.domid : remoteDomid;
  return d.evtchn.allocate({ kind: 'unbound', remoteDomid: remote });
}

/**
 * alloc_unbound_xen_event_channel: an unbound port that Xen consumes,
 * offered to remoteDomid (an ioreq server's ports, offered to its emulator).
 */
export function allocUnboundXen(d: EvtchnDomain, remoteDomid: number): number {
  return d.evtchn.allocate({ kind: 'unbound', remoteDomid }, true);
}

/**
 * notify_via_xen_event_channel: Xen signals the other end of a port it
 * consumes; nothing happens while that end is not bound (the binder's port
 * starts pending, so nothing is lost).
 */
export function notifyViaXen(d: EvtchnDomain, lookup: DomainLookup, port: number): void {
  const c = d.evtchn.channel(port);
  if (c === undefined || c.state.kind !== 'interdomain') return;
  const rd = lookup(c.state.remoteDomid);
  if (rd !== undefined) setPending(rd, c.state.remotePort);
}

/**
 * EVTCHNOP_bind_interdomain: bind a fresh local port to the remote domain's
 * unbound port offered to us. Order as evtchn_bind_interdomain: the remote
 * domain (ESRCH), a free local port (ENOSPC), the remote port valid (EINVAL)
 * and unbound for us (EINVAL). The new local port is left pending: Xen
 * "conservatively always sets a notification on the local port", since
 * notifications sent to the unbound port were lost.
 */
export function bindInterdomain(ld: EvtchnDomain, lookup: DomainLookup, remoteDomid: number, remotePort: number): number {
  const rd = remoteDomid === DOMID.SELF ? ld : lookup(remoteDomid);
  if (rd === undefined || rd.dying) return -ERRNO.ESRCH;
  const lport = ld.evtchn.allocate({ kind: 'unbound', remoteDomid: rd.domid });
  if (lport < 0) return lport;
  const rchn = rd.evtchn.channel(remotePort);
  if (rchn === undefined || rchn.state.kind !== 'unbound' || rchn.state.remoteDomid !== ld.domid) {
    ld.evtchn.free(lport);
    return -ERRNO.EINVAL;
  }
  (ld.evtchn.channel(lport) as Channel).state = { kind: 'interdomain', remoteDomid: rd.domid, remotePort };
  rchn.state = { kind: 'interdomain', remoteDomid: ld.domid, remotePort: lport };
  setPending(ld, lport);
  return lport;
}

/**
 * EVTCHNOP_bind_virq on vCPU 0: EINVAL past NR_VIRQS, ENOENT without the
 * vCPU, EEXIST when the VIRQ is already bound in this domain.
 */
export function bindVirq(d: EvtchnDomain, virq: number, vcpu = 0): number {
  if (!Number.isInteger(virq) || virq < 0 || virq >= NR_VIRQS) return -ERRNO.EINVAL;
  if (vcpu < 0 || vcpu >= d.maxVcpus) return -ERRNO.ENOENT;
  for (const p of d.evtchn.ports()) {
    const s = (d.evtchn.channel(p) as Channel).state;
    if (s.kind === 'virq' && s.virq === virq) return -ERRNO.EEXIST;
  }
  return d.evtchn.allocate({ kind: 'virq', virq });
}

/**
 * EVTCHNOP_close: free the port; the remote end of an interdomain channel
 * goes back to unbound, offered to this domain again (evtchn_close).
 */
export function close(d: EvtchnDomain, lookup: DomainLookup, port: number): number {
  const c = d.evtchn.channel(port);
  if (c === undefined) return -ERRNO.EINVAL;
  if (c.state.kind === 'interdomain') {
    const rd = lookup(c.state.remoteDomid);
    const rchn = rd?.evtchn.channel(c.state.remotePort);
    if (rchn !== undefined && rchn.state.kind === 'interdomain') rchn.state = { kind: 'unbound', remoteDomid: d.domid };
  }
  d.evtchn.free(port);
  return 0;
}

/**
 * EVTCHNOP_send: an interdomain channel raises the remote port, or, when
 * Xen consumes the remote end, calls Xen's notification function instead
 * (evtchn_send); an unbound one drops the event; a port Xen consumes, any
 * other state and an invalid port are EINVAL.
 */
export function send(d: EvtchnDomain, lookup: DomainLookup, port: number): number {
  const c = d.evtchn.channel(port);
  if (c === undefined || c.xen) return -ERRNO.EINVAL;
  if (c.state.kind === 'unbound') return 0;
  if (c.state.kind !== 'interdomain') return -ERRNO.EINVAL;
  const rd = lookup(c.state.remoteDomid);
  if (rd === undefined) return 0;
  const rc = rd.evtchn.channel(c.state.remotePort);
  if (rc?.xen === true) rd.evtchn.xenNotify?.(c.state.remotePort);
  else setPending(rd, c.state.remotePort);
  return 0;
}

/** evtchn_destroy: every port of a dying domain is closed. */
export function closeAll(d: EvtchnDomain, lookup: DomainLookup): void {
  for (const p of d.evtchn.ports()) close(d, lookup, p);
}

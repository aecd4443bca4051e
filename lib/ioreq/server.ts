// An ioreq server on a real (or simulated) Xen: the DMOPs, the mapped pages
// and the event channels around the protocol engine (engine.ts). The order
// of creation and teardown is QEMU's (hw/i386/xen/xen-hvm.c: xen_hvm_init,
// xen_exit_notifier), and each vCPU's port is read from its slot only after
// enabling, since Xen writes it then (xen/common/ioreq.c:
// ioreq_server_enable -> ioreq_update_evtchn).
//
// Mapping the pages is a dependency (`mapResource`), so that this works
// over any source of IOCTL_PRIVCMD_MMAP_RESOURCE mappings.
import { EventEmitter } from 'events';
import { IOREQ_AT, IOREQ_PAGE_SIZE as PAGE_SIZE, IOREQ_SERVER_FRAME, XENMEM_RESOURCE } from '../abi/ioreq';
import { type DmopRequest } from '../dmop/types';
import { describe, invalidArgument } from '../errors';
import { type Claim, type IoDevice } from './claims';
import { type ForeignMapping, ForeignGuestMemory } from './guest-memory';
import { type DeviceErrorEvent, type GuestMemory, IoreqEngine } from './engine';
import { slotOffset } from './request';

/** A mapping of resource frames: its bytes stay valid until unmap(). */
export interface ResourceMapping {
  /** Null for a read-only mapping, which the server refuses. */
  readonly bytes: Uint8Array | null;
  unmap(): void;
}

/** XENMEM_acquire_resource through IOCTL_PRIVCMD_MMAP_RESOURCE, read and write. */
export type MapResource = (domid: number, type: number, id: number, frame: number, nrFrames: number) => ResourceMapping;

/** What the server needs of a privcmd handle (lib/privcmd.ts). */
export interface DmopHandle {
  dmop(domid: number, request: DmopRequest): unknown;
  /** Used when no `mapResource` is given (lib/privcmd.ts's Privcmd has it). */
  mapResource?(domid: number, options: { type: number; id: number; frame: number; count: number }): ResourceMapping;
  /** Used for data_is_ptr when no `guestMemory` is given. */
  mapForeign?(domid: number, gfns: readonly (number | bigint)[]): ForeignMapping;
}

/** What the server needs of an event-channel handle (lib/evtchn.ts). */
export interface EventChannelHandle {
  bindInterdomain(remoteDomid: number, remotePort: number): number;
  unbind(port: number): void;
  notify(port: number): void;
  unmask(port: number): void;
  /** Resolves with the ports that fired; used by serve(). */
  wait?(): Promise<number[]>;
}

export interface IoreqServerOptions {
  privcmd: DmopHandle;
  evtchn: EventChannelHandle;
  domid: number;
  /** Also serve the buffered ring ('atomic': Xen may rewrite both pointers; the engine copes). */
  bufioreq?: boolean;
  /** How the pages are mapped; default: privcmd.mapResource. */
  mapResource?: MapResource;
  /** Guest RAM for data_is_ptr; default: privcmd.mapForeign, a page at a time. */
  guestMemory?: GuestMemory;
}

/**
 * A live ioreq server. Devices are attached with claim*(); events from
 * `evtchn` are handed to handle(). Emits 'deviceError' (DeviceErrorEvent).
 */
export class IoreqServer extends EventEmitter {
  readonly domid: number;
  readonly id: number;
  readonly engine: IoreqEngine;
  /** Local port -> vCPU. */
  private readonly vcpuPorts: Map<number, number>;
  private readonly bufPort: number | undefined;
  private readonly ranges = new Map<Claim, { type: 'port' | 'memory' | 'pci'; start: bigint; end: bigint }>();
  private closed = false;
  private endServe: () => void = () => undefined;
  /** Resolves (with undefined) when close() is called: ends serve()'s wait. */
  private readonly closing = new Promise<undefined>((resolve) => { this.endServe = () => resolve(undefined); });
  /** @internal The page cache for data_is_ptr made by createIoreqServer, closed with the server. */
  ownMemory: ForeignGuestMemory | undefined;

  /** @internal: use createIoreqServer(). */
  constructor(
    private readonly privcmd: DmopHandle,
    private readonly evtchn: EventChannelHandle,
    private readonly mapping: ResourceMapping,
    domid: number, id: number, engine: IoreqEngine, vcpuPorts: Map<number, number>, bufPort: number | undefined,
  ) {
    super();
    this.domid = domid;
    this.id = id;
    this.engine = engine;
    this.vcpuPorts = vcpuPorts;
    this.bufPort = bufPort;
    engine.on('deviceError', (e: DeviceErrorEvent) => this.emit('deviceError', e));
  }

  /** The local ports to wait on: every vCPU's, then the buffered one. */
  ports(): number[] {
    return [...this.vcpuPorts.keys(), ...(this.bufPort === undefined ? [] : [this.bufPort])];
  }

  /**
   * Serves events as they arrive (evtchn.wait(), then handle()) until the
   * server is closed; resolves as soon as close() is called, and rejects if
   * the wait or a 'deviceError' listener throws. The event-channel handle's
   * events belong to this loop while it runs. The wait in flight at close()
   * lasts until the next event on the handle or its close() (a device's
   * wait holds a thread-pool thread until then): close the event-channel
   * handle too when it has no other use. For a tight loop, call
   * handle(evtchn.pending()) or handle(evtchn.waitSync(ms)) instead.
   */
  async serve(): Promise<void> {
    this.live('serve');
    const wait = this.evtchn.wait;
    if (typeof wait !== 'function') throw invalidArgument('ioreq.serve', 'the event-channel handle has no wait()');
    while (!this.closed) {
      let fired: number[] | undefined;
      try {
        // Promise.race subscribes to the wait, so its later rejection (EBADF when the handle closes) is handled.
        fired = await Promise.race([wait.call(this.evtchn), this.closing]);
      } catch (e) {
        if (this.closed) return; // close() raced the wait (its handle closed too)
        throw e;
      }
      if (this.closed || fired === undefined) return;
      this.handle(fired);
    }
  }

  claimPorts(start: number, end: number, device: IoDevice): Claim {
    this.live('claimPorts');
    const c = this.engine.claimPorts(start, end, device);
    return this.mapRange(c, 'port', c.start, c.end);
  }

  claimMmio(start: bigint | number, end: bigint | number, device: IoDevice): Claim {
    this.live('claimMmio');
    const c = this.engine.claimMmio(start, end, device);
    return this.mapRange(c, 'memory', c.start, c.end);
  }

  claimPci(sbdf: number, device: IoDevice): Claim {
    this.live('claimPci');
    const c = this.engine.claimPci(sbdf, device);
    return this.mapRange(c, 'pci', c.start, c.end);
  }

  /** Gives a claim back to Xen and stops dispatching it; false if not held. */
  release(claim: Claim): boolean {
    this.live('release');
    const r = this.ranges.get(claim);
    if (r === undefined) return false;
    this.privcmd.dmop(this.domid, { op: 'unmap_io_range_from_ioreq_server', id: this.id, type: r.type, start: r.start, end: r.end });
    this.ranges.delete(claim);
    return this.engine.release(claim);
  }

  /**
   * Serves the ports that fired (from evtchn.pending() or wait()): a vCPU's
   * port serves its slot and, if it answered, notifies it; the buffered
   * port drains the ring. Each port is unmasked after. Others are ignored.
   * If something throws (a 'deviceError' listener), every port is still
   * served, notified and unmasked, and the first error is thrown at the end:
   * a vCPU must never be left waiting.
   */
  handle(fired: readonly number[]): void {
    this.live('handle');
    let first: { error: unknown } | undefined;
    for (const port of fired) {
      const vcpu = this.vcpuPorts.get(port);
      if (vcpu === undefined && port !== this.bufPort) continue;
      try {
        if (vcpu === undefined) {
          this.engine.drainBuffered();
        } else {
          let answered = true; // a throw comes after the engine answered (engine.ts)
          try {
            answered = this.engine.serveVcpu(vcpu);
          } finally {
            if (answered) this.evtchn.notify(port);
          }
        }
      } catch (e) {
        first ??= { error: e };
      } finally {
        this.evtchn.unmask(port);
      }
    }
    if (first !== undefined) throw first.error;
  }

  /**
   * Disables the server, releases its ranges, unbinds its ports, unmaps its
   * pages and destroys it. Every step is tried even if one before failed;
   * the first failure is thrown at the end. Closing twice is harmless.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.endServe();
    const failures: unknown[] = [];
    const step = (f: () => void) => {
      try { f(); } catch (e) { failures.push(e); }
    };
    step(() => this.privcmd.dmop(this.domid, { op: 'set_ioreq_server_state', id: this.id, enabled: false }));
    for (const [claim, r] of this.ranges) {
      step(() => this.privcmd.dmop(this.domid, { op: 'unmap_io_range_from_ioreq_server', id: this.id, type: r.type, start: r.start, end: r.end }));
      this.engine.release(claim);
    }
    this.ranges.clear();
    for (const port of this.ports()) step(() => this.evtchn.unbind(port));
    step(() => this.mapping.unmap());
    if (this.ownMemory !== undefined) step(() => this.ownMemory?.close());
    step(() => this.privcmd.dmop(this.domid, { op: 'destroy_ioreq_server', id: this.id }));
    if (failures.length > 0) throw failures[0];
  }

  private mapRange(c: Claim, type: 'port' | 'memory' | 'pci', start: bigint, end: bigint): Claim {
    try {
      this.privcmd.dmop(this.domid, { op: 'map_io_range_to_ioreq_server', id: this.id, type, start, end });
    } catch (e) {
      this.engine.release(c);
      throw e;
    }
    this.ranges.set(c, { type, start, end });
    return c;
  }

  private live(what: string): void {
    if (this.closed) throw invalidArgument(`ioreq.${what}`, 'the ioreq server is closed');
  }
}

/**
 * Creates, maps, enables and binds an ioreq server for `domid`. On any
 * failure everything done so far is undone (in reverse) and the error is
 * thrown.
 */
export function createIoreqServer(options: IoreqServerOptions): IoreqServer {
  const what = 'ioreq.createIoreqServer';
  if (typeof options !== 'object' || options === null) throw invalidArgument(what, `options must be an object, got ${describe(options)}`);
  const { privcmd, evtchn, domid, bufioreq, mapResource, guestMemory } = options;
  if (typeof privcmd?.dmop !== 'function') throw invalidArgument(what, 'privcmd must be a privcmd handle');
  for (const m of ['bindInterdomain', 'unbind', 'notify', 'unmask'] as const) {
    if (typeof evtchn?.[m] !== 'function') throw invalidArgument(what, 'evtchn must be an event-channel handle');
  }
  if (mapResource !== undefined && typeof mapResource !== 'function') throw invalidArgument(what, 'mapResource must be a function');
  if (mapResource === undefined && typeof privcmd.mapResource !== 'function') throw invalidArgument(what, 'privcmd has no mapResource: pass mapResource');
  if (guestMemory !== undefined && (typeof guestMemory?.read !== 'function' || typeof guestMemory?.write !== 'function')) {
    throw invalidArgument(what, 'guestMemory must have read() and write()');
  }
  const map: MapResource = mapResource ?? ((d, type, id, frame, count) => (privcmd.mapResource as NonNullable<DmopHandle['mapResource']>).call(privcmd, d, { type, id, frame, count }));
  if (typeof domid !== 'number' || !Number.isInteger(domid) || domid < 0 || domid > 0x7fef) throw invalidArgument(what, `domid must be a guest's id, got ${describe(domid)}`);
  if (bufioreq !== undefined && typeof bufioreq !== 'boolean') throw invalidArgument(what, `bufioreq must be a boolean, got ${describe(bufioreq)}`);
  const buffered = bufioreq === true;

  const undo: (() => void)[] = [];
  try {
    const { vcpus } = privcmd.dmop(domid, { op: 'nr_vcpus' }) as { vcpus: number };
    const { id } = privcmd.dmop(domid, { op: 'create_ioreq_server', handleBufioreq: buffered ? 'atomic' : 'off' }) as { id: number };
    undo.push(() => privcmd.dmop(domid, { op: 'destroy_ioreq_server', id }));
    // One mapping, as QEMU makes it: the buffered frame (0) first if wanted, then the synchronous one.
    const first = buffered ? IOREQ_SERVER_FRAME.bufioreq : IOREQ_SERVER_FRAME.ioreq(0);
    const mapping = map(domid, XENMEM_RESOURCE.ioreq_server, id, first, buffered ? 2 : 1);
    undo.push(() => mapping.unmap());
    const bytes = mapping.bytes;
    if (!(bytes instanceof Uint8Array) || bytes.byteLength < (buffered ? 2 : 1) * PAGE_SIZE) {
      throw invalidArgument(what, `mapResource returned ${describe(bytes)}, not ${buffered ? 2 : 1} pages`);
    }
    const ioreqPage = bytes.subarray(buffered ? PAGE_SIZE : 0, (buffered ? 2 : 1) * PAGE_SIZE);
    const bufioreqPage = buffered ? bytes.subarray(0, PAGE_SIZE) : undefined;
    let ownMemory: ForeignGuestMemory | undefined;
    if (guestMemory === undefined && typeof privcmd.mapForeign === 'function') {
      const mem = new ForeignGuestMemory((gfn) => (privcmd.mapForeign as NonNullable<DmopHandle['mapForeign']>).call(privcmd, domid, [gfn]));
      undo.push(() => mem.close());
      ownMemory = mem;
    }
    const engine = new IoreqEngine({ ioreqPage, bufioreqPage, vcpus, guestMemory: guestMemory ?? ownMemory });
    if (ownMemory !== undefined) {
      const mem = ownMemory;
      engine.on('invalidate', () => mem.flush()); // the p2m changed: no stale frame may stay mapped
    }
    let bufRemote: number | undefined;
    if (buffered) bufRemote = (privcmd.dmop(domid, { op: 'get_ioreq_server_info', id, flags: 1 /* XEN_DMOP_no_gfns */ }) as { bufioreqPort: number }).bufioreqPort;
    privcmd.dmop(domid, { op: 'set_ioreq_server_state', id, enabled: true });
    undo.push(() => privcmd.dmop(domid, { op: 'set_ioreq_server_state', id, enabled: false }));
    const dv = new DataView(ioreqPage.buffer, ioreqPage.byteOffset, ioreqPage.byteLength);
    const vcpuPorts = new Map<number, number>();
    for (let v = 0; v < vcpus; v++) {
      const local = evtchn.bindInterdomain(domid, dv.getUint32(slotOffset(v) + IOREQ_AT.vpEport, true));
      undo.push(() => evtchn.unbind(local));
      vcpuPorts.set(local, v);
    }
    let bufPort: number | undefined;
    if (bufRemote !== undefined) {
      const local = evtchn.bindInterdomain(domid, bufRemote);
      undo.push(() => evtchn.unbind(local));
      bufPort = local;
    }
    const server = new IoreqServer(privcmd, evtchn, mapping, domid, id, engine, vcpuPorts, bufPort);
    server.ownMemory = ownMemory;
    return server;
  } catch (e) {
    for (const f of undo.reverse()) {
      try { f(); } catch { /* the first error is the one to report */ }
    }
    throw e;
  }
}

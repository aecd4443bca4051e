// /dev/xen/evtchn opened by a process on a simulated host.
import { SimEvtchnFile } from '../sim/evtchn-driver';
import type { SimulatedHost } from '../sim/host';
import type { EvtchnBackend } from './evtchn-backend';

export class SimulatedEvtchnBackend implements EvtchnBackend {
  readonly kind = 'simulated' as const;
  readonly file: SimEvtchnFile;
  readonly restrictedAtOpen = null;

  constructor(host: SimulatedHost, domid: number) {
    const process = host.process(domid);
    this.file = new SimEvtchnFile(process.domain, (id) => host.domainById(id));
  }

  get why(): string {
    return this.file.why;
  }

  bindVirq(virq: number): number {
    return this.file.bindVirq(virq);
  }

  bindInterdomain(remoteDomid: number, remotePort: number): number {
    return this.file.bindInterdomain(remoteDomid, remotePort);
  }

  bindUnboundPort(remoteDomid: number): number {
    return this.file.bindUnboundPort(remoteDomid);
  }

  unbind(port: number): number {
    return this.file.unbind(port);
  }

  notify(port: number): number {
    return this.file.notify(port);
  }

  reset(): number {
    return this.file.reset();
  }

  restrict(domid: number): number {
    return this.file.restrict(domid);
  }

  read(max: number): number[] | number {
    return this.file.read(max);
  }

  unmask(ports: readonly number[]): number {
    return this.file.write(ports);
  }

  async waitReadable(): Promise<number> {
    await this.file.waitReadable();
    return 0;
  }

  /**
   * Events on a simulated host are raised by this same thread, so none can
   * arrive while it blocks: "timed out" at once.
   */
  waitReadableSync(_timeoutMs: number): number {
    return 0;
  }

  /** A simulated process has no file descriptor. */
  descriptor(): null {
    return null;
  }

  close(): void {
    this.file.close();
  }
}

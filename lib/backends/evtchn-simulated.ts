// /dev/xen/evtchn opened by a process on a simulated host.
import { SimEvtchnFile } from '../sim/evtchn-driver';
import type { SimulatedHost } from '../sim/host';
import type { ProcessSelector } from '../handle-registry';
import { DONE, madeEvtchnBackend, type Outcome } from './backend';
import type { EvtchnBackend } from './evtchn-backend';

export class SimulatedEvtchnBackend implements EvtchnBackend {
  readonly kind = 'simulated' as const;
  readonly file: SimEvtchnFile;
  readonly restrictedAtOpen = null;
  /** The simulated process the handle runs in (its registry, for restrictAll). */
  readonly process: ProcessSelector;

  constructor(host: SimulatedHost, domid: number) {
    const process = host.process(domid);
    this.process = { host, domain: domid };
    this.file = new SimEvtchnFile(process.domain, (id) => host.domainById(id));
    madeEvtchnBackend(this);
  }

  // The simulated driver keeps the reason for its last failure; each call
  // takes it at once, into its own outcome.
  #answered(rc: number): Outcome<number> {
    return rc === 0 ? DONE : { result: rc, why: rc < 0 ? this.file.why : '' };
  }

  bindVirq(virq: number): Outcome<number> {
    return this.#answered(this.file.bindVirq(virq));
  }

  bindInterdomain(remoteDomid: number, remotePort: number): Outcome<number> {
    return this.#answered(this.file.bindInterdomain(remoteDomid, remotePort));
  }

  bindUnboundPort(remoteDomid: number): Outcome<number> {
    return this.#answered(this.file.bindUnboundPort(remoteDomid));
  }

  unbind(port: number): Outcome<number> {
    return this.#answered(this.file.unbind(port));
  }

  notify(port: number): Outcome<number> {
    return this.#answered(this.file.notify(port));
  }

  reset(): Outcome<number> {
    return this.#answered(this.file.reset());
  }

  restrict(domid: number): Outcome<number> {
    return this.#answered(this.file.restrict(domid));
  }

  read(max: number): Outcome<number[] | number> {
    // Its only failure is EAGAIN (nothing pending), no failure to explain.
    return { result: this.file.read(max), why: '' };
  }

  unmask(ports: readonly number[]): Outcome<number> {
    return this.#answered(this.file.write(ports));
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

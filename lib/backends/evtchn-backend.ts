// What an EventChannels handle needs from the thing behind it: the real
// /dev/xen/evtchn (device) or a process's open file on a simulated host.
// Each method is one ioctl, read() or write(); it answers with an Outcome,
// its result (negative errno values on failure, never exceptions) and the
// reason for a failure, taken when the call finished.
import type { ProcessSelector } from '../handle-registry';
import type { Outcome } from './backend';

export interface EvtchnBackend {
  readonly kind: 'simulated' | 'device';
  /** The domain the file was restricted to when it opened (a restricted process), or null. */
  readonly restrictedAtOpen: number | null;
  /** The process the handle belongs to: which registry restrictAll covers it in. */
  readonly process: ProcessSelector;
  bindVirq(virq: number): Outcome<number>;
  bindInterdomain(remoteDomid: number, remotePort: number): Outcome<number>;
  bindUnboundPort(remoteDomid: number): Outcome<number>;
  unbind(port: number): Outcome<number>;
  notify(port: number): Outcome<number>;
  reset(): Outcome<number>;
  restrict(domid: number): Outcome<number>;
  /** read() without blocking: the delivered ports (at most `max`), or -errno (-EAGAIN: none yet). */
  read(max: number): Outcome<number[] | number>;
  /** write(): unmask these ports. Bytes written, or -errno. */
  unmask(ports: readonly number[]): Outcome<number>;
  /** Resolves when read() has something, or when the handle is closed: 0, or -errno. */
  waitReadable(): Promise<number>;
  /** Blocks the thread until read() has something (1) or timeoutMs passed (0); -errno. */
  waitReadableSync(timeoutMs: number): number;
  /** The device's file descriptor (still owned by the backend), or null (simulated, or closed). */
  descriptor(): number | null;
  close(): void;
}

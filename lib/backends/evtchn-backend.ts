// What an EventChannels handle needs from the thing behind it: the real
// /dev/xen/evtchn (device) or a process's open file on a simulated host.
// Each method is one ioctl, read() or write(); failures come back as
// negative errno values with a reason in `why`, never as exceptions.
export interface EvtchnBackend {
  readonly kind: 'simulated' | 'device';
  /** The domain the file was restricted to when it opened (a restricted process), or null. */
  readonly restrictedAtOpen: number | null;
  /** The reason for the last failure, if the backend knows one. */
  readonly why: string;
  bindVirq(virq: number): number;
  bindInterdomain(remoteDomid: number, remotePort: number): number;
  bindUnboundPort(remoteDomid: number): number;
  unbind(port: number): number;
  notify(port: number): number;
  reset(): number;
  restrict(domid: number): number;
  /** read() without blocking: the delivered ports (at most `max`), or -errno (-EAGAIN: none yet). */
  read(max: number): number[] | number;
  /** write(): unmask these ports. Bytes written, or -errno. */
  unmask(ports: readonly number[]): number;
  /** Resolves when read() has something, or when the handle is closed: 0, or -errno. */
  waitReadable(): Promise<number>;
  /** Blocks the thread until read() has something (1) or timeoutMs passed (0); -errno. */
  waitReadableSync(timeoutMs: number): number;
  /** The device's file descriptor (still owned by the backend), or null (simulated, or closed). */
  descriptor(): number | null;
  close(): void;
}

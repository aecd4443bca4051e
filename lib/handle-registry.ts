// The handles of one process, kept below the handles: each handle enrolls
// when it opens, so that restrictAll and verifyRestricted (lib/deprivilege)
// cover every kind (privcmd, evtchn) without the handles knowing about them.
// "A process" is the real Node process for device handles (one registry per
// module instance: see lib/deprivilege/restrict-all.ts for worker threads),
// and a simulated host's process (host + domain) for simulated handles.
import type { SimulatedHost } from './sim/host';

export type HandleKind = 'privcmd' | 'evtchn';

/** What the registry needs of a handle. */
export interface RegisteredHandle {
  readonly handleKind: HandleKind;
  /** 'simulated' or 'device'. */
  readonly kind: 'simulated' | 'device';
  readonly restrictedTo: number | null;
  readonly closed: boolean;
  restrict(domid: number): void;
  close(): void;
  /** Live mappings of `domid`'s memory this handle holds (privcmd only). */
  mappingsOf?(domid: number): number;
}

export class HandleRegistry {
  readonly handles = new Set<RegisteredHandle>();
  restrictedTo: number | null = null;

  /** A new handle: restricted at once if the process already is (and it is not yet); closed if it refuses. */
  adopt(h: RegisteredHandle): void {
    if (this.restrictedTo !== null && h.restrictedTo !== this.restrictedTo) {
      try {
        h.restrict(this.restrictedTo);
      } catch (e) {
        h.close();
        throw e;
      }
    }
    this.handles.add(h);
  }

  forget(h: RegisteredHandle): void {
    this.handles.delete(h);
  }

  /** Live mappings of `domid`'s memory held by any handle of the process. */
  mappingsOf(domid: number): number {
    let n = 0;
    for (const h of this.handles) n += h.mappingsOf?.(domid) ?? 0;
    return n;
  }

  ofKind(kind: HandleKind): RegisteredHandle[] {
    return [...this.handles].filter((h) => h.handleKind === kind);
  }
}

const processRegistry = new HandleRegistry();
const simRegistries = new WeakMap<SimulatedHost, Map<number, HandleRegistry>>();

/** Which process: the real one (no host), or a simulated host's process in `domain` (default 0). */
export interface ProcessSelector {
  host?: SimulatedHost;
  domain?: number;
}

/** The registry of the process a handle is opened in (the selector is already checked). */
export function registryOf(sel: ProcessSelector = {}): HandleRegistry {
  if (sel.host === undefined) return processRegistry;
  let m = simRegistries.get(sel.host);
  if (m === undefined) {
    m = new Map();
    simRegistries.set(sel.host, m);
  }
  const domain = sel.domain ?? 0;
  let r = m.get(domain);
  if (r === undefined) {
    r = new HandleRegistry();
    m.set(domain, r);
  }
  return r;
}

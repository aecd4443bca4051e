// Shared by the bad-input suites (test/hardening): how to read a call's
// answer, the hostile values they throw at the API, and the simulated host
// they throw them at.
import { createSimulatedHost, open, type Privcmd, type SimulatedHost } from '../../lib';
/** The error's code, 'ok' when the call returned, or 'UNCODED <name>: <message>'. */
export const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    const c = (e as { code?: unknown }).code;
    return typeof c === 'string' ? c : `UNCODED ${(e as Error).name}: ${(e as Error).message}`;
  }
};

/** A Uint8Array whose ArrayBuffer has been transferred away (detached). */
export function detached(len = 32): Uint8Array {
  const ab = new ArrayBuffer(len);
  const u = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  return u;
}

export const NULL_PROTO = Object.create(null) as never;
export const HUGE_SPARSE = new Array(2 ** 32 - 1) as never;
export const THROWS_ON_STRING = { [Symbol.toPrimitive]() { throw new Error('toPrimitive'); } } as never;

/**
 * Per test: a fresh simulated host, an HVM guest with 64 pages and an
 * unrestricted dom0 handle, handed to `set`; the host is closed after.
 */
export function withSimulatedWorld(set: (w: { host: SimulatedHost; h: Privcmd; g: number }) => void): void {
  let host: SimulatedHost | undefined;
  beforeEach(() => {
    host = createSimulatedHost();
    const g = host.createDomain({ type: 'hvm', memoryPages: 64 });
    set({ host, h: open({ host }), g });
  });
  afterEach(() => host?.close());
}

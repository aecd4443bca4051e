// What the privcmd contract's areas share: the environment a backend
// provides, what it can do, the per-case fixture (a fresh handle in dom0
// and a fresh guest), and small helpers. Only the public API.
import type { Privcmd } from '../../../lib/privcmd';
import type { EventChannels } from '../../../lib/evtchn';
import { encodeDmop } from '../../../lib/dmop/codec';
import type { HypercallFilter } from '../../../lib/policy/filter';
import type { ProcessSelector } from '../../../lib/deprivilege/restrict-all';

export interface ContractEnv {
  /** A fresh, unrestricted handle in the control domain (dom0), with a filter if given. */
  open(options?: { filter?: HypercallFilter }): Privcmd;
  /** A fresh, unrestricted event-channel handle in dom0. */
  openEvtchn(): EventChannels;
  /** A fresh paused HVM domain with `vcpus` vCPUs and `memoryPages` pages of RAM from pfn 0. */
  freshGuest(): number;
  readonly vcpus: number;
  readonly memoryPages: number;
  /** A PV domain, where the platform has one. */
  readonly pvDomain?: number;
  /** A domain id that does not exist. */
  readonly missingDomain: number;
  /** The caller's own domain id. */
  readonly selfDomain: number;
  /** Buffers given as { addr, size } into the caller's memory (simulated host, or a test-only device path). */
  readonly rawPointers?: { kernel: bigint; unmapped: bigint };
  /** Turn on a domain's log-dirty mode (what XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY does). */
  enableLogDirty(domid: number): void;
  /** The process env.open() opens handles in, for restrictAll/verifyRestricted. */
  readonly process: ProcessSelector;
  /** Destroy domains made by freshGuest (after all). */
  cleanup(): void;
}

export const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? `threw ${String(e)}`;
  }
};

/** HVMOP_get_param (cmd 1) / set_param (0) through struct xen_hvm_param: the call's code and the value after. */
export function hvmParam(h: Privcmd, cmd: 0 | 1, domid: number, index: number, value = 0n): { code: string; value: bigint } {
  const buf = h.hypercallBuffer(16);
  try {
    const dv = new DataView(buf.view.buffer, buf.view.byteOffset, 16);
    dv.setUint16(0, domid, true);
    dv.setUint32(4, index, true);
    dv.setBigUint64(8, value, true);
    const c = code(() => h.hypercall('hvm_op', [cmd, buf.addr]));
    return { code: c, value: dv.getBigUint64(8, true) };
  } finally {
    h.freeHypercallBuffer(buf);
  }
}

/** Buffer 0 for a raw call: the encoded op, then patched. */
export function raw(op: Parameters<typeof encodeDmop>[0], patch?: (b: DataView) => void): Uint8Array[] {
  const bufs = encodeDmop(op);
  if (patch) patch(new DataView(bufs[0]!.buffer, bufs[0]!.byteOffset, bufs[0]!.byteLength));
  return bufs;
}

/** What an environment can do, known when the suite is defined (so cases it cannot run are skipped, visibly). */
export interface ContractCapabilities {
  /** It has a PV domain to target. */
  pvDomain: boolean;
  /** Buffers may be given as { addr, size } into the caller's memory. */
  rawPointers: boolean;
  /**
   * Xen supports altp2m: booted with `altp2m=1` on VMX with EPT. Default
   * false, as Xen 4.17 boots by default (and always on AMD, where 4.17 has
   * no altp2m): every HVMOP_altp2m is then EOPNOTSUPP.
   */
  altp2m?: boolean;
}

/** The current case's fixture: set up fresh before each case by the suite. */
export type Fixture = () => { env: ContractEnv; h: Privcmd; g: number };

/** A case the environment cannot run is skipped, and its name says why. */
export const when = (ok: boolean, why: string) => (title: string, fn: () => void): void =>
  (ok ? test(title, fn) : test.skip(`${title} [skipped: ${why}]`, fn));

/** An area of the contract: registers its cases (abstract-level's compliance-test shape). */
export type Area = (caps: ContractCapabilities, f: Fixture) => void;

/** What a contract suite needs of its environment: handles, guests, cleanup. */
export interface SuiteEnv {
  open(): Privcmd;
  freshGuest(): number;
  cleanup(): void;
}

/**
 * One describe over an environment made once, with a fresh dom0 handle and a
 * fresh guest for every case; `register` adds the cases, reading the
 * current ones through the fixture it is given.
 */
export function contractSuite<E extends SuiteEnv>(title: string, makeEnv: () => E, register: (f: () => { env: E; h: Privcmd; g: number }) => void): void {
  describe(title, () => {
    let env: E;
    let h: Privcmd;
    let g: number;
    beforeAll(() => { env = makeEnv(); });
    afterAll(() => env.cleanup());
    beforeEach(() => {
      h = env.open();
      g = env.freshGuest();
    });
    afterEach(() => h.close());
    register(() => ({ env, h, g }));
  });
}

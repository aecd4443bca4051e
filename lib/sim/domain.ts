// A simulated domain: the state Xen keeps for it that device models and the
// toolstack can change or observe. Mutated only by the hypervisor model
// (lib/sim/hypervisor.ts, lib/sim/dmops/*) and the host's domctl-like controls.
import { RangeSet } from './rangeset';
import type { XsmSubject } from './xsm';

export type DomainType = 'hvm' | 'pvh' | 'pv';
/** p2m types the simulator distinguishes; an absent pfn is p2m_invalid (a hole). */
export type P2mType = 'ram_rw' | 'ram_ro' | 'mmio_dm' | 'ioreq_server';

export const MAX_NR_IOREQ_SERVERS = 8;
export const MAX_NR_IO_RANGES = 256;
export const HVM_NR_PARAMS = 39;
export const NR_ISA_IRQS = 16;

export interface IoreqServer {
  readonly id: number;
  /** The domain whose device model created it (Xen's s->emulator). */
  readonly emulator: number;
  readonly bufioreq: number;
  enabled: boolean;
  readonly ranges: { port: RangeSet; memory: RangeSet; pci: RangeSet };
  ioreqGfn: bigint | null;
  bufioreqGfn: bigint | null;
  bufioreqPort: number | null;
}

export interface InjectedEvent {
  vcpu: number;
  vector: number;
  type: number;
  insnLen: number;
  errorCode: number;
  cr2: bigint;
}

export interface DomainConfig {
  type?: DomainType;
  /** vCPUs (d->max_vcpus). Default 1. */
  vcpus?: number;
  /** Guest pages populated as RAM from pfn 0. Default 256 (1 MiB). */
  memoryPages?: number;
  /** Hardware-assisted paging (HAP). Default true for HVM and PVH. */
  hap?: boolean;
  /** A device-model stub domain serving this domain (XEN_DOMCTL_set_target). */
  target?: number;
  isControl?: boolean;
  isHardware?: boolean;
  isXenstore?: boolean;
  /** Security label (for policies that use one). */
  label?: string;
}

export class Domain implements XsmSubject {
  readonly domid: number;
  readonly type: DomainType;
  readonly maxVcpus: number;
  readonly hap: boolean;
  readonly isControl: boolean;
  readonly isHardware: boolean;
  readonly isXenstore: boolean;
  target: number | null;
  label: string;

  paused = true;
  dying = false;
  shutdownReason: number | null = null;

  readonly p2m = new Map<number, P2mType>();
  /** p2m->max_mapped_pfn: the highest pfn ever mapped (only grows). */
  maxMappedPfn = 0;

  readonly ioreqServers: (IoreqServer | null)[] = new Array<IoreqServer | null>(MAX_NR_IOREQ_SERVERS).fill(null);
  /** p2m->ioreq: the server that claimed p2m_ioreq_server pages, and its access flags. */
  p2mIoreq: { server: number; flags: number } | null = null;
  /** Free ioreq gfns (from HVM_PARAM_IOREQ_SERVER_PFN / NR_IOREQ_SERVER_PAGES). */
  ioreqGfnMask = 0;
  nextEventPort = 1;

  readonly isaIrqLevel: number[] = new Array<number>(NR_ISA_IRQS).fill(0);
  /** "device:intx" -> asserted. */
  readonly pciIntxLevel = new Map<string, number>();
  /** PCI link 0..3 -> ISA IRQ (0 = disabled). */
  readonly pciLinkRoute: number[] = [0, 0, 0, 0];

  logDirty = false;
  /** The log-dirty bitmap: pfns marked dirty since log-dirty was last cleaned. */
  readonly dirtyLog = new Set<number>();
  /** track_dirty_vram's range and the pages written since it was last read. */
  vram: { firstPfn: number; nr: number; dirty: Set<number> } | null = null;

  readonly pendingEvent: (InjectedEvent | null)[];
  readonly deliveredEvents: InjectedEvent[] = [];
  readonly injectedMsis: { addr: bigint; data: number }[] = [];
  readonly cacheattrPins: { start: bigint; end: bigint; type: number }[] = [];
  readonly params: bigint[] = new Array<bigint>(HVM_NR_PARAMS).fill(0n);

  constructor(domid: number, cfg: DomainConfig) {
    this.domid = domid;
    this.type = cfg.type ?? 'hvm';
    this.maxVcpus = cfg.vcpus ?? 1;
    this.hap = cfg.hap ?? this.type !== 'pv';
    this.isControl = cfg.isControl ?? false;
    this.isHardware = cfg.isHardware ?? false;
    this.isXenstore = cfg.isXenstore ?? false;
    this.target = cfg.target ?? null;
    this.label = cfg.label ?? (this.isControl ? 'dom0_t' : 'domU_t');
    this.pendingEvent = new Array<InjectedEvent | null>(this.maxVcpus).fill(null);
  }

  /** is_hvm_domain: HVM and PVH guests are both HVM containers. */
  get isHvm(): boolean {
    return this.type !== 'pv';
  }

  populate(pfn: number): void {
    this.p2m.set(pfn, 'ram_rw');
    if (pfn > this.maxMappedPfn) this.maxMappedPfn = pfn;
  }
}

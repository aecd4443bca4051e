// A simulated domain: the state Xen keeps for it that device models and the
// toolstack can change or observe. Mutated only by the hypervisor model
// (lib/sim/hypervisor.ts, lib/sim/dmops/*) and the host's domctl-like controls.
import { RangeSet } from './rangeset';
import { P2m } from './p2m';
import type { XsmSubject } from '../policy/xsm';
import { EventChannelTable, type EvtchnDomain } from './evtchn';
import { ALTP2M_MODES, INVALID_ALTP2M, MAX_ALTP2M, type Altp2mModeName } from '../abi/altp2m';
import { HVM_NR_PARAMS, HVM_PARAM } from '../abi/hvm-params';

export type DomainType = 'hvm' | 'pvh' | 'pv';
/** p2m types the simulator distinguishes; an absent pfn is p2m_invalid (a hole). */
export type P2mType = 'ram_rw' | 'ram_ro' | 'mmio_dm' | 'ioreq_server';

export const MAX_NR_IOREQ_SERVERS = 8;
export const MAX_NR_IO_RANGES = 256;
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
  /** The per-vCPU ioreq event channels. */
  readonly vcpuPorts: number[];
  /** The pages XENMEM_acquire_resource allocated (page store offsets), or null (lib/sim/ioreq-pages.ts). */
  pages: { ioreq: number; buf: number | null } | null;
}

export interface InjectedEvent {
  vcpu: number;
  vector: number;
  type: number;
  insnLen: number;
  errorCode: number;
  cr2: bigint;
}

/** One page's entry in an altp2m view (or, for view 0, the host p2m). */
export interface Altp2mEntry {
  /** xenmem_access_t of the entry. */
  access: number;
  suppressVe: boolean;
  /** The gfn whose frame the entry maps (itself unless change_gfn remapped it). */
  frame: number;
}

/** An altp2m view (struct p2m_domain of d->arch.altp2m_p2m[i]). */
export interface Altp2mView {
  /** xenmem_access_t the view was created with (what propagated entries get). */
  readonly defaultAccess: number;
  /** In altp2m_visible_eptp: switchable to (and by VMFUNC). */
  visible: boolean;
  /** Entries written into the view (the guest does not run, so none are propagated by faults). */
  readonly entries: Map<number, Altp2mEntry>;
}

/** d->arch altp2m state: the views, each vCPU's active view and #VE page. */
export interface Altp2mState {
  active: boolean;
  /** MAX_ALTP2M slots (null: altp2m_eptp[i] == INVALID_MFN). */
  readonly views: (Altp2mView | null)[];
  /** The host p2m's access and suppress-#VE bits where they differ from rwx / suppressed. */
  readonly host: Map<number, Altp2mEntry>;
  /** vcpu_altp2m(v).p2midx (INVALID_ALTP2M while altp2m is off). */
  readonly vcpuView: number[];
  /** The #VE information page of each vCPU (vcpu_enable_notify), or null. */
  readonly veInfoGfn: (bigint | null)[];
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
  /**
   * Security label, a Flask context (`system_u:system_r:<type>`). Default
   * DEFAULT_LABELS.domU (dom0: DEFAULT_LABELS.dom0). Enforced only on a host
   * running Flask; the dummy XSM module ignores it.
   */
  label?: string;
  /** HVM_PARAM_ALTP2M as the toolstack sets it at build (HVM/PVH only). Default disabled. */
  altp2m?: Altp2mModeName;
  /** d->max_pages (XEN_DOMCTL_max_mem, in pages). Default: the pages createDomain populates. */
  maxPages?: number;
  /** Nested virtualisation (XEN_DOMCTL_CDF_nested_virt; HVM with HAP only, not with altp2m). Default false. */
  nestedHvm?: boolean;
}

/** The labels Xen gives domains created without one (SECINITSID_DOM0 / SECINITSID_DOMU in the example policy). */
export const DEFAULT_LABELS = { dom0: 'system_u:system_r:dom0_t', domU: 'system_u:system_r:domU_t' } as const;

export class Domain implements XsmSubject, EvtchnDomain {
  readonly domid: number;
  readonly type: DomainType;
  readonly maxVcpus: number;
  readonly hap: boolean;
  /** nestedhvm_enabled(d): a creation flag since Xen 4.17 (HVM_PARAM_NESTEDHVM is deprecated). */
  nestedHvm: boolean;
  /** d->max_pages: what memory_op(XENMEM_maximum_reservation) reports. */
  maxPages: number;
  /** d->arch.hvm.is_s3_suspended (HVM_PARAM_ACPI_S_STATE 3). */
  s3Suspended = false;
  readonly isControl: boolean;
  readonly isHardware: boolean;
  readonly isXenstore: boolean;
  target: number | null;
  label: string;

  paused = true;
  dying = false;
  shutdownReason: number | null = null;

  /** Compact: RAM as runs (lib/sim/p2m.ts). */
  readonly p2m = new P2m();
  /** p2m->max_mapped_pfn: the highest pfn ever mapped (only grows). */
  maxMappedPfn = 0;

  readonly ioreqServers: (IoreqServer | null)[] = new Array<IoreqServer | null>(MAX_NR_IOREQ_SERVERS).fill(null);
  /** p2m->ioreq: the server that claimed p2m_ioreq_server pages, and its access flags. */
  p2mIoreq: { server: number; flags: number } | null = null;
  /** Free ioreq gfns (from HVM_PARAM_IOREQ_SERVER_PFN / NR_IOREQ_SERVER_PAGES). */
  ioreqGfnMask = 0;
  /** The domain's event channels (d->evtchn). */
  readonly evtchn = new EventChannelTable();

  readonly isaIrqLevel: number[] = new Array<number>(NR_ISA_IRQS).fill(0);
  /** "device:intx" -> asserted. */
  readonly pciIntxLevel = new Map<string, number>();
  /** PCI link 0..3 -> ISA IRQ (0 = disabled). */
  readonly pciLinkRoute: number[] = [0, 0, 0, 0];

  logDirty = false;
  /** The log-dirty bitmap: pfns marked dirty since log-dirty was last cleaned. */
  readonly dirtyLog = new Set<number>();
  /**
   * RAM pages of type p2m_ram_logdirty (write-protected to catch writes):
   * every RAM page when log-dirty mode is turned on, track_dirty_vram's
   * range. p2m holds them as ram_rw; HVMOP_get_mem_type reads them as ram_ro
   * (p2m_is_readonly). A guest write, a type change or a move makes them
   * ram_rw again.
   */
  readonly logdirtyPages = new Set<number>();
  /** track_dirty_vram's range and the pages written since it was last read. */
  vram: { firstPfn: number; nr: number; dirty: Set<number> } | null = null;

  readonly pendingEvent: (InjectedEvent | null)[];
  readonly deliveredEvents: InjectedEvent[] = [];
  readonly injectedMsis: { addr: bigint; data: number }[] = [];
  readonly cacheattrPins: { start: bigint; end: bigint; type: number }[] = [];
  readonly params: bigint[] = new Array<bigint>(HVM_NR_PARAMS).fill(0n);
  readonly altp2m: Altp2mState;

  /** d->arch.hvm.pci_cf8: the last 4-byte write to port 0xcf8 (xen/arch/x86/hvm/ioreq.c hvm_access_cf8). */
  pciCf8 = 0;
  /** d->pbuf: the debug console line being written to port 0xe9, and the lines Xen printed (hvm_print_line). */
  debugConsoleLine = '';
  readonly debugConsole: string[] = [];

  constructor(domid: number, cfg: DomainConfig) {
    this.domid = domid;
    this.type = cfg.type ?? 'hvm';
    this.maxVcpus = cfg.vcpus ?? 1;
    this.hap = cfg.hap ?? this.type !== 'pv';
    this.nestedHvm = cfg.nestedHvm === true;
    this.maxPages = cfg.maxPages ?? 0;
    this.isControl = cfg.isControl ?? false;
    this.isHardware = cfg.isHardware ?? false;
    this.isXenstore = cfg.isXenstore ?? false;
    this.target = cfg.target ?? null;
    this.label = cfg.label ?? (domid === 0 ? DEFAULT_LABELS.dom0 : DEFAULT_LABELS.domU);
    this.altp2m = {
      active: false,
      views: new Array<Altp2mView | null>(MAX_ALTP2M).fill(null),
      host: new Map(),
      vcpuView: new Array<number>(this.maxVcpus).fill(INVALID_ALTP2M),
      veInfoGfn: new Array<bigint | null>(this.maxVcpus).fill(null),
    };
    if (cfg.altp2m !== undefined) this.params[HVM_PARAM.ALTP2M] = BigInt(ALTP2M_MODES[cfg.altp2m]);
    if (this.isHvm) {
      // hpet_init and hvm_domain_initialise (seen on the real host: 1 and SHUTDOWN_reboot).
      this.params[HVM_PARAM.HPET_ENABLED] = 1n;
      this.params[HVM_PARAM.TRIPLE_FAULT_REASON] = 1n;
    }
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

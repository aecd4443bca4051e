// A simulated Xen host (Xen 4.17 + Linux 6.1 dom0 semantics): domains, the
// hypervisor, the privcmd driver's parameters, and one simulated process per
// domain whose address space privcmd handles opened "in" that domain use.
// Toolstack controls (pause, log-dirty, populate, ...) are what a control
// domain would do through domctl.
import { closeAll as closeAllPorts } from './evtchn';
import { DOMID } from '../abi/domids';
import { describe, codedError, errnoError, invalidArgument } from '../errors';
import { AddressSpace, type AddressSpaceOptions } from './address-space';
import { DEFAULT_LABELS, Domain, type DomainConfig, type DomainType } from './domain';
import { Flask, type FlaskOptions } from './flask';
import { Hypervisor, type XenVersion } from './hypervisor';
import { HW_PRIV_VARIANTS, type HwPrivVariant } from '../policy/xsm';
import { GuestMemory, PAGE_SIZE } from './memory';
import { freeIoreqPages } from './ioreq-pages';
import { ALTP2M_MODES, INVALID_ALTP2M } from '../abi/altp2m';
import { HVM_PARAM } from '../abi/hvm-params';
import { guestGone, guestIo, resumeGuest, runGuest, type GuestAccess, type GuestRunResult, type GuestStep, type GuestValue } from './guest-runner';

export interface SimulatedHostOptions {
  /** The privcmd module's dm_op_max_nr_bufs / dm_op_buf_max_size (16 / 4096). */
  dmOpMaxNrBufs?: number;
  dmOpBufMaxSize?: number;
  /** What xen_version reports. */
  xenVersion?: Partial<XenVersion>;
  /** Physical address bits (pin_memory_cacheattr's bound). Default 40. */
  paddrBits?: number;
  /** Options of each process's address space. */
  memory?: AddressSpaceOptions;
  /**
   * Split dom0's roles: by default dom0 is the control, hardware and
   * xenstore domain at once.
   */
  dom0?: { isControl?: boolean; isHardware?: boolean; isXenstore?: boolean };
  /**
   * The XSM default policy the hypervisor enforces: 'none' (default) is Xen
   * 4.17 as released; 'exclusive' / 'non-exclusive' the 2025 XSM_HW_PRIV
   * split (see lib/policy/xsm.ts). Give the hardware role to a domain that is
   * not the control domain with `dom0: { isHardware: false }` and
   * createDomain({ isHardware: true }).
   */
  hwPriv?: HwPrivVariant;
  /**
   * hvm_altp2m_supported(): Xen booted with `altp2m=1` on VMX with EPT.
   * Default false, as Xen 4.17 boots by default (every HVMOP_altp2m is then
   * EOPNOTSUPP).
   */
  altp2m?: boolean;
  /**
   * Run Flask instead of the dummy XSM module, enforcing this policy
   * (lib/policy/te-policy.ts) on domain labels: domain creation, mapping a
   * domain's memory, and the xsm_op commands CONTEXT_TO_SID and
   * RELABEL_DOMAIN. Everything else keeps the default policy's answer (see
   * docs/fidelity.md). Without it every xsm_op is -ENOSYS, as on a Xen
   * without Flask.
   */
  flask?: FlaskOptions;
}

export interface SimProcess {
  readonly domain: Domain;
  readonly space: AddressSpace;
}

/**
 * libxl's ioreq server page pool: NR_IOREQ_SERVER_PAGES gfns just below the 8
 * special pages that end at X86_HVM_END_SPECIAL_REGION (0xff000).
 */
const IOREQ_SERVER_PFN = 0xfeff0n;
const NR_IOREQ_SERVER_PAGES = 8;

export interface IoreqServerSnapshot {
  id: number;
  emulator: number;
  bufioreq: number;
  enabled: boolean;
  ranges: { port: [bigint, bigint][]; memory: [bigint, bigint][]; pci: [bigint, bigint][] };
  ioreqGfn: bigint | null;
  bufioreqGfn: bigint | null;
  bufioreqPort: number | null;
}

/** A copy of a domain's device-model-visible state (changing it changes nothing). */
export interface DomainSnapshot {
  domid: number;
  type: DomainType;
  vcpus: number;
  hap: boolean;
  paused: boolean;
  shutdownReason: number | null;
  target: number | null;
  label: string;
  roles: { control: boolean; hardware: boolean; xenstore: boolean };
  ioreqServers: IoreqServerSnapshot[];
  p2mIoreqServer: { server: number; flags: number } | null;
  isaIrqLevels: number[];
  pciIntxLevels: Record<string, number>;
  pciLinkRoutes: number[];
  memTypes: Record<number, string>;
  maxGpfn: number;
  logDirty: boolean;
  dirtyPages: number[];
  dirtyVram: { firstPfn: number; nr: number } | null;
  pendingEvents: ({ vector: number; type: number; insnLen: number; errorCode: number; cr2: bigint } | null)[];
  deliveredEvents: { vcpu: number; vector: number; type: number; insnLen: number; errorCode: number; cr2: bigint }[];
  injectedMsis: { addr: bigint; data: number }[];
  cacheattrPins: { start: bigint; end: bigint; type: number }[];
  params: bigint[];
  altp2m: Altp2mSnapshot;
  /** The domain's event channels: port, state, pending and mask bits. */
  eventChannels: { port: number; state: { kind: string; remoteDomid?: number; remotePort?: number; virq?: number }; pending: boolean; masked: boolean }[];
  /** The latched PCI config address (port 0xcf8). */
  pciCf8: number;
  /** Lines the guest wrote to Xen's debug console (port 0xe9). */
  debugConsole: string[];
}

/** altp2m state: the mode, whether it is active, the live views and each vCPU's view. */
export interface Altp2mSnapshot {
  /** HVM_PARAM_ALTP2M. */
  mode: number;
  active: boolean;
  /** Live views by index; entries are the pages written into the view: gfn -> { access, suppressVe, frame }. */
  views: { index: number; defaultAccess: number; visible: boolean; entries: Record<number, { access: number; suppressVe: boolean; frame: number }> }[];
  /** Host p2m pages (view 0 of the sub-ops) whose access or suppress-#VE bit was changed. */
  host: Record<number, { access: number; suppressVe: boolean }>;
  /** Each vCPU's active view (null while altp2m is off) and #VE information page. */
  vcpus: { view: number | null; veInfoGfn: bigint | null }[];
}

const DEFAULT_VERSION: XenVersion = {
  major: 4, minor: 17, extra: '.7',
  // As Xen 4.17.7 reports it on the real host, trailing space included.
  capabilities: 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64 ',
};

function checkCount(syscall: string, what: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalidArgument(syscall, `${what} must be an integer in [${min}, ${max}], got ${describe(v)}`);
  return v;
}

/** Hosts made by this module (createSimulatedHost or the constructor): `instanceof` alone can be faked with Object.create. */
const GENUINE = new WeakSet<object>();

/** Is this a simulated host this library made (not an object posing as one)? */
export function isSimulatedHost(v: unknown): v is SimulatedHost {
  return typeof v === 'object' && v !== null && GENUINE.has(v);
}

/** The XSM role flags of a domain config: booleans or absent. */
function checkRoleFlags(syscall: string, prefix: string, flags: { isControl?: unknown; isHardware?: unknown; isXenstore?: unknown }): void {
  for (const k of ['isControl', 'isHardware', 'isXenstore'] as const) {
    const v = flags[k];
    if (v !== undefined && typeof v !== 'boolean') throw invalidArgument(syscall, `${prefix}${k} must be a boolean, got ${describe(v)}`);
  }
}

export class SimulatedHost {
  readonly hypervisor: Hypervisor;
  /** Guest RAM and ioreq pages, materialised on first touch (lib/sim/memory.ts). */
  readonly memory = new GuestMemory();
  readonly privcmdParams: { dmOpMaxNrBufs: number; dmOpBufMaxSize: number };
  readonly paddrBits: number;
  readonly hwPriv: HwPrivVariant;
  readonly altp2mSupported: boolean;
  /** The Flask security server, or null: the dummy XSM module. */
  readonly flask: Flask | null;
  readonly #domains = new Map<number, Domain>();
  readonly #processes = new Map<number, SimProcess>();
  readonly #memory: AddressSpaceOptions;
  #nextDomid = 1;
  #closed = false;

  constructor(options: SimulatedHostOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidArgument('init', `options must be an object, got ${describe(options)}`);
    options = { ...options }; // each option read once
    this.privcmdParams = {
      dmOpMaxNrBufs: checkCount('init', 'dmOpMaxNrBufs', options.dmOpMaxNrBufs ?? 16, 0, 16),
      dmOpBufMaxSize: checkCount('init', 'dmOpBufMaxSize', options.dmOpBufMaxSize ?? 4096, 0, 0xffffffff),
    };
    this.paddrBits = checkCount('init', 'paddrBits', options.paddrBits ?? 40, 32, 52);
    const hwPriv = options.hwPriv ?? 'none';
    if (!HW_PRIV_VARIANTS.includes(hwPriv)) throw invalidArgument('init', `hwPriv must be one of ${HW_PRIV_VARIANTS.join(', ')}, got ${describe(hwPriv)}`);
    this.hwPriv = hwPriv;
    this.altp2mSupported = options.altp2m === true;
    this.flask = options.flask === undefined ? null : new Flask(options.flask);
    if (this.flask !== null && this.flask.contextToSid(DEFAULT_LABELS.dom0) === null) {
      throw invalidArgument('init', `the Flask policy must declare dom0's type (dom0 runs as ${DEFAULT_LABELS.dom0})`);
    }
    this.hypervisor = new Hypervisor(this, { ...DEFAULT_VERSION, ...options.xenVersion });
    this.#memory = options.memory ?? {};
    const roles = options.dom0 ?? {};
    if (typeof roles !== 'object' || roles === null) throw invalidArgument('init', `dom0 must be an object such as { isHardware: false }, got ${describe(roles)}`);
    checkRoleFlags('init', 'dom0.', roles);
    this.#domains.set(0, new Domain(0, {
      type: 'pv', vcpus: 1, memoryPages: 0,
      isControl: roles.isControl ?? true, isHardware: roles.isHardware ?? true, isXenstore: roles.isXenstore ?? true,
    }));
    (this.#domains.get(0) as Domain).paused = false;
    GENUINE.add(this);
  }

  /**
   * Create a domain, paused (as Xen creates them), with its RAM populated.
   * `isControl: true` makes a control domain other than dom0 (Xen's
   * is_control_domain is d->is_privileged, not domid 0), as a hyperlaunch
   * or dom0less boot can; dom0 can give the role up with { dom0: { isControl: false } }.
   */
  createDomain(config: DomainConfig = {}): number {
    this.#live();
    const syscall = 'domctl';
    if (typeof config !== 'object' || config === null) throw invalidArgument(syscall, `config must be an object, got ${describe(config)}`);
    config = { ...config }; // each field read once
    const type = config.type ?? 'hvm';
    if (!['hvm', 'pvh', 'pv'].includes(type)) throw invalidArgument(syscall, `type must be 'hvm', 'pvh' or 'pv', got ${describe(type)}`);
    checkCount(syscall, 'vcpus', config.vcpus ?? 1, 1, 128);
    const pages = checkCount(syscall, 'memoryPages', config.memoryPages ?? 256, 0, 1 << 20);
    if (config.target !== undefined && !this.#domains.has(config.target)) throw codedError('ESRCH', syscall, `target domain ${describe(config.target)} does not exist`);
    if (config.altp2m !== undefined) {
      if (typeof config.altp2m !== 'string' || !Object.hasOwn(ALTP2M_MODES, config.altp2m)) throw invalidArgument(syscall, `altp2m must be one of ${Object.keys(ALTP2M_MODES).join(', ')}, got ${describe(config.altp2m)}`);
      if (type === 'pv') throw invalidArgument(syscall, 'altp2m needs an HVM or PVH domain');
    }
    if (config.maxPages !== undefined) checkCount(syscall, 'maxPages', config.maxPages, 0, 2 ** 40);
    if (config.nestedHvm !== undefined) {
      if (typeof config.nestedHvm !== 'boolean') throw invalidArgument(syscall, `nestedHvm must be a boolean, got ${describe(config.nestedHvm)}`);
      // arch_sanitise_domain_config: nested virtualisation needs HVM with HAP; the altp2m param then refuses.
      if (config.nestedHvm && (type === 'pv' || config.hap === false)) throw invalidArgument(syscall, 'nestedHvm needs an HVM or PVH domain with HAP');
      if (config.nestedHvm && config.altp2m !== undefined && config.altp2m !== 'disabled') throw invalidArgument(syscall, 'altp2m and nested HVM exclude each other');
    }
    // A truthy non-boolean ('no', 1) would otherwise make the domain privileged.
    checkRoleFlags(syscall, '', config);
    if (config.isHardware === true) {
      // Xen has one hardware domain (hardware_domain).
      const hw = [...this.#domains.values()].find((x) => x.isHardware);
      if (hw !== undefined) throw codedError('EEXIST', syscall, `domain ${hw.domid} is already the hardware domain (create dom0 with { dom0: { isHardware: false } } to give the role to another)`);
    }
    const label = config.label ?? DEFAULT_LABELS.domU;
    if (typeof label !== 'string' || label === '') throw invalidArgument(syscall, `label must be a non-empty string, got ${describe(label)}`);
    if (this.flask !== null) {
      // flask_domain_create: the creator (dom0's toolstack) needs domain:create on the new label.
      const rc = this.flask.hasPermLabels(this.#domain(0).label, label, 'domain', 'create');
      if (rc !== 0) throw errnoError(rc, syscall, `createdomain under ${label}: ${this.flask.why}`);
    }
    if (this.#nextDomid >= DOMID.FIRST_RESERVED) throw codedError('ENOSPC', syscall, 'no free domain ids');
    const domid = this.#nextDomid++;
    const d = new Domain(domid, { ...config, type, label });
    for (let pfn = 0; pfn < pages; pfn++) d.populate(pfn);
    if (d.isHvm) {
      // What libxl sets up for an HVM guest's ioreq servers: the gfn pool,
      // populated (Xen maps ioreq pages onto existing guest pages).
      d.params[HVM_PARAM.IOREQ_SERVER_PFN] = IOREQ_SERVER_PFN;
      d.params[HVM_PARAM.NR_IOREQ_SERVER_PAGES] = BigInt(NR_IOREQ_SERVER_PAGES);
      d.ioreqGfnMask = (1 << NR_IOREQ_SERVER_PAGES) - 1;
      for (let i = 0; i < NR_IOREQ_SERVER_PAGES; i++) d.populate(Number(IOREQ_SERVER_PFN) + i);
    }
    if (config.maxPages === undefined) d.maxPages = pages + (d.isHvm ? NR_IOREQ_SERVER_PAGES : 0);
    this.#domains.set(domid, d);
    return domid;
  }

  /** The domain with this id, if it exists (not yet destroyed). */
  domainById(domid: number): Domain | undefined {
    return this.#domains.get(domid);
  }

  #domain(domid: number, syscall = 'domctl'): Domain {
    this.#live();
    const d = typeof domid === 'number' ? this.#domains.get(domid) : undefined;
    if (d === undefined) throw codedError('ESRCH', syscall, `no domain ${describe(domid)}`);
    return d;
  }

  #live(): void {
    if (this.#closed) throw codedError('EBADF', 'host', 'the simulated host is closed');
  }

  /** The simulated process running in a domain (created on first use). */
  process(domid: number): SimProcess {
    const d = this.#domain(domid, 'open');
    let p = this.#processes.get(domid);
    if (p === undefined) {
      p = { domain: d, space: AddressSpace.create(this.#memory) };
      this.#processes.set(domid, p);
    }
    return p;
  }

  pauseDomain(domid: number): void {
    const d = this.#domain(domid);
    if (d.domid === 0) throw codedError('EINVAL', 'domctl', 'dom0 cannot pause itself');
    d.paused = true;
  }

  /** Unpause; vCPUs that run take their pending injected events. */
  unpauseDomain(domid: number): void {
    const d = this.#domain(domid);
    d.paused = false;
    this.deliverEvents(d);
    resumeGuest(d);
  }

  /** @internal A running domain's vCPUs take pending events at VM entry. */
  deliverEvents(d: Domain): void {
    if (d.paused || d.shutdownReason !== null) return;
    d.pendingEvent.forEach((e, i) => {
      if (e) d.deliveredEvents.push(e);
      d.pendingEvent[i] = null;
    });
  }

  destroyDomain(domid: number): void {
    const d = this.#domain(domid);
    if (d.domid === 0) throw codedError('EINVAL', 'domctl', 'dom0 cannot be destroyed');
    d.dying = true;
    guestGone(d, codedError('ESRCH', 'guest', `domain ${domid} was destroyed`));
    // evtchn_destroy: every port is closed; the other ends go back to unbound.
    closeAllPorts(d, (id) => this.domainById(id));
    // Its pages go back once no mapping holds them.
    for (const srv of d.ioreqServers) if (srv !== null) freeIoreqPages(this.memory, srv);
    this.memory.releaseRam(domid, null);
    this.#domains.delete(domid);
    const p = this.#processes.get(domid);
    if (p) {
      p.space.close();
      this.#processes.delete(domid);
    }
  }

  /** XEN_DOMCTL_SHADOW_OP enable/disable log-dirty; turning it on cleans the log. */
  setLogDirty(domid: number, enabled: boolean): void {
    const d = this.#domain(domid);
    if (!d.isHvm && enabled) throw codedError('EINVAL', 'domctl', 'the simulator tracks log-dirty for HVM and PVH domains only');
    if (enabled && !d.logDirty) {
      d.dirtyLog.clear();
      // p2m_change_entry_type_global(d, p2m_ram_rw, p2m_ram_logdirty)
      for (const [pfn, t] of d.p2m) if (t === 'ram_rw') d.logdirtyPages.add(pfn);
    }
    if (!enabled) d.logdirtyPages.clear();
    d.logDirty = enabled;
  }

  /** XEN_DOMCTL_SHADOW_OP_CLEAN: return the dirty pfns and clear the log. */
  cleanDirtyLog(domid: number): number[] {
    const d = this.#domain(domid);
    const pages = [...d.dirtyLog].sort((a, b) => a - b);
    d.dirtyLog.clear();
    return pages;
  }

  /** XENMEM_populate_physmap: RAM at [firstPfn, firstPfn + count). */
  populatePhysmap(domid: number, firstPfn: number, count: number): void {
    const d = this.#domain(domid, 'memory_op');
    checkCount('memory_op', 'firstPfn', firstPfn, 0, 2 ** 40);
    checkCount('memory_op', 'count', count, 0, 1 << 20);
    for (let i = 0; i < count; i++) {
      if (d.p2m.has(firstPfn + i)) throw codedError('EEXIST', 'memory_op', `pfn 0x${(firstPfn + i).toString(16)} is already populated`);
    }
    for (let i = 0; i < count; i++) d.populate(firstPfn + i);
  }

  /** XENMEM_decrease_reservation: remove the pages (holes afterwards). */
  removeFromPhysmap(domid: number, firstPfn: number, count: number): void {
    const d = this.#domain(domid, 'memory_op');
    checkCount('memory_op', 'firstPfn', firstPfn, 0, 2 ** 40);
    checkCount('memory_op', 'count', count, 0, 1 << 20);
    for (let i = 0; i < count; i++) {
      d.p2m.delete(firstPfn + i);
      this.memory.releaseRam(domid, firstPfn + i);
    }
  }

  /**
   * Map `count` pages of a domain's memory from `firstPfn` into domain
   * `by`'s toolstack (what a domain builder does through privcmd's
   * mmapbatch: mmu_update / add_to_physmap_batch with a foreign domain).
   * XSM first: Flask needs mmu:map_read (and map_write when `write`) from
   * `by`'s label to the domain's; the dummy module XSM_TARGET. Then every
   * page must be RAM. The checks are privcmd's foreign map's
   * (Hypervisor.foreignMap); the pages are not materialised. Returns the
   * number of pages mapped.
   */
  mapForeignPages(domid: number, options: { firstPfn: number; count: number; write?: boolean; by?: number }): number {
    const syscall = 'mmap';
    if (typeof options !== 'object' || options === null) throw invalidArgument(syscall, 'options must be { firstPfn, count, write?, by? }');
    options = { ...options };
    const d = this.#domain(domid, syscall);
    const by = this.#domain(options.by ?? 0, syscall);
    const firstPfn = checkCount(syscall, 'firstPfn', options.firstPfn, 0, 2 ** 40);
    const count = checkCount(syscall, 'count', options.count, 1, 1 << 20);
    const write = options.write ?? true;
    // The same checks as a privcmd foreign map (Hypervisor.foreignMap), without materialising the pages.
    const gfns = Array.from({ length: count }, (_, i) => BigInt(firstPfn + i));
    const refused = this.hypervisor.foreignMap(by, d.domid, gfns, write).find((p) => p !== null);
    if (refused) throw errnoError(refused.err, syscall, refused.why);
    return count;
  }

  /**
   * The guest writes a page: what log-dirty and dirty-VRAM tracking observe,
   * and, with `data`, the bytes it writes at `offset` in the page (real
   * memory: every mapping of the page sees them).
   */
  guestWrite(domid: number, pfn: number, data?: Uint8Array, offset = 0): void {
    const d = this.#domain(domid, 'guest');
    checkCount('guest', 'pfn', pfn, 0, 2 ** 40);
    if (data !== undefined && !(data instanceof Uint8Array)) throw invalidArgument('guest', `data must be a Uint8Array, got ${describe(data)}`);
    checkCount('guest', 'offset', offset, 0, PAGE_SIZE);
    if (data !== undefined && data.byteLength > PAGE_SIZE - offset) throw invalidArgument('guest', `${data.byteLength} bytes at offset ${offset} do not fit in one page`);
    const t = d.p2m.get(pfn);
    if (t !== 'ram_rw') throw codedError('EFAULT', 'guest', `pfn 0x${pfn.toString(16)} is not writable RAM (${t ?? 'a hole'})`);
    if (data !== undefined && data.byteLength > 0) this.memory.write(this.memory.ramPage(domid, pfn), offset, data);
    if (d.logDirty) d.dirtyLog.add(pfn);
    d.logdirtyPages.delete(pfn); // the write fault makes the page ram_rw again
    if (d.vram && pfn >= d.vram.firstPfn && pfn < d.vram.firstPfn + d.vram.nr) d.vram.dirty.add(pfn);
  }

  /** What the guest reads from a page (a copy; an untouched page reads as zeros and stays untouched). */
  guestRead(domid: number, pfn: number): Uint8Array {
    const d = this.#domain(domid, 'guest');
    checkCount('guest', 'pfn', pfn, 0, 2 ** 40);
    const t = d.p2m.get(pfn);
    if (t !== 'ram_rw' && t !== 'ram_ro') throw codedError('EFAULT', 'guest', `pfn 0x${pfn.toString(16)} is not RAM (${t ?? 'a hole'})`);
    const out = new Uint8Array(PAGE_SIZE);
    if (this.memory.hasPage(domid, pfn)) this.memory.read(this.memory.ramPage(domid, pfn), 0, out);
    return out;
  }

  /**
   * vCPU `vcpu` of an HVM domain does one I/O access, routed as Xen routes
   * it (lib/sim/guest-runner.ts): Xen's own handlers, the ioreq server
   * claiming it (written into the server's ioreq page, its port signalled,
   * answered by the device model), or the null handler. Resolves with a
   * direct read's value once done; a paused domain's vCPU waits to be
   * unpaused; destroying the domain rejects with ESRCH.
   */
  guestIo(domid: number, vcpu: number, access: GuestAccess): Promise<GuestValue | undefined> {
    try {
      this.#live();
    } catch (e) {
      return Promise.reject(e);
    }
    return guestIo(this, domid, vcpu, access);
  }

  /** Runs a program of accesses on one vCPU (each checked first); resolves with the direct reads' values. */
  runGuest(domid: number, vcpu: number, program: readonly GuestStep[]): Promise<GuestRunResult> {
    try {
      this.#live();
    } catch (e) {
      return Promise.reject(e);
    }
    return runGuest(this, domid, vcpu, program);
  }

  /** Ids of the live domains. */
  domains(): number[] {
    return [...this.#domains.keys()];
  }

  /** A snapshot of a domain's device-model-visible state. */
  inspect(domid: number): DomainSnapshot {
    const d = this.#domain(domid, 'inspect');
    const memTypes: Record<number, string> = {};
    for (const [pfn, t] of d.p2m.typed()) memTypes[pfn] = t;
    return {
      domid: d.domid, type: d.type, vcpus: d.maxVcpus, hap: d.hap, paused: d.paused,
      shutdownReason: d.shutdownReason, target: d.target, label: d.label,
      roles: { control: d.isControl, hardware: d.isHardware, xenstore: d.isXenstore },
      ioreqServers: d.ioreqServers.filter((s) => s !== null).map((s) => ({
        id: s.id, emulator: s.emulator, bufioreq: s.bufioreq, enabled: s.enabled,
        ranges: { port: s.ranges.port.ranges.map((r) => [r[0], r[1]]), memory: s.ranges.memory.ranges.map((r) => [r[0], r[1]]), pci: s.ranges.pci.ranges.map((r) => [r[0], r[1]]) },
        ioreqGfn: s.ioreqGfn, bufioreqGfn: s.bufioreqGfn, bufioreqPort: s.bufioreqPort,
      })),
      p2mIoreqServer: d.p2mIoreq ? { ...d.p2mIoreq } : null,
      isaIrqLevels: [...d.isaIrqLevel],
      pciIntxLevels: Object.fromEntries(d.pciIntxLevel),
      pciLinkRoutes: [...d.pciLinkRoute],
      memTypes,
      maxGpfn: d.maxMappedPfn,
      logDirty: d.logDirty,
      dirtyPages: [...d.dirtyLog].sort((a, b) => a - b),
      dirtyVram: d.vram ? { firstPfn: d.vram.firstPfn, nr: d.vram.nr } : null,
      pendingEvents: d.pendingEvent.map((e) => (e ? { vector: e.vector, type: e.type, insnLen: e.insnLen, errorCode: e.errorCode, cr2: e.cr2 } : null)),
      deliveredEvents: d.deliveredEvents.map((e) => ({ ...e })),
      injectedMsis: d.injectedMsis.map((m) => ({ ...m })),
      cacheattrPins: d.cacheattrPins.map((p) => ({ ...p })),
      params: [...d.params],
      altp2m: {
        mode: Number(d.params[HVM_PARAM.ALTP2M]),
        active: d.altp2m.active,
        views: d.altp2m.views.flatMap((v, index) => (v === null ? [] : [{
          index, defaultAccess: v.defaultAccess, visible: v.visible,
          entries: Object.fromEntries([...v.entries].map(([g, e]) => [g, { ...e }])),
        }])),
        host: Object.fromEntries([...d.altp2m.host].map(([g, e]) => [g, { access: e.access, suppressVe: e.suppressVe }])),
        vcpus: d.altp2m.vcpuView.map((view, i) => ({ view: view === INVALID_ALTP2M ? null : view, veInfoGfn: d.altp2m.veInfoGfn[i] ?? null })),
      },
      eventChannels: d.evtchn.snapshot().map((c) => ({ ...c, state: { ...c.state } })),
      pciCf8: d.pciCf8,
      debugConsole: [...d.debugConsole],
    };
  }

  /** Release every process's address space. */
  close(): void {
    for (const d of this.#domains.values()) guestGone(d, codedError('EBADF', 'guest', 'the simulated host was closed'));
    for (const p of this.#processes.values()) p.space.close();
    this.#processes.clear();
    this.#closed = true;
  }

  get closed(): boolean {
    return this.#closed;
  }
}

export function createSimulatedHost(options?: SimulatedHostOptions): SimulatedHost {
  return new SimulatedHost(options);
}

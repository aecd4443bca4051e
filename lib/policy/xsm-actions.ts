// THE table: every hypercall, and the sub-ops that matter, classified by the
// XSM default action Xen's dummy policy (xen/include/xsm/dummy.h) applies to
// it, each entry citing its hook. The simulated hypervisor enforces it and
// the hypercall filter decides from it (both through xsmDefaultAction in
// lib/policy/xsm.ts), so the two cannot disagree. Hypercall and sub-op numbers
// and every struct offset used to find a sub-op or a target domain are
// checked against Xen's headers by test/abi.
//
// HW_PRIV marks what the 2025 XSM_HW_PRIV proposal moves from XSM_PRIV to the
// hardware domain; under Xen 4.17's policy (variant 'none') it is XSM_PRIV.
// Sources: xen/include/xsm/dummy.h (Xen 4.17) and the 2025 XSM_HW_PRIV
// patch series on xen-devel.
import { DMOPS } from '../abi/dmops';
import { DOMID } from '../abi/domids';
import { HYPERCALLS, type HypercallName } from '../abi/hypercalls';
import { XSM, type XsmAction } from './xsm';
import { describe, invalidArgument } from '../errors';
import { ALTP2M_CMDS, altp2mXsmAction, HVMOP_ALTP2M } from './altp2m';
import { HVM_PARAM } from '../abi/hvm-params';

/**
 * sizeof() each struct the table reads a field of (Xen 4.17, x86-64; checked
 * against the headers by test/abi/policy-headers.test.ts). Xen copies the
 * whole struct in, so the handle snapshots exactly this many bytes before
 * the filter decides, and sends the snapshot.
 */
export const ARG_STRUCT_SIZES = {
  evtchn_op: 28,
  evtchn_alloc_unbound: 8,
  evtchn_reset: 2,
  evtchn_status: 24,
  gnttab_get_status_frames: 16,
  gnttab_query_size: 16,
  gnttab_setup_table: 24,
  physdev_op: 24,
  physdev_map_pirq: 40,
  physdev_unmap_pirq: 8,
  sched_remote_shutdown: 8,
  xen_add_to_physmap: 24,
  xen_add_to_physmap_batch: 32,
  xen_domctl: 144,
  xen_foreign_memory_map: 24,
  xen_hvm_altp2m_op: 80,
  xen_hvm_get_mem_type: 16,
  xen_hvm_pagetable_dying: 16,
  xen_hvm_param: 16,
  xen_mem_access_op: 32,
  xen_mem_acquire_resource: 32,
  xen_mem_paging_op: 24,
  xen_mem_sharing_op: 48,
  xen_memory_exchange: 72,
  xen_memory_reservation: 32,
  xen_pod_target: 40,
  xen_remove_from_physmap: 16,
  xen_vnuma_topology_info: 40,
} as const satisfies Record<string, number>;
export type ArgStruct = keyof typeof ARG_STRUCT_SIZES;

/** Bytes Xen copies in from a pointer to this struct (a bare domid_t: 2). */
export function argStructSize(at: FieldLoc): number {
  return at.struct === null ? 2 : ARG_STRUCT_SIZES[at.struct];
}

/** A field of the struct a hypercall argument points to. */
export interface FieldLoc {
  /** The C struct tag, or null when the argument points at a bare domid_t. */
  readonly struct: ArgStruct | null;
  /** The C member designator (`domid`, `in.domid`, `u.foreign_domid`). */
  readonly field: string;
  readonly offset: number;
  readonly size: 2 | 4;
}

/** Where a value sits: hypercall argument `arg` itself, or a field of the struct it points to. */
export interface ArgLoc {
  readonly arg: number;
  readonly at: FieldLoc | null;
  /** Bits of a register that hold the value (memory_op's command: the low 6). */
  readonly mask: number;
}

/** Where the domain a check is about sits. */
export interface TargetLoc extends ArgLoc {
  /**
   * true: DOMID_SELF names the caller (rcu_lock_domain_by_any_id);
   * false: the id is taken literally (rcu_lock_domain_by_id, remote lookups).
   */
  readonly self: boolean;
}

export interface XsmRule {
  /** `hypercall`, `hypercall/sub-op`, `hypercall/sub-op/key` (e.g. hvm_op/set_param/ALTP2M). */
  readonly name: string;
  readonly hypercall: HypercallName;
  /** [hypercall number, sub-op value, third-level value], as far as the rule goes. */
  readonly path: readonly number[];
  /** XSM.OTHER: decided by the hook from more than the caller (altp2m: the domain's mode). */
  readonly action: XsmAction;
  /** The dummy.h hook (or why there is none). */
  readonly hook: string;
  /** The domain the check is about; null when the hook passes no target (PRIV-type checks, the caller's own state). */
  readonly target: TargetLoc | null;
  readonly note: string;
  /** The C macro of this rule's value in `path` (checked against the headers). */
  readonly macro: string;
  /** Not in Xen 4.17's public headers (newer Xen); the header check skips its number. */
  readonly after417: boolean;
  /** Where the value selecting a child rule is read; null: no children are selected by reading. */
  readonly key: ArgLoc | null;
  readonly children: ReadonlyMap<number, XsmRule>;
  readonly parent: XsmRule | null;
}

// ---- the declarative table -------------------------------------------------------

interface Spec {
  readonly action: XsmAction;
  readonly hook: string;
  readonly note?: string;
  readonly target?: TargetLoc | null;
  readonly key?: ArgLoc;
  readonly subs?: readonly SubSpec[];
  readonly after417?: boolean;
}
interface SubSpec extends Spec {
  readonly name: string;
  readonly value: number;
  readonly macro: string;
}

const NONE = 'none (no XSM check)';
/** The register itself (low 32 bits, or `mask`). */
const reg = (arg: number, mask = 0xffffffff): ArgLoc => ({ arg, at: null, mask });
/** A u32 field of the struct args[arg] points to. */
const field = (arg: number, struct: ArgStruct, name: string, offset: number): ArgLoc => ({ arg, at: { struct, field: name, offset, size: 4 }, mask: 0xffffffff });
/** A domid_t in the struct args[arg] points to. */
const dom = (arg: number, struct: ArgStruct | null, name: string, offset: number, self = true): TargetLoc =>
  ({ arg, at: { struct, field: name, offset, size: 2 }, mask: 0xffff, self });
/** A domid in a register (its low 16 bits). */
const domReg = (arg: number, self: boolean): TargetLoc => ({ arg, at: null, mask: 0xffff, self });

function sub(name: string, value: number, macro: string, action: XsmAction, hook: string, more: Omit<Spec, 'action' | 'hook'> = {}): SubSpec {
  return { name, value, macro, action, hook, ...more };
}
const hc = (action: XsmAction, hook: string, note: string, more: Omit<Spec, 'action' | 'hook' | 'note'> = {}): Spec => ({ action, hook, note, ...more });
const hook0 = (note: string): Spec => hc(XSM.HOOK, NONE, note);

const HVM_PARAM_TARGET = dom(1, 'xen_hvm_param', 'domid', 0);
const RESERVATION = dom(1, 'xen_memory_reservation', 'domid', 24);
const DOMCTL_DOMAIN = dom(0, 'xen_domctl', 'domain', 8, false);
const DM_OP_DOMID = domReg(0, false);

const TABLE: Readonly<Record<HypercallName, Spec>> = {
  set_trap_table: hook0('PV: the caller\'s own trap table'),
  mmu_update: hc(XSM.TARGET, 'xsm_mmu_update', 'foreigndom (low 16 bits) is the page owner; page-table owner checked the same way', { target: domReg(3, true) }),
  set_gdt: hook0('PV: the caller\'s own GDT'),
  stack_switch: hook0('PV: the caller\'s own stack'),
  set_callbacks: hook0('PV: the caller\'s own callbacks'),
  fpu_taskswitch: hook0('PV: the caller\'s own vCPU'),
  sched_op_compat: hook0('yield, block and shutdown of the caller; other commands -ENOSYS'),
  platform_op: hc(XSM.HW_PRIV, 'xsm_platform_op', 'every XENPF_* command; XSM_PRIV in Xen 4.17, XSM_HW_PRIV in the proposal (x86 and Arm)'),
  set_debugreg: hook0('PV: the caller\'s own debug registers'),
  get_debugreg: hook0('PV: the caller\'s own debug registers'),
  update_descriptor: hook0('PV: the caller\'s own descriptors'),
  memory_op: hc(XSM.HOOK, NONE, 'sub-ops without a hook act on the caller; the command is the low 6 bits of arg 0 (Xen\'s MEMOP_CMD_MASK; the start extent of a continuation sits above)', {
    key: reg(0, 0x3f),
    subs: [
      sub('increase_reservation', 0, 'XENMEM_increase_reservation', XSM.TARGET, 'xsm_memory_adjust_reservation', { target: RESERVATION }),
      sub('decrease_reservation', 1, 'XENMEM_decrease_reservation', XSM.TARGET, 'xsm_memory_adjust_reservation', { target: RESERVATION }),
      sub('maximum_ram_page', 2, 'XENMEM_maximum_ram_page', XSM.HOOK, NONE),
      sub('current_reservation', 3, 'XENMEM_current_reservation', XSM.TARGET, 'xsm_memory_stat_reservation', { target: dom(1, null, 'domid_t', 0) }),
      sub('maximum_reservation', 4, 'XENMEM_maximum_reservation', XSM.TARGET, 'xsm_memory_stat_reservation', { target: dom(1, null, 'domid_t', 0) }),
      sub('populate_physmap', 6, 'XENMEM_populate_physmap', XSM.TARGET, 'xsm_memory_adjust_reservation', { target: RESERVATION }),
      sub('add_to_physmap', 7, 'XENMEM_add_to_physmap', XSM.TARGET, 'xsm_add_to_physmap', { target: dom(1, 'xen_add_to_physmap', 'domid', 0) }),
      sub('memory_map', 9, 'XENMEM_memory_map', XSM.HOOK, NONE, { note: 'the caller\'s own memory map' }),
      sub('machine_memory_map', 10, 'XENMEM_machine_memory_map', XSM.PRIV, 'xsm_machine_memory_map'),
      sub('exchange', 11, 'XENMEM_exchange', XSM.TARGET, 'xsm_memory_exchange', { target: dom(1, 'xen_memory_exchange', 'in.domid', 24) }),
      sub('set_memory_map', 13, 'XENMEM_set_memory_map', XSM.TARGET, 'xsm_domain_memory_map', { target: dom(1, 'xen_foreign_memory_map', 'domid', 0) }),
      sub('maximum_gpfn', 14, 'XENMEM_maximum_gpfn', XSM.TARGET, 'xsm_memory_stat_reservation', { target: dom(1, null, 'domid_t', 0) }),
      sub('remove_from_physmap', 15, 'XENMEM_remove_from_physmap', XSM.TARGET, 'xsm_remove_from_physmap', { target: dom(1, 'xen_remove_from_physmap', 'domid', 0) }),
      sub('set_pod_target', 16, 'XENMEM_set_pod_target', XSM.PRIV, 'xsm_set_pod_target', { target: dom(1, 'xen_pod_target', 'domid', 32) }),
      sub('get_pod_target', 17, 'XENMEM_get_pod_target', XSM.PRIV, 'xsm_get_pod_target', { target: dom(1, 'xen_pod_target', 'domid', 32) }),
      sub('paging_op', 20, 'XENMEM_paging_op', XSM.DM_PRIV, 'xsm_mem_paging', { target: dom(1, 'xen_mem_paging_op', 'domain', 2, false) }),
      sub('access_op', 21, 'XENMEM_access_op', XSM.DM_PRIV, 'xsm_mem_access', { target: dom(1, 'xen_mem_access_op', 'domid', 2, false) }),
      sub('sharing_op', 22, 'XENMEM_sharing_op', XSM.DM_PRIV, 'xsm_mem_sharing_op', { target: dom(1, 'xen_mem_sharing_op', 'domain', 2, false) }),
      sub('add_to_physmap_batch', 23, 'XENMEM_add_to_physmap_batch', XSM.TARGET, 'xsm_add_to_physmap + xsm_map_gmfn_foreign', {
        target: dom(1, 'xen_add_to_physmap_batch', 'u.foreign_domid', 6),
        note: 'foreign mapping (XENMAPSPACE_gmfn_foreign: how Linux privcmd maps guest memory on a PVH/HVM dom0): TARGET on the owner, u.foreign_domid; `domid`, normally DOMID_SELF, is checked too. Other spaces carry 0 there, so they are checked against domain 0',
      }),
      // rcu_lock_domain_by_id: DOMID_SELF is taken literally (and is no domain: EINVAL).
      sub('claim_pages', 24, 'XENMEM_claim_pages', XSM.PRIV, 'xsm_claim_pages', { target: dom(1, 'xen_memory_reservation', 'domid', 24, false) }),
      sub('get_vnumainfo', 26, 'XENMEM_get_vnumainfo', XSM.TARGET, 'xsm_get_vnumainfo', { target: dom(1, 'xen_vnuma_topology_info', 'domid', 0) }),
      sub('acquire_resource', 28, 'XENMEM_acquire_resource', XSM.DM_PRIV, 'xsm_domain_resource_map', {
        target: dom(1, 'xen_mem_acquire_resource', 'domid', 0),
        note: 'resource acquisition: ioreq server pages, grant tables, vmtrace buffers (how a device model maps its ioreq pages)',
      }),
    ],
  }),
  multicall: hook0('each call of the batch is checked on its own (the filter cannot see inside a batch: see lib/policy/filter.ts)'),
  update_va_mapping: hook0('xsm_update_va_mapping against the caller\'s own pages (XSM_TARGET on itself)'),
  set_timer_op: hook0('the caller\'s own timer'),
  event_channel_op_compat: hc(XSM.HOOK, NONE, 'struct evtchn_op { cmd; u }: as event_channel_op (EVTCHNOP_reset through this path is classified HOOK: struct evtchn_op has no reset member)', {
    key: field(0, 'evtchn_op', 'cmd', 0),
    subs: [
      sub('status', 5, 'EVTCHNOP_status', XSM.TARGET, 'xsm_evtchn_status', { target: dom(0, 'evtchn_op', 'u.status.dom', 4) }),
      sub('alloc_unbound', 6, 'EVTCHNOP_alloc_unbound', XSM.TARGET, 'xsm_evtchn_unbound', { target: dom(0, 'evtchn_op', 'u.alloc_unbound.dom', 4) }),
    ],
  }),
  xen_version: hc(XSM.HOOK, 'xsm_xen_version', 'XSM_OTHER: per command; for unknown commands do_xen_version answers -ENOSYS whatever XSM says', {
    key: reg(0),
    subs: [
      sub('version', 0, 'XENVER_version', XSM.HOOK, 'xsm_xen_version (no check)'),
      sub('extraversion', 1, 'XENVER_extraversion', XSM.HOOK, 'xsm_xen_version'),
      sub('compile_info', 2, 'XENVER_compile_info', XSM.HOOK, 'xsm_xen_version'),
      sub('capabilities', 3, 'XENVER_capabilities', XSM.HOOK, 'xsm_xen_version'),
      sub('changeset', 4, 'XENVER_changeset', XSM.HOOK, 'xsm_xen_version'),
      sub('platform_parameters', 5, 'XENVER_platform_parameters', XSM.HOOK, 'xsm_xen_version (no check)'),
      sub('get_features', 6, 'XENVER_get_features', XSM.HOOK, 'xsm_xen_version (no check)'),
      sub('pagesize', 7, 'XENVER_pagesize', XSM.HOOK, 'xsm_xen_version'),
      sub('guest_handle', 8, 'XENVER_guest_handle', XSM.HOOK, 'xsm_xen_version'),
      sub('commandline', 9, 'XENVER_commandline', XSM.PRIV, 'xsm_xen_version', { note: 'denied: -EPERM' }),
      sub('build_id', 10, 'XENVER_build_id', XSM.PRIV, 'xsm_xen_version', { note: 'denied: -EPERM' }),
    ],
  }),
  console_io: hc(XSM.HW_PRIV, 'xsm_console_io', 'XSM_OTHER: HOOK for a domain created with is_console (and writes under CONFIG_VERBOSE_DEBUG); otherwise XSM_PRIV in Xen 4.17, XSM_HW_PRIV in the proposal (the console_io fallback)', {
    key: reg(0),
    subs: [
      sub('write', 0, 'CONSOLEIO_write', XSM.HW_PRIV, 'xsm_console_io'),
      sub('read', 1, 'CONSOLEIO_read', XSM.HW_PRIV, 'xsm_console_io'),
    ],
  }),
  physdev_op_compat: hc(XSM.HOOK, NONE, 'struct physdev_op { cmd; u }: only irq_status_query, set_iopl, set_iobitmap and the APIC commands pass through', {
    key: field(0, 'physdev_op', 'cmd', 0),
    subs: [
      sub('apic_read', 8, 'PHYSDEVOP_apic_read', XSM.HW_PRIV, 'xsm_apic'),
      sub('apic_write', 9, 'PHYSDEVOP_apic_write', XSM.HW_PRIV, 'xsm_apic'),
      sub('alloc_irq_vector', 10, 'PHYSDEVOP_alloc_irq_vector', XSM.HW_PRIV, 'xsm_apic'),
    ],
  }),
  grant_table_op: hc(XSM.HOOK, NONE, 'the caller\'s own grant table', {
    key: reg(0),
    subs: [
      sub('map_grant_ref', 0, 'GNTTABOP_map_grant_ref', XSM.HOOK, 'xsm_grant_mapref'),
      sub('unmap_grant_ref', 1, 'GNTTABOP_unmap_grant_ref', XSM.HOOK, 'xsm_grant_unmapref'),
      sub('setup_table', 2, 'GNTTABOP_setup_table', XSM.TARGET, 'xsm_grant_setup', { target: dom(1, 'gnttab_setup_table', 'dom', 0) }),
      sub('transfer', 4, 'GNTTABOP_transfer', XSM.HOOK, 'xsm_grant_transfer'),
      sub('copy', 5, 'GNTTABOP_copy', XSM.HOOK, 'xsm_grant_copy'),
      sub('query_size', 6, 'GNTTABOP_query_size', XSM.TARGET, 'xsm_grant_query_size', { target: dom(1, 'gnttab_query_size', 'dom', 0) }),
      sub('get_status_frames', 9, 'GNTTABOP_get_status_frames', XSM.TARGET, 'xsm_grant_setup', { target: dom(1, 'gnttab_get_status_frames', 'dom', 4) }),
    ],
  }),
  vm_assist: hook0('the caller\'s own assists'),
  update_va_mapping_otherdomain: hc(XSM.TARGET, 'xsm_update_va_mapping', 'arg 3 is the page owner', { target: domReg(3, true) }),
  iret: hook0('PV: the caller\'s own return'),
  vcpu_op: hook0('the caller\'s own vCPUs'),
  set_segment_base: hook0('PV: the caller\'s own segments'),
  mmuext_op: hc(XSM.TARGET, 'xsm_mmuext_op', 'foreigndom (arg 3, low 16 bits) is the page owner', { target: domReg(3, true) }),
  xsm_op: hc(XSM.HOOK, 'xsm_do_xsm_op', 'the dummy module answers -ENOSYS to every FLASK_* command; with Flask each is checked by the loaded policy'),
  nmi_op: hook0('the caller\'s own NMI callback'),
  sched_op: hc(XSM.HOOK, NONE, 'the caller\'s own scheduling', {
    key: reg(0),
    subs: [
      sub('remote_shutdown', 4, 'SCHEDOP_remote_shutdown', XSM.DM_PRIV, 'xsm_schedop_shutdown', { target: dom(1, 'sched_remote_shutdown', 'domain_id', 0, false) }),
    ],
  }),
  callback_op: hook0('the caller\'s own callbacks'),
  xenoprof_op: hc(XSM.HOOK, 'xsm_profile', 'the caller\'s own profiling'),
  event_channel_op: hc(XSM.HOOK, NONE, 'the caller\'s own event channels', {
    key: reg(0),
    subs: [
      sub('bind_interdomain', 0, 'EVTCHNOP_bind_interdomain', XSM.HOOK, 'xsm_evtchn_interdomain'),
      sub('send', 4, 'EVTCHNOP_send', XSM.HOOK, 'xsm_evtchn_send'),
      sub('status', 5, 'EVTCHNOP_status', XSM.TARGET, 'xsm_evtchn_status', { target: dom(1, 'evtchn_status', 'dom', 0) }),
      sub('alloc_unbound', 6, 'EVTCHNOP_alloc_unbound', XSM.TARGET, 'xsm_evtchn_unbound', { target: dom(1, 'evtchn_alloc_unbound', 'dom', 0) }),
      sub('reset', 10, 'EVTCHNOP_reset', XSM.TARGET, 'xsm_evtchn_reset', { target: dom(1, 'evtchn_reset', 'dom', 0) }),
    ],
  }),
  physdev_op: hc(XSM.HOOK, NONE, 'the caller\'s own IRQs and I/O privileges', {
    key: reg(0),
    subs: [
      sub('apic_read', 8, 'PHYSDEVOP_apic_read', XSM.HW_PRIV, 'xsm_apic'),
      sub('apic_write', 9, 'PHYSDEVOP_apic_write', XSM.HW_PRIV, 'xsm_apic'),
      sub('alloc_irq_vector', 10, 'PHYSDEVOP_alloc_irq_vector', XSM.HW_PRIV, 'xsm_apic'),
      sub('map_pirq', 13, 'PHYSDEVOP_map_pirq', XSM.DM_PRIV, 'xsm_map_domain_pirq', { target: dom(1, 'physdev_map_pirq', 'domid', 0) }),
      sub('unmap_pirq', 14, 'PHYSDEVOP_unmap_pirq', XSM.DM_PRIV, 'xsm_unmap_domain_pirq', { target: dom(1, 'physdev_unmap_pirq', 'domid', 0) }),
      sub('manage_pci_add', 15, 'PHYSDEVOP_manage_pci_add', XSM.HW_PRIV, 'xsm_resource_plug_pci'),
      sub('manage_pci_remove', 16, 'PHYSDEVOP_manage_pci_remove', XSM.HW_PRIV, 'xsm_resource_unplug_pci'),
      sub('restore_msi', 19, 'PHYSDEVOP_restore_msi', XSM.HW_PRIV, 'xsm_resource_setup_pci', { note: 'pci_restore_msi_state' }),
      sub('manage_pci_add_ext', 20, 'PHYSDEVOP_manage_pci_add_ext', XSM.HW_PRIV, 'xsm_resource_plug_pci'),
      sub('setup_gsi', 21, 'PHYSDEVOP_setup_gsi', XSM.HW_PRIV, 'xsm_resource_setup_gsi'),
      sub('pci_mmcfg_reserved', 24, 'PHYSDEVOP_pci_mmcfg_reserved', XSM.HW_PRIV, 'xsm_resource_setup_misc'),
      sub('pci_device_add', 25, 'PHYSDEVOP_pci_device_add', XSM.HW_PRIV, 'xsm_resource_plug_pci'),
      sub('pci_device_remove', 26, 'PHYSDEVOP_pci_device_remove', XSM.HW_PRIV, 'xsm_resource_unplug_pci'),
      sub('restore_msi_ext', 27, 'PHYSDEVOP_restore_msi_ext', XSM.HW_PRIV, 'xsm_resource_setup_pci', { note: 'pci_restore_msi_state' }),
      sub('prepare_msix', 30, 'PHYSDEVOP_prepare_msix', XSM.HW_PRIV, 'xsm_resource_setup_pci'),
      sub('release_msix', 31, 'PHYSDEVOP_release_msix', XSM.HW_PRIV, 'xsm_resource_setup_pci'),
      sub('pci_device_reset', 32, 'PHYSDEVOP_pci_device_reset', XSM.HW_PRIV, 'xsm_resource_setup_pci', { after417: true, note: 'PCI dev_reset; not in Xen 4.17 (which answers -ENOSYS)' }),
    ],
  }),
  hvm_op: hc(XSM.HOOK, NONE, 'other sub-ops act on the caller or are -ENOSYS (the Xen < 4.9 device-model sub-ops are DMOPs now)', {
    key: reg(0),
    subs: [
      sub('set_param', 0, 'HVMOP_set_param', XSM.TARGET, 'xsm_hvm_param', {
        target: HVM_PARAM_TARGET,
        key: field(1, 'xen_hvm_param', 'index', 4),
        subs: [
          sub('ALTP2M', HVM_PARAM.ALTP2M, 'HVM_PARAM_ALTP2M', XSM.PRIV, 'xsm_hvm_param_altp2mhvm', {
            target: HVM_PARAM_TARGET,
            note: 'Xen 4.17: after the XSM_TARGET check; read-only since 4.19 (-EEXIST)',
          }),
        ],
      }),
      sub('get_param', 1, 'HVMOP_get_param', XSM.TARGET, 'xsm_hvm_param', { target: HVM_PARAM_TARGET }),
      sub('pagetable_dying', 9, 'HVMOP_pagetable_dying', XSM.TARGET, 'xsm_hvm_param', { target: dom(1, 'xen_hvm_pagetable_dying', 'domid', 0) }),
      sub('get_mem_type', 15, 'HVMOP_get_mem_type', XSM.TARGET, 'xsm_hvm_param', { target: dom(1, 'xen_hvm_get_mem_type', 'domid', 0) }),
      sub('altp2m', HVMOP_ALTP2M, 'HVMOP_altp2m', XSM.OTHER, 'xsm_hvm_altp2mhvm_op', {
        target: dom(1, 'xen_hvm_altp2m_op', 'domain', 8),
        key: field(1, 'xen_hvm_altp2m_op', 'cmd', 4),
        note: 'XSM_OTHER: by the domain\'s altp2m mode (lib/policy/altp2m.ts); unknown commands: -EOPNOTSUPP before XSM',
        subs: ALTP2M_CMDS.map((c) => sub(c.name, c.cmd, `HVMOP_altp2m_${c.name}`, XSM.OTHER, 'xsm_hvm_altp2mhvm_op', {
          target: dom(1, 'xen_hvm_altp2m_op', 'domain', 8),
        })),
      }),
    ],
  }),
  sysctl: hc(XSM.PRIV, 'xsm_sysctl', 'every XEN_SYSCTL_* command: do_sysctl asks xsm_sysctl first'),
  domctl: hc(XSM.PRIV, 'xsm_domctl', 'XSM_OTHER: XSM_PRIV unless listed (struct xen_domctl { cmd; interface_version; domain })', {
    target: DOMCTL_DOMAIN,
    key: field(0, 'xen_domctl', 'cmd', 0),
    subs: [
      sub('createdomain', 1, 'XEN_DOMCTL_createdomain', XSM.PRIV, 'xsm_domctl', { target: null, note: 'no domain yet (d = NULL)' }),
      sub('getdomaininfo', 5, 'XEN_DOMCTL_getdomaininfo', XSM.XS_PRIV, 'xsm_domctl', { target: DOMCTL_DOMAIN }),
      sub('irq_permission', 19, 'XEN_DOMCTL_irq_permission', XSM.PRIV, 'xsm_domctl (then xsm_irq_permission)', { target: DOMCTL_DOMAIN }),
      sub('iomem_permission', 20, 'XEN_DOMCTL_iomem_permission', XSM.PRIV, 'xsm_domctl (then xsm_iomem_permission)', { target: DOMCTL_DOMAIN }),
      sub('ioport_permission', 21, 'XEN_DOMCTL_ioport_permission', XSM.PRIV, 'xsm_domctl (then xsm_ioport_permission)', { target: DOMCTL_DOMAIN }),
      sub('bind_pt_irq', 38, 'XEN_DOMCTL_bind_pt_irq', XSM.DM_PRIV, 'xsm_domctl', { target: DOMCTL_DOMAIN }),
      sub('memory_mapping', 39, 'XEN_DOMCTL_memory_mapping', XSM.DM_PRIV, 'xsm_domctl', { target: DOMCTL_DOMAIN }),
      sub('ioport_mapping', 40, 'XEN_DOMCTL_ioport_mapping', XSM.DM_PRIV, 'xsm_domctl', { target: DOMCTL_DOMAIN }),
      sub('set_target', 46, 'XEN_DOMCTL_set_target', XSM.PRIV, 'xsm_domctl (then xsm_set_target)', { target: DOMCTL_DOMAIN }),
      sub('unbind_pt_irq', 48, 'XEN_DOMCTL_unbind_pt_irq', XSM.DM_PRIV, 'xsm_domctl', { target: DOMCTL_DOMAIN }),
    ],
  }),
  kexec_op: hc(XSM.PRIV, 'xsm_kexec', 'every KEXEC_CMD_*'),
  tmem_op: hook0('removed in Xen 4.13: -ENOSYS'),
  argo_op: hc(XSM.HOOK, 'xsm_argo_*', 'the dummy hooks allow; Argo is compiled out by default (-ENOSYS)'),
  xenpmu_op: hc(XSM.PRIV, 'xsm_pmu_op', 'XSM_OTHER: the mode and feature commands are XSM_PRIV', {
    key: reg(0),
    subs: [
      sub('mode_get', 0, 'XENPMU_mode_get', XSM.PRIV, 'xsm_pmu_op'),
      sub('mode_set', 1, 'XENPMU_mode_set', XSM.PRIV, 'xsm_pmu_op'),
      sub('feature_get', 2, 'XENPMU_feature_get', XSM.PRIV, 'xsm_pmu_op'),
      sub('feature_set', 3, 'XENPMU_feature_set', XSM.PRIV, 'xsm_pmu_op'),
      sub('init', 4, 'XENPMU_init', XSM.HOOK, 'xsm_pmu_op'),
      sub('finish', 5, 'XENPMU_finish', XSM.HOOK, 'xsm_pmu_op'),
      sub('lvtpc_set', 6, 'XENPMU_lvtpc_set', XSM.HOOK, 'xsm_pmu_op'),
      sub('flush', 7, 'XENPMU_flush', XSM.HOOK, 'xsm_pmu_op'),
    ],
  }),
  dm_op: hc(XSM.DM_PRIV, 'xsm_dm_op', 'every XEN_DMOP_* (the op is in buffer 0, not in a register: the filter sees it only through dmop/dmopRaw)', {
    target: DM_OP_DOMID,
    subs: DMOPS.map((d) => sub(d.name, d.op, `XEN_DMOP_${d.name}`, XSM.DM_PRIV, 'xsm_dm_op', { target: DM_OP_DOMID })),
  }),
  hypfs_op: hc(XSM.PRIV, 'xsm_hypfs_op', 'every XEN_HYPFS_OP_*'),
};

// ---- the rule tree ---------------------------------------------------------------

interface MutableRule extends Omit<XsmRule, 'children'> {
  children: Map<number, XsmRule>;
}

function build(name: string, hypercall: HypercallName, path: number[], macro: string, spec: Spec, inheritedTarget: TargetLoc | null, parent: XsmRule | null, out: XsmRule[]): XsmRule {
  const target = spec.target === undefined ? inheritedTarget : spec.target;
  const rule: MutableRule = {
    name, hypercall, path, action: spec.action, hook: spec.hook, target, note: spec.note ?? '', macro,
    after417: spec.after417 ?? false, key: spec.key ?? null, children: new Map(), parent,
  };
  out.push(rule);
  for (const s of spec.subs ?? []) {
    const child = build(`${name}/${s.name}`, hypercall, [...path, s.value], s.macro, s, null, rule, out);
    rule.children.set(s.value, child);
  }
  return rule;
}

const RULES: XsmRule[] = [];
const BY_NUMBER: (XsmRule | undefined)[] = [];
for (const [hcName, spec] of Object.entries(TABLE) as [HypercallName, Spec][]) {
  BY_NUMBER[HYPERCALLS[hcName]] = build(hcName, hcName, [HYPERCALLS[hcName]], `__HYPERVISOR_${hcName}`, spec, null, null, RULES);
}

/** Every rule, parents before children. */
export const XSM_RULES: readonly XsmRule[] = RULES;
const BY_NAME = new Map<string, XsmRule>(RULES.map((r) => [r.name, r]));
const RULE_SET = new Set<unknown>(RULES);

/** The rule with this name (`hvm_op/altp2m/switch_p2m`, `domctl`, ...). */
export function xsmRule(name: string): XsmRule | undefined {
  return typeof name === 'string' ? BY_NAME.get(name) : undefined;
}

/** The hypercall-level rule for a hypercall number (undefined: not a hypercall). */
export function hypercallRule(op: number): XsmRule | undefined {
  // Only array indices: BY_NUMBER['constructor'] is a function, not a rule.
  return typeof op === 'number' && Number.isInteger(op) && op >= 0 ? BY_NUMBER[op] : undefined;
}

/** The rule of DMOP `op` (undefined for op numbers Xen does not define). */
export function dmopRule(op: number): XsmRule | undefined {
  return typeof op === 'number' ? (BY_NUMBER[HYPERCALLS.dm_op] as XsmRule).children.get(op) : undefined;
}

/** Reads `out.length` bytes of the caller's memory at `addr`; false if they are not readable. */
export type ArgReader = (addr: bigint, out: Uint8Array) => boolean;

const scratch = new Uint8Array(4);
const scratch2 = scratch.subarray(0, 2);
// A register's low 32 bits without BigInt arithmetic (BigInt.asUintN
// allocates): store it in a BigUint64Array, read the low word of a view.
const register = new BigUint64Array(1);
const registerWords = new Uint32Array(register.buffer);
const LOW_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;

/** A value at `loc`: >= 0, or -1 if the memory could not be read. */
export function readArg(loc: ArgLoc, args: readonly bigint[], read: ArgReader): number {
  if (typeof loc !== 'object' || loc === null) throw invalidArgument('filter', `loc must be an ArgLoc (a rule's key or target), got ${describe(loc)}`);
  const { arg, at, mask } = loc;
  if (typeof arg !== 'number' || !Number.isInteger(arg) || arg < 0 || arg > 4) throw invalidArgument('filter', `loc.arg must be an argument index in [0, 4], got ${describe(arg)}`);
  if (typeof mask !== 'number' || !Number.isInteger(mask)) throw invalidArgument('filter', `loc.mask must be an integer, got ${describe(mask)}`);
  if (at !== null && (typeof at !== 'object' || at === undefined || typeof at.offset !== 'number' || !Number.isInteger(at.offset) || at.offset < 0 || (at.size !== 2 && at.size !== 4))) {
    throw invalidArgument('filter', 'loc.at must be null or { offset, size: 2 | 4 }');
  }
  if (!Array.isArray(args)) throw invalidArgument('filter', `args must be an array of u64 bigints, got ${describe(args)}`);
  if (at !== null && typeof read !== 'function') throw invalidArgument('filter', 'read must be a function (addr, out) => boolean');
  const a: unknown = args[arg] ?? 0n;
  if (typeof a !== 'bigint') throw invalidArgument('filter', `argument ${arg} must be a bigint, got ${describe(a)}`);
  return readArgChecked({ arg, at, mask }, a, read);
}

/** @internal readArg for the library's own callers: `loc` from the table, `args` already u64 bigints. */
export function readArgAt(loc: ArgLoc, args: readonly bigint[], read: ArgReader): number {
  return readArgChecked(loc, args[loc.arg] ?? 0n, read);
}

function readArgChecked(loc: ArgLoc, a: bigint, read: ArgReader): number {
  const at = loc.at;
  if (at === null) {
    register[0] = a;
    return ((registerWords[LOW_WORD] as number) & loc.mask) >>> 0;
  }
  const out = at.size === 2 ? scratch2 : scratch;
  if (!read(BigInt.asUintN(64, a + BigInt(at.offset)), out)) return -1;
  return at.size === 2 ? out[0]! | (out[1]! << 8) : (out[0]! | (out[1]! << 8) | (out[2]! << 16) | (out[3]! << 24)) >>> 0;
}

/**
 * The rule that decides hypercall `op` with these arguments: the deepest rule
 * whose keys match. undefined: not a hypercall (Xen answers -ENOSYS without
 * asking XSM); -1: a key could not be read from the caller's memory.
 */
export function classifyHypercall(op: number, args: readonly bigint[], read: ArgReader): XsmRule | undefined | -1 {
  let rule = hypercallRule(op);
  if (rule === undefined) return undefined;
  // Length first: every() over a 2^32-1 sparse array visits every index (minutes).
  if (!Array.isArray(args) || args.length > 5 || !Array.from(args).every((a) => typeof a === 'bigint')) throw invalidArgument('filter', `args must be an array of at most five u64 bigints, got ${describe(args)}`);
  if (typeof read !== 'function') throw invalidArgument('filter', 'read must be a function (addr, out) => boolean');
  while (rule.key !== null) {
    const k = readArgAt(rule.key, args, read);
    if (k < 0) return -1;
    const c: XsmRule | undefined = rule.children.get(k);
    if (c === undefined) break;
    rule = c;
  }
  return rule;
}

/**
 * The argument structs a decision on hypercall `op` may read: argument index
 * -> bytes to snapshot (the largest struct read through that argument on the
 * path to the deepest matching rule: its keys and every target on the way).
 * Found on the caller's live memory, so it only sizes the snapshot; the
 * decision itself is then made on the snapshot, whose reads fail closed
 * outside these bytes.
 */
export function argStructsRead(op: number, args: readonly bigint[], read: ArgReader): Map<number, number> {
  const sizes = new Map<number, number>();
  const add = (loc: ArgLoc | null): void => {
    if (loc?.at) sizes.set(loc.arg, Math.max(sizes.get(loc.arg) ?? 0, argStructSize(loc.at)));
  };
  for (let rule = BY_NUMBER[op]; rule !== undefined;) {
    add(rule.target);
    add(rule.key);
    if (rule.key === null) break;
    const k = readArg(rule.key, args, read);
    rule = k < 0 ? undefined : rule.children.get(k);
  }
  return sizes;
}

/** The altp2m command number of a rule under hvm_op/altp2m, else undefined. */
function altp2mCmdOf(rule: XsmRule): number | undefined {
  if (rule.path[0] !== HYPERCALLS.hvm_op || rule.path[1] !== HVMOP_ALTP2M) return undefined;
  return rule.path[2] ?? -1;
}

/**
 * The action a rule asks xsm_default_action for. XSM.OTHER rules are
 * resolved here: altp2m by the domain's mode (altp2mXsmAction). null: Xen
 * refuses before asking XSM (altp2m disabled: -EINVAL).
 */
export function ruleAction(rule: XsmRule, altp2mMode: number): XsmAction | null {
  if (!RULE_SET.has(rule)) throw invalidArgument('filter', `rule must be one of XSM_RULES, got ${describe(rule)}`);
  if (rule.action !== XSM.OTHER) return rule.action;
  const c = altp2mCmdOf(rule);
  if (c !== undefined) return altp2mXsmAction(altp2mMode, c);
  return XSM.OTHER;
}

/** Whether a rule's target field names the caller when it holds DOMID_SELF. */
export function resolvesSelf(loc: TargetLoc, domid: number): boolean {
  return loc.self && domid === DOMID.SELF;
}

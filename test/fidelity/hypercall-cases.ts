// The differential suite's hypercall cases (issue 15): every hypercall and
// sub-op the simulated hypervisor implements (xen_version, hvm_op params,
// get_mem_type and altp2m, dm_op as a raw hypercall, xsm_op) or classifies
// (lib/policy/xsm-actions.ts), at the checks Xen makes before it acts:
// unreadable argument pointers, unknown sub-ops and versions, reserved
// values, and targets (a fresh paused HVM domain, the PV domain, dom0 itself,
// a missing domain, DOMID_SELF), from dom0 unrestricted and from a handle
// restricted to one domain. Calls whose success would change dom0 or the
// shared PV domain (shutdown, block, trap tables, event channel allocation)
// are never made with arguments that could succeed.
import { HYPERCALLS } from '../../lib/abi/hypercalls';
import { HVM_NR_PARAMS, HVM_PARAM } from '../../lib/abi/hvm-params';
import { DMOPS } from '../../lib/abi/dmops';

/** How a field read back from the argument buffer is recorded. */
export type Norm =
  | 'u' // little-endian unsigned, decimal
  | 'str' // the NUL-terminated string, verbatim
  | 'shape' // 'empty' | 'text' | 'unterminated': for strings that differ per build or boot
  | 'hex';

export interface HcStep {
  /** The hypercall number. */
  readonly hc: number;
  /**
   * Up to five arguments: decimal u64 strings, 'dom' (the case's target
   * domid), 'dom+N', 'arg' or 'arg+N' (the address of this step's argument
   * buffer, plus N).
   */
  readonly args: readonly string[];
  /** The argument buffer: its size and the fields set in it, [offset, bytes, value] (values as in args). */
  readonly arg?: { readonly size: number; readonly set: readonly (readonly [number, number, string])[] };
  /** Fields read back from the argument buffer after the call: [name, offset, bytes, how]. */
  readonly read?: readonly (readonly [string, number, number, Norm])[];
  /** How a non-negative result is recorded: verbatim, or 'positive' (a size or page count that depends on the build or the machine). */
  readonly result?: 'exact' | 'positive';
}

export type HcTarget = 'hvm' | 'pv' | 'self' | 'missing' | 'domid_self';
export type AddHc = (id: string, target: HcTarget, calls: readonly HcStep[], restricted?: boolean) => void;

const U32 = 0xffffffff;
const DOMID_SELF = 0x7ff0;
/** Xen's own range in a PV guest's address space (HYPERVISOR_VIRT_START): never readable by the guest. */
const XEN_VA = (0xffff8000n << 32n).toString();
const NULL = '0';
const HC = HYPERCALLS;
const TARGETS: readonly HcTarget[] = ['hvm', 'pv', 'self', 'missing', 'domid_self'];

type Field = readonly [number, number, string];
const call = (hc: number, args: readonly (string | number)[], more: Partial<HcStep> = {}): HcStep => ({ hc, args: args.map(String), ...more });
const withArg = (hc: number, before: readonly (string | number)[], size: number, set: readonly Field[], more: Partial<HcStep> = {}, after: readonly (string | number)[] = []): HcStep =>
  call(hc, [...before, 'arg', ...after], { arg: { size, set }, ...more });

export function hypercallCases(add: AddHc): void {
  xenVersion(add);
  hvmOp(add);
  memoryOp(add);
  controlOps(add);
  eventsAndScheduling(add);
  otherClassified(add);
  rawDmOp(add);
  unknownAndRestricted(add);
}

// ---- xen_version (xen/common/kernel.c, do_xen_version) ----------------------------

function xenVersion(add: AddHc): void {
  const XV = HC.xen_version;
  const str = (n: number, how: Norm = 'str') => [['s', 0, n, how]] as const;
  // cmd -> argument size and what to read back.
  const cmds: [number, number, readonly (readonly [string, number, number, Norm])[], Field[]][] = [
    [0, 16, [], []],
    [1, 16, str(16), []],
    // xen_compile_info: compiler[64], compile_by[16], compile_domain[32], compile_date[32]: per build.
    [2, 144, [['compiler', 0, 64, 'shape'], ['by', 64, 16, 'shape'], ['domain', 80, 32, 'shape'], ['date', 112, 32, 'shape']], []],
    [3, 1024, str(1024), []],
    [4, 64, str(64, 'shape'), []],
    [5, 8, [['virt_start', 0, 8, 'u']], []],
    [6, 8, [['submap_idx', 0, 4, 'u'], ['submap', 4, 4, 'u']], [[0, 4, '0']]],
    [7, 16, [], []],
    [8, 16, [['handle', 0, 16, 'hex']], []],
    // The command line is the boot's own.
    [9, 1024, str(1024, 'shape'), []],
  ];
  for (const [cmd, size, read, set] of cmds) {
    add(`xen_version/cmd=${cmd}`, 'self', [withArg(XV, [cmd], size, set, { read })]);
    add(`xen_version/cmd=${cmd}/arg=null`, 'self', [call(XV, [cmd, NULL])]);
    add(`xen_version/cmd=${cmd}/arg=xen`, 'self', [call(XV, [cmd, XEN_VA])]);
  }
  add('xen_version/cmd=0/high-bits', 'self', [call(XV, [(1n << 32n).toString(), NULL])]);
  for (const idx of [1, 2, U32]) add(`xen_version/get_features/submap_idx=${idx}`, 'self', [withArg(XV, [6], 8, [[0, 4, String(idx)]], { read: [['submap', 4, 4, 'u']] })]);
  // xen_build_id { u32 len; u8 buf[] }: NULL asks for the size (per build).
  add('xen_version/build_id/null', 'self', [call(XV, [10, NULL], { result: 'positive' })]);
  for (const len of [0, 1, 1000]) {
    add(`xen_version/build_id/len=${len}`, 'self', [withArg(XV, [10], 1024, [[0, 4, String(len)]], { result: 'positive', read: [['len', 0, 4, 'u']] })]);
  }
  add('xen_version/build_id/arg=xen', 'self', [call(XV, [10, XEN_VA])]);
  for (const cmd of [11, 12, 0x7fffffff, 0x80000000, U32]) add(`xen_version/cmd=${cmd}`, 'self', [withArg(XV, [cmd], 16, [])]);
}

// ---- hvm_op (xen/arch/x86/hvm/hvm.c, do_hvm_op) ---------------------------------

/** struct xen_hvm_param { domid_t domid; uint16_t pad; uint32_t index; uint64_t value; }. */
const param = (cmd: number, index: number | string, value = '0', dom = 'dom', more: Partial<HcStep> = {}): HcStep =>
  withArg(HC.hvm_op, [cmd], 16, [[0, 2, dom], [4, 4, String(index)], [8, 8, value]], { read: [['value', 8, 8, 'u']], ...more });
const getParam = (index: number | string, dom = 'dom') => param(1, index, '0', dom);
const setParam = (index: number | string, value: string | number, dom = 'dom') => param(0, index, String(value), dom, { read: [] });

function hvmOp(add: AddHc): void {
  const HVM = HC.hvm_op;
  // get_param: every index of a fresh domain in one case (reads change nothing), then the targets.
  add('hvm_op/get_param/all', 'hvm', [...Array.from({ length: HVM_NR_PARAMS + 1 }, (_, i) => getParam(i)), getParam(U32)]);
  for (const t of TARGETS) if (t !== 'hvm') add(`hvm_op/get_param/target=${t}`, t, [getParam(HVM_PARAM.CALLBACK_IRQ), getParam(HVM_NR_PARAMS)]);
  for (const cmd of [0, 1]) {
    add(`hvm_op/${cmd ? 'get' : 'set'}_param/arg=null`, 'hvm', [call(HVM, [cmd, NULL])]);
    add(`hvm_op/${cmd ? 'get' : 'set'}_param/arg=xen`, 'hvm', [call(HVM, [cmd, XEN_VA])]);
    add(`hvm_op/${cmd ? 'get' : 'set'}_param/pad=1`, 'hvm', [withArg(HVM, [cmd], 16, [[0, 2, 'dom'], [2, 2, '1'], [4, 4, '1']], { read: [['value', 8, 8, 'u']] })]);
  }
  // The op is the low 8 bits (HVMOP_op_mask); the bits above are a continuation's start.
  add('hvm_op/get_param/op=0x101', 'hvm', [withArg(HVM, [0x101], 16, [[0, 2, 'dom'], [4, 4, String(HVM_PARAM.IOREQ_SERVER_PFN)]], { read: [['value', 8, 8, 'u']] })]);
  add('hvm_op/get_param/op=0x100000001', 'hvm', [withArg(HVM, [(1n << 32n | 1n).toString()], 16, [[0, 2, 'dom'], [4, 4, String(HVM_PARAM.IOREQ_SERVER_PFN)]], { read: [['value', 8, 8, 'u']] })]);
  // set_param: every index to 0, then read back; and the values with rules of their own.
  for (let i = 0; i <= HVM_NR_PARAMS; i++) add(`hvm_op/set_param/index=${i}/value=0`, 'hvm', [setParam(i, 0), getParam(i)]);
  add(`hvm_op/set_param/index=${U32}`, 'hvm', [setParam(U32, 0)]);
  const P = HVM_PARAM;
  const values: [number, (string | number)[]][] = [
    [P.CALLBACK_IRQ, [1, 0x12]],
    [P.STORE_PFN, [0x1234, '18446744073709551615']],
    [P.TIMER_MODE, [1, 3, 4]],
    [P.HPET_ENABLED, [2]],
    [P.VIRIDIAN, [1, 2, 3]],
    [P.DM_DOMAIN, [1, DOMID_SELF]],
    [P.ACPI_S_STATE, [1, 3]],
    [P.NESTEDHVM, [1, 2]],
    [P.TRIPLE_FAULT_REASON, [1, 6, 7]],
    [P.IOREQ_SERVER_PFN, [0xfeff0, 0xfe000]],
    [P.NR_IOREQ_SERVER_PAGES, [8, 9, 33]],
    [P.ALTP2M, [1, 2, 3, 4]],
    [P.X87_FIP_WIDTH, [4, 5, 8]],
    [P.MCA_CAP, [1, 2]],
  ];
  for (const [index, vs] of values) for (const v of vs) add(`hvm_op/set_param/index=${index}/value=${v}`, 'hvm', [setParam(index, v), getParam(index)]);
  add('hvm_op/set_param/nested-then-altp2m', 'hvm', [setParam(P.NESTEDHVM, 1), setParam(P.ALTP2M, 1), getParam(P.ALTP2M)]);
  for (const t of TARGETS) if (t !== 'hvm') add(`hvm_op/set_param/target=${t}`, t, [setParam(P.CALLBACK_IRQ, 0)]);

  // get_mem_type: struct xen_hvm_get_mem_type { domid_t domid; uint16_t mem_type; uint16_t pad; uint64_t pfn; }.
  const memType = (pfn: string, dom = 'dom') => withArg(HVM, [15], 16, [[0, 2, dom], [8, 8, pfn]], { read: [['mem_type', 2, 2, 'u']] });
  for (const t of TARGETS) add(`hvm_op/get_mem_type/target=${t}`, t, [memType('0')]);
  for (const pfn of [(1n << 36n).toString(), (1n << 52n).toString(), '18446744073709551615']) add(`hvm_op/get_mem_type/pfn=${pfn}`, 'hvm', [memType(pfn)]);
  add('hvm_op/get_mem_type/arg=null', 'hvm', [call(HVM, [15, NULL])]);

  // pagetable_dying: struct xen_hvm_pagetable_dying { domid_t domid; uint16_t pad[3]; uint64_t gpa; }.
  for (const t of TARGETS) add(`hvm_op/pagetable_dying/target=${t}`, t, [withArg(HVM, [9], 16, [[0, 2, 'dom'], [8, 8, '4096']])]);
  add('hvm_op/pagetable_dying/arg=null', 'hvm', [call(HVM, [9, NULL])]);

  // altp2m: struct xen_hvm_altp2m_op { uint32_t version; uint32_t cmd; domid_t domain; uint16_t pad1; uint32_t pad2; union u; } (80 bytes).
  const altp2m = (cmd: number, version = 1, dom = 'dom', u: Field[] = []) =>
    withArg(HVM, [25], 80, [[0, 4, String(version)], [4, 4, String(cmd)], [8, 2, dom], ...u], { read: [['u0', 16, 8, 'u']] });
  for (let cmd = 0; cmd <= 16; cmd++) add(`hvm_op/altp2m/cmd=${cmd}`, 'hvm', [altp2m(cmd)]);
  add('hvm_op/altp2m/cmd=4294967295', 'hvm', [altp2m(U32)]);
  for (const v of [0, 2]) add(`hvm_op/altp2m/version=${v}`, 'hvm', [altp2m(1, v)]);
  for (const t of TARGETS) if (t !== 'hvm') add(`hvm_op/altp2m/target=${t}`, t, [altp2m(1)]);
  add('hvm_op/altp2m/set_domain_state/pad', 'hvm', [altp2m(2, 1, 'dom', [[12, 4, '1'], [16, 1, '1']])]);
  add('hvm_op/altp2m/arg=null', 'hvm', [call(HVM, [25, NULL])]);

  // Sub-ops Xen 4.17 no longer has (the device-model ones became DMOPs) or never had.
  for (const cmd of [2, 3, 4, 6, 7, 8, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 26, 27, 0xff]) {
    add(`hvm_op/cmd=${cmd}`, 'hvm', [withArg(HVM, [cmd], 16, [[0, 2, 'dom']])]);
  }
}

// ---- memory_op (xen/common/memory.c, do_memory_op; the command is the low 6 bits) --------

function memoryOp(add: AddHc): void {
  const M = HC.memory_op;
  // The sub-ops that take a bare domid_t: the domain's page counts.
  for (const [name, cmd] of [['current_reservation', 3], ['maximum_reservation', 4], ['maximum_gpfn', 14]] as const) {
    for (const t of TARGETS) {
      // dom0's counts depend on the machine's memory.
      const result = t === 'self' || t === 'domid_self' ? 'positive' : 'exact';
      add(`memory_op/${name}/target=${t}`, t, [withArg(M, [cmd], 8, [[0, 2, 'dom']], { result })]);
    }
    add(`memory_op/${name}/arg=null`, 'self', [call(M, [cmd, NULL])]);
  }
  add('memory_op/maximum_ram_page', 'self', [call(M, [2, NULL], { result: 'positive' })]);
  // struct xen_memory_reservation { extent_start; nr_extents; extent_order; mem_flags; domid_t domid; }: a missing
  // domain or an unreadable struct ends the op at its start extent.
  for (const [name, cmd] of [['increase_reservation', 0], ['decrease_reservation', 1], ['populate_physmap', 6], ['claim_pages', 24]] as const) {
    add(`memory_op/${name}/arg=null`, 'self', [call(M, [cmd, NULL])]);
    for (const t of ['missing', 'domid_self', 'hvm'] as const) {
      if (name === 'claim_pages' && t !== 'missing') continue; // a claim on dom0 or a fresh domain would succeed
      add(`memory_op/${name}/nr=0/target=${t}`, t, [withArg(M, [cmd], 32, [[24, 2, 'dom']])]);
    }
  }
  // Every other classified sub-op: an unreadable struct, then a missing domain in its domid field.
  const targeted: [string, number, number, number][] = [
    ['add_to_physmap', 7, 24, 0], ['exchange', 11, 72, 24], ['set_memory_map', 13, 24, 0], ['remove_from_physmap', 15, 16, 0],
    ['set_pod_target', 16, 40, 32], ['get_pod_target', 17, 40, 32], ['paging_op', 20, 24, 2], ['access_op', 21, 32, 2],
    ['sharing_op', 22, 48, 2], ['add_to_physmap_batch', 23, 32, 6], ['get_vnumainfo', 26, 40, 0], ['acquire_resource', 28, 32, 0],
  ];
  for (const [name, cmd, size, at] of targeted) {
    add(`memory_op/${name}/arg=null`, 'self', [call(M, [cmd, NULL])]);
    // add_to_physmap_batch: its domid (0 here: dom0) is missing too.
    const set: Field[] = at === 6 ? [[0, 2, 'dom'], [6, 2, 'dom']] : [[at, 2, 'dom']];
    add(`memory_op/${name}/target=missing`, 'missing', [withArg(M, [cmd], size, set)]);
  }
  for (const [name, cmd] of [['memory_map', 9], ['machine_memory_map', 10]] as const) add(`memory_op/${name}/arg=null`, 'self', [call(M, [cmd, NULL])]);
  // Commands Xen does not have, and a known one with a continuation's start extent above the low 6 bits.
  for (const cmd of [5, 8, 31, 40, 63]) add(`memory_op/cmd=${cmd}`, 'self', [withArg(M, [cmd], 64, [])]);
  add('memory_op/current_reservation/start_extent=1', 'hvm', [withArg(M, [64 + 3], 8, [[0, 2, 'dom']])]);
}

// ---- domctl, sysctl, platform_op: the struct first, then its interface version ----------

function controlOps(add: AddHc): void {
  const ops: [string, number, number, number][] = [
    // name, hypercall, struct size, interface version (xen/include/public/{domctl,sysctl,platform}.h in 4.17)
    ['domctl', HC.domctl, 144, 0x15], ['sysctl', HC.sysctl, 136, 0x15], ['platform_op', HC.platform_op, 136, 0x03000001],
  ];
  for (const [name, hc, size, version] of ops) {
    add(`${name}/arg=null`, 'self', [call(hc, [NULL])]);
    add(`${name}/arg=xen`, 'self', [call(hc, [XEN_VA])]);
    for (const v of [0, version - 1, version + 1]) add(`${name}/version=${v}`, 'hvm', [withArg(hc, [], size, [[0, 4, '999'], [4, 4, String(v)], [8, 2, 'dom']])]);
    // Commands Xen does not have (domctl: on each target; 0 is no command either).
    for (const cmd of [0, 999, U32]) {
      if (name === 'domctl') for (const t of TARGETS) add(`${name}/cmd=${cmd}/target=${t}`, t, [withArg(hc, [], size, [[0, 4, String(cmd)], [4, 4, String(version)], [8, 2, 'dom']])]);
      else add(`${name}/cmd=${cmd}`, 'self', [withArg(hc, [], size, [[0, 4, String(cmd)], [4, 4, String(version)]])]);
    }
  }
  // domctl commands that look the domain up first: a missing one, and DOMID_SELF (taken literally).
  for (const cmd of [3, 4, 19, 38, 46]) { // pausedomain, unpausedomain, irq_permission, bind_pt_irq, set_target
    for (const t of ['missing', 'domid_self'] as const) add(`domctl/cmd=${cmd}/target=${t}`, t, [withArg(HC.domctl, [], 144, [[0, 4, String(cmd)], [4, 4, '21'], [8, 2, 'dom']])]);
  }
}

// ---- event channels, scheduling --------------------------------------------------------

function eventsAndScheduling(add: AddHc): void {
  const E = HC.event_channel_op;
  // cmd -> struct size, and where its domid is (-1: none).
  const evtchn: [string, number, number, number][] = [
    ['bind_interdomain', 0, 12, 0], ['bind_virq', 1, 12, -1], ['close', 3, 4, -1], ['send', 4, 4, -1], ['status', 5, 24, 0],
    ['alloc_unbound', 6, 8, 0], ['unmask', 9, 4, -1], ['reset', 10, 2, 0],
  ];
  for (const [name, cmd, size, at] of evtchn) {
    add(`event_channel_op/${name}/arg=null`, 'self', [call(E, [cmd, NULL])]);
    if (at >= 0) add(`event_channel_op/${name}/target=missing`, 'missing', [withArg(E, [cmd], size, [[at, 2, 'dom']])]);
  }
  for (const cmd of [99, U32]) add(`event_channel_op/cmd=${cmd}`, 'self', [withArg(E, [cmd], 32, [])]);
  // The compat form: struct evtchn_op { cmd; union }.
  add('event_channel_op_compat/arg=null', 'self', [call(HC.event_channel_op_compat, [NULL])]);
  add('event_channel_op_compat/status/target=missing', 'missing', [withArg(HC.event_channel_op_compat, [], 32, [[0, 4, '5'], [4, 2, 'dom']])]);
  add('event_channel_op_compat/cmd=99', 'self', [withArg(HC.event_channel_op_compat, [], 32, [[0, 4, '99']])]);

  const S = HC.sched_op;
  // struct sched_remote_shutdown { domid_t domain_id; unsigned int reason; }: never on dom0 or the shared PV domain.
  for (const t of ['hvm', 'missing', 'domid_self'] as const) add(`sched_op/remote_shutdown/target=${t}`, t, [withArg(S, [4], 8, [[0, 2, 'dom'], [4, 4, '0']])]);
  for (const reason of [2, 4, 5, 6, 255]) add(`sched_op/remote_shutdown/reason=${reason}`, 'hvm', [withArg(S, [4], 8, [[0, 2, 'dom'], [4, 4, String(reason)]])]);
  add('sched_op/remote_shutdown/arg=null', 'self', [call(S, [4, NULL])]);
  add('sched_op/yield', 'self', [call(S, [0, NULL])]);
  // poll, shutdown_code, watchdog, pin_override with an unreadable struct; commands Xen does not have.
  for (const cmd of [3, 5, 6, 7]) add(`sched_op/cmd=${cmd}/arg=null`, 'self', [call(S, [cmd, NULL])]);
  for (const cmd of [8, 99, U32]) add(`sched_op/cmd=${cmd}`, 'self', [withArg(S, [cmd], 16, [])]);
}

// ---- the rest of the classified hypercalls, where they fail before acting --------------------

function otherClassified(add: AddHc): void {
  add('xsm_op/arg=null', 'self', [call(HC.xsm_op, [NULL])]);
  // struct xen_flask_op { cmd; interface_version; ... }: the dummy module has no Flask.
  for (const cmd of [1, 2, 6, 99]) add(`xsm_op/cmd=${cmd}`, 'self', [withArg(HC.xsm_op, [], 64, [[0, 4, String(cmd)], [4, 4, '1']])]);
  // vPMU is off unless Xen boots with vpmu=...
  for (const cmd of [0, 2, 4, 99]) add(`xenpmu_op/cmd=${cmd}`, 'self', [withArg(HC.xenpmu_op, [cmd], 64, [])]);
  add('xenpmu_op/arg=null', 'self', [call(HC.xenpmu_op, [0, NULL])]);
  add('console_io/cmd=99', 'self', [call(HC.console_io, [99, 0, NULL])]);
  // grant_table_op(cmd, uop, count): the three that name a domain, with an unreadable struct; a command Xen lacks.
  for (const cmd of [2, 6, 9]) add(`grant_table_op/cmd=${cmd}/arg=null`, 'self', [call(HC.grant_table_op, [cmd, NULL, 1])]);
  add('grant_table_op/cmd=35', 'self', [withArg(HC.grant_table_op, [35], 32, [], {}, [1])]);
  // physdev_op: map_pirq / unmap_pirq name a domain.
  for (const [name, cmd, size] of [['map_pirq', 13, 40], ['unmap_pirq', 14, 8]] as const) {
    add(`physdev_op/${name}/arg=null`, 'self', [call(HC.physdev_op, [cmd, NULL])]);
    add(`physdev_op/${name}/target=missing`, 'missing', [withArg(HC.physdev_op, [cmd], size, [[0, 2, 'dom']])]);
  }
  add('physdev_op/cmd=99', 'self', [withArg(HC.physdev_op, [99], 64, [])]);
  add('physdev_op_compat/arg=null', 'self', [call(HC.physdev_op_compat, [NULL])]);
  // The PV page-table calls with a missing foreign domain (arg 3): refused before any update.
  add('mmu_update/foreigndom=missing', 'missing', [call(HC.mmu_update, [NULL, 0, NULL, 'dom'])]);
  add('mmuext_op/foreigndom=missing', 'missing', [call(HC.mmuext_op, [NULL, 0, NULL, 'dom'])]);
  add('update_va_mapping_otherdomain/domid=missing', 'missing', [call(HC.update_va_mapping_otherdomain, [0, 0, 0, 'dom'])]);
  // Removed in 4.13, and compiled out of Debian's build.
  add('tmem_op', 'self', [call(HC.tmem_op, [NULL])]);
  add('argo_op', 'self', [call(HC.argo_op, [0, NULL, NULL, 0, 0])]);
}

// ---- dm_op as a raw hypercall: do_dm_op(domid, nr_bufs, bufs) ------------------------------

function rawDmOp(add: AddHc): void {
  const D = HC.dm_op;
  const NR_VCPUS = DMOPS.find((d) => d.name === 'nr_vcpus')!.op;
  // The argument buffer: three xen_dm_op_buf descriptors at 0, 16, 32; a struct xen_dm_op at 64.
  const dm = (domid: string, nr: number | string, desc: Field[], op = NR_VCPUS, result: Partial<HcStep> = {}) =>
    withArg(D, [domid, nr], 128, [[64, 4, String(op)], ...desc], { read: [['vcpus', 72, 4, 'u']], ...result });
  const buf0 = (ptr = 'arg+64', size = '32'): Field[] => [[0, 8, ptr], [8, 8, size]];
  for (const t of TARGETS) add(`dm_op/raw/nr_vcpus/target=${t}`, t, [dm('dom', 1, buf0())]);
  add('dm_op/raw/domid-high-bits', 'hvm', [dm('dom+65536', 1, buf0())]);
  add('dm_op/raw/nr_bufs=0', 'hvm', [dm('dom', 0, buf0())]);
  add('dm_op/raw/nr_bufs=2', 'hvm', [dm('dom', 2, [...buf0(), [16, 8, 'arg+64'], [24, 8, '32']])]);
  for (const nr of [3, 16, U32]) add(`dm_op/raw/nr_bufs=${nr}`, 'hvm', [dm('dom', nr, buf0())]);
  add('dm_op/raw/nr_bufs=0x100000001', 'hvm', [dm('dom', (1n << 32n | 1n).toString(), buf0())]);
  add('dm_op/raw/bufs=null', 'hvm', [call(D, ['dom', 1, NULL])]);
  add('dm_op/raw/bufs=xen', 'hvm', [call(D, ['dom', 1, XEN_VA])]);
  add('dm_op/raw/buf0=null', 'hvm', [dm('dom', 1, buf0(NULL))]);
  add('dm_op/raw/buf0=xen', 'hvm', [dm('dom', 1, buf0(XEN_VA))]);
  for (const size of ['0', '7', '8', '11', '12', '4096', '4294967296']) add(`dm_op/raw/buf0.size=${size}`, 'hvm', [dm('dom', 1, buf0('arg+64', size))]);
  add('dm_op/raw/op=unknown', 'hvm', [dm('dom', 1, buf0(), 0xff)]);
}

// ---- hypercall numbers Xen does not have; a handle restricted to one domain ---------------

function unknownAndRestricted(add: AddHc): void {
  // 48..55 are the architecture's own (x86: mca, paging_domctl_cont): not probed.
  for (const n of [11, 43, 44, 47, 56, 63, 64, 127, 128, 255, 256, 0x10000, U32]) add(`hypercall=${n}`, 'self', [call(n, [NULL, NULL])]);
  // IOCTL_PRIVCMD_HYPERCALL on a restricted handle: refused by the driver, whatever the call.
  const R: [string, HcStep][] = [
    ['xen_version', call(HC.xen_version, [0, NULL])],
    ['hvm_op/get_param', getParam(HVM_PARAM.CALLBACK_IRQ)],
    ['dm_op', call(HC.dm_op, ['dom', 1, NULL])],
    ['platform_op', call(HC.platform_op, [NULL])],
    ['hypercall=60', call(60, [])],
  ];
  for (const [name, s] of R) add(`restricted/${name}`, 'pv', [s], true);
}

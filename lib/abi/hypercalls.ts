// __HYPERVISOR_* hypercall numbers (xen/xen.h), checked by test/abi.
export const HYPERCALLS = {
  set_trap_table: 0, mmu_update: 1, set_gdt: 2, stack_switch: 3, set_callbacks: 4,
  fpu_taskswitch: 5, sched_op_compat: 6, platform_op: 7, set_debugreg: 8, get_debugreg: 9,
  update_descriptor: 10, memory_op: 12, multicall: 13, update_va_mapping: 14,
  set_timer_op: 15, event_channel_op_compat: 16, xen_version: 17, console_io: 18,
  physdev_op_compat: 19, grant_table_op: 20, vm_assist: 21,
  update_va_mapping_otherdomain: 22, iret: 23, vcpu_op: 24, set_segment_base: 25,
  mmuext_op: 26, xsm_op: 27, nmi_op: 28, sched_op: 29, callback_op: 30, xenoprof_op: 31,
  event_channel_op: 32, physdev_op: 33, hvm_op: 34, sysctl: 35, domctl: 36, kexec_op: 37,
  tmem_op: 38, argo_op: 39, xenpmu_op: 40, dm_op: 41, hypfs_op: 42,
} as const;

export type HypercallName = keyof typeof HYPERCALLS;

/**
 * Hypercalls whose handler copies its whole argument struct in before any
 * other check, XSM included (do_platform_op in
 * xen/arch/x86/platform_hypercall.c, do_sysctl in xen/common/sysctl.c):
 * an unreadable argument is -EFAULT. Sizes checked by test/abi.
 */
export const ARG_COPIED_FIRST: Readonly<Partial<Record<HypercallName, { readonly struct: string; readonly size: number }>>> = {
  platform_op: { struct: 'xen_platform_op', size: 136 },
  sysctl: { struct: 'xen_sysctl', size: 136 },
};

/**
 * The interface_version (at offset 4 of the argument struct) that these
 * handlers check right after copying the struct in, before any lookup or
 * XSM check: any other value is -EACCES (do_domctl, do_sysctl,
 * do_platform_op). Checked by test/abi.
 */
export const INTERFACE_VERSIONS: Readonly<Partial<Record<HypercallName, { readonly macro: string; readonly version: number }>>> = {
  domctl: { macro: 'XEN_DOMCTL_INTERFACE_VERSION', version: 0x15 },
  sysctl: { macro: 'XEN_SYSCTL_INTERFACE_VERSION', version: 0x15 },
  platform_op: { macro: 'XENPF_INTERFACE_VERSION', version: 0x03000001 },
};

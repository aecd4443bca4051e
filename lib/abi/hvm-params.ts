// HVM parameter numbers (xen/include/public/hvm/params.h), checked by
// test/abi. Only the ones the library or the simulated host names; the
// hypervisor accepts any index below HVM_NR_PARAMS.
export const HVM_PARAM = {
  CALLBACK_IRQ: 0,
  STORE_PFN: 1,
  STORE_EVTCHN: 2,
  PAE_ENABLED: 4,
  IOREQ_PFN: 5,
  BUFIOREQ_PFN: 6,
  VIRIDIAN: 9,
  TIMER_MODE: 10,
  HPET_ENABLED: 11,
  IDENT_PT: 12,
  DM_DOMAIN: 13,
  ACPI_S_STATE: 14,
  VM86_TSS: 15,
  VPT_ALIGN: 16,
  CONSOLE_PFN: 17,
  CONSOLE_EVTCHN: 18,
  ACPI_IOPORTS_LOCATION: 19,
  NESTEDHVM: 24,
  BUFIOREQ_EVTCHN: 26,
  PAGING_RING_PFN: 27,
  MONITOR_RING_PFN: 28,
  SHARING_RING_PFN: 29,
  TRIPLE_FAULT_REASON: 31,
  IOREQ_SERVER_PFN: 32,
  NR_IOREQ_SERVER_PAGES: 33,
  VM_GENERATION_ID_ADDR: 34,
  ALTP2M: 35,
  X87_FIP_WIDTH: 36,
  VM86_TSS_SIZED: 37,
  MCA_CAP: 38,
} as const;

export type HvmParamName = keyof typeof HVM_PARAM;

export const HVM_NR_PARAMS = 39;

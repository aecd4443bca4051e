// Special domain IDs (xen/xen.h), checked by test/abi against Xen 4.17's
// header, except those newer than 4.17 (listed below).
export const DOMID = {
  FIRST_RESERVED: 0x7ff0,
  SELF: 0x7ff0,
  IO: 0x7ff1,
  XEN: 0x7ff2,
  COW: 0x7ff3,
  INVALID: 0x7ff4,
  ANY: 0x7ff5,
  IDLE: 0x7fff,
  MASK: 0x7fff,
} as const;

/** In Xen's current tree but not in Xen 4.17's public headers. */
export const DOMIDS_AFTER_4_17: readonly string[] = ['ANY'];

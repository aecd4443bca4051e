// Flask's xsm_op commands (xen/xsm/flask_op.h), checked by test/abi. Only
// the commands this library sends or the simulated Flask answers are named;
// every other command number is -ENOSYS on a Xen without Flask anyway.
export const XEN_FLASK_INTERFACE_VERSION = 1;

export const FLASK_OP = {
  GETENFORCE: 2,
  CONTEXT_TO_SID: 4,
  RELABEL_DOMAIN: 24,
} as const;

export type FlaskOpName = keyof typeof FLASK_OP;

/** Flask copies strings of at most a page from the guest (safe_copy_string_from_guest). */
export const FLASK_MAX_STRING = 4096;

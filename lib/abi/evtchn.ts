// /dev/xen/evtchn (Linux drivers/xen/evtchn.c, uAPI include/uapi/xen/evtchn.h,
// the same as Xen's tools/include/xen-sys/Linux/evtchn.h that libxen-dev
// ships as xen/sys/evtchn.h) and Xen's event-channel numbers
// (xen/include/public/event_channel.h). test/abi/headers.test.ts checks
// every number here against those headers.
import { ioc } from './ioctls';

const E = 'E';
const IOC_NONE = 0;

/** Each ioctl's argument is a struct of u32s (the restrict ioctl: one domid_t). */
export const EVTCHN_IOCTLS = {
  BIND_VIRQ: { name: 'IOCTL_EVTCHN_BIND_VIRQ', request: ioc(IOC_NONE, E, 0, 4) },
  BIND_INTERDOMAIN: { name: 'IOCTL_EVTCHN_BIND_INTERDOMAIN', request: ioc(IOC_NONE, E, 1, 8) },
  BIND_UNBOUND_PORT: { name: 'IOCTL_EVTCHN_BIND_UNBOUND_PORT', request: ioc(IOC_NONE, E, 2, 4) },
  UNBIND: { name: 'IOCTL_EVTCHN_UNBIND', request: ioc(IOC_NONE, E, 3, 4) },
  NOTIFY: { name: 'IOCTL_EVTCHN_NOTIFY', request: ioc(IOC_NONE, E, 4, 4) },
  RESET: { name: 'IOCTL_EVTCHN_RESET', request: ioc(IOC_NONE, E, 5, 0) },
  RESTRICT_DOMID: { name: 'IOCTL_EVTCHN_RESTRICT_DOMID', request: ioc(IOC_NONE, E, 6, 2) },
} as const satisfies Record<string, { name: string; request: number }>;

/** EVTCHNOP_* sub-commands of the event_channel_op hypercall. */
export const EVTCHNOP = {
  bind_interdomain: 0,
  bind_virq: 1,
  close: 3,
  send: 4,
  status: 5,
  alloc_unbound: 6,
  unmask: 9,
} as const satisfies Record<string, number>;

/** Ports of the 2-level event-channel ABI on x86-64 (EVTCHN_2L_NR_CHANNELS: 64 * 64). */
export const EVTCHN_2L_NR_CHANNELS = 4096;
/** NR_VIRQS (xen/include/public/xen.h). */
export const NR_VIRQS = 24;
/** The VIRQs Xen delivers to one domain for the whole host (virq_is_global in xen/common/event_channel.c). */
export const VIRQ = { TIMER: 0, DEBUG: 1, CONSOLE: 2, DOM_EXC: 3, TBUF: 4, DEBUGGER: 6, XENOPROF: 7, CON_RING: 8, PCPU_STATE: 9, MEM_EVENT: 10, ARGO: 11, ENOMEM: 12, XENPMU: 13 } as const;

// Linux privcmd ioctl request numbers (x86-64), computed with _IOC as the uAPI
// header does. test/abi checks each against xen/sys/privcmd.h where that
// header has it; the rest against Linux's include/uapi/xen/privcmd.h.
import { PRIVCMD_STRUCTS } from './layouts';

const IOC_NONE = 0;
const IOC_WRITE = 1;

export function ioc(dir: number, type: string, nr: number, size: number): number {
  // dir:2 | size:14 | type:8 | nr:8; >>> 0 keeps it unsigned.
  return (((dir << 30) | (size << 16) | (type.charCodeAt(0) << 8) | nr) >>> 0);
}

export interface IoctlInfo {
  readonly name: string;
  readonly request: number;
  /** True when Debian's libxen-dev 4.17 xen/sys/privcmd.h defines it. */
  readonly inXenSysHeader: boolean;
}

const P = 'P';
export const IOCTLS = {
  HYPERCALL: { name: 'IOCTL_PRIVCMD_HYPERCALL', request: ioc(IOC_NONE, P, 0, PRIVCMD_STRUCTS.privcmd_hypercall.size), inXenSysHeader: true },
  MMAP: { name: 'IOCTL_PRIVCMD_MMAP', request: ioc(IOC_NONE, P, 2, 16), inXenSysHeader: true },
  MMAPBATCH: { name: 'IOCTL_PRIVCMD_MMAPBATCH', request: ioc(IOC_NONE, P, 3, 24), inXenSysHeader: true },
  MMAPBATCH_V2: { name: 'IOCTL_PRIVCMD_MMAPBATCH_V2', request: ioc(IOC_NONE, P, 4, 32), inXenSysHeader: true },
  DM_OP: { name: 'IOCTL_PRIVCMD_DM_OP', request: ioc(IOC_NONE, P, 5, PRIVCMD_STRUCTS.privcmd_dm_op.size), inXenSysHeader: true },
  RESTRICT: { name: 'IOCTL_PRIVCMD_RESTRICT', request: ioc(IOC_NONE, P, 6, 2 /* sizeof(domid_t) */), inXenSysHeader: true },
  MMAP_RESOURCE: { name: 'IOCTL_PRIVCMD_MMAP_RESOURCE', request: ioc(IOC_NONE, P, 7, 32), inXenSysHeader: true },
  IRQFD: { name: 'IOCTL_PRIVCMD_IRQFD', request: ioc(IOC_WRITE, P, 8, 24), inXenSysHeader: false },
  IOEVENTFD: { name: 'IOCTL_PRIVCMD_IOEVENTFD', request: ioc(IOC_WRITE, P, 9, 48), inXenSysHeader: false },
  PCIDEV_GET_GSI: { name: 'IOCTL_PRIVCMD_PCIDEV_GET_GSI', request: ioc(IOC_NONE, P, 10, 8), inXenSysHeader: false },
  UNIMPLEMENTED: { name: 'IOCTL_PRIVCMD_UNIMPLEMENTED', request: ioc(IOC_NONE, P, 0xff, 0), inXenSysHeader: true },
} as const satisfies Record<string, IoctlInfo>;

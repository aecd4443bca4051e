// privcmd-shim: the package root. One implementation (CommonJS); the ESM entry
// re-exports these same objects.
export * from './abi';
export { PrivcmdError } from './errors';
export {
  AddressSpace, PAGE_SIZE, MMAP_MIN_ADDR, TASK_SIZE_MAX, KERNEL_BASE, DEFAULT_BASE, DEFAULT_SIZE,
  type AddressSpaceOptions, type AllocOptions, type Allocation, type PageState,
} from './sim/address-space';
export {
  DmBufArray, validateDmBuffers, copyDmBufferFromGuest, copyDmBufferToGuest,
  DEFAULT_DM_OP_MAX_NR_BUFS, DEFAULT_DM_OP_BUF_MAX_SIZE,
  type DmBufferLimits, type DmValidationResult, type CopyMode, type CopyOptions,
} from './sim/dm-buffers';
export { nativePath } from './native';
export { open, Privcmd, PRIVCMD_DEVICE, type OpenOptions } from './privcmd';
export type { BufferArg } from './backends/backend';
export { createSimulatedHost, SimulatedHost, type SimulatedHostOptions, type DomainSnapshot, type IoreqServerSnapshot } from './sim/host';
export type { DomainConfig, DomainType } from './sim/domain';
export { encodeDmop, decodeDmop, XEN_DM_OP_SIZE } from './dmop/codec';
export { HVMMEM, IOREQ_BUFIOREQ, IO_RANGE, DMOP_EVENT, SHUTDOWN, MEM_CACHEATTR, IOREQ_MEM_ACCESS, XEN_DMOP_NO_GFNS, pciSbdf } from './dmop/ops';
export type { DmopRequest, DmopResult, DmopRequests, DmopResults, DmopName } from './dmop/types';

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

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
export { open, createDeviceBackend, createSimulatedBackend, Privcmd, PRIVCMD_DEVICE, type OpenOptions } from './privcmd';
export type { Backend, BufferArg } from './backends/backend';
export { Mapping, MAX_MAP_PAGES, MAX_GFN, type MapResourceOptions, type MapForeignOptions, type ResourceId } from './mapping';
export {
  openEventChannels, createDeviceEvtchnBackend, createSimulatedEvtchnBackend, EventChannels, EVTCHN_DEVICE, type OpenEventChannelsOptions,
} from './evtchn';
export type { EvtchnBackend } from './backends/evtchn-backend';
// A device model's pieces: the ioreq protocol engine, the server around it, and an example device.
export {
  IoreqEngine, MAX_REPS, type IoreqEngineOptions, type GuestMemory, type Access, type DeviceErrorEvent, type IoreqStats,
} from './ioreq/engine';
export {
  createIoreqServer, IoreqServer,
  type IoreqServerOptions, type MapResource, type ResourceMapping, type DmopHandle, type EventChannelHandle,
} from './ioreq/server';
export { type IoDevice, type Claim, type ClaimKind } from './ioreq/claims';
export { type IoRequest, type IoSize } from './ioreq/request';
export { Uart16550, UART_REG, UART_MAX_LINE } from './devices/uart16550';
export { createSimulatedHost, SimulatedHost, type SimulatedHostOptions, type DomainSnapshot, type IoreqServerSnapshot } from './sim/host';
export type { DomainConfig, DomainType } from './sim/domain';
export { uartPrintProgram, MAX_GUEST_REPS, type GuestAccess, type GuestStep, type GuestValue, type GuestRunResult } from './sim/guest-runner';
export { encodeDmop, decodeDmop, XEN_DM_OP_SIZE } from './dmop/codec';
export { HVMMEM, IOREQ_BUFIOREQ, IO_RANGE, DMOP_EVENT, SHUTDOWN, MEM_CACHEATTR, IOREQ_MEM_ACCESS, XEN_DMOP_NO_GFNS, pciSbdf } from './dmop/ops';
export type { DmopRequest, DmopResult, DmopRequests, DmopResults, DmopName } from './dmop/types';
// Policy: roles, the hypercall filter and its table, altp2m.
export {
  XSM, xsmDefaultAction, xsmActionName, HW_PRIV_VARIANTS,
  type XsmAction, type XsmSubject, type HwPrivVariant,
} from './policy/xsm';
export {
  createFilter, HypercallFilter,
  type FilterOptions, type FilterContext, type RuleVerdict, type VerdictKind, type VerdictSource,
} from './policy/filter';
export {
  XSM_RULES, xsmRule, hypercallRule, dmopRule, classifyHypercall, readArg, ruleAction,
  type XsmRule, type ArgLoc, type TargetLoc, type FieldLoc, type ArgReader,
} from './policy/xsm-actions';
export { ROLES, roleSubject, roleLabel, describeRole, type RoleName, type RoleSpec } from './policy/roles';
export { hwPrivOf, hwPrivForXenVersion, NEWEST_KNOWN_XEN } from './clients/target-xen';
// altp2m's constants, layouts and sub-op table come with lib/abi above.
export {
  ALTP2M_MIXED_MODE_CLASSIFICATION, altp2mCmd, altp2mModeName, altp2mXsmAction, altp2mGuestAllowList, altp2mRuleName,
  encodeAltp2mOp, decodeAltp2mOp,
  type Altp2mRequest, type Altp2mRequests, type Altp2mResult, type Altp2mResults, type Altp2mGuestClass, type AllowEntry,
} from './policy/altp2m';
export { altp2mOp } from './clients/altp2m';
export type { Altp2mSnapshot } from './sim/host';
// Deprivileging: restrict every handle of the process, and prove it.
export { restrictAll, verifyRestricted, type RestrictAllResult, type RestrictionCheck, type RestrictionReport, type ProcessSelector } from './deprivilege/restrict-all';
export { launchDeviceModel, openInherited, openInheritedEventChannels, openInheritedHandles, processesOfUid, CHILD_FD, ENV_FD, ENV_DOMID, CHILD_EVTCHN_FD, ENV_EVTCHN_FD, type LaunchOptions, type Launched, type StaleProcess } from './deprivilege/launcher';
export { launchQemu, qemuDmRestrictArgs, outsideView, deprivilegeMismatch, type QemuOptions, type QemuLaunchOptions, type QemuLaunched, type QemuVersion, type OutsideView } from './deprivilege/qemu';
// Relabel-on-build: Flask labels through xsm_op, and the build flow.
export { flaskContextToSid, flaskRelabelDomain, flaskStatus, relabelDomain, encodeFlaskRelabel, encodeFlaskContextToSid } from './clients/flask';
export { DomainBuild, buildDomain, simulatedToolstack, type BuildToolstack, type DomainBuildOptions, type BuildState } from './deprivilege/build';
export { TePolicy, tePolicy, domainBuildRules, FLASK_PERMS, SECURITY_TYPE, type TeAllow, type TePolicySpec, type FlaskClass } from './policy/te-policy';
export { DEFAULT_LABELS } from './sim/domain';
export type { FlaskOptions } from './sim/flask';

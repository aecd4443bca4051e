// altp2m's ABI (HVMOP_altp2m, an hvm_op sub-command; xen/hvm/hvm_op.h,
// xen/hvm/params.h and xen/memory.h, Xen 4.17): the sub-command and its
// interface version, the modes, the access values, struct
// xen_hvm_altp2m_op and its union members, and THE sub-op table. Checked
// against the headers by test/abi/altp2m-headers.test.ts.
import { HVM_PARAM } from './hvm-params';
import { f, struct } from './define';
import type { StructLayout } from './layouts';

/** hvm_op sub-command number. */
export const HVMOP_ALTP2M = 25;
export const HVMOP_ALTP2M_INTERFACE_VERSION = 0x00000001;
/** The per-domain mode. */
export const HVM_PARAM_ALTP2M = HVM_PARAM.ALTP2M;
/** Nested HVM and altp2m exclude each other. */
export const HVM_PARAM_NESTEDHVM = HVM_PARAM.NESTEDHVM;
/** XEN_ALTP2M_* (xen/hvm/params.h). */
export const ALTP2M_MODES = { disabled: 0, mixed: 1, external: 2, limited: 3 } as const;
export type Altp2mModeName = keyof typeof ALTP2M_MODES;
/** Views per domain in Xen 4.17 (MAX_ALTP2M; configurable per domain since 4.21). */
export const MAX_ALTP2M = 10;
/** xenmem_access_t (xen/memory.h). */
export const XENMEM_ACCESS = { n: 0, r: 1, w: 2, rw: 3, x: 4, rx: 5, wx: 6, rwx: 7, rx2rw: 8, n2rwx: 9, default: 10 } as const;
/** vcpu_altp2m(v).p2midx of a vCPU without altp2m (INVALID_ALTP2M; Xen-internal, in no public header). */
export const INVALID_ALTP2M = 0xffff;

/**
 * struct xen_hvm_altp2m_op (80 bytes) and the union members Xen 4.17 uses.
 * Handles (pfn_list, access_list) are 8-byte guest pointers on x86-64.
 */
export const ALTP2M_STRUCTS = {
  xen_hvm_altp2m_op: struct('xen_hvm_altp2m_op', 80,
    f('version', 0, 'u32', 'in'), f('cmd', 4, 'u32', 'in'), f('domain', 8, 'u16', 'in'),
    f('pad1', 10, 'u16', 'pad'), f('pad2', 12, 'u32', 'pad'), f('u', 16, 'u8', 'inout', 64)),
  xen_hvm_altp2m_domain_state: struct('xen_hvm_altp2m_domain_state', 1, f('state', 0, 'u8', 'inout')),
  xen_hvm_altp2m_vcpu_enable_notify: struct('xen_hvm_altp2m_vcpu_enable_notify', 16,
    f('vcpu_id', 0, 'u32', 'in'), f('pad', 4, 'u32', 'pad'), f('gfn', 8, 'u64', 'in')),
  xen_hvm_altp2m_vcpu_disable_notify: struct('xen_hvm_altp2m_vcpu_disable_notify', 4, f('vcpu_id', 0, 'u32', 'in')),
  xen_hvm_altp2m_view: struct('xen_hvm_altp2m_view', 4,
    f('view', 0, 'u16', 'inout'), f('hvmmem_default_access', 2, 'u16', 'in')),
  xen_hvm_altp2m_mem_access: struct('xen_hvm_altp2m_mem_access', 16,
    f('view', 0, 'u16', 'in'), f('access', 2, 'u16', 'inout'), f('pad', 4, 'u32', 'pad'), f('gfn', 8, 'u64', 'in')),
  xen_hvm_altp2m_change_gfn: struct('xen_hvm_altp2m_change_gfn', 24,
    f('view', 0, 'u16', 'in'), f('pad1', 2, 'u16', 'pad'), f('pad2', 4, 'u32', 'pad'),
    f('old_gfn', 8, 'u64', 'in'), f('new_gfn', 16, 'u64', 'in')),
  xen_hvm_altp2m_set_mem_access_multi: struct('xen_hvm_altp2m_set_mem_access_multi', 32,
    f('view', 0, 'u16', 'in'), f('pad', 2, 'u16', 'pad'), f('nr', 4, 'u32', 'in'), f('opaque', 8, 'u64', 'inout'),
    f('pfn_list', 16, 'u64', 'in'), f('access_list', 24, 'u64', 'in')),
  xen_hvm_altp2m_suppress_ve: struct('xen_hvm_altp2m_suppress_ve', 16,
    f('view', 0, 'u16', 'in'), f('suppress_ve', 2, 'u8', 'inout'), f('pad1', 3, 'u8', 'pad'),
    f('pad2', 4, 'u32', 'pad'), f('gfn', 8, 'u64', 'in')),
  xen_hvm_altp2m_suppress_ve_multi: struct('xen_hvm_altp2m_suppress_ve_multi', 32,
    f('view', 0, 'u16', 'in'), f('suppress_ve', 2, 'u8', 'in'), f('pad1', 3, 'u8', 'pad'),
    f('first_error', 4, 'u32', 'out'), f('first_gfn', 8, 'u64', 'inout'), f('last_gfn', 16, 'u64', 'in'),
    f('first_error_gfn', 24, 'u64', 'out')),
  xen_hvm_altp2m_get_vcpu_p2m_idx: struct('xen_hvm_altp2m_get_vcpu_p2m_idx', 8,
    f('vcpu_id', 0, 'u32', 'in'), f('altp2m_idx', 4, 'u16', 'out')),
  xen_hvm_altp2m_set_visibility: struct('xen_hvm_altp2m_set_visibility', 4,
    f('altp2m_idx', 0, 'u16', 'in'), f('visible', 2, 'u8', 'in'), f('pad', 3, 'u8', 'pad')),
} as const satisfies Readonly<Record<string, StructLayout>>;
export type Altp2mStructName = keyof typeof ALTP2M_STRUCTS;

/** Offset of the union in struct xen_hvm_altp2m_op. */
export const ALTP2M_U = 16;
export const ALTP2M_OP_SIZE = ALTP2M_STRUCTS.xen_hvm_altp2m_op.size;

/**
 * THE altp2m sub-op table, HVMOP_altp2m_* 1..16 (Xen 4.17): number, name
 * (without the HVMOP_altp2m_ prefix), union member, its struct, the C fields
 * the caller fills and the C fields Xen writes back (copy_to_guest of the
 * whole struct). Every other table about the sub-ops is keyed by these names
 * and declared `satisfies Record<Altp2mCmdName, ...>`, so the compiler
 * refuses a sub-op added here and forgotten there.
 */
const TABLE = [
  [1, 'get_domain_state', 'domain_state', 'xen_hvm_altp2m_domain_state', [], ['state']],
  [2, 'set_domain_state', 'domain_state', 'xen_hvm_altp2m_domain_state', ['state'], []],
  [3, 'vcpu_enable_notify', 'enable_notify', 'xen_hvm_altp2m_vcpu_enable_notify', ['vcpu_id', 'gfn'], []],
  [4, 'create_p2m', 'view', 'xen_hvm_altp2m_view', ['hvmmem_default_access'], ['view']],
  [5, 'destroy_p2m', 'view', 'xen_hvm_altp2m_view', ['view'], []],
  [6, 'switch_p2m', 'view', 'xen_hvm_altp2m_view', ['view'], []],
  [7, 'set_mem_access', 'mem_access', 'xen_hvm_altp2m_mem_access', ['view', 'access', 'gfn'], []],
  [8, 'change_gfn', 'change_gfn', 'xen_hvm_altp2m_change_gfn', ['view', 'old_gfn', 'new_gfn'], []],
  [9, 'set_mem_access_multi', 'set_mem_access_multi', 'xen_hvm_altp2m_set_mem_access_multi', ['view', 'nr', 'opaque', 'pfn_list', 'access_list'], ['opaque']],
  [10, 'set_suppress_ve', 'suppress_ve', 'xen_hvm_altp2m_suppress_ve', ['view', 'suppress_ve', 'gfn'], []],
  [11, 'get_suppress_ve', 'suppress_ve', 'xen_hvm_altp2m_suppress_ve', ['view', 'gfn'], ['suppress_ve']],
  [12, 'get_mem_access', 'mem_access', 'xen_hvm_altp2m_mem_access', ['view', 'gfn'], ['access']],
  [13, 'vcpu_disable_notify', 'disable_notify', 'xen_hvm_altp2m_vcpu_disable_notify', ['vcpu_id'], []],
  [14, 'get_p2m_idx', 'get_vcpu_p2m_idx', 'xen_hvm_altp2m_get_vcpu_p2m_idx', ['vcpu_id'], ['altp2m_idx']],
  [15, 'set_suppress_ve_multi', 'suppress_ve_multi', 'xen_hvm_altp2m_suppress_ve_multi', ['view', 'suppress_ve', 'first_gfn', 'last_gfn'], ['first_error', 'first_gfn', 'first_error_gfn']],
  [16, 'set_visibility', 'set_visibility', 'xen_hvm_altp2m_set_visibility', ['altp2m_idx', 'visible'], []],
] as const satisfies readonly (readonly [number, string, string, Altp2mStructName, readonly string[], readonly string[]])[];

/** Xen's name of an altp2m sub-op, without the HVMOP_altp2m_ prefix. */
export type Altp2mCmdName = (typeof TABLE)[number][1];

export interface Altp2mCmdInfo {
  readonly cmd: number;
  readonly name: Altp2mCmdName;
  /** The member of xen_hvm_altp2m_op.u the command uses. */
  readonly member: string;
  readonly struct: Altp2mStructName;
  /** C fields the caller fills, and C fields Xen writes back. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export const ALTP2M_CMDS: readonly Altp2mCmdInfo[] = TABLE.map(([cmd, name, member, s, inputs, outputs]) => ({ cmd, name, member, struct: s, inputs, outputs }));

// The simulated hypervisor: Xen 4.17's answers to the hypercalls a device
// model or toolstack makes, in Xen's check order. Guest memory is the calling
// process's simulated address space; buffers move only through the native
// copy helpers (via the space's mailbox).
import { DMOPS, DMOP_TABLE_SIZE } from '../abi/dmops';
import { DMOP_STRUCTS, XEN_DM_OP_HEADER_SIZE } from '../abi/layouts';
import { DOMID } from '../abi/domids';
import { ERRNO, errnoName, type ErrnoName } from '../abi/errno';
import { ARG_COPIED_FIRST, HYPERCALLS, type HypercallName } from '../abi/hypercalls';
import { native } from '../native';
import type { AddressSpace } from './address-space';
import { MAILBOX_DATA_SIZE } from './mailbox';
import { DMOP_HANDLERS } from './dmops';
import type { DmopContext, GuestBuffers } from './dmops/context';
import type { Domain } from './domain';
import type { SimulatedHost } from './host';
import { xsmActionName, xsmDefaultAction, type XsmAction } from '../policy/xsm';
import { classifyHypercall, hypercallRule, readArgAt, ruleAction, xsmRule, type XsmRule } from '../policy/xsm-actions';
import { HVMOP_ALTP2M } from '../abi/altp2m';
import { doAltp2mOp, type Altp2mEnv } from './altp2m';
import { doXsmOp, type FlaskOpEnv } from './flask';
import { HVM_NR_PARAMS, HVM_PARAM, type HvmParamName } from '../abi/hvm-params';
import { XENMEM_RESOURCE, IOREQ_SERVER_FRAME } from '../abi/ioreq';
import { allocIoreqPages, ioreqServerMaxFrames } from './ioreq-pages';
import { doXenVersion, type XenVersion } from './xen-version';
import { hypercallChecks, type CheckEnv } from './hypercall-checks';

export type { XenVersion };

/** Xen's op_size[] on x86: Arm-only ops (set_irq_level) have no entry, so 0. */
const OP_SIZE: readonly number[] = (() => {
  const t = new Array<number>(DMOP_TABLE_SIZE).fill(0);
  for (const d of DMOPS) if (d.arch !== 'arm') t[d.op] = DMOP_STRUCTS[d.struct].size;
  return t;
})();
const OP_NAME: readonly string[] = (() => {
  const t = new Array<string>(DMOP_TABLE_SIZE).fill('');
  for (const d of DMOPS) t[d.op] = d.name;
  return t;
})();
/** struct dmop_args holds two buffers. */
const DMOP_MAX_BUFS = 2;
const XEN_DM_OP_BUF_SIZE = DMOP_STRUCTS.xen_dm_op_buf.size;

const HVMOP = { set_param: 0, get_param: 1, pagetable_dying: 9, get_mem_type: 15 } as const;
const paramSet = (...names: HvmParamName[]): number[] => names.map((n) => HVM_PARAM[n]);
/** Parameters a guest may set on itself (hvm_allow_set_param). */
const GUEST_SETTABLE = new Set<number>(paramSet('CALLBACK_IRQ', 'VM86_TSS', 'VM86_TSS_SIZED', 'ACPI_IOPORTS_LOCATION', 'VM_GENERATION_ID_ADDR', 'STORE_EVTCHN', 'CONSOLE_EVTCHN', 'X87_FIP_WIDTH'));
/** Parameters set once: changing a non-zero value is EEXIST. */
const SET_ONCE = new Set<number>(paramSet('VIRIDIAN', 'IOREQ_SERVER_PFN', 'NR_IOREQ_SERVER_PAGES', 'ALTP2M', 'MCA_CAP'));
/** Parameters a guest may read on itself (hvm_allow_get_param). */
const GUEST_READABLE = new Set<number>(paramSet('CALLBACK_IRQ', 'VM86_TSS', 'VM86_TSS_SIZED', 'ACPI_IOPORTS_LOCATION', 'VM_GENERATION_ID_ADDR', 'STORE_PFN', 'STORE_EVTCHN', 'CONSOLE_PFN', 'CONSOLE_EVTCHN', 'ALTP2M', 'X87_FIP_WIDTH'));
/**
 * Parameters Xen 4.17 refuses to get or set (EINVAL, for every caller):
 * PAE_ENABLED, DM_DOMAIN, the MEMORY_EVENT_* ones (20..23, 25, 30),
 * NESTEDHVM (a createdomain flag since 4.17) and BUFIOREQ_EVTCHN.
 */
const DEPRECATED = new Set<number>([HVM_PARAM.PAE_ENABLED, HVM_PARAM.DM_DOMAIN, 20, 21, 22, 23, HVM_PARAM.NESTEDHVM, 25, HVM_PARAM.BUFIOREQ_EVTCHN, 30]);
const HVMPTM_ONE_MISSED_TICK_PENDING = 3n;
/** HVMPV_base_freq and HVMPV_feature_mask (xen/include/public/hvm/params.h). */
const HVMPV_BASE_FREQ = 1n;
const HVMPV_FEATURE_MASK = 0x1fffn;
/** SHUTDOWN_MAX (xen/include/public/sched.h): soft_reset. */
const SHUTDOWN_MAX = 5n;
/** VM86_TSS_UPDATED (xen/arch/x86/include/asm/hvm/domain.h), sizeof(struct tss32), and the useful maximum hvm_set_param caps at. */
const VM86_TSS_UPDATED = 1n << 63n;
const TSS32_SIZE = 104n;
const VM86_TSS_MAX = TSS32_SIZE + 0x100n / 8n + 0x10000n / 8n + 1n;

/** hvm_get_param: the parameters that are not read from the array as they are. */
function getParam(d: Domain, index: number): bigint {
  switch (index) {
    case HVM_PARAM.ACPI_S_STATE: return d.s3Suspended ? 3n : 0n;
    case HVM_PARAM.VM86_TSS: return BigInt.asUintN(32, d.params[HVM_PARAM.VM86_TSS_SIZED]!);
    case HVM_PARAM.VM86_TSS_SIZED: return d.params[HVM_PARAM.VM86_TSS_SIZED]! & ~VM86_TSS_UPDATED;
    default: return d.params[index]!;
  }
}

const errno = (code: ErrnoName) => -ERRNO[code];
const HYPERCALL_NAMES = new Map<number, HypercallName>(Object.entries(HYPERCALLS).map(([n, v]) => [v as number, n as HypercallName]));

// The policy table's rules for the calls this hypervisor implements: their
// XSM step asks the table, so the filter and the simulator share one answer.
const rule = (name: string): XsmRule => {
  const r = xsmRule(name);
  if (r === undefined) throw new Error(`policy table has no rule ${name}`);
  return r;
};
const DM_OP_RULE = rule('dm_op');
const RESOURCE_MAP_RULE = rule('memory_op/acquire_resource');
/** A PV dom0 maps foreign pages with mmu_update (xsm_mmu_update, XSM_TARGET under the dummy module). */
const MMU_UPDATE_RULE = rule('mmu_update');
/** MEMOP_EXTENT_SHIFT: acquire_resource refuses nr_frames above UINT_MAX >> 6 (its continuation encoding). */
const MAX_ACQUIRE_FRAMES = 0xffffffff >>> 6;
const SET_PARAM_RULE = rule('hvm_op/set_param');
const GET_PARAM_RULE = rule('hvm_op/get_param');
const GET_MEM_TYPE_RULE = rule('hvm_op/get_mem_type');
const PAGETABLE_DYING_RULE = rule('hvm_op/pagetable_dying');
/** hvm_set_param checks HVM_PARAM_ALTP2M again, with its own hook (xsm_hvm_param_altp2mhvm). */
const ALTP2M_PARAM_RULE = rule('hvm_op/set_param/ALTP2M');

export class Hypervisor {
  /** Why the last call failed, for error messages. */
  why = '';
  readonly #u = new Uint8Array(24);
  readonly #uWords = new Uint32Array(this.#u.buffer);
  readonly #uView = new DataView(this.#u.buffer);

  constructor(readonly host: SimulatedHost, readonly version: XenVersion) {
    this.#ctx = {
      host, caller: undefined as unknown as Domain, d: undefined as unknown as Domain,
      u: this.#uView, nrBufs: 0, bufs: this.#bufs, constOp: true, why: '',
    };
  }

  #fail(code: ErrnoName, why: string): number {
    this.why = why;
    return errno(code);
  }

  /**
   * dm_op() as privcmd reaches it: the driver has validated the buffers, left
   * the descriptors in the mailbox and read buffer 0's first bytes into it.
   */
  dmOpFromDriver(caller: Domain, space: AddressSpace, domid: number, nrBufs: number): number {
    if (nrBufs > DMOP_MAX_BUFS) return this.#fail('E2BIG', `Xen takes at most ${DMOP_MAX_BUFS} buffers per dm_op, got ${nrBufs}`);
    return this.#dmOp(caller, space, domid, nrBufs, true);
  }

  /** do_dm_op(domid, nr_bufs, bufs) as a raw hypercall: bufs is a guest pointer. */
  #doDmOp(caller: Domain, space: AddressSpace, domid: number, nrBufs: number, bufs: bigint): number {
    if (nrBufs === 0) return this.#fail('ENODATA', 'dm_op with no buffers (XSA-506 check)');
    if (nrBufs > DMOP_MAX_BUFS) return this.#fail('E2BIG', `Xen takes at most ${DMOP_MAX_BUFS} buffers per dm_op, got ${nrBufs}`);
    const mb = space.mailbox;
    const raw = new Uint8Array(nrBufs * XEN_DM_OP_BUF_SIZE);
    if (native.spaceRead(space.id, bufs, raw) !== 0) return this.#fail('EFAULT', `the xen_dm_op_buf array at 0x${bufs.toString(16)} is not readable`);
    const dv = new DataView(raw.buffer);
    for (let i = 0; i < nrBufs; i++) mb.setDesc(i, dv.getBigUint64(i * 16, true), dv.getBigUint64(i * 16 + 8, true));
    mb.num = nrBufs;
    return this.#dmOp(caller, space, domid, nrBufs, false);
  }

  #copyFrom(space: AddressSpace, idx: number, offset: number, len: number): Uint8Array | number {
    const out = new Uint8Array(len);
    const mb = space.mailbox;
    for (let at = 0; at < len; at += MAILBOX_DATA_SIZE) {
      const n = Math.min(MAILBOX_DATA_SIZE, len - at);
      mb.setCopy(idx, offset + at, n);
      const rc = mb.copyFrom();
      if (rc !== 0) return rc;
      out.set(mb.data.subarray(0, n), at);
    }
    return out;
  }

  #copyTo(space: AddressSpace, idx: number, offset: number, bytes: Uint8Array): number {
    const mb = space.mailbox;
    for (let at = 0; at < bytes.length; at += MAILBOX_DATA_SIZE) {
      const n = Math.min(MAILBOX_DATA_SIZE, bytes.length - at);
      mb.data.set(bytes.subarray(at, at + n));
      mb.setCopy(idx, offset + at, n);
      const rc = mb.copyTo();
      if (rc !== 0) return rc;
    }
    return 0;
  }

  // One context and one buffer accessor, reused: a DMOP runs to completion
  // before the next starts, and allocating them per call shows in the profile.
  #space: AddressSpace | null = null;
  #nrBufs = 0;
  readonly #bufs: GuestBuffers = {
    size: (i) => (i < this.#nrBufs ? (this.#space as AddressSpace).mailbox.descSize(i) : undefined),
    copyFrom: (i, off, len) => (i < this.#nrBufs ? this.#copyFrom(this.#space as AddressSpace, i, off, len) : errno('EFAULT')),
    copyTo: (i, off, bytes) => (i < this.#nrBufs ? this.#copyTo(this.#space as AddressSpace, i, off, bytes) : errno('EFAULT')),
  };
  readonly #ctx: { -readonly [K in keyof DmopContext]: DmopContext[K] };

  #dmOp(caller: Domain, space: AddressSpace, domid: number, nrBufs: number, prefetched: boolean): number {
    const mb = space.mailbox;
    // rcu_lock_remote_domain_by_id: DOMID_SELF is not resolved here.
    const d = this.host.domainById(domid);
    if (d === undefined) return this.#fail('ESRCH', `no domain ${domid}`);
    if (d === caller) return this.#fail('EPERM', `domain ${domid} is the caller's own domain`);
    if (!d.isHvm) return this.#fail('EINVAL', `domain ${domid} is PV; DMOPs need an HVM or PVH domain`);
    if (xsmDefaultAction(DM_OP_RULE.action, caller, d, this.host.hwPriv) !== 0) {
      return this.#fail('EPERM', `${xsmActionName(DM_OP_RULE.action)} (dm_op, dummy.h ${DM_OP_RULE.hook}): domain ${caller.domid} is neither the control domain nor a device model targeting domain ${domid}${this.host.hwPriv === 'none' ? '' : ' nor the hardware domain'}`);
    }
    const size0 = mb.descSizeNumber(0);
    if (size0 < XEN_DM_OP_HEADER_SIZE) return this.#fail('EFAULT', `buffer 0 holds ${size0} bytes, less than the 8-byte xen_dm_op header`);
    let header: Uint8Array;
    if (prefetched) {
      header = mb.data;
    } else {
      const h = this.#copyFrom(space, 0, 0, Math.min(size0, 32));
      if (typeof h === 'number') return this.#fail('EFAULT', 'buffer 0 is not readable');
      header = h;
    }
    const op = (header[0]! | (header[1]! << 8) | (header[2]! << 16) | (header[3]! << 24)) >>> 0;
    const pad = header[4]! | header[5]! | header[6]! | header[7]!;
    if (op >= DMOP_TABLE_SIZE) return this.#fail('EOPNOTSUPP', `unknown DMOP ${op}`);
    const size = OP_SIZE[op]!;
    if (size0 < XEN_DM_OP_HEADER_SIZE + size) {
      return this.#fail('EFAULT', `buffer 0 holds ${size0} bytes; ${OP_NAME[op]} needs ${XEN_DM_OP_HEADER_SIZE + size}`);
    }
    const u = this.#u;
    const w = this.#uWords;
    w[0] = 0; w[1] = 0; w[2] = 0; w[3] = 0; w[4] = 0; w[5] = 0;
    for (let i = 0; i < size; i++) u[i] = header[XEN_DM_OP_HEADER_SIZE + i]!;
    if (pad !== 0) return this.#fail('EINVAL', 'xen_dm_op.pad must be zero');
    const handler = DMOP_HANDLERS.get(op);
    if (handler === undefined) return this.#fail('EOPNOTSUPP', `DMOP ${op}${OP_NAME[op] ? ` (${OP_NAME[op]})` : ''} is not implemented on x86`);
    this.#space = space;
    this.#nrBufs = nrBufs;
    const ctx = this.#ctx;
    ctx.caller = caller;
    ctx.d = d;
    ctx.nrBufs = nrBufs;
    ctx.constOp = true;
    ctx.why = '';
    mb.num = nrBufs;
    const rc = handler(ctx);
    if (rc !== 0) return this.#fail(errnoName(rc) as ErrnoName, ctx.why);
    if (!ctx.constOp) {
      const data = mb.data;
      for (let i = 0; i < size; i++) data[i] = u[i]!;
      mb.setCopy(0, XEN_DM_OP_HEADER_SIZE, size);
      if (mb.copyTo() !== 0) return this.#fail('EFAULT', 'buffer 0 is not writable for the results');
    }
    return 0;
  }

  /** A raw hypercall from `caller`, whose memory is `space`. Returns Xen's long result. */
  hypercall(caller: Domain, space: AddressSpace, op: number, args: readonly bigint[]): bigint {
    this.why = '';
    const a = (i: number) => args[i] ?? 0n;
    switch (op) {
      case HYPERCALLS.xen_version: {
        // xsm_xen_version first: a denied command still answers (with "<denied>").
        const deny = this.#xsm(caller, space, op, args) !== 0;
        this.why = '';
        return doXenVersion({ version: this.version, spaceId: space.id, caller, deny, fail: (code, why) => this.#fail(code, why) }, Number(a(0) & 0xffffffffn), a(1));
      }
      case HYPERCALLS.hvm_op: {
        // do_hvm_op switches on the whole unsigned long: no bits are ignored.
        if (a(0) > 0xffffffffn) return BigInt(this.#fail('ENOSYS', `hvm_op 0x${a(0).toString(16)} does not exist`));
        const cmd = Number(a(0));
        if (cmd === HVMOP.set_param || cmd === HVMOP.get_param || cmd === HVMOP.get_mem_type) return BigInt(this.#hvmOp(caller, space, cmd, a(1)));
        if (cmd === HVMOP_ALTP2M) return BigInt(doAltp2mOp(this.#altp2mEnv(), caller, space, a(1)));
        if (cmd === HVMOP.pagetable_dying) return BigInt(this.#pagetableDying(caller, space, a(1)));
        return BigInt(this.#unimplemented(caller, space, op, args));
      }
      case HYPERCALLS.dm_op:
        return BigInt(this.#doDmOp(caller, space, Number(a(0) & 0xffffn), Number(a(1) & 0xffffffffn), a(2)));
      case HYPERCALLS.xsm_op:
        return BigInt(doXsmOp(this.#flaskEnv(), caller, space, a(0)));
      default:
        return BigInt(this.#unimplemented(caller, space, op, args));
    }
  }

  #checkEnv(caller: Domain, space: AddressSpace): CheckEnv {
    return {
      host: this.host, spaceId: space.id, caller,
      fail: (code, why) => this.#fail(code, why),
      xsm: (name, d) => {
        const r = rule(name);
        return this.#xsmCheck(r, r.action, caller, d);
      },
    };
  }

  #flaskEnv(): FlaskOpEnv {
    return { flask: this.host.flask, domainById: (id) => this.host.domainById(id), fail: (code, why) => this.#fail(code, why) };
  }

  #altp2mEnv(): Altp2mEnv {
    return { host: this.host, variant: this.host.hwPriv, supported: this.host.altp2mSupported, fail: (code, why) => this.#fail(code, why) };
  }

  /**
   * XENMEM_acquire_resource (xen/common/memory.c, acquire_resource; Xen
   * 4.17's order). nrFrames null is the size query (frame_list NULL): the
   * resource's frame count. Otherwise the page store offsets of frames
   * [frame, frame + nrFrames). -errno on failure, with `why`.
   */
  acquireResource(caller: Domain, domid: number, type: number, id: number, frame: number, nrFrames: number | null): number | number[] {
    // 1. rcu_lock_remote_domain_by_id: no such domain, or the caller itself.
    const d = this.host.domainById(domid);
    if (d === undefined) return this.#fail('ESRCH', `acquire_resource: no domain ${domid}`);
    if (d === caller) return this.#fail('EPERM', `acquire_resource: domain ${domid} is the caller's own domain`);
    // 2. xsm_domain_resource_map (XSM_DM_PRIV).
    const x = this.#xsmCheck(RESOURCE_MAP_RULE, RESOURCE_MAP_RULE.action, caller, d);
    if (x !== 0) return x;
    // 3. resource_max_frames: 0 for anything the domain does not have.
    let max = 0;
    if (type === XENMEM_RESOURCE.ioreq_server) max = d.isHvm ? ioreqServerMaxFrames(d.maxVcpus) : 0;
    else if (type === XENMEM_RESOURCE.grant_table) return this.#fail('EOPNOTSUPP', 'acquire_resource: the simulator does not model grant tables');
    if (max === 0) return this.#fail('EINVAL', `acquire_resource: domain ${domid} has no resource of type ${type} (resource_max_frames is 0)`);
    // 4. The size query.
    if (nrFrames === null) return max;
    // 5. The continuation encoding's limit.
    if (nrFrames > MAX_ACQUIRE_FRAMES) return this.#fail('EINVAL', `acquire_resource: ${nrFrames} frames exceed UINT_MAX >> MEMOP_EXTENT_SHIFT`);
    // 6. acquire_ioreq_server, frame by frame (ioreq_server_get_frame).
    if (id > 0xffff) return this.#fail('EINVAL', `acquire_resource: ioreq server id ${id} is not an ioservid_t`);
    const out: number[] = [];
    for (let i = 0; i < nrFrames; i++) {
      const s = id < d.ioreqServers.length ? d.ioreqServers[id] : null;
      if (!s) return this.#fail('ENOENT', `acquire_resource: domain ${domid} has no ioreq server ${id}`);
      if (s.emulator !== caller.domid) return this.#fail('EPERM', `acquire_resource: ioreq server ${id} belongs to the device model in domain ${s.emulator}`);
      // ioreq_server_alloc_pages: not for a server whose pages are guest frames already.
      if (s.ioreqGfn !== null) return this.#fail('EPERM', `acquire_resource: ioreq server ${id}'s pages are mapped at guest frames (get_ioreq_server_info without XEN_DMOP_no_gfns)`);
      const pages = allocIoreqPages(this.host.memory, s);
      const idx = frame + i;
      if (idx === IOREQ_SERVER_FRAME.bufioreq) {
        if (pages.buf === null) return this.#fail('ENOENT', `acquire_resource: ioreq server ${id} has no buffered ring`);
        out.push(pages.buf);
      } else if (idx === IOREQ_SERVER_FRAME.ioreq(0)) {
        out.push(pages.ioreq);
      } else {
        return this.#fail('EINVAL', `acquire_resource: ioreq server frame ${idx} does not exist (frames are 0, the buffered page, and 1, the ioreq page)`);
      }
    }
    return out;
  }

  /**
   * XSM for mapping domain d's memory into caller: Flask's mmu map_read
   * (and map_write), else the dummy module's rule for mmu_update
   * (XSM_TARGET). 0 or -errno, with `why`.
   */
  foreignMapXsm(caller: Domain, d: Domain, write: boolean): number {
    const flask = this.host.flask;
    if (flask !== null) {
      for (const perm of write ? ['map_read', 'map_write'] : ['map_read']) {
        const rc = flask.hasPermLabels(caller.label, d.label, 'mmu', perm);
        if (rc !== 0) {
          this.why = `domain ${caller.domid} mapping domain ${d.domid}'s memory: ${flask.why}`;
          return rc;
        }
      }
      return 0;
    }
    if (xsmDefaultAction(MMU_UPDATE_RULE.action, caller, d, this.host.hwPriv) === 0) return 0;
    return this.#fail('EPERM', `${xsmActionName(MMU_UPDATE_RULE.action)} (${MMU_UPDATE_RULE.name}, dummy.h ${MMU_UPDATE_RULE.hook}): domain ${caller.domid} may not map domain ${d.domid}'s memory`);
  }

  /**
   * A PV dom0's foreign map, page by page (mmu_update with a foreign owner:
   * get_pg_owner, xsm_mmu_update, then mod_l1_entry's get_page_from_gfn).
   * Per page: null (it maps), or its negative errno: the whole batch's
   * ESRCH or XSM refusal, EINVAL for a gfn that is not RAM, EPERM for a
   * write mapping of read-only RAM. The one check for every foreign map
   * (privcmd's MMAPBATCH and host.mapForeignPages).
   */
  foreignMap(caller: Domain, domid: number, gfns: readonly bigint[], write: boolean): ({ err: number; why: string } | null)[] {
    const d = this.host.domainById(domid);
    let whole = 0;
    let wholeWhy = '';
    if (d === undefined) {
      whole = errno('ESRCH');
      wholeWhy = `no domain ${domid}`;
    } else {
      whole = this.foreignMapXsm(caller, d, write);
      wholeWhy = this.why;
    }
    return gfns.map((g) => {
      if (whole !== 0 || d === undefined) return { err: whole, why: wholeWhy };
      const gfn = Number(g);
      const t = g < 2n ** 40n ? d.p2m.get(gfn) : undefined;
      if (t !== 'ram_rw' && t !== 'ram_ro') return { err: errno('EINVAL'), why: `gfn 0x${g.toString(16)} of domain ${domid} is not RAM (${t ?? 'a hole'})` };
      if (t === 'ram_ro' && write) return { err: errno('EPERM'), why: `gfn 0x${g.toString(16)} of domain ${domid} is read-only RAM` };
      return null;
    });
  }

  /** The XSM check of rule `r` for caller on domain d (null: no target). */
  #xsmCheck(r: XsmRule, action: XsmAction, caller: Domain, d: Domain | null): number {
    if (xsmDefaultAction(action, caller, d, this.host.hwPriv) === 0) return 0;
    return this.#fail('EPERM', `${xsmActionName(action)} (${r.name}, dummy.h ${r.hook}): domain ${caller.domid} may not${d === null ? '' : ` on domain ${d.domid}`}`);
  }

  /**
   * The default XSM policy for any classified hypercall, as the policy table
   * describes it: find the rule (reading the sub-op from the argument struct
   * where the table says so), find the domain it is about, ask XSM.
   * 0 when XSM allows; -EFAULT, -ESRCH or -EPERM otherwise.
   */
  #xsm(caller: Domain, space: AddressSpace, op: number, args: readonly bigint[]): number {
    const read = (addr: bigint, out: Uint8Array) => native.spaceRead(space.id, addr, out) === 0;
    const r = classifyHypercall(op, args, read);
    if (r === undefined) return 0;
    if (r === -1) return this.#fail('EFAULT', `hypercall ${op}: the argument struct is not readable`);
    let d: Domain | null = null;
    if (r.target !== null) {
      const domid = readArgAt(r.target, args, read);
      if (domid < 0) return this.#fail('EFAULT', `${r.name}: the argument struct is not readable`);
      const found = r.target.self && domid === DOMID.SELF ? caller : this.host.domainById(domid);
      if (found === undefined) return this.#fail('ESRCH', `${r.name}: no domain ${domid}`);
      d = found;
    }
    const action = ruleAction(r, 0);
    return action === null ? 0 : this.#xsmCheck(r, action, caller, d);
  }

  /** A hypercall the simulator does not implement: XSM's answer, else -ENOSYS. */
  #unimplemented(caller: Domain, space: AddressSpace, op: number, args: readonly bigint[]): number {
    // Handlers that copy the whole argument in before XSM looks (seen on the
    // real host: platform_op with NULL is EFAULT).
    const name = HYPERCALL_NAMES.get(op);
    const first = name === undefined ? undefined : ARG_COPIED_FIRST[name];
    if (first !== undefined && native.spaceRead(space.id, args[0] ?? 0n, new Uint8Array(first.size)) !== 0) {
      return this.#fail('EFAULT', `${name}: the ${first.size}-byte struct ${first.struct} at 0x${(args[0] ?? 0n).toString(16)} is not readable`);
    }
    const checked = hypercallChecks(this.#checkEnv(caller, space), op, args);
    if (checked !== undefined) return Number(checked);
    const rc = this.#xsm(caller, space, op, args);
    if (rc !== 0) return rc;
    const r = hypercallRule(op);
    return this.#fail('ENOSYS', r === undefined
      ? `hypercall ${op} does not exist`
      : `${classifyName(op, args, space)} is not implemented by the simulated Xen (XSM allows it)`);
  }

  /**
   * HVMOP_pagetable_dying: a hint a shadow-paged guest gives about itself.
   * Another domain's is -EOPNOTSUPP; a PV or HAP domain's own does nothing
   * and is -EINVAL.
   */
  #pagetableDying(caller: Domain, space: AddressSpace, arg: bigint): number {
    const raw = new Uint8Array(16);
    if (native.spaceRead(space.id, arg, raw) !== 0) return this.#fail('EFAULT', `the xen_hvm_pagetable_dying at 0x${arg.toString(16)} is not readable`);
    const domid = new DataView(raw.buffer).getUint16(0, true);
    const d = domid === DOMID.SELF ? caller : this.host.domainById(domid);
    if (d === undefined) return this.#fail('ESRCH', `no domain ${domid}`);
    if (d !== caller) return this.#fail('EOPNOTSUPP', `pagetable_dying is for the caller's own domain, not domain ${domid}`);
    if (!d.isHvm || d.hap) return this.#fail('EINVAL', `domain ${domid} is not a shadow-paged HVM domain`);
    return this.#xsmCheck(PAGETABLE_DYING_RULE, PAGETABLE_DYING_RULE.action, caller, d);
  }

  #hvmOp(caller: Domain, space: AddressSpace, cmd: number, arg: bigint): number {
    const raw = new Uint8Array(16);
    if (native.spaceRead(space.id, arg, raw) !== 0) return this.#fail('EFAULT', `the hvm_op argument at 0x${arg.toString(16)} is not readable`);
    const dv = new DataView(raw.buffer);
    const domid = dv.getUint16(0, true);
    // hvmop_{get,set}_param check the index before the domain.
    if (cmd !== HVMOP.get_mem_type && dv.getUint32(4, true) >= HVM_NR_PARAMS) return this.#fail('EINVAL', `HVM param ${dv.getUint32(4, true)} does not exist (HVM_NR_PARAMS = ${HVM_NR_PARAMS})`);
    // rcu_lock_domain_by_any_id: DOMID_SELF means the caller.
    const d = domid === DOMID.SELF ? caller : this.host.domainById(domid);
    if (d === undefined) return this.#fail('ESRCH', `no domain ${domid}`);
    if (cmd === HVMOP.get_mem_type) {
      const x = this.#xsmCheck(GET_MEM_TYPE_RULE, GET_MEM_TYPE_RULE.action, caller, d);
      if (x !== 0) return x;
      if (!d.isHvm) return this.#fail('EINVAL', `domain ${d.domid} is not HVM`);
      const pfn = dv.getBigUint64(8, true);
      const t = pfn <= BigInt(Number.MAX_SAFE_INTEGER) ? d.p2m.get(Number(pfn)) : undefined;
      // hvmop_get_mem_type: holes and MMIO read as mmio_dm.
      // p2m_ram_logdirty is p2m_is_readonly: ram_ro (seen on the real host).
      const logdirty = t === 'ram_rw' && d.logdirtyPages.has(Number(pfn));
      const type = t === 'ram_rw' ? (logdirty ? 1 : 0) : t === 'ram_ro' ? 1 : t === 'ioreq_server' ? 4 : 2;
      dv.setUint16(2, type, true);
      return native.spaceWrite(space.id, arg, raw) === 0 ? 0 : this.#fail('EFAULT', 'cannot write the result back');
    }
    if (!d.isHvm) return this.#fail('EINVAL', `domain ${d.domid} is not HVM`);
    const index = dv.getUint32(4, true);
    const pr = cmd === HVMOP.get_param ? GET_PARAM_RULE : SET_PARAM_RULE;
    // hvm_allow_{get,set}_param: XSM, then the deprecated parameters (for
    // everyone), then what a guest may touch on itself.
    const x = this.#xsmCheck(pr, pr.action, caller, d);
    if (x !== 0) return x;
    if (DEPRECATED.has(index)) return this.#fail('EINVAL', `HVM param ${index} is deprecated in Xen 4.17`);
    if (cmd === HVMOP.get_param) {
      if (d === caller && !GUEST_READABLE.has(index)) return this.#fail('EPERM', `a guest may not read its own HVM param ${index}`);
      dv.setBigUint64(8, getParam(d, index), true);
      return native.spaceWrite(space.id, arg, raw) === 0 ? 0 : this.#fail('EFAULT', 'cannot write the result back');
    }
    let value = dv.getBigUint64(8, true);
    const old = d.params[index]!;
    if (d === caller && !GUEST_SETTABLE.has(index)) return this.#fail('EPERM', `a guest may not set its own HVM param ${index}`);
    if (SET_ONCE.has(index) && old !== 0n && value !== old) return this.#fail('EEXIST', `HVM param ${index} is already set`);
    // hvm_set_param: each parameter's own rule.
    const P = HVM_PARAM;
    let store = index;
    switch (index) {
      case P.TIMER_MODE:
        if (value > HVMPTM_ONE_MISSED_TICK_PENDING) return this.#fail('EINVAL', `timer mode ${value} is not 0..3`);
        break;
      case P.VIRIDIAN:
        if ((value & ~HVMPV_FEATURE_MASK) !== 0n || (value & HVMPV_BASE_FREQ) === 0n) return this.#fail('EINVAL', `viridian features 0x${value.toString(16)}: unknown bits, or no HVMPV_base_freq`);
        break;
      case P.ACPI_S_STATE:
        if (value !== 0n && value !== 3n) return this.#fail('EINVAL', `ACPI S-state ${value} is not 0 or 3`);
        d.s3Suspended = value === 3n;
        break;
      case P.ALTP2M: {
        const y = this.#xsmCheck(ALTP2M_PARAM_RULE, ALTP2M_PARAM_RULE.action, caller, d);
        if (y !== 0) return y;
        if (value > 3n || (value !== 0n && d.nestedHvm)) return this.#fail('EINVAL', value > 3n ? `altp2m mode ${value} is not 0..3` : 'altp2m and nested HVM exclude each other');
        break;
      }
      case P.TRIPLE_FAULT_REASON:
        if (value > SHUTDOWN_MAX) return this.#fail('EINVAL', `shutdown reason ${value} is above SHUTDOWN_MAX`);
        break;
      case P.NR_IOREQ_SERVER_PAGES:
        // The mask is an unsigned long: 64 pages at most.
        if (value === 0n || value > 64n) return this.#fail('EINVAL', 'NR_IOREQ_SERVER_PAGES must be 1..64');
        d.ioreqGfnMask = Number((1n << (value > 32n ? 32n : value)) - 1n);
        break;
      case P.X87_FIP_WIDTH:
        if (value !== 0n && value !== 4n && value !== 8n) return this.#fail('EINVAL', `x87 FIP width ${value} is not 0, 4 or 8`);
        break;
      case P.VM86_TSS:
        // Kept in VM86_TSS_SIZED, with hvmloader's 128-byte size.
        if (value !== BigInt.asUintN(32, value)) return this.#fail('EINVAL', 'VM86_TSS is a 32-bit address');
        if (value !== 0n) value |= (128n << 32n) | VM86_TSS_UPDATED;
        store = P.VM86_TSS_SIZED;
        break;
      case P.VM86_TSS_SIZED: {
        const size = value >> 32n;
        if (size < TSS32_SIZE) return this.#fail('EINVAL', `a VM86 TSS of ${size} bytes is smaller than struct tss32`);
        if (size > VM86_TSS_MAX) value = BigInt.asUintN(32, value) | (VM86_TSS_MAX << 32n);
        value |= VM86_TSS_UPDATED;
        break;
      }
      case P.MCA_CAP:
        // vmce_enable_mca_cap: LMCE is the only capability, and Intel's (not on this host's AMD CPU).
        if (value !== 0n) return this.#fail('EINVAL', `MCA capabilities 0x${value.toString(16)}: LMCE is not supported`);
        break;
      default:
        break;
    }
    d.params[store] = value;
    return 0;
  }
}

/** `memory_op/acquire_resource` and the like, for messages. */
function classifyName(op: number, args: readonly bigint[], space: AddressSpace): string {
  const r = classifyHypercall(op, args, (addr, out) => native.spaceRead(space.id, addr, out) === 0);
  return typeof r === 'object' ? r.name : `hypercall ${op}`;
}

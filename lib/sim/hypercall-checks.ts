// The hypercalls the simulated Xen does not carry out in full, as far as
// Xen 4.17 answers them before acting: the argument copies, interface
// versions, lookups and early returns of each handler, in its order (each
// function cites its source). A few simple calls are answered whole
// (memory_op's page counts, SCHEDOP_yield and remote_shutdown). undefined:
// Xen would go on to act, and the caller answers as for any call it does not
// implement (XSM, then -ENOSYS).
import { native } from '../native';
import { DOMID } from '../abi/domids';
import type { ErrnoName } from '../abi/errno';
import { HYPERCALLS, INTERFACE_VERSIONS, type HypercallName } from '../abi/hypercalls';
import type { Domain } from './domain';
import type { SimulatedHost } from './host';

export interface CheckEnv {
  readonly host: SimulatedHost;
  readonly spaceId: number;
  readonly caller: Domain;
  fail(code: ErrnoName, why: string): number;
  /** The XSM check of the named policy rule about domain d (0 or -EPERM). */
  xsm(rule: string, d: Domain | null): number;
}

const INTERFACE_VERSION = new Map<number, { name: string; version: number }>(
  Object.entries(INTERFACE_VERSIONS).map(([n, v]) => [HYPERCALLS[n as HypercallName], { name: n, version: v.version }]));
/** MEMOP_EXTENT_SHIFT / MEMOP_CMD_MASK: memory_op's command and a continuation's start extent. */
const MEMOP_EXTENT_SHIFT = 6n;
const MEMOP_CMD_MASK = 0x3fn;
/** max_page on the simulated machine: 4 GiB of RAM (a real host answers its own). */
const MAX_PAGE = 1n << 20n;
/** dom0's own memory is not modelled: its page counts are those of a 2 GiB dom0 (dom0_mem=2048M). */
const DOM0_PAGES = 1n << 19n;

function read(env: CheckEnv, addr: bigint, size: number): DataView | null {
  const out = new Uint8Array(size);
  return native.spaceRead(env.spaceId, addr, out) === 0 ? new DataView(out.buffer) : null;
}

/** rcu_lock_domain_by_any_id: DOMID_SELF is the caller. */
const anyId = (env: CheckEnv, domid: number): Domain | undefined => (domid === DOMID.SELF ? env.caller : env.host.domainById(domid));

/** Pages a domain owns (domain_tot_pages): its RAM, whatever its type. */
function totPages(d: Domain): number {
  let n = 0;
  for (const t of d.p2m.values()) if (t !== 'mmio_dm') n++;
  return n;
}

export function hypercallChecks(env: CheckEnv, op: number, args: readonly bigint[]): bigint | undefined {
  const a = (i: number) => args[i] ?? 0n;
  const version = INTERFACE_VERSION.get(op);
  if (version !== undefined) {
    // do_domctl, do_sysctl, do_platform_op: the whole struct is copied first
    // (the caller has checked that), then its interface_version (offset 4).
    const v = read(env, a(0), 8);
    if (v !== null && v.getUint32(4, true) !== version.version) {
      return BigInt(env.fail('EACCES', `${version.name}: interface_version 0x${v.getUint32(4, true).toString(16)} is not 0x${version.version.toString(16)}`));
    }
    return undefined;
  }
  switch (op) {
    case HYPERCALLS.memory_op: return memoryOp(env, a(0), a(1));
    case HYPERCALLS.event_channel_op: return eventChannelOp(env, a(0), a(1));
    case HYPERCALLS.sched_op: return schedOp(env, a(0), a(1));
    case HYPERCALLS.xenpmu_op:
      // do_xenpmu_op: vPMU is off unless Xen boots with vpmu=, before anything else.
      return BigInt(env.fail('EOPNOTSUPP', 'xenpmu_op: vPMU is off (Xen boots without vpmu=)'));
    default: return undefined;
  }
}

/** do_memory_op (xen/common/memory.c and xen/arch/x86/x86_64/mm.c). */
function memoryOp(env: CheckEnv, cmd: bigint, arg: bigint): bigint | undefined {
  const start = cmd >> MEMOP_EXTENT_SHIFT;
  const op = Number(cmd & MEMOP_CMD_MASK);
  const noContinuation = () => (start !== 0n ? BigInt(env.fail('EINVAL', `memory_op ${op} takes no start extent (${start})`)) : undefined);
  switch (op) {
    case 0: case 1: case 6: { // increase_reservation, decrease_reservation, populate_physmap
      // Every refusal before the work is the start extent, not an error.
      const r = read(env, arg, 32);
      if (r === null) return start;
      const nr = r.getBigUint64(8, true);
      if (nr > 0xffffffffn >> MEMOP_EXTENT_SHIFT || start >= nr) return start;
      const d = anyId(env, r.getUint16(24, true));
      if (d === undefined) return start;
      return undefined;
    }
    case 2: // maximum_ram_page
      return noContinuation() ?? MAX_PAGE;
    case 3: case 4: case 14: { // current_reservation, maximum_reservation, maximum_gpfn
      const e = noContinuation();
      if (e !== undefined) return e;
      const r = read(env, arg, 2);
      if (r === null) return BigInt(env.fail('EFAULT', `memory_op ${op}: the domid at 0x${arg.toString(16)} is not readable`));
      const d = anyId(env, r.getUint16(0, true));
      if (d === undefined) return BigInt(env.fail('ESRCH', `memory_op ${op}: no domain ${r.getUint16(0, true)}`));
      const x = env.xsm(op === 3 ? 'memory_op/current_reservation' : op === 4 ? 'memory_op/maximum_reservation' : 'memory_op/maximum_gpfn', d);
      if (x !== 0) return BigInt(x);
      if (d.domid === 0) return op === 14 ? DOM0_PAGES - 1n : DOM0_PAGES;
      if (op === 3) return BigInt(totPages(d));
      if (op === 4) return BigInt(d.maxPages);
      // domain_get_maximum_gpfn: the p2m's max_mapped_pfn; a PV domain's is what its kernel set up (none here).
      return BigInt(d.isHvm ? d.maxMappedPfn : 0);
    }
    case 5: { // XENMEM_machphys_mfn_list (x86): a list of max_extents; none asked for is 0 written back
      const r = read(env, arg, 16);
      if (r === null) return BigInt(env.fail('EFAULT', 'machphys_mfn_list: the struct is not readable'));
      if (r.getUint32(0, true) !== 0) return undefined;
      return native.spaceWrite(env.spaceId, arg + 8n, new Uint8Array(4)) === 0 ? 0n : BigInt(env.fail('EFAULT', 'machphys_mfn_list: nr_extents is not writable'));
    }
    case 9: case 10: { // memory_map, machine_memory_map: struct xen_memory_map { nr_entries; buffer }
      if (op === 10) {
        const x = env.xsm('memory_op/machine_memory_map', null);
        if (x !== 0) return BigInt(x);
      }
      return read(env, arg, 16) === null ? BigInt(env.fail('EFAULT', `memory_op ${op}: the xen_memory_map is not readable`)) : undefined;
    }
    case 11: { // exchange: memory_exchange's sanity checks come before the domain lookup
      const e = noContinuation();
      if (e !== undefined) return e;
      const r = read(env, arg, 72);
      if (r === null) return BigInt(env.fail('EFAULT', 'exchange: the xen_memory_exchange is not readable'));
      const inNr = r.getBigUint64(8, true);
      const outNr = r.getBigUint64(40, true);
      const inOrder = BigInt(r.getUint32(16, true));
      const outOrder = BigInt(r.getUint32(48, true));
      const done = r.getBigUint64(64, true);
      const u64 = (1n << 64n) - 1n;
      if (inOrder > 0n || outOrder > 0n) return undefined; // max_order: not modelled
      if (done > inNr || r.getUint16(24, true) !== r.getUint16(56, true) || (u64 >> inOrder) < inNr || (u64 >> outOrder) < outNr
        || BigInt.asUintN(64, inNr << inOrder) !== BigInt.asUintN(64, outNr << outOrder)) {
        return BigInt(env.fail('EINVAL', 'exchange: the in and out lists do not match (domid, sizes or progress)'));
      }
      if (done === inNr) return 0n;
      return undefined;
    }
    case 20: case 22: // paging_op, sharing_op: CONFIG_MEM_PAGING and CONFIG_MEM_SHARING are off in Debian's build
      return BigInt(env.fail('ENOSYS', `memory_op ${op}: not built into this Xen`));
    case 24: { // claim_pages: a missing domain is -EINVAL (rcu_lock_domain_by_id, literal ids)
      const e = noContinuation();
      if (e !== undefined) return e;
      const r = read(env, arg, 32);
      if (r === null) return BigInt(env.fail('EFAULT', 'claim_pages: the reservation is not readable'));
      if (r.getBigUint64(0, true) !== 0n || r.getUint32(16, true) !== 0 || r.getUint32(20, true) !== 0) return BigInt(env.fail('EINVAL', 'claim_pages takes no extent list, order or flags'));
      const d = env.host.domainById(r.getUint16(24, true));
      if (d === undefined) return BigInt(env.fail('EINVAL', `claim_pages: no domain ${r.getUint16(24, true)}`));
      return undefined;
    }
    default:
      return undefined;
  }
}

/** do_event_channel_op (xen/common/event_channel.c): each command copies its struct in first. */
const EVTCHN_SIZES: Partial<Record<number, number>> = { 0: 12, 1: 12, 2: 12, 3: 4, 4: 4, 5: 24, 6: 8, 7: 8, 8: 8, 9: 4, 10: 2 };

function eventChannelOp(env: CheckEnv, cmd: bigint, arg: bigint): bigint | undefined {
  const size = cmd <= 0xffffffffn ? EVTCHN_SIZES[Number(cmd)] : undefined;
  if (size === undefined) return undefined;
  const r = read(env, arg, size);
  if (r === null) return BigInt(env.fail('EFAULT', `event_channel_op ${cmd}: the struct at 0x${arg.toString(16)} is not readable`));
  if (cmd === 0n) {
    // evtchn_bind_interdomain: the remote domain (DOMID_SELF: the caller), looked up before a port is taken.
    const rdom = r.getUint16(0, true);
    if ((rdom === DOMID.SELF ? env.caller : env.host.domainById(rdom)) === undefined) return BigInt(env.fail('ESRCH', `bind_interdomain: no domain ${rdom}`));
  }
  return undefined;
}

/** do_sched_op (xen/common/sched/core.c). */
function schedOp(env: CheckEnv, cmd: bigint, arg: bigint): bigint | undefined {
  switch (cmd) {
    case 0n: // SCHEDOP_yield
      return 0n;
    case 3n: case 5n: case 6n: case 7n: { // poll, shutdown_code, watchdog, pin_override
      if (cmd === 7n && !env.caller.isHardware) return BigInt(env.fail('EPERM', 'SCHEDOP_pin_override is for the hardware domain'));
      const size = cmd === 3n ? 24 : cmd === 6n ? 8 : 4;
      return read(env, arg, size) === null ? BigInt(env.fail('EFAULT', `sched_op ${cmd}: the struct at 0x${arg.toString(16)} is not readable`)) : undefined;
    }
    case 4n: { // SCHEDOP_remote_shutdown { domid_t domain_id; unsigned int reason; }
      const r = read(env, arg, 8);
      if (r === null) return BigInt(env.fail('EFAULT', 'remote_shutdown: the struct is not readable'));
      const d = env.host.domainById(r.getUint16(0, true));
      if (d === undefined) return BigInt(env.fail('ESRCH', `remote_shutdown: no domain ${r.getUint16(0, true)}`));
      const x = env.xsm('sched_op/remote_shutdown', d);
      if (x !== 0) return BigInt(x);
      // domain_shutdown: any reason is taken; the first one sticks.
      if (d.shutdownReason === null) d.shutdownReason = r.getUint32(4, true);
      return 0n;
    }
    default:
      return undefined;
  }
}

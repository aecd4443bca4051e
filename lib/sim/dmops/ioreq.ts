// ioreq-server DMOPs (Xen 4.17 xen/common/ioreq.c, ioreq_server_dm_op):
// create, get_info, map/unmap an I/O range, set state, destroy, and
// map_mem_type_to_ioreq_server (x86 dm.c + p2m_set_ioreq_server).
import { type Domain, type IoreqServer, MAX_NR_IOREQ_SERVERS, MAX_NR_IO_RANGES } from '../domain';
import { RangeSet } from '../rangeset';
import { freeIoreqPages, updateEvtchns } from '../ioreq-pages';
import { allocUnboundXen, close as closePort } from '../evtchn';
import { fail, fields, type DmopContext, type DmopHandler } from './context';
import { HVMMEM, IOREQ_MEM_ACCESS, XEN_DMOP_NO_GFNS } from '../../dmop/ops';
import { HVM_PARAM } from '../../abi/hvm-params';

const CREATE = fields('xen_dm_op_create_ioreq_server');
const INFO = fields('xen_dm_op_get_ioreq_server_info');
const RANGE = fields('xen_dm_op_ioreq_server_range');
const STATE = fields('xen_dm_op_set_ioreq_server_state');
const DESTROY = fields('xen_dm_op_destroy_ioreq_server');
const MEMTYPE = fields('xen_dm_op_map_mem_type_to_ioreq_server');
const RANGE_TYPES = ['port', 'memory', 'pci'] as const;

/** get_ioreq_server + the emulator check every op on an existing server makes. */
function ownServer(ctx: DmopContext, id: number): IoreqServer | number {
  const s = id < MAX_NR_IOREQ_SERVERS ? ctx.d.ioreqServers[id] : null;
  if (!s) return fail(ctx, 'ENOENT', `domain ${ctx.d.domid} has no ioreq server ${id}`);
  if (s.emulator !== ctx.caller.domid) {
    return fail(ctx, 'EPERM', `ioreq server ${id} belongs to the device model in domain ${s.emulator}, not domain ${ctx.caller.domid}`);
  }
  return s;
}

export const createIoreqServer: DmopHandler = (ctx) => {
  const u = ctx.u;
  ctx.constOp = false;
  if (u.getUint8(1) || u.getUint8(2) || u.getUint8(3)) return fail(ctx, 'EINVAL', 'create_ioreq_server: pad must be zero');
  const bufioreq = CREATE.handle_bufioreq!.get(u);
  if (bufioreq > 2) return fail(ctx, 'EINVAL', `create_ioreq_server: handle_bufioreq ${bufioreq} is not off (0), legacy (1) or atomic (2)`);
  const id = ctx.d.ioreqServers.indexOf(null);
  if (id < 0) return fail(ctx, 'ENOSPC', `domain ${ctx.d.domid} already has ${MAX_NR_IOREQ_SERVERS} ioreq servers (MAX_NR_IOREQ_SERVERS)`);
  // ioreq_server_add_vcpu: an event channel per vCPU, and after vCPU 0's the
  // buffered-ioreq one (port numbers as the real host hands them out).
  const d = ctx.d;
  const vcpuPorts: number[] = [];
  let bufioreqPort: number | null = null;
  for (let v = 0; v < d.maxVcpus; v++) {
    vcpuPorts.push(allocPort(d, ctx.caller.domid));
    if (v === 0 && bufioreq) bufioreqPort = allocPort(d, ctx.caller.domid);
  }
  d.ioreqServers[id] = {
    id, emulator: ctx.caller.domid, bufioreq, enabled: false,
    ranges: { port: new RangeSet(MAX_NR_IO_RANGES), memory: new RangeSet(MAX_NR_IO_RANGES), pci: new RangeSet(MAX_NR_IO_RANGES) },
    ioreqGfn: null, bufioreqGfn: null, bufioreqPort, vcpuPorts, pages: null,
  };
  CREATE.id!.set(u, id);
  return 0;
};

/**
 * alloc_unbound_xen_event_channel: an unbound port in the guest offered to
 * the emulator's domain, which binds it with IOCTL_EVTCHN_BIND_INTERDOMAIN.
 */
function allocPort(d: Domain, emulator: number): number {
  return allocUnboundXen(d, emulator);
}

/** hvm_alloc_ioreq_gfn: the lowest free gfn of the domain's ioreq page pool. */
function allocIoreqGfn(d: Domain): bigint | null {
  for (let i = 0; i < 32; i++) {
    if (d.ioreqGfnMask & (1 << i)) {
      d.ioreqGfnMask &= ~(1 << i);
      return d.params[HVM_PARAM.IOREQ_SERVER_PFN]! + BigInt(i);
    }
  }
  return null;
}

function isRam(d: Domain, gfn: bigint): boolean {
  const t = d.p2m.get(Number(gfn));
  return t === 'ram_rw' || t === 'ram_ro';
}

function freeIoreqGfn(d: Domain, gfn: bigint | null): void {
  if (gfn === null) return;
  const i = Number(gfn - d.params[HVM_PARAM.IOREQ_SERVER_PFN]!);
  if (i >= 0 && i < 32) d.ioreqGfnMask |= 1 << i;
}

export const getIoreqServerInfo: DmopHandler = (ctx) => {
  const u = ctx.u;
  ctx.constOp = false;
  const flags = INFO.flags!.get(u);
  if (flags & ~XEN_DMOP_NO_GFNS) return fail(ctx, 'EINVAL', `get_ioreq_server_info: unknown flags 0x${flags.toString(16)}`);
  const s = ownServer(ctx, INFO.id!.get(u));
  if (typeof s === 'number') return s;
  if (!(flags & XEN_DMOP_NO_GFNS)) {
    // hvm_map_ioreq_gfn: pages allocated for XENMEM_acquire_resource cannot
    // also be guest frames.
    if (s.pages !== null && s.ioreqGfn === null) return fail(ctx, 'EPERM', `ioreq server ${s.id}'s pages were mapped as a resource; they have no gfns (ask with flags XEN_DMOP_no_gfns)`);
    // ioreq_server_map_pages: allocate gfns on first use; both or neither.
    if (s.ioreqGfn === null) {
      // hvm_map_ioreq_gfn: a gfn from the pool, which must hold a guest page
      // (prepare_ring_for_helper), else EINVAL and the gfn goes back.
      const g = allocIoreqGfn(ctx.d);
      if (g === null) return fail(ctx, 'ENOMEM', `domain ${ctx.d.domid} has no free ioreq server gfn (HVM_PARAM_NR_IOREQ_SERVER_PAGES)`);
      if (!isRam(ctx.d, g)) {
        freeIoreqGfn(ctx.d, g);
        return fail(ctx, 'EINVAL', `ioreq gfn 0x${g.toString(16)} holds no guest page (the toolstack did not populate the ioreq server pages)`);
      }
      let b: bigint | null = null;
      if (s.bufioreq) {
        b = allocIoreqGfn(ctx.d);
        if (b === null || !isRam(ctx.d, b)) {
          freeIoreqGfn(ctx.d, g);
          freeIoreqGfn(ctx.d, b);
          return b === null
            ? fail(ctx, 'ENOMEM', `domain ${ctx.d.domid} has no free ioreq server gfn for the buffered page`)
            : fail(ctx, 'EINVAL', `ioreq gfn 0x${b.toString(16)} holds no guest page`);
        }
      }
      s.ioreqGfn = g;
      s.bufioreqGfn = b;
    }
    INFO.ioreq_gfn!.big.set(u, s.ioreqGfn);
    if (s.bufioreq) INFO.bufioreq_gfn!.big.set(u, s.bufioreqGfn as bigint);
  }
  if (s.bufioreq) INFO.bufioreq_port!.set(u, s.bufioreqPort as number);
  return 0;
};

function rangeOp(map: boolean): DmopHandler {
  return (ctx) => {
    const u = ctx.u;
    const op = map ? 'map_io_range_to_ioreq_server' : 'unmap_io_range_from_ioreq_server';
    if (RANGE.pad!.get(u)) return fail(ctx, 'EINVAL', `${op}: pad must be zero`);
    const start = RANGE.start!.big.get(u);
    const end = RANGE.end!.big.get(u);
    if (start > end) return fail(ctx, 'EINVAL', `${op}: start 0x${start.toString(16)} is above end 0x${end.toString(16)}`);
    const s = ownServer(ctx, RANGE.id!.get(u));
    if (typeof s === 'number') return s;
    const type = RANGE_TYPES[RANGE.type!.get(u)];
    if (type === undefined) return fail(ctx, 'EINVAL', `${op}: type ${RANGE.type!.get(u)} is not port (0), memory (1) or pci (2)`);
    const r = s.ranges[type];
    if (map) {
      if (r.overlaps(start, end)) return fail(ctx, 'EEXIST', `${op}: [0x${start.toString(16)}, 0x${end.toString(16)}] overlaps a ${type} range server ${s.id} already has`);
      const rc = r.add(start, end);
      return rc ? fail(ctx, 'ENOMEM', `${op}: server ${s.id} already has ${MAX_NR_IO_RANGES} ${type} ranges (MAX_NR_IO_RANGES)`) : 0;
    }
    if (!r.contains(start, end)) return fail(ctx, 'ENOENT', `${op}: server ${s.id} has no ${type} range covering [0x${start.toString(16)}, 0x${end.toString(16)}]`);
    const rc = r.remove(start, end);
    return rc ? fail(ctx, 'ENOMEM', `${op}: splitting the range would exceed MAX_NR_IO_RANGES`) : 0;
  };
}

export const mapIoRange = rangeOp(true);
export const unmapIoRange = rangeOp(false);

export const setIoreqServerState: DmopHandler = (ctx) => {
  const u = ctx.u;
  if (STATE.pad!.get(u)) return fail(ctx, 'EINVAL', 'set_ioreq_server_state: pad must be zero');
  const s = ownServer(ctx, STATE.id!.get(u));
  if (typeof s === 'number') return s;
  const enable = STATE.enabled!.get(u) !== 0;
  // ioreq_server_enable: ioreq_update_evtchn for each vCPU (vp_eport).
  if (enable && !s.enabled) updateEvtchns(ctx.host.memory, s);
  s.enabled = enable;
  return 0;
};

export const destroyIoreqServer: DmopHandler = (ctx) => {
  const u = ctx.u;
  if (DESTROY.pad!.get(u)) return fail(ctx, 'EINVAL', 'destroy_ioreq_server: pad must be zero');
  const s = ownServer(ctx, DESTROY.id!.get(u));
  if (typeof s === 'number') return s;
  // arch_ioreq_server_destroy: release any p2m_ioreq_server claim (the pages
  // keep their type, as in Xen).
  if (ctx.d.p2mIoreq?.server === s.id) ctx.d.p2mIoreq = null;
  freeIoreqGfn(ctx.d, s.ioreqGfn);
  freeIoreqGfn(ctx.d, s.bufioreqGfn);
  // free_xen_event_channel: the ports are closed; a device model's bound end goes back to unbound.
  for (const p of s.vcpuPorts) closePort(ctx.d, (id) => ctx.host.domainById(id), p);
  if (s.bufioreqPort !== null) closePort(ctx.d, (id) => ctx.host.domainById(id), s.bufioreqPort);
  freeIoreqPages(ctx.host.memory, s);
  ctx.d.ioreqServers[s.id] = null;
  return 0;
};

export const mapMemTypeToIoreqServer: DmopHandler = (ctx) => {
  const u = ctx.u;
  const d = ctx.d;
  ctx.constOp = false;
  if (!d.hap) return fail(ctx, 'EOPNOTSUPP', `map_mem_type_to_ioreq_server needs HAP; domain ${d.domid} has none`);
  const firstGfn = MEMTYPE.opaque!.big.get(u);
  const flags = MEMTYPE.flags!.get(u);
  if (firstGfn === 0n) {
    const type = MEMTYPE.type!.get(u);
    if (type !== HVMMEM.ioreq_server) return fail(ctx, 'EINVAL', `map_mem_type_to_ioreq_server: type ${type} is not HVMMEM_ioreq_server (4)`);
    if (flags & ~IOREQ_MEM_ACCESS.write) return fail(ctx, 'EINVAL', `map_mem_type_to_ioreq_server: flags 0x${flags.toString(16)}: only write (2) is supported`);
    const s = ownServer(ctx, MEMTYPE.id!.get(u));
    if (typeof s === 'number') return s;
    // p2m_set_ioreq_server
    if (flags === 0) {
      if (d.p2mIoreq?.server !== s.id) return fail(ctx, 'EINVAL', `ioreq server ${s.id} has not claimed p2m_ioreq_server`);
      d.p2mIoreq = null;
    } else {
      if (d.p2mIoreq !== null) return fail(ctx, 'EBUSY', `ioreq server ${d.p2mIoreq.server} already claimed p2m_ioreq_server`);
      for (const [, t] of d.p2m.typed()) {
        if (t === 'ioreq_server') return fail(ctx, 'EBUSY', 'pages of type p2m_ioreq_server remain from an earlier claim');
      }
      d.p2mIoreq = { server: s.id, flags };
    }
  }
  // Unmapping resets every remaining p2m_ioreq_server page to ram_rw (Xen
  // does this 256 gfns per continuation; the simulator in one go).
  if (flags === 0) {
    for (const [pfn, t] of d.p2m.typed()) if (t === 'ioreq_server') d.p2m.set(pfn, 'ram_rw');
  }
  return 0;
};

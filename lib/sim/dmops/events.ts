// Event, MSI, shutdown and vCPU DMOPs (Xen 4.17 xen/arch/x86/hvm/dm.c).
import { fail, fields, type DmopHandler } from './context';

const EVENT = fields('xen_dm_op_inject_event');
const MSI = fields('xen_dm_op_inject_msi');
const SHUTDOWN = fields('xen_dm_op_remote_shutdown');
const VCPUS = fields('xen_dm_op_nr_vcpus');
/** MSI data: delivery mode in bits 8..10 (xen/include/asm-x86/msi.h). */
const MSI_DATA_DELIVERY_MODE_SHIFT = 8;
const DELIVERY = { fixed: 0, lowestPrio: 1 } as const;

export const injectEvent: DmopHandler = (ctx) => {
  const { u, d } = ctx;
  if (EVENT.pad0!.get(u) || EVENT.pad1!.get(u)) return fail(ctx, 'EINVAL', 'inject_event: pad0 and pad1 must be zero');
  const vcpu = EVENT.vcpuid!.get(u);
  if (vcpu >= d.maxVcpus) return fail(ctx, 'EINVAL', `inject_event: vCPU ${vcpu} does not exist (domain ${d.domid} has ${d.maxVcpus})`);
  if (d.pendingEvent[vcpu]) return fail(ctx, 'EBUSY', `inject_event: vCPU ${vcpu} already has an event pending`);
  d.pendingEvent[vcpu] = {
    vcpu, vector: EVENT.vector!.get(u), type: EVENT.type!.get(u), insnLen: EVENT.insn_len!.get(u),
    errorCode: EVENT.error_code!.get(u), cr2: EVENT.cr2!.big.get(u),
  };
  // A running vCPU takes the event at its next VM entry.
  if (!d.paused) ctx.host.deliverEvents(d);
  return 0;
};

export const injectMsi: DmopHandler = (ctx) => {
  const { u, d } = ctx;
  if (MSI.pad!.get(u)) return fail(ctx, 'EINVAL', 'inject_msi: pad must be zero');
  const data = MSI.data!.get(u);
  const addr = MSI.addr!.big.get(u);
  // hvm_inject_msi (xen/arch/x86/hvm/irq.c): vector 0 means a pirq, which
  // the simulator has none of.
  if ((data & 0xff) === 0) return fail(ctx, 'ERANGE', 'inject_msi: vector 0 (a pirq MSI) is not bound');
  // vmsi_deliver (xen/arch/x86/hvm/vmsi.c) knows fixed and lowest-priority
  // delivery only; lowest priority picks among *enabled* vLAPICs, and a
  // guest that never ran has not software-enabled any (vlapic_lowest_prio).
  const mode = (data >> MSI_DATA_DELIVERY_MODE_SHIFT) & 7;
  if (mode === DELIVERY.lowestPrio) return fail(ctx, 'ESRCH', 'inject_msi: lowest-priority delivery, but no vLAPIC of the guest is enabled (it never ran)');
  if (mode !== DELIVERY.fixed) return fail(ctx, 'EINVAL', `inject_msi: delivery mode ${mode} is neither fixed (0) nor lowest priority (1)`);
  d.injectedMsis.push({ addr, data });
  return 0;
};

export const remoteShutdown: DmopHandler = (ctx) => {
  const reason = SHUTDOWN.reason!.get(ctx.u);
  // domain_shutdown: the first reason sticks; the vCPUs stop running.
  if (ctx.d.shutdownReason === null) ctx.d.shutdownReason = reason;
  return 0;
};

export const nrVcpus: DmopHandler = (ctx) => {
  ctx.constOp = false;
  VCPUS.vcpus!.set(ctx.u, ctx.d.maxVcpus);
  return 0;
};

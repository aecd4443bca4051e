// Event, MSI, shutdown and vCPU DMOPs (Xen 4.17 xen/arch/x86/hvm/dm.c).
import { fail, fields, type DmopHandler } from './context';

const EVENT = fields('xen_dm_op_inject_event');
const MSI = fields('xen_dm_op_inject_msi');
const SHUTDOWN = fields('xen_dm_op_remote_shutdown');
const VCPUS = fields('xen_dm_op_nr_vcpus');

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
  // hvm_inject_msi: vector 0 means a pirq, which the simulator has none of.
  if ((data & 0xff) === 0) return fail(ctx, 'ERANGE', 'inject_msi: vector 0 (a pirq MSI) is not bound');
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

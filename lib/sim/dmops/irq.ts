// Interrupt DMOPs (Xen 4.17 xen/arch/x86/hvm/dm.c and irq.c).
import { fail, fields, type DmopHandler } from './context';

const INTX = fields('xen_dm_op_set_pci_intx_level');
const ISA = fields('xen_dm_op_set_isa_irq_level');
const LINK = fields('xen_dm_op_set_pci_link_route');

export const setPciIntxLevel: DmopHandler = (ctx) => {
  const u = ctx.u;
  const [domain, bus, device, intx, level] = [INTX.domain!.get(u), INTX.bus!.get(u), INTX.device!.get(u), INTX.intx!.get(u), INTX.level!.get(u)];
  if (domain !== 0 || bus !== 0 || device > 0x1f || intx > 3) {
    return fail(ctx, 'EINVAL', `set_pci_intx_level: ${domain}:${bus}:${device} INT${'ABCD'[intx] ?? intx} is not on segment 0, bus 0, device <= 31, INTA..INTD`);
  }
  if (level > 1) return fail(ctx, 'EINVAL', `set_pci_intx_level: level ${level} is not 0 or 1`);
  ctx.d.pciIntxLevel.set(`${device}:${intx}`, level);
  return 0;
};

export const setIsaIrqLevel: DmopHandler = (ctx) => {
  const irq = ISA.isa_irq!.get(ctx.u);
  const level = ISA.level!.get(ctx.u);
  if (irq > 15) return fail(ctx, 'EINVAL', `set_isa_irq_level: ISA IRQ ${irq} is not 0..15`);
  if (level > 1) return fail(ctx, 'EINVAL', `set_isa_irq_level: level ${level} is not 0 or 1`);
  ctx.d.isaIrqLevel[irq] = level;
  return 0;
};

export const setPciLinkRoute: DmopHandler = (ctx) => {
  const link = LINK.link!.get(ctx.u);
  const irq = LINK.isa_irq!.get(ctx.u);
  if (link > 3 || irq > 15) return fail(ctx, 'EINVAL', `set_pci_link_route: link ${link} must be 0..3 and ISA IRQ ${irq} 0..15`);
  ctx.d.pciLinkRoute[link] = irq;
  return 0;
};

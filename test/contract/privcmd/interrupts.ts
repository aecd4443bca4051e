// Interrupt DMOPs: ISA IRQ levels, PCI INTx, link routes, MSIs, events.
import type { Privcmd } from '../../../lib/privcmd';
import { code, raw, type ContractEnv, type ContractCapabilities, type Fixture } from './suite';

export function interruptCases(_caps: ContractCapabilities, f: Fixture): void {
  describe('interrupts', () => {
    let env: ContractEnv;
    let h: Privcmd;
    let g: number;
    beforeEach(() => ({ env, h, g } = f()));

    test('set_isa_irq_level: IRQ 0..15, level 0/1', () => {
      h.dmop(g, { op: 'set_isa_irq_level', isaIrq: 15, level: 1 });
      h.dmop(g, { op: 'set_isa_irq_level', isaIrq: 15, level: false });
      expect(code(() => h.dmop(g, { op: 'set_isa_irq_level', isaIrq: 16, level: 1 }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'set_isa_irq_level', isaIrq: 1, level: 2 }))).toBe('EINVAL');
    });

    test('set_pci_intx_level: segment 0, bus 0, device <= 31, INTA..INTD, level 0/1', () => {
      h.dmop(g, { op: 'set_pci_intx_level', domain: 0, bus: 0, device: 31, intx: 3, level: 1 });
      h.dmop(g, { op: 'set_pci_intx_level', domain: 0, bus: 0, device: 31, intx: 3, level: 0 });
      for (const bad of [{ domain: 1 }, { bus: 1 }, { device: 32 }, { intx: 4 }, { level: 2 }]) {
        const req = { op: 'set_pci_intx_level' as const, domain: 0, bus: 0, device: 3, intx: 0, level: 1, ...bad };
        expect({ bad, code: code(() => h.dmop(g, req)) }).toEqual({ bad, code: 'EINVAL' });
      }
    });

    test('set_pci_link_route: link 0..3, ISA IRQ 0..15', () => {
      h.dmop(g, { op: 'set_pci_link_route', link: 3, isaIrq: 11 });
      h.dmop(g, { op: 'set_pci_link_route', link: 3, isaIrq: 0 });
      expect(code(() => h.dmop(g, { op: 'set_pci_link_route', link: 4, isaIrq: 5 }))).toBe('EINVAL');
      expect(code(() => h.dmop(g, { op: 'set_pci_link_route', link: 0, isaIrq: 16 }))).toBe('EINVAL');
    });

    test('inject_event: vCPU range EINVAL; a second event while one is pending EBUSY; pads EINVAL', () => {
      expect(code(() => h.dmop(g, { op: 'inject_event', vcpuid: env.vcpus, vector: 14, type: 'hw_exc' }))).toBe('EINVAL');
      h.dmop(g, { op: 'inject_event', vcpuid: 0, vector: 14, type: 'hw_exc', errorCode: 2, cr2: 0x1000n });
      expect(code(() => h.dmop(g, { op: 'inject_event', vcpuid: 0, vector: 2, type: 'nmi' }))).toBe('EBUSY');
      expect(code(() => h.dmopRaw(g, raw({ op: 'inject_event', vcpuid: 1, vector: 2, type: 2 }, (v) => v.setUint8(15, 1))))).toBe('EINVAL');
    });

    test('inject_msi: a non-zero pad is EINVAL', () => {
      expect(code(() => h.dmopRaw(g, raw({ op: 'inject_msi', addr: 0xfee00000n, data: 0x4031 }, (v) => v.setUint32(12, 1, true))))).toBe('EINVAL');
    });
  });
}

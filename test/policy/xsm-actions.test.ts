// The policy table: its shape, the classifications the issue names, and how
// a call is classified (sub-op and target read from registers or memory).
import { DOMID } from '../../lib/abi/domids';
import { HYPERCALLS } from '../../lib/abi/hypercalls';
import { DMOPS } from '../../lib/abi/dmops';
import { XSM, xsmActionName } from '../../lib/policy/xsm';
import { ALTP2M_CMDS, ALTP2M_MODES } from '../../lib/policy/altp2m';
import {
  XSM_RULES, classifyHypercall, dmopRule, hypercallRule, readArg, resolvesSelf, ruleAction, xsmRule, type ArgReader,
} from '../../lib/policy/xsm-actions';

const action = (name: string): string => {
  const r = xsmRule(name);
  if (r === undefined) throw new Error(`no rule ${name}`);
  return xsmActionName(r.action).slice(4);
};

describe('the table', () => {
  test('every hypercall has a rule; every rule names a hook and an action; names are unique', () => {
    for (const [n, num] of Object.entries(HYPERCALLS)) expect(hypercallRule(num)?.name).toBe(n);
    expect(new Set(XSM_RULES.map((r) => r.name)).size).toBe(XSM_RULES.length);
    for (const r of XSM_RULES) {
      expect({ r: r.name, hook: r.hook.length > 0 }).toEqual({ r: r.name, hook: true });
      expect(Object.values(XSM)).toContain(r.action);
      // A rule's name is its parent's plus its own part; its path one longer.
      if (r.parent) {
        expect(r.name.startsWith(`${r.parent.name}/`)).toBe(true);
        expect(r.path.length).toBe(r.parent.path.length + 1);
      }
    }
    expect(hypercallRule(11)).toBeUndefined();
    expect(hypercallRule(43)).toBeUndefined();
  });

  test('the split\'s HW_PRIV entries: platform_op, physdev APIC/PCI/GSI/MMCFG/MSI, console_io', () => {
    for (const n of [
      'platform_op', 'console_io', 'console_io/write', 'console_io/read',
      'physdev_op/apic_read', 'physdev_op/apic_write', 'physdev_op/alloc_irq_vector',
      'physdev_op/manage_pci_add', 'physdev_op/manage_pci_remove', 'physdev_op/manage_pci_add_ext',
      'physdev_op/pci_device_add', 'physdev_op/pci_device_remove', 'physdev_op/restore_msi', 'physdev_op/restore_msi_ext',
      'physdev_op/setup_gsi', 'physdev_op/pci_mmcfg_reserved', 'physdev_op/prepare_msix', 'physdev_op/release_msix',
      'physdev_op/pci_device_reset', 'physdev_op_compat/apic_read',
    ]) expect({ n, a: action(n) }).toEqual({ n, a: 'HW_PRIV' });
    // Nothing else is HW_PRIV.
    const hw = XSM_RULES.filter((r) => r.action === XSM.HW_PRIV).map((r) => r.name);
    expect(hw.every((n) => /^(platform_op|console_io|physdev_op)/.test(n))).toBe(true);
  });

  test('the other classifications the policy turns on', () => {
    const expected: Record<string, string> = {
      domctl: 'PRIV', 'domctl/getdomaininfo': 'XS_PRIV', 'domctl/memory_mapping': 'DM_PRIV', 'domctl/ioport_mapping': 'DM_PRIV',
      'domctl/bind_pt_irq': 'DM_PRIV', 'domctl/unbind_pt_irq': 'DM_PRIV', 'domctl/createdomain': 'PRIV', 'domctl/set_target': 'PRIV',
      sysctl: 'PRIV', kexec_op: 'PRIV', hypfs_op: 'PRIV',
      'hvm_op/set_param': 'TARGET', 'hvm_op/get_param': 'TARGET', 'hvm_op/get_mem_type': 'TARGET', 'hvm_op/pagetable_dying': 'TARGET',
      'hvm_op/set_param/ALTP2M': 'PRIV', 'hvm_op/altp2m': 'OTHER',
      'memory_op/acquire_resource': 'DM_PRIV', 'memory_op/add_to_physmap_batch': 'TARGET', 'memory_op/add_to_physmap': 'TARGET',
      'memory_op/populate_physmap': 'TARGET', 'memory_op/machine_memory_map': 'PRIV', 'memory_op/claim_pages': 'PRIV',
      'memory_op/access_op': 'DM_PRIV', 'memory_op/paging_op': 'DM_PRIV', 'memory_op/sharing_op': 'DM_PRIV',
      dm_op: 'DM_PRIV', 'physdev_op/map_pirq': 'DM_PRIV', 'physdev_op/unmap_pirq': 'DM_PRIV', 'sched_op/remote_shutdown': 'DM_PRIV',
      xsm_op: 'HOOK', xen_version: 'HOOK', 'xen_version/commandline': 'PRIV', 'xen_version/build_id': 'PRIV', 'xen_version/version': 'HOOK',
      'event_channel_op/alloc_unbound': 'TARGET', 'event_channel_op/send': 'HOOK', 'grant_table_op/setup_table': 'TARGET',
      'mmu_update': 'TARGET', 'xenpmu_op': 'PRIV', 'xenpmu_op/flush': 'HOOK', multicall: 'HOOK',
    };
    for (const [n, a] of Object.entries(expected)) expect({ n, a: action(n) }).toEqual({ n, a });
    for (const c of ALTP2M_CMDS) expect(action(`hvm_op/altp2m/${c.name}`)).toBe('OTHER');
    for (const d of DMOPS) expect(dmopRule(d.op)?.name).toBe(`dm_op/${d.name}`);
    expect(dmopRule(0)).toBeUndefined();
  });

  test('rules that name a domain say where it is and whether DOMID_SELF means the caller', () => {
    expect(xsmRule('dm_op')?.target).toMatchObject({ arg: 0, at: null, self: false });
    expect(xsmRule('domctl/getdomaininfo')?.target).toMatchObject({ arg: 0, at: { struct: 'xen_domctl', field: 'domain', offset: 8 }, self: false });
    expect(xsmRule('hvm_op/get_param')?.target).toMatchObject({ arg: 1, at: { offset: 0 }, self: true });
    expect(xsmRule('memory_op/acquire_resource')?.target?.at).toMatchObject({ struct: 'xen_mem_acquire_resource', offset: 0 });
    expect(xsmRule('platform_op')?.target).toBeNull();
    expect(xsmRule('domctl/createdomain')?.target).toBeNull();
    const t = xsmRule('hvm_op/get_param')!.target!;
    expect(resolvesSelf(t, DOMID.SELF)).toBe(true);
    expect(resolvesSelf(xsmRule('dm_op')!.target!, DOMID.SELF)).toBe(false);
  });

  test('OTHER rules resolve: altp2m by mode; disabled is refused before XSM', () => {
    const sw = xsmRule('hvm_op/altp2m/switch_p2m')!;
    const en = xsmRule('hvm_op/altp2m/vcpu_enable_notify')!;
    expect(ruleAction(sw, ALTP2M_MODES.mixed)).toBe(XSM.TARGET);
    expect(ruleAction(sw, ALTP2M_MODES.external)).toBe(XSM.DM_PRIV);
    expect(ruleAction(sw, ALTP2M_MODES.limited)).toBe(XSM.DM_PRIV);
    expect(ruleAction(en, ALTP2M_MODES.limited)).toBe(XSM.TARGET);
    expect(ruleAction(sw, ALTP2M_MODES.disabled)).toBeNull();
    expect(ruleAction(xsmRule('hvm_op/altp2m')!, ALTP2M_MODES.mixed)).toBe(XSM.HOOK); // unknown commands never reach XSM
    expect(ruleAction(xsmRule('sysctl')!, 0)).toBe(XSM.PRIV);
  });
});

describe('classifying a call', () => {
  /** A little memory: address -> bytes. */
  const memory = (chunks: Record<string, number[]>): ArgReader => (addr, out) => {
    for (const [base, bytes] of Object.entries(chunks)) {
      const off = Number(addr - BigInt(base));
      if (off >= 0 && off + out.length <= bytes.length) {
        out.set(bytes.slice(off, off + out.length));
        return true;
      }
    }
    return false;
  };
  const none: ArgReader = () => false;

  test('register sub-ops: physdev_op, memory_op (low 6 bits), unknown sub-ops fall back to the hypercall', () => {
    expect(classifyHypercall(HYPERCALLS.physdev_op, [8n], none)).toMatchObject({ name: 'physdev_op/apic_read' });
    expect(classifyHypercall(HYPERCALLS.memory_op, [28n | (5n << 6n)], none)).toMatchObject({ name: 'memory_op/acquire_resource' });
    expect(classifyHypercall(HYPERCALLS.physdev_op, [999n], none)).toMatchObject({ name: 'physdev_op' });
    expect(classifyHypercall(HYPERCALLS.physdev_op, [(1n << 32n) | 8n], none)).toMatchObject({ name: 'physdev_op/apic_read' });
    expect(classifyHypercall(HYPERCALLS.platform_op, [0x1000n], none)).toMatchObject({ name: 'platform_op' });
    expect(classifyHypercall(77, [], none)).toBeUndefined();
  });

  test('sub-ops in memory: domctl cmd, hvm_op set_param index, altp2m cmd; unreadable memory is -1', () => {
    const mem = memory({
      0x1000: [5, 0, 0, 0, 0x15, 0, 0, 0, 9, 0],                 // xen_domctl: cmd getdomaininfo, version, domain 9
      0x2000: [3, 0, 0, 0, 35, 0, 0, 0],                          // xen_hvm_param: domid 3, index ALTP2M
      0x3000: [1, 0, 0, 0, 6, 0, 0, 0, 0xf0, 0x7f],               // altp2m: version 1, cmd switch_p2m, DOMID_SELF
    });
    expect(classifyHypercall(HYPERCALLS.domctl, [0x1000n], mem)).toMatchObject({ name: 'domctl/getdomaininfo' });
    expect(readArg(xsmRule('domctl/getdomaininfo')!.target!, [0x1000n], mem)).toBe(9);
    expect(classifyHypercall(HYPERCALLS.hvm_op, [0n, 0x2000n], mem)).toMatchObject({ name: 'hvm_op/set_param/ALTP2M' });
    expect(classifyHypercall(HYPERCALLS.hvm_op, [1n, 0x2000n], mem)).toMatchObject({ name: 'hvm_op/get_param' });
    expect(classifyHypercall(HYPERCALLS.hvm_op, [25n, 0x3000n], mem)).toMatchObject({ name: 'hvm_op/altp2m/switch_p2m' });
    expect(readArg(xsmRule('hvm_op/altp2m/switch_p2m')!.target!, [25n, 0x3000n], mem)).toBe(DOMID.SELF);
    expect(classifyHypercall(HYPERCALLS.domctl, [0x9000n], mem)).toBe(-1);
    expect(readArg(xsmRule('hvm_op/get_param')!.target!, [1n, 0x9000n], mem)).toBe(-1);
  });
});

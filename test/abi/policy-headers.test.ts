// The policy tables against Xen 4.17's headers (Debian libxen-dev), as
// test/abi/headers.test.ts does for lib/abi: a C program generated from the
// TypeScript tables is compiled and run, and what it prints is compared.
// Checked: the altp2m struct layouts and union members, the altp2m command,
// mode and access numbers, every hypercall / sub-op number in the XSM table,
// and every struct offset the table reads a sub-op or a target domain from.
// Without the headers the suite is skipped (and fails under CI, as there).
import * as fs from 'fs';
import * as path from 'path';
import { SCALAR_SIZE } from '../../lib/abi';
import {
  ALTP2M_CMDS, ALTP2M_MODES, ALTP2M_STRUCTS, HVMOP_ALTP2M, HVMOP_ALTP2M_INTERFACE_VERSION, HVM_PARAM_ALTP2M,
  HVM_PARAM_NESTEDHVM, XENMEM_ACCESS,
} from '../../lib/policy/altp2m';
import { ARG_STRUCT_SIZES, XSM_RULES, type ArgLoc, type FieldLoc } from '../../lib/policy/xsm-actions';
import { describeWithHeaders } from './probe';

const INCLUDES = [
  'xen/xen.h', 'xen/memory.h', 'xen/physdev.h', 'xen/domctl.h', 'xen/event_channel.h', 'xen/grant_table.h',
  'xen/sched.h', 'xen/version.h', 'xen/pmu.h', 'xen/hvm/hvm_op.h', 'xen/hvm/params.h', 'xen/hvm/dm_op.h',
];

/** Every struct field the table reads, once. */
function fieldLocs(): FieldLoc[] {
  const seen = new Map<string, FieldLoc>();
  const add = (loc: ArgLoc | null) => {
    if (loc?.at) seen.set(`${loc.at.struct ?? 'domid_t'}.${loc.at.field}`, loc.at);
  };
  for (const r of XSM_RULES) {
    add(r.key);
    add(r.target);
  }
  return [...seen.values()];
}

function program(): string {
  const lines: string[] = [];
  const emit = (key: string, expr: string) => lines.push(`  printf("%s=%lld\\n", "${key}", (long long)(${expr}));`);
  for (const s of Object.values(ALTP2M_STRUCTS)) {
    emit(`sizeof.${s.name}`, `sizeof(struct ${s.name})`);
    for (const f of s.fields) {
      emit(`offsetof.${s.name}.${f.name}`, `offsetof(struct ${s.name}, ${f.name})`);
      emit(`sizeof.${s.name}.${f.name}`, `sizeof(((struct ${s.name} *)0)->${f.name})`);
    }
  }
  for (const c of ALTP2M_CMDS) {
    emit(`member.${c.name}`, `__builtin_types_compatible_p(__typeof__(((struct xen_hvm_altp2m_op *)0)->u.${c.member}), struct ${c.struct})`);
  }
  emit('sizeof.altp2m.u', 'sizeof(((struct xen_hvm_altp2m_op *)0)->u)');
  emit('HVMOP_altp2m', 'HVMOP_altp2m');
  emit('HVMOP_ALTP2M_INTERFACE_VERSION', 'HVMOP_ALTP2M_INTERFACE_VERSION');
  emit('HVM_PARAM_ALTP2M', 'HVM_PARAM_ALTP2M');
  emit('HVM_PARAM_NESTEDHVM', 'HVM_PARAM_NESTEDHVM');
  for (const m of Object.keys(ALTP2M_MODES)) emit(`XEN_ALTP2M_${m}`, `XEN_ALTP2M_${m}`);
  for (const a of Object.keys(XENMEM_ACCESS)) emit(`XENMEM_access_${a}`, `XENMEM_access_${a}`);
  for (const r of XSM_RULES) if (!r.after417) emit(`macro.${r.macro}`, r.macro);
  for (const name of Object.keys(ARG_STRUCT_SIZES)) emit(`sizeof.struct.${name}`, `sizeof(struct ${name})`);
  for (const at of fieldLocs()) {
    if (at.struct === null) {
      emit(`sizeof.domid_t.${at.field}`, 'sizeof(domid_t)');
    } else {
      emit(`offsetof.${at.struct}.${at.field}`, `offsetof(struct ${at.struct}, ${at.field})`);
      emit(`sizeof.${at.struct}.${at.field}`, `sizeof(((struct ${at.struct} *)0)->${at.field})`);
    }
  }
  return [
    '#include <stddef.h>', '#include <stdio.h>', '#include <stdint.h>',
    ...INCLUDES.map((h) => `#include <${h}>`),
    'int main(void) {', ...lines, '  return 0;', '}', '',
  ].join('\n');
}

describeWithHeaders('policy tables match Xen 4.17 headers (libxen-dev)', INCLUDES.map((h) => path.join('/usr/include', h)), program, () => [], (fact) => {

  test.each(Object.values(ALTP2M_STRUCTS).map((s) => [s.name, s] as const))('struct %s: size and every field offset and width', (_n, s) => {
    expect(fact(`sizeof.${s.name}`)).toBe(s.size);
    for (const f of s.fields) {
      expect({ field: f.name, offset: fact(`offsetof.${s.name}.${f.name}`) }).toEqual({ field: f.name, offset: f.offset });
      expect({ field: f.name, width: fact(`sizeof.${s.name}.${f.name}`) }).toEqual({ field: f.name, width: SCALAR_SIZE[f.type] * (f.count ?? 1) });
    }
  });

  test('struct xen_hvm_altp2m_op is 80 bytes with a 64-byte union at 16', () => {
    expect(fact('sizeof.xen_hvm_altp2m_op')).toBe(80);
    expect(fact('offsetof.xen_hvm_altp2m_op.u')).toBe(16);
    expect(fact('sizeof.altp2m.u')).toBe(64);
  });

  test.each(ALTP2M_CMDS.map((c) => [c.name, c] as const))('HVMOP_altp2m_%s: number (via the XSM table) and union member type', (name, c) => {
    expect(fact(`macro.HVMOP_altp2m_${name}`)).toBe(c.cmd);
    expect(fact(`member.${name}`)).toBe(1);
  });

  test('altp2m constants: sub-command, interface version, params, modes, access values', () => {
    expect(fact('HVMOP_altp2m')).toBe(HVMOP_ALTP2M);
    expect(fact('HVMOP_ALTP2M_INTERFACE_VERSION')).toBe(HVMOP_ALTP2M_INTERFACE_VERSION);
    expect(fact('HVM_PARAM_ALTP2M')).toBe(HVM_PARAM_ALTP2M);
    expect(fact('HVM_PARAM_NESTEDHVM')).toBe(HVM_PARAM_NESTEDHVM);
    for (const [m, v] of Object.entries(ALTP2M_MODES)) expect({ m, v: fact(`XEN_ALTP2M_${m}`) }).toEqual({ m, v });
    for (const [a, v] of Object.entries(XENMEM_ACCESS)) expect({ a, v: fact(`XENMEM_access_${a}`) }).toEqual({ a, v });
  });

  test('every hypercall and sub-op number in the XSM table is the header\'s', () => {
    const rules = XSM_RULES.filter((r) => !r.after417);
    expect(rules.length).toBeGreaterThan(150);
    for (const r of rules) {
      expect({ rule: r.name, value: fact(`macro.${r.macro}`) }).toEqual({ rule: r.name, value: r.path[r.path.length - 1] });
    }
  });

  test('every struct field the table reads a sub-op or a domain from: offset and width', () => {
    const locs = fieldLocs();
    expect(locs.length).toBeGreaterThan(25);
    for (const at of locs) {
      if (at.struct === null) {
        expect({ field: at.field, width: fact(`sizeof.domid_t.${at.field}`) }).toEqual({ field: at.field, width: at.size });
        expect(at.offset).toBe(0);
        continue;
      }
      const k = `${at.struct}.${at.field}`;
      expect({ k, offset: fact(`offsetof.${k}`), width: fact(`sizeof.${k}`) }).toEqual({ k, offset: at.offset, width: at.size });
    }
  });

  test('every struct the table reads from: sizeof (the bytes snapshotted before the filter decides)', () => {
    const used = new Set(fieldLocs().map((at) => at.struct).filter((n) => n !== null));
    expect([...used].sort()).toEqual(Object.keys(ARG_STRUCT_SIZES).sort());
    for (const [name, size] of Object.entries(ARG_STRUCT_SIZES)) expect([name, fact(`sizeof.struct.${name}`)]).toEqual([name, size]);
  });

  test('only rules newer than 4.17 are excluded, and they are not in the 4.17 headers', () => {
    const newer = XSM_RULES.filter((r) => r.after417).map((r) => r.name);
    expect(newer).toEqual(['physdev_op/pci_device_reset']);
    const text = fs.readFileSync('/usr/include/xen/physdev.h', 'utf8');
    expect(text).not.toMatch(/PHYSDEVOP_pci_device_reset/);
  });
});

// The policy tables against Xen 4.17's headers (Debian libxen-dev), as
// test/abi/headers.test.ts does for lib/abi: a C program generated from the
// TypeScript tables is compiled and run, and what it prints is compared.
// Checked: every hypercall / sub-op number in the XSM table (the altp2m
// sub-ops included), and every struct offset the table reads a sub-op or a
// target domain from. The altp2m ABI itself: test/abi/altp2m-headers.test.ts.
// Without the headers the suite is skipped (and fails under CI, as there).
import * as fs from 'fs';
import * as path from 'path';
import { ALTP2M_CMDS } from '../../lib/abi';
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

  test.each(ALTP2M_CMDS.map((c) => [c.name, c] as const))('HVMOP_altp2m_%s: the XSM table\'s rule has the sub-op table\'s number', (name, c) => {
    expect(fact(`macro.HVMOP_altp2m_${name}`)).toBe(c.cmd);
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

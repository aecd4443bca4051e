// The altp2m ABI (lib/abi/altp2m.ts) against Xen 4.17's headers (Debian
// libxen-dev), as test/abi/headers.test.ts does for the rest of lib/abi: a C
// program generated from the tables is compiled and run, and what it prints
// is compared. Checked: struct xen_hvm_altp2m_op and every union member's
// layout, each sub-op's number and member, and the sub-command, interface
// version, params, modes and access values. Without the headers the suite
// is skipped (and fails under CI, as there).
import * as path from 'path';
import {
  ALTP2M_CMDS, ALTP2M_MODES, ALTP2M_OP_SIZE, ALTP2M_STRUCTS, ALTP2M_U, HVMOP_ALTP2M, HVMOP_ALTP2M_INTERFACE_VERSION, HVM_PARAM_ALTP2M,
  HVM_PARAM_NESTEDHVM, SCALAR_SIZE, XENMEM_ACCESS,
} from '../../lib/abi';
import { describeWithHeaders } from './probe';

const INCLUDES = ['xen/xen.h', 'xen/memory.h', 'xen/hvm/hvm_op.h', 'xen/hvm/params.h'];

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
    emit(`cmd.${c.name}`, `HVMOP_altp2m_${c.name}`);
    emit(`member.${c.name}`, `__builtin_types_compatible_p(__typeof__(((struct xen_hvm_altp2m_op *)0)->u.${c.member}), struct ${c.struct})`);
  }
  emit('sizeof.altp2m.u', 'sizeof(((struct xen_hvm_altp2m_op *)0)->u)');
  emit('HVMOP_altp2m', 'HVMOP_altp2m');
  emit('HVMOP_ALTP2M_INTERFACE_VERSION', 'HVMOP_ALTP2M_INTERFACE_VERSION');
  emit('HVM_PARAM_ALTP2M', 'HVM_PARAM_ALTP2M');
  emit('HVM_PARAM_NESTEDHVM', 'HVM_PARAM_NESTEDHVM');
  for (const m of Object.keys(ALTP2M_MODES)) emit(`XEN_ALTP2M_${m}`, `XEN_ALTP2M_${m}`);
  for (const a of Object.keys(XENMEM_ACCESS)) emit(`XENMEM_access_${a}`, `XENMEM_access_${a}`);
  return [
    '#include <stddef.h>', '#include <stdio.h>', '#include <stdint.h>',
    ...INCLUDES.map((h) => `#include <${h}>`),
    'int main(void) {', ...lines, '  return 0;', '}', '',
  ].join('\n');
}

describeWithHeaders('altp2m ABI matches Xen 4.17 headers (libxen-dev)', INCLUDES.map((h) => path.join('/usr/include', h)), program, () => [], (fact) => {

  test.each(Object.values(ALTP2M_STRUCTS).map((s) => [s.name, s] as const))('struct %s: size and every field offset and width', (_n, s) => {
    expect(fact(`sizeof.${s.name}`)).toBe(s.size);
    for (const f of s.fields) {
      expect({ field: f.name, offset: fact(`offsetof.${s.name}.${f.name}`) }).toEqual({ field: f.name, offset: f.offset });
      expect({ field: f.name, width: fact(`sizeof.${s.name}.${f.name}`) }).toEqual({ field: f.name, width: SCALAR_SIZE[f.type] * (f.count ?? 1) });
    }
  });

  test('struct xen_hvm_altp2m_op is ALTP2M_OP_SIZE bytes with a 64-byte union at ALTP2M_U', () => {
    expect(fact('sizeof.xen_hvm_altp2m_op')).toBe(ALTP2M_OP_SIZE);
    expect(fact('offsetof.xen_hvm_altp2m_op.u')).toBe(ALTP2M_U);
    expect(fact('sizeof.altp2m.u')).toBe(64);
  });

  test.each(ALTP2M_CMDS.map((c) => [c.name, c] as const))('HVMOP_altp2m_%s: number and union member type', (name, c) => {
    expect(fact(`cmd.${name}`)).toBe(c.cmd);
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
});

describe('the altp2m sub-op table', () => {
  test('each sub-op\'s IN and OUT fields are fields of its struct, and none is a pad', () => {
    for (const c of ALTP2M_CMDS) {
      const fields = new Map(ALTP2M_STRUCTS[c.struct].fields.map((f) => [f.name, f.dir]));
      for (const n of [...c.inputs, ...c.outputs]) expect({ cmd: c.name, n, dir: fields.get(n) ?? 'missing' }).not.toMatchObject({ dir: expect.stringMatching(/^(missing|pad)$/) });
    }
  });
});

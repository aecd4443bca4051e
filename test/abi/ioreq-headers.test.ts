// lib/abi/ioreq.ts against Xen's own headers (libxen-dev: xen/hvm/ioreq.h,
// xen/memory.h): a C program generated from the tables prints each offset,
// size, constant and, for each bitfield, the bytes a zeroed struct holds once
// that field alone is set to all-ones. Skipped (with the reason) without the
// headers, except under CI (PRIVCMD_SHIM_REQUIRE_XEN_HEADERS=1).
import {
  BUFFERED_IOPAGE_STRUCT, BUF_IOREQ_BITS, BUF_IOREQ_STRUCT, IOREQ_BITS, IOREQ_BUFFER_SLOT_NUM, IOREQ_READ, IOREQ_SERVER_FRAME,
  IOREQ_STATE, IOREQ_STRUCT, IOREQ_TYPE, IOREQ_WRITE, SCALAR_SIZE, SHARED_IOPAGE_VCPU_STRIDE, XENMEM_ACQUIRE_RESOURCE, XENMEM_RESOURCE, GRANT_TABLE_ID,
  type BitField, type StructLayout,
} from '../../lib/abi';
import { describeWithHeaders } from './probe';

const HEADERS = ['/usr/include/xen/hvm/ioreq.h', '/usr/include/xen/memory.h', '/usr/include/xen/xen.h'];

const STATE_NAMES: Record<keyof typeof IOREQ_STATE, string> = {
  NONE: 'STATE_IOREQ_NONE', IOREQ_READY: 'STATE_IOREQ_READY', IOREQ_INPROCESS: 'STATE_IOREQ_INPROCESS', IORESP_READY: 'STATE_IORESP_READY',
};

function program(): string {
  const lines: string[] = [];
  const emit = (key: string, expr: string) => lines.push(`  printf("%s=%llu\\n", "${key}", (unsigned long long)(${expr}));`);
  const structs: StructLayout[] = [IOREQ_STRUCT, BUF_IOREQ_STRUCT, BUFFERED_IOPAGE_STRUCT];
  for (const s of structs) {
    emit(`sizeof.${s.name}`, `sizeof(struct ${s.name})`);
    for (const f of s.fields) {
      emit(`offsetof.${s.name}.${f.name}`, `offsetof(struct ${s.name}, ${f.name})`);
      emit(`sizeof.${s.name}.${f.name}`, `sizeof(((struct ${s.name} *)0)->${f.name})`);
    }
  }
  const bits = (s: string, b: BitField) => {
    // Set the field alone to all-ones and read back its unit as a little-endian number.
    lines.push(`  { struct ${s} v; unsigned char *p = (unsigned char *)&v; unsigned long long u = 0; memset(&v, 0, sizeof v); v.${b.name} = ~0ull;`);
    lines.push(`    for (int i = 0; i < (int)sizeof v; i++) if (p[i] && (i < ${b.offset} || i >= ${b.offset + b.unit})) printf("outside.${s}.${b.name}=%d\\n", i);`);
    lines.push(`    for (int i = ${b.unit - 1}; i >= 0; i--) u = (u << 8) | p[${b.offset} + i];`);
    lines.push(`    printf("bits.${s}.${b.name}=%llu\\n", u); }`);
  };
  for (const b of Object.values(IOREQ_BITS)) bits('ioreq', b);
  for (const b of Object.values(BUF_IOREQ_BITS)) bits('buf_ioreq', b);
  emit('IOREQ_READ', 'IOREQ_READ');
  emit('IOREQ_WRITE', 'IOREQ_WRITE');
  for (const [k, c] of Object.entries(STATE_NAMES)) emit(`state.${k}`, c);
  for (const k of Object.keys(IOREQ_TYPE)) emit(`type.${k}`, `IOREQ_TYPE_${k}`);
  emit('IOREQ_BUFFER_SLOT_NUM', 'IOREQ_BUFFER_SLOT_NUM');
  emit('stride', 'sizeof(((struct shared_iopage *)0)->vcpu_ioreq[0])');
  for (const n of Object.keys(XENMEM_RESOURCE)) emit(`resource.${n}`, `XENMEM_resource_${n}`);
  for (const n of Object.keys(GRANT_TABLE_ID)) emit(`gnttab.${n}`, `XENMEM_resource_grant_table_id_${n}`);
  emit('acquire', 'XENMEM_acquire_resource');
  emit('frame.bufioreq', 'XENMEM_resource_ioreq_server_frame_bufioreq');
  for (const n of [0, 1, 5]) emit(`frame.ioreq.${n}`, `XENMEM_resource_ioreq_server_frame_ioreq(${n})`);
  return [
    '#include <stddef.h>', '#include <stdio.h>', '#include <stdint.h>', '#include <string.h>',
    '#include <xen/xen.h>', '#include <xen/memory.h>', '#include <xen/hvm/ioreq.h>',
    'int main(void) {', ...lines, '  return 0;', '}', '',
  ].join('\n');
}

describeWithHeaders('ioreq ABI matches xen/hvm/ioreq.h and xen/memory.h (libxen-dev)', HEADERS, program, () => ['-Wno-overflow'], (fact, has) => {

  test.each([IOREQ_STRUCT, BUF_IOREQ_STRUCT, BUFFERED_IOPAGE_STRUCT].map((s) => [s.name, s] as const))('struct %s: size and every field offset and width', (_n, s) => {
    expect(fact(`sizeof.${s.name}`)).toBe(s.size);
    for (const f of s.fields) {
      expect({ field: f.name, offset: fact(`offsetof.${s.name}.${f.name}`) }).toEqual({ field: f.name, offset: f.offset });
      expect({ field: f.name, width: fact(`sizeof.${s.name}.${f.name}`) }).toEqual({ field: f.name, width: SCALAR_SIZE[f.type] * (f.count ?? 1) });
    }
  });

  test.each([
    ...Object.values(IOREQ_BITS).map((b) => ['ioreq', b] as const),
    ...Object.values(BUF_IOREQ_BITS).map((b) => ['buf_ioreq', b] as const),
  ].map(([s, b]) => [`${s}.${b.name}`, s, b] as const))('bitfield %s: position and width', (key, _s, b) => {
    expect(has(`outside.${key}`)).toBe(false);
    expect(fact(`bits.${key}`)).toBe(((2 ** b.width - 1) * 2 ** b.shift));
  });

  test('the bitfields of each unit do not overlap and fill it', () => {
    for (const bits of [Object.values(IOREQ_BITS), Object.values(BUF_IOREQ_BITS)]) {
      let seen = 0;
      for (const b of bits) {
        const mask = (2 ** b.width - 1) * 2 ** b.shift;
        expect(seen & mask).toBe(0);
        seen = (seen | mask) >>> 0;
      }
      expect(seen).toBe(2 ** (8 * (bits[0] as BitField).unit) - 1);
    }
  });

  test('directions, states, types, slot count and the vCPU stride', () => {
    expect(fact('IOREQ_READ')).toBe(IOREQ_READ);
    expect(fact('IOREQ_WRITE')).toBe(IOREQ_WRITE);
    for (const [k, v] of Object.entries(IOREQ_STATE)) expect({ k, v: fact(`state.${k}`) }).toEqual({ k, v });
    for (const [k, v] of Object.entries(IOREQ_TYPE)) expect({ k, v: fact(`type.${k}`) }).toEqual({ k, v });
    expect(fact('IOREQ_BUFFER_SLOT_NUM')).toBe(IOREQ_BUFFER_SLOT_NUM);
    expect(fact('stride')).toBe(SHARED_IOPAGE_VCPU_STRIDE);
    expect(BUFFERED_IOPAGE_STRUCT.size).toBeLessThanOrEqual(4096);
  });

  test('the ioreq server resource type and frame numbers', () => {
    for (const [n, v] of Object.entries(XENMEM_RESOURCE)) expect({ n, v: fact(`resource.${n}`) }).toEqual({ n, v });
    for (const [n, v] of Object.entries(GRANT_TABLE_ID)) expect({ n, v: fact(`gnttab.${n}`) }).toEqual({ n, v });
    expect(fact('acquire')).toBe(XENMEM_ACQUIRE_RESOURCE);
    expect(fact('frame.bufioreq')).toBe(IOREQ_SERVER_FRAME.bufioreq);
    for (const n of [0, 1, 5]) expect(fact(`frame.ioreq.${n}`)).toBe(IOREQ_SERVER_FRAME.ioreq(n));
  });
});

// Every layout, op number, ioctl number, hypercall number, errno and special
// domid in lib/abi is checked against Xen's own headers (Debian libxen-dev:
// xen/sys/privcmd.h, xen/hvm/dm_op.h, xen/xen.h, xen/errno.h) by generating a
// C program from the TypeScript tables, compiling it with the system compiler
// and comparing what it prints. Without the headers the suite is skipped with
// the reason printed, except under CI (PRIVCMD_SHIM_REQUIRE_XEN_HEADERS=1, set
// by .ci/run, which installs libxen-dev), where their absence fails.
import * as fs from 'fs';
import * as os from 'os';
import {
  ARG_COPIED_FIRST, INTERFACE_VERSIONS, DMOPS, DMOP_STRUCTS, DMOP_TABLE_SIZE, DOMID, DOMIDS_AFTER_4_17, ERRNO, FLASK_OP, FLASK_STRUCTS, HYPERCALLS, IOCTLS, PRIVCMD_STRUCTS,
  HVM_NR_PARAMS, HVM_PARAM, SCALAR_SIZE, XEN_FLASK_INTERFACE_VERSION, EVTCHN_IOCTLS, EVTCHNOP, EVTCHN_2L_NR_CHANNELS, NR_VIRQS, VIRQ, XEN_FLASK_OP_HEADER_SIZE,
  type StructLayout,
} from '../../lib/abi';
import { compileProbe } from './probe';

const HEADERS = ['/usr/include/xen/sys/privcmd.h', '/usr/include/xen/sys/evtchn.h', '/usr/include/xen/event_channel.h', '/usr/include/xen/hvm/dm_op.h', '/usr/include/xen/xen.h', '/usr/include/xen/errno.h', '/usr/include/xen/xsm/flask_op.h', '/usr/include/xen/hvm/params.h'];
const haveHeaders = HEADERS.every((h) => fs.existsSync(h));
const required = process.env.PRIVCMD_SHIM_REQUIRE_XEN_HEADERS === '1';

// Compiled as Xen's own tools are (-D__XEN_TOOLS__: the current interface
// version, so no compat remapping of hypercall numbers).
function program(): string {
  const lines: string[] = [];
  const emit = (key: string, expr: string) => lines.push(`  printf("%s=%llu\\n", "${key}", (unsigned long long)(${expr}));`);
  const structs: StructLayout[] = [...Object.values(PRIVCMD_STRUCTS), ...Object.values(DMOP_STRUCTS), ...Object.values(FLASK_STRUCTS)];
  for (const s of structs) {
    emit(`sizeof.${s.name}`, `sizeof(struct ${s.name})`);
    for (const f of s.fields) {
      emit(`offsetof.${s.name}.${f.name}`, `offsetof(struct ${s.name}, ${f.name})`);
      emit(`sizeof.${s.name}.${f.name}`, `sizeof(((struct ${s.name} *)0)->${f.name})`);
    }
  }
  for (const d of DMOPS) {
    emit(`dmop.${d.name}`, `XEN_DMOP_${d.name}`);
    emit(`member.${d.name}`, `__builtin_types_compatible_p(__typeof__(((struct xen_dm_op *)0)->u.${d.member}), struct ${d.struct})`);
  }
  emit('sizeof.xen_dm_op.u', 'sizeof(((struct xen_dm_op *)0)->u)');
  for (const n of Object.keys(FLASK_OP)) emit(`flask.${n}`, `FLASK_${n}`);
  emit('flask.version', 'XEN_FLASK_INTERFACE_VERSION');
  emit('flask.u', 'offsetof(struct xen_flask_op, u)');
  emit('flask.u.relabel', '__builtin_types_compatible_p(__typeof__(((struct xen_flask_op *)0)->u.relabel), struct xen_flask_relabel)');
  emit('flask.u.sid_context', '__builtin_types_compatible_p(__typeof__(((struct xen_flask_op *)0)->u.sid_context), struct xen_flask_sid_context)');
  for (const io of Object.values(IOCTLS)) if (io.inXenSysHeader) emit(`ioctl.${io.name}`, io.name);
  for (const n of Object.keys(HYPERCALLS)) emit(`hypercall.${n}`, `__HYPERVISOR_${n}`);
  for (const a of Object.values(ARG_COPIED_FIRST)) emit(`sizeof.${a.struct}`, `sizeof(struct ${a.struct})`);
  for (const v of Object.values(INTERFACE_VERSIONS)) emit(`version.${v.macro}`, v.macro);
  for (const io of Object.values(EVTCHN_IOCTLS)) emit(`ioctl.${io.name}`, io.name);
  for (const n of Object.keys(EVTCHNOP)) emit(`evtchnop.${n}`, `EVTCHNOP_${n}`);
  for (const n of Object.keys(VIRQ)) emit(`virq.${n}`, `VIRQ_${n}`);
  emit('NR_VIRQS', 'NR_VIRQS');
  emit('evtchn_2l', 'sizeof(xen_ulong_t) * sizeof(xen_ulong_t) * 64');
  for (const n of Object.keys(DOMID)) if (!DOMIDS_AFTER_4_17.includes(n)) emit(`domid.${n}`, `DOMID_${n}`);
  for (const n of Object.keys(HVM_PARAM)) emit(`hvmparam.${n}`, `HVM_PARAM_${n}`);
  emit('HVM_NR_PARAMS', 'HVM_NR_PARAMS');
  for (const n of Object.keys(ERRNO)) lines.push(`#ifdef HAVE_XEN_${n}\n  printf("errno.${n}=%d\\n", (int)XEN_${n});\n#endif`);
  return [
    '#include <stddef.h>', '#include <stdio.h>', '#include <stdint.h>', '#include <sys/ioctl.h>',
    '#include <xen/xen.h>', '#include <xen/sys/privcmd.h>', '#include <xen/hvm/dm_op.h>', '#include <xen/xsm/flask_op.h>',
    '#include <xen/event_channel.h>', '#include <xen/sys/evtchn.h>', '#include <xen/hvm/params.h>', '#include <xen/platform.h>', '#include <xen/sysctl.h>', '#include <xen/domctl.h>',
    '#define XEN_ERRNO(name, value) XEN_##name = value,', 'enum xen_errno {', '#include <xen/errno.h>', '};',
    'int main(void) {', ...lines, '  return 0;', '}', '',
  ].join('\n');
}

// Names xen/errno.h exposes to guests (entries under `#ifdef __XEN__` are
// hypervisor-internal and never returned).
function xenErrnoNames(): Set<string> {
  const text = fs.readFileSync('/usr/include/xen/errno.h', 'utf8').replace(/#ifdef __XEN__[^]*?#endif/g, '');
  return new Set([...text.matchAll(/XEN_ERRNO\((\w+),/g)].map((m) => m[1] as string));
}

function compileAndRun(): Map<string, bigint> {
  const inXen = xenErrnoNames();
  return compileProbe(program(), Object.keys(ERRNO).filter((n) => inXen.has(n)).map((n) => `-DHAVE_XEN_${n}`));
}

const describeHeaders = haveHeaders || required ? describe : describe.skip;
if (!haveHeaders && !required) {

  console.warn('test/abi/headers: skipped because Xen headers are missing (apt-get install libxen-dev); .ci/run installs them and requires this suite');
}

describeHeaders('ABI tables match Xen 4.17 headers (libxen-dev)', () => {
  let facts: Map<string, bigint>;
  const fact = (k: string): number => {
    const v = facts.get(k);
    if (v === undefined) throw new Error(`probe printed no value for ${k}`);
    return Number(v);
  };

  beforeAll(() => {
    if (!haveHeaders) throw new Error(`Xen headers missing (${HEADERS.join(', ')}): install libxen-dev`);
    facts = compileAndRun();
  });

  const allStructs = [...Object.values(PRIVCMD_STRUCTS), ...Object.values(DMOP_STRUCTS), ...Object.values(FLASK_STRUCTS)];
  test.each(allStructs.map((s) => [s.name, s] as const))('struct %s: size and every field offset and width', (_n, s) => {
    expect(fact(`sizeof.${s.name}`)).toBe(s.size);
    for (const f of s.fields) {
      expect({ field: f.name, offset: fact(`offsetof.${s.name}.${f.name}`) }).toEqual({ field: f.name, offset: f.offset });
      expect({ field: f.name, width: fact(`sizeof.${s.name}.${f.name}`) }).toEqual({ field: f.name, width: SCALAR_SIZE[f.type] * (f.count ?? 1) });
    }
  });

  test('every table struct accounts for its whole size (fields + alignment padding only)', () => {
    for (const s of allStructs) {
      const sorted = [...s.fields].sort((a, b) => a.offset - b.offset);
      let end = 0;
      for (const f of sorted) {
        expect({ s: s.name, f: f.name, overlaps: f.offset < end }).toEqual({ s: s.name, f: f.name, overlaps: false });
        // A gap before a field is only legal as alignment padding.
        expect({ s: s.name, f: f.name, gap: f.offset - end < SCALAR_SIZE[f.type] }).toEqual({ s: s.name, f: f.name, gap: true });
        end = f.offset + SCALAR_SIZE[f.type] * (f.count ?? 1);
      }
      expect(s.size - end).toBeLessThan(8);
    }
  });

  test('Flask xsm_op: command numbers, interface version, the union and its relabel / sid_context members', () => {
    for (const [n, v] of Object.entries(FLASK_OP)) expect({ n, v: fact(`flask.${n}`) }).toEqual({ n, v });
    expect(fact('flask.version')).toBe(XEN_FLASK_INTERFACE_VERSION);
    expect(fact('flask.u')).toBe(XEN_FLASK_OP_HEADER_SIZE);
    expect(fact('flask.u.relabel')).toBe(1);
    expect(fact('flask.u.sid_context')).toBe(1);
  });

  test('HVM parameter numbers and HVM_NR_PARAMS (xen/hvm/params.h)', () => {
    for (const [n, v] of Object.entries(HVM_PARAM)) expect({ n, v: fact(`hvmparam.${n}`) }).toEqual({ n, v });
    expect(fact('HVM_NR_PARAMS')).toBe(HVM_NR_PARAMS);
  });

  test('xen_dm_op: 8-byte header and a 24-byte union', () => {
    expect(fact('sizeof.xen_dm_op.u')).toBe(24);
  });

  test.each(DMOPS.map((d) => [d.name, d] as const))('XEN_DMOP_%s: number and union member type', (_n, d) => {
    expect(fact(`dmop.${d.name}`)).toBe(d.op);
    expect(fact(`member.${d.name}`)).toBe(1);
  });

  test('DMOP numbers are 1..20 with no gaps, and op_size has 21 entries', () => {
    expect(DMOPS.map((d) => d.op)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(DMOP_TABLE_SIZE).toBe(21);
  });

  test('ioctl numbers', () => {
    for (const io of Object.values(IOCTLS)) {
      if (io.inXenSysHeader) expect({ name: io.name, value: fact(`ioctl.${io.name}`) }).toEqual({ name: io.name, value: io.request });
    }
  });

  test('event channels: /dev/xen/evtchn ioctls, EVTCHNOP and VIRQ numbers, NR_VIRQS, 2-level port count', () => {
    for (const io of Object.values(EVTCHN_IOCTLS)) expect({ name: io.name, value: fact(`ioctl.${io.name}`) }).toEqual({ name: io.name, value: io.request });
    for (const [n, v] of Object.entries(EVTCHNOP)) expect({ n, v: fact(`evtchnop.${n}`) }).toEqual({ n, v });
    for (const [n, v] of Object.entries(VIRQ)) expect({ n, v: fact(`virq.${n}`) }).toEqual({ n, v });
    expect(fact('NR_VIRQS')).toBe(NR_VIRQS);
    expect(fact('evtchn_2l')).toBe(EVTCHN_2L_NR_CHANNELS);
  });

  test('hypercall numbers', () => {
    for (const [n, v] of Object.entries(HYPERCALLS)) expect({ n, v: fact(`hypercall.${n}`) }).toEqual({ n, v });
    for (const a of Object.values(ARG_COPIED_FIRST)) expect({ s: a.struct, size: fact(`sizeof.${a.struct}`) }).toEqual({ s: a.struct, size: a.size });
    for (const v of Object.values(INTERFACE_VERSIONS)) expect({ m: v.macro, v: fact(`version.${v.macro}`) }).toEqual({ m: v.macro, v: v.version });
  });

  test('special domids', () => {
    for (const [n, v] of Object.entries(DOMID)) {
      if (!DOMIDS_AFTER_4_17.includes(n)) expect({ n, v: fact(`domid.${n}`) }).toEqual({ n, v });
    }
  });

  test('errno values: Xen header where it has them, Linux (os.constants) for all', () => {
    const inXen = xenErrnoNames();
    for (const [n, v] of Object.entries(ERRNO)) {
      if (inXen.has(n)) expect({ n, v: fact(`errno.${n}`) }).toEqual({ n, v });
      expect({ n, v: (os.constants.errno as Record<string, number>)[n] }).toEqual({ n, v });
    }
  });
});

describe('ioctl numbers not in Debian 4.17 xen/sys/privcmd.h match the Linux uAPI values', () => {
  // From include/uapi/xen/privcmd.h (IRQFD/IOEVENTFD use _IOW) and Xen's copy
  // for PCIDEV_GET_GSI (added to Linux's include/uapi/xen/privcmd.h after 6.1).
  test.each([
    ['IRQFD', 0x40185008],
    ['IOEVENTFD', 0x40305009],
    ['PCIDEV_GET_GSI', 0x0008500a],
  ] as const)('%s', (name, value) => {
    expect(IOCTLS[name].request).toBe(value);
    expect(IOCTLS[name].inXenSysHeader).toBe(false);
  });
});

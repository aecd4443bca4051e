// Answers the simulated host once got wrong and the real Xen 4.17.7 + Linux
// 6.1 host taught us (issue 15). Each case says where Xen decides it.
import { type Privcmd, type SimulatedHost } from '../../lib';
import { INTERFACE_VERSIONS } from '../../lib/abi/hypercalls';
import { encodeDmop } from '../../lib/dmop/codec';
import { code, withSimulatedWorld } from '../support/hostile';

let host: SimulatedHost;
let h: Privcmd;
let g: number;
withSimulatedWorld((w) => ({ host, h, g } = w));

const LAPIC = 0xfee00000n;
const msi = (data: number) => () => h.dmop(g, { op: 'inject_msi', data, addr: LAPIC });

describe('inject_msi delivery modes (vmsi_deliver, xen/arch/x86/hvm/vmsi.c)', () => {
  test('fixed delivery succeeds and is recorded', () => {
    expect(code(msi(0x0030))).toBe('ok');
    expect(host.inspect(g).injectedMsis).toEqual([{ addr: LAPIC, data: 0x30 }]);
  });

  test('every other delivery mode but lowest priority is EINVAL, and nothing is recorded', () => {
    for (const mode of [2, 3, 4, 5, 6, 7]) expect([mode, code(msi((mode << 8) | 0x30))]).toEqual([mode, 'EINVAL']);
    expect(host.inspect(g).injectedMsis).toEqual([]);
  });

  test('lowest priority to a guest that never ran (no vLAPIC enabled) is ESRCH', () => {
    expect(code(msi(0x0130))).toBe('ESRCH');
    expect(code(msi(0x8130))).toBe('ESRCH'); // level-triggered: the same
    expect(host.inspect(g).injectedMsis).toEqual([]);
  });

  test('vector 0 (a pirq MSI) is still ERANGE whatever the mode', () => {
    expect(code(msi(0x0300))).toBe('ERANGE');
  });
});

describe('relocate_memory (xenmem_add_to_physmap, xen/common/memory.c)', () => {
  test('onto a populated destination gfn succeeds: the source page replaces it as plain RAM, the source becomes a hole', () => {
    h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 1n, nr: 1 });
    expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 1, srcGfn: 1n, dstGfn: 2n }))).toBe('ok');
    // guest_physmap_add_page maps it as p2m_ram_rw: the ram_ro type stays behind.
    expect(host.inspect(g).memTypes).toEqual({});
    // gfn 1 is a hole now: a hole cannot become RAM through set_mem_type.
    expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 1n, nr: 1 }))).toBe('EINVAL');
  });
});

describe('modified_memory buffer count (XSA-506, in Debian 4.17.7)', () => {
  test('one buffer is EINVAL even outside log-dirty mode', () => {
    const [b0] = encodeDmop({ op: 'modified_memory', extents: [] });
    expect(code(() => h.dmopRaw(g, [b0!]))).toBe('EINVAL');
  });

  test('two buffers outside log-dirty mode: 0, nothing recorded', () => {
    expect(code(() => h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 1n, nr: 1 }] }))).toBe('ok');
  });
});

describe('a hypercall the simulator does not implement, with an unreadable argument', () => {
  test('platform_op and sysctl with NULL are EFAULT (copied in before XSM)', () => {
    expect(code(() => h.hypercall('platform_op', [0n, 0n, 0n, 0n, 0n]))).toBe('EFAULT');
    expect(code(() => h.hypercall('sysctl', [0n, 0n, 0n, 0n, 0n]))).toBe('EFAULT');
  });

  test('a readable argument with a wrong interface version is EACCES; with the right one ENOSYS (XSM allows dom0)', () => {
    const buf = h.hypercallBuffer(4096);
    expect(code(() => h.hypercall('platform_op', [buf.addr, 0n, 0n, 0n, 0n]))).toBe('EACCES');
    buf.view.writeUInt32LE(INTERFACE_VERSIONS.platform_op!.version, 4);
    expect(code(() => h.hypercall('platform_op', [buf.addr, 0n, 0n, 0n, 0n]))).toBe('ENOSYS');
  });
});

/** HVMOP_get_mem_type (struct xen_hvm_get_mem_type: domid, mem_type, pad, pfn). */
function memType(pfn: number): number {
  const arg = h.hypercallBuffer(16);
  arg.view.writeUInt16LE(g, 0);
  arg.view.writeBigUInt64LE(BigInt(pfn), 8);
  h.hypercall('hvm_op', [15n, arg.addr]);
  const t = arg.view.readUInt16LE(2);
  h.freeHypercallBuffer(arg);
  return t;
}
const RW = 0;
const RO = 1;

describe('write-protected RAM reads as ram_ro (p2m_ram_logdirty is p2m_is_readonly)', () => {
  test('log-dirty mode on: every RAM page reads ram_ro until the guest writes it; pages moved in are ram_rw', () => {
    host.setLogDirty(g, true);
    expect([memType(1), memType(2)]).toEqual([RO, RO]);
    host.guestWrite(g, 2);
    expect([memType(1), memType(2)]).toEqual([RO, RW]);
    h.dmop(g, { op: 'relocate_memory', size: 1, srcGfn: 1n, dstGfn: 100n });
    expect(memType(100)).toBe(RW);
  });

  test('track_dirty_vram protects its range, releases it when the range changes, and leaves a one-page range alone', () => {
    h.dmop(g, { op: 'track_dirty_vram', firstPfn: 8n, nr: 4 });
    expect([memType(7), memType(8), memType(11), memType(12)]).toEqual([RW, RO, RO, RW]);
    h.dmop(g, { op: 'track_dirty_vram', firstPfn: 10n, nr: 4 });
    expect([memType(8), memType(10)]).toEqual([RW, RO]);
    h.dmop(g, { op: 'track_dirty_vram', firstPfn: 20n, nr: 1 }); // seen on the real host: stays ram_rw
    expect([memType(10), memType(20)]).toEqual([RW, RW]);
    h.dmop(g, { op: 'track_dirty_vram', firstPfn: 20n, nr: 0 });
    expect(memType(20)).toBe(RW);
  });
});

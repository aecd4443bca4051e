// The simulated host's own side: what each DMOP does to a domain (seen
// through inspect()), atomicity of refused calls, device-model stub domains
// and XSM, and the toolstack controls.
import { open, type Privcmd } from '../../lib/privcmd';
import { createSimulatedHost, type SimulatedHost } from '../../lib/sim/host';
import { encodeDmop } from '../../lib/dmop/codec';

const code = (fn: () => unknown): string => {
  try { fn(); return 'ok'; } catch (e) { return (e as { code?: string }).code ?? String(e); }
};

let host: SimulatedHost;
let h: Privcmd;
let g: number;
beforeEach(() => {
  host = createSimulatedHost();
  g = host.createDomain({ type: 'hvm', vcpus: 2, memoryPages: 256 });
  h = open({ host });
});
afterEach(() => host.close());

describe('DMOP effects on the domain', () => {
  test('ioreq servers, ranges and state', () => {
    const { id } = h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 'legacy' });
    h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'port', start: 0x3f8n, end: 0x3ffn });
    h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'port', start: 0x400n, end: 0x40fn }); // touches: merges
    h.dmop(g, { op: 'set_ioreq_server_state', id, enabled: true });
    const s = host.inspect(g).ioreqServers[0]!;
    expect(s).toMatchObject({ id, emulator: 0, bufioreq: 1, enabled: true, ranges: { port: [[0x3f8n, 0x40fn]], memory: [], pci: [] } });
  });

  test('256 distinct ranges per type, then ENOMEM', () => {
    const { id } = h.dmop(g, { op: 'create_ioreq_server' });
    for (let i = 0n; i < 256n; i++) h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'memory', start: i * 16n, end: i * 16n + 1n });
    expect(code(() => h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'memory', start: 0x10000n, end: 0x10001n }))).toBe('ENOMEM');
    h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'memory', start: 2n, end: 3n }); // adjacent: merges, no new range
    expect(host.inspect(g).ioreqServers[0]!.ranges.memory).toHaveLength(256);
  });

  test('IRQ levels, PCI INTx and link routes', () => {
    h.dmop(g, { op: 'set_isa_irq_level', isaIrq: 4, level: 1 });
    h.dmop(g, { op: 'set_pci_intx_level', domain: 0, bus: 0, device: 3, intx: 1, level: true });
    h.dmop(g, { op: 'set_pci_link_route', link: 2, isaIrq: 10 });
    const s = host.inspect(g);
    expect(s.isaIrqLevels[4]).toBe(1);
    expect(s.pciIntxLevels).toEqual({ '3:1': 1 });
    expect(s.pciLinkRoutes).toEqual([0, 0, 10, 0]);
  });

  test('dirty VRAM follows guest writes; modified_memory marks the log-dirty bitmap', () => {
    expect(host.inspect(g).logDirty).toBe(false);
    h.dmop(g, { op: 'track_dirty_vram', firstPfn: 0x80n, nr: 16 });
    // Tracking VRAM does not turn log-dirty mode on; the toolstack does.
    expect(host.inspect(g)).toMatchObject({ logDirty: false, dirtyVram: { firstPfn: 0x80, nr: 16 } });
    host.setLogDirty(g, true);
    host.guestWrite(g, 0x81);
    host.guestWrite(g, 0x8f);
    host.guestWrite(g, 0x20); // outside the VRAM range
    expect([...h.dmop(g, { op: 'track_dirty_vram', firstPfn: 0x80n, nr: 16 }).bitmap]).toEqual([0x02, 0x80]);
    expect([...h.dmop(g, { op: 'track_dirty_vram', firstPfn: 0x80n, nr: 16 }).bitmap]).toEqual([0, 0]);
    expect(host.cleanDirtyLog(g)).toEqual([0x20, 0x81, 0x8f]);
    h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 5n, nr: 2 }, { firstPfn: 250n, nr: 5 }] });
    expect(host.cleanDirtyLog(g)).toEqual([5, 6, 250, 251, 252, 253, 254]);
    // Only populated pages are marked (pfn 300 is a hole).
    h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 299n, nr: 3 }] });
    expect(host.cleanDirtyLog(g)).toEqual([]);
    // Xen's bound is end_pfn > max_gpfn: the highest pfn itself can never be marked.
    const max = BigInt(host.inspect(g).maxGpfn);
    h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: max - 1n, nr: 1 }] });
    expect(code(() => h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: max, nr: 1 }] }))).toBe('EINVAL');
  });

  test('modified_memory outside log-dirty mode records nothing', () => {
    h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 5n, nr: 2 }] });
    expect(host.inspect(g).dirtyPages).toEqual([]);
  });

  test('set_mem_type stops at the first page it may not change (as Xen does)', () => {
    host.removeFromPhysmap(g, 12, 1); // a hole at pfn 12
    expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 10n, nr: 4 }))).toBe('EINVAL');
    expect(host.inspect(g).memTypes).toEqual({ 10: 'ram_ro', 11: 'ram_ro' });
  });

  test('injected events wait for the vCPU to run; MSIs and shutdown are recorded', () => {
    h.dmop(g, { op: 'inject_event', vcpuid: 1, vector: 14, type: 'hw_exc', errorCode: 2, cr2: 0x1000n });
    expect(host.inspect(g).pendingEvents[1]).toMatchObject({ vector: 14, type: 3, errorCode: 2, cr2: 0x1000n });
    host.unpauseDomain(g);
    const s = host.inspect(g);
    expect(s.pendingEvents).toEqual([null, null]);
    expect(s.deliveredEvents).toEqual([{ vcpu: 1, vector: 14, type: 3, insnLen: 0, errorCode: 2, cr2: 0x1000n }]);
    h.dmop(g, { op: 'inject_msi', addr: 0xfee00000n, data: 0x4041 });
    expect(host.inspect(g).injectedMsis).toEqual([{ addr: 0xfee00000n, data: 0x4041 }]);
    expect(code(() => h.dmop(g, { op: 'inject_msi', addr: 0xfee00000n, data: 0x4000 }))).toBe('ERANGE');
    h.dmop(g, { op: 'remote_shutdown', reason: 'crash' });
    h.dmop(g, { op: 'remote_shutdown', reason: 'reboot' }); // the first reason sticks
    expect(host.inspect(g).shutdownReason).toBe(3);
  });

  test('pinned cache attributes, up to 64 ranges', () => {
    for (let i = 0n; i < 64n; i++) h.dmop(g, { op: 'pin_memory_cacheattr', start: i * 2n, end: i * 2n, type: 'uc' });
    expect(code(() => h.dmop(g, { op: 'pin_memory_cacheattr', start: 1000n, end: 1000n, type: 'uc' }))).toBe('ENOSPC');
    expect(host.inspect(g).cacheattrPins).toHaveLength(64);
    expect(code(() => h.dmop(g, { op: 'pin_memory_cacheattr', start: 0n, end: 1n << 40n, type: 'wb' }))).toBe('EINVAL'); // past paddr_bits
  });

  test('without HAP, ioreq_server memory types are EOPNOTSUPP', () => {
    const shadow = host.createDomain({ hap: false });
    expect(code(() => h.dmop(shadow, { op: 'map_mem_type_to_ioreq_server', id: 0, type: 'ioreq_server', flags: 2 }))).toBe('EOPNOTSUPP');
  });
});

describe('a refused or failed call changes nothing', () => {
  test.each([
    ['create with a bad bufioreq', () => h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 7 })],
    ['map on a missing server', () => h.dmop(g, { op: 'map_io_range_to_ioreq_server', id: 1, type: 'port', start: 1n, end: 2n })],
    ['an overlapping range', () => h.dmop(g, { op: 'map_io_range_to_ioreq_server', id: 0, type: 'port', start: 0x10n, end: 0x10n })],
    ['a bad IRQ level', () => h.dmop(g, { op: 'set_isa_irq_level', isaIrq: 3, level: 5 })],
    ['inject_event to a missing vCPU', () => h.dmop(g, { op: 'inject_event', vcpuid: 9, vector: 1, type: 0 })],
    ['a too-small VRAM bitmap', () => h.dmopRaw(g, [encodeDmop({ op: 'track_dirty_vram', firstPfn: 0n, nr: 64 })[0]!, new Uint8Array(7)])],
    ['a restricted handle to another domain', () => { const r = open({ host }); r.restrict(g + 100); try { r.dmop(g, { op: 'create_ioreq_server' }); } finally { r.close(); } }],
    ['a bad pin range', () => h.dmop(g, { op: 'pin_memory_cacheattr', start: 5n, end: 4n, type: 'uc' })],
  ])('%s', (_what, fn) => {
    h.dmop(g, { op: 'create_ioreq_server' });
    h.dmop(g, { op: 'map_io_range_to_ioreq_server', id: 0, type: 'port', start: 0x10n, end: 0x20n });
    const before = host.inspect(g);
    expect(code(fn)).not.toBe('ok');
    expect(host.inspect(g)).toEqual(before);
  });
});

describe('device-model stub domains and XSM_DM_PRIV', () => {
  test('a stub domain may drive its target only; servers belong to their creator', () => {
    const stub = host.createDomain({ type: 'pvh', target: g });
    const other = host.createDomain();
    const dm = open({ host, domain: stub });
    try {
      const { id } = dm.dmop(g, { op: 'create_ioreq_server' });
      expect(host.inspect(g).ioreqServers[0]!.emulator).toBe(stub);
      expect(code(() => dm.dmop(other, { op: 'nr_vcpus' }))).toBe('EPERM');
      // dom0 (the control domain) may issue DMOPs, but the server is the stub's.
      expect(code(() => h.dmop(g, { op: 'set_ioreq_server_state', id, enabled: 1 }))).toBe('EPERM');
      expect(code(() => dm.hypercall('xen_version', [0]))).toBe('ok'); // xen_version is open to all
    } finally {
      dm.close();
    }
  });

  test('a plain guest may not issue DMOPs to another domain', () => {
    const guest = open({ host, domain: g });
    const other = host.createDomain();
    try {
      expect(code(() => guest.dmop(other, { op: 'nr_vcpus' }))).toBe('EPERM');
    } finally {
      guest.close();
    }
  });

  test('a dom0 without the control role is refused by XSM', () => {
    const split = createSimulatedHost({ dom0: { isControl: false } });
    const d = split.createDomain();
    const h0 = open({ host: split });
    expect(code(() => h0.dmop(d, { op: 'nr_vcpus' }))).toBe('EPERM');
    split.close();
  });
});

describe('driver parameters and caller memory', () => {
  test('dm_op_max_nr_bufs and dm_op_buf_max_size are host options', () => {
    const small = createSimulatedHost({ dmOpMaxNrBufs: 1, dmOpBufMaxSize: 31 });
    const d = small.createDomain();
    const hh = open({ host: small });
    const [b0] = encodeDmop({ op: 'nr_vcpus' });
    expect(code(() => hh.dmopRaw(d, [b0!]))).toBe('E2BIG'); // 32 > 31
    expect(hh.dmopRaw(d, [b0!.subarray(0, 12)])).toBe(0);
    expect(code(() => hh.dmopRaw(d, [b0!.subarray(0, 12), b0!.subarray(0, 12)]))).toBe('E2BIG');
    small.close();
  });

  test('results land in plain Uint8Arrays (staged) and in views of simulated memory (in place)', () => {
    const plain = encodeDmop({ op: 'nr_vcpus' })[0]!;
    h.dmopRaw(g, [plain]);
    expect(new DataView(plain.buffer).getUint32(8, true)).toBe(2);
    const mem = h.hypercallBuffer(32);
    mem.view.set(encodeDmop({ op: 'nr_vcpus' })[0]!);
    h.dmopRaw(g, [mem.view]);
    expect(mem.view.readUInt32LE(8)).toBe(2);
    h.dmopRaw(g, [{ addr: mem.addr, size: 32 }]);
    h.freeHypercallBuffer(mem);
  });
});

describe('toolstack controls', () => {
  test('bad domains and arguments', () => {
    expect(code(() => host.pauseDomain(999))).toBe('ESRCH');
    expect(code(() => host.inspect(999))).toBe('ESRCH');
    expect(code(() => host.createDomain({ vcpus: 0 }))).toBe('EINVAL');
    expect(code(() => host.createDomain({ type: 'xyz' as never }))).toBe('EINVAL');
    expect(code(() => host.createDomain({ target: 999 }))).toBe('ESRCH');
    expect(code(() => host.populatePhysmap(g, 0, 1))).toBe('EEXIST');
    expect(code(() => host.guestWrite(g, 100000))).toBe('EFAULT');
    expect(code(() => host.destroyDomain(0))).toBe('EINVAL');
  });

  test('destroy: the domain is gone (ESRCH) for DMOPs', () => {
    host.destroyDomain(g);
    expect(code(() => h.dmop(g, { op: 'nr_vcpus' }))).toBe('ESRCH');
  });

  test('populating raises the highest gpfn; removing makes holes', () => {
    expect(host.inspect(g).maxGpfn).toBe(0xfeff7); // the ioreq server pages libxl populates
    host.populatePhysmap(g, 0x100000, 2);
    expect(host.inspect(g).maxGpfn).toBe(0x100001);
    host.removeFromPhysmap(g, 0x100000, 1);
    expect(code(() => host.guestWrite(g, 0x100000))).toBe('EFAULT');
  });

  test('a closed host refuses everything with EBADF', () => {
    host.close();
    expect(code(() => host.createDomain())).toBe('EBADF');
  });
});

// The privcmd contract: what any backend must do, observed only through the
// public API (return values, error codes, and state that hypercalls expose),
// so the same cases run on the simulated host here and against the real
// /dev/xen/privcmd in the real-host harness. Where Xen 4.17 and newer Xen
// differ, the case says which behaviour it expects and why.
import type { Privcmd } from '../../lib/privcmd';
import type { EventChannels } from '../../lib/evtchn';
import { encodeDmop } from '../../lib/dmop/codec';
import { createFilter, type HypercallFilter } from '../../lib/policy/filter';
import { restrictAll, verifyRestricted, type ProcessSelector } from '../../lib/deprivilege/restrict-all';
import { encodeAltp2mOp, ALTP2M_CMDS, type Altp2mRequest } from '../../lib/policy/altp2m';
import { altp2mOp } from '../../lib/clients/altp2m';
import { encodeFlaskRelabel, flaskContextToSid, flaskRelabelDomain, flaskStatus, relabelDomain } from '../../lib/clients/flask';
import { buildDomain, type BuildToolstack } from '../../lib/deprivilege/build';
import type { PrivcmdError } from '../../lib/errors';

export interface ContractEnv {
  /** A fresh, unrestricted handle in the control domain (dom0), with a filter if given. */
  open(options?: { filter?: HypercallFilter }): Privcmd;
  /** A fresh, unrestricted event-channel handle in dom0. */
  openEvtchn(): EventChannels;
  /** A fresh paused HVM domain with `vcpus` vCPUs and `memoryPages` pages of RAM from pfn 0. */
  freshGuest(): number;
  readonly vcpus: number;
  readonly memoryPages: number;
  /** A PV domain, where the platform has one. */
  readonly pvDomain?: number;
  /** A domain id that does not exist. */
  readonly missingDomain: number;
  /** The caller's own domain id. */
  readonly selfDomain: number;
  /** Buffers given as { addr, size } into the caller's memory (simulated host, or a test-only device path). */
  readonly rawPointers?: { kernel: bigint; unmapped: bigint };
  /** Turn on a domain's log-dirty mode (what XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY does). */
  enableLogDirty(domid: number): void;
  /** The process env.open() opens handles in, for restrictAll/verifyRestricted. */
  readonly process: ProcessSelector;
  /** Destroy domains made by freshGuest (after all). */
  cleanup(): void;
}

const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? `threw ${String(e)}`;
  }
};

/** HVMOP_get_param (cmd 1) / set_param (0) through struct xen_hvm_param: the call's code and the value after. */
function hvmParam(h: Privcmd, cmd: 0 | 1, domid: number, index: number, value = 0n): { code: string; value: bigint } {
  const buf = h.hypercallBuffer(16);
  try {
    const dv = new DataView(buf.view.buffer, buf.view.byteOffset, 16);
    dv.setUint16(0, domid, true);
    dv.setUint32(4, index, true);
    dv.setBigUint64(8, value, true);
    const c = code(() => h.hypercall('hvm_op', [cmd, buf.addr]));
    return { code: c, value: dv.getBigUint64(8, true) };
  } finally {
    h.freeHypercallBuffer(buf);
  }
}

/** Buffer 0 for a raw call: the encoded op, then patched. */
function raw(op: Parameters<typeof encodeDmop>[0], patch?: (b: DataView) => void): Uint8Array[] {
  const bufs = encodeDmop(op);
  if (patch) patch(new DataView(bufs[0]!.buffer, bufs[0]!.byteOffset, bufs[0]!.byteLength));
  return bufs;
}

/** What an environment can do, known when the suite is defined (so cases it cannot run are skipped, visibly). */
export interface ContractCapabilities {
  /** It has a PV domain to target. */
  pvDomain: boolean;
  /** Buffers may be given as { addr, size } into the caller's memory. */
  rawPointers: boolean;
  /**
   * Xen supports altp2m: booted with `altp2m=1` on VMX with EPT. Default
   * false, as Xen 4.17 boots by default (and always on AMD, where 4.17 has
   * no altp2m): every HVMOP_altp2m is then EOPNOTSUPP.
   */
  altp2m?: boolean;
}

export function privcmdContract(name: string, caps: ContractCapabilities, makeEnv: () => ContractEnv): void {
  // A case the environment cannot run is skipped, and its name says why.
  const when = (ok: boolean, why: string) => (title: string, fn: () => void) => (ok ? test(title, fn) : test.skip(`${title} [skipped: ${why}]`, fn));
  describe(`privcmd contract: ${name}`, () => {
    let env: ContractEnv;
    let h: Privcmd;
    let g: number;
    beforeAll(() => { env = makeEnv(); });
    afterAll(() => env.cleanup());
    beforeEach(() => {
      h = env.open();
      g = env.freshGuest();
    });
    afterEach(() => h.close());

    describe('restriction', () => {
      test('restricting to the same domain twice is fine; another domain is EINVAL', () => {
        expect(h.restrictedTo).toBeNull();
        h.restrict(g);
        h.restrict(g);
        expect(h.restrictedTo).toBe(g);
        expect(code(() => h.restrict(env.freshGuest()))).toBe('EINVAL');
        expect(h.restrictedTo).toBe(g);
      });

      test('after restrict: DMOPs to the target pass, to any other domain EPERM, raw hypercalls EPERM', () => {
        h.restrict(g);
        expect(h.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: env.vcpus });
        expect(code(() => h.dmop(env.freshGuest(), { op: 'nr_vcpus' }))).toBe('EPERM');
        expect(code(() => h.dmop(env.missingDomain, { op: 'nr_vcpus' }))).toBe('EPERM');
        expect(code(() => h.hypercall('xen_version', [0]))).toBe('EPERM');
      });

      test('the restriction is checked before everything else, even a zero-buffer call', () => {
        h.restrict(g);
        expect(code(() => h.dmopRaw(env.missingDomain, []))).toBe('EPERM');
        expect(h.dmopRaw(g, [])).toBe(0);
      });

      test('restricting to DOMID_INVALID is refused client-side (it would be a silent no-op)', () => {
        expect(code(() => h.restrict(0x7ff4))).toBe('EINVAL');
        expect(h.restrictedTo).toBeNull();
      });

      test('restrictAsync', async () => {
        await h.restrictAsync(g);
        expect(h.restrictedTo).toBe(g);
        await expect(h.restrictAsync(g + 1)).rejects.toMatchObject({ code: 'EINVAL' });
      });
    });

    describe('DM_OP buffer rules (driver, then Xen)', () => {
      test('zero buffers: 0, without asking Xen (any domain)', () => {
        expect(h.dmopRaw(env.missingDomain, [])).toBe(0);
      });

      test('3..16 buffers pass the driver and Xen says E2BIG; 17 the driver says E2BIG', () => {
        const b = () => encodeDmop({ op: 'nr_vcpus' })[0]!;
        expect(code(() => h.dmopRaw(g, [b(), b(), b()]))).toBe('E2BIG');
        expect(code(() => h.dmopRaw(g, Array.from({ length: 16 }, b)))).toBe('E2BIG');
        expect(code(() => h.dmopRaw(g, Array.from({ length: 17 }, b)))).toBe('E2BIG');
      });

      test('a buffer over 4096 bytes is E2BIG; 4096 is fine', () => {
        const big = new Uint8Array(4096);
        big.set(encodeDmop({ op: 'nr_vcpus' })[0]!);
        expect(h.dmopRaw(g, [big])).toBe(0);
        expect(new DataView(big.buffer).getUint32(8, true)).toBe(env.vcpus);
        const bigger = new Uint8Array(4097);
        bigger.set(encodeDmop({ op: 'nr_vcpus' })[0]!);
        expect(code(() => h.dmopRaw(g, [bigger]))).toBe('E2BIG');
      });

      test('buffer 0 shorter than the header, or than header + the op, is EFAULT', () => {
        expect(code(() => h.dmopRaw(g, [new Uint8Array(0)]))).toBe('EFAULT');
        expect(code(() => h.dmopRaw(g, [new Uint8Array(7)]))).toBe('EFAULT');
        const op = encodeDmop({ op: 'get_ioreq_server_info', id: 0 })[0]!;
        expect(code(() => h.dmopRaw(g, [op.subarray(0, 8 + 23)]))).toBe('EFAULT');
      });

      test('only the op\'s own size is needed: header + op size exactly is enough', () => {
        const op = encodeDmop({ op: 'nr_vcpus' })[0]!.slice(0, 8 + 4);
        expect(h.dmopRaw(g, [op])).toBe(0);
        expect(new DataView(op.buffer).getUint32(8, true)).toBe(env.vcpus);
      });

      test('unknown ops are EOPNOTSUPP: 0, 21, 0xffffffff, and 19 (set_irq_level is Arm-only)', () => {
        for (const op of [0, 21, 0xffffffff, 19]) {
          const b = new Uint8Array(32);
          new DataView(b.buffer).setUint32(0, op, true);
          expect({ op, code: code(() => h.dmopRaw(g, [b])) }).toEqual({ op, code: 'EOPNOTSUPP' });
        }
      });

      test('a non-zero header pad is EINVAL', () => {
        expect(code(() => h.dmopRaw(g, raw({ op: 'nr_vcpus' }, (v) => v.setUint32(4, 1, true))))).toBe('EINVAL');
      });

      test('Xen answers even with a second, unused buffer', () => {
        const [b0] = encodeDmop({ op: 'nr_vcpus' });
        expect(h.dmopRaw(g, [b0!, new Uint8Array(16)])).toBe(0);
      });

      test('an empty buffer is passed so the driver can pin it: stop tracking dirty VRAM with nr 0', () => {
        h.dmop(g, { op: 'track_dirty_vram', firstPfn: 16n, nr: 8 });
        expect(h.dmop(g, { op: 'track_dirty_vram', firstPfn: 0n, nr: 0 }).bitmap).toHaveLength(0);
        const [b0] = encodeDmop({ op: 'nr_vcpus' });
        expect(h.dmopRaw(g, [b0!, new Uint8Array(0)])).toBe(0);
      });

      when(caps.rawPointers, 'needs raw pointers into caller memory')('caller memory the kernel cannot use: kernel-range and unmapped buffers are EFAULT', () => {
        const p = env.rawPointers!;
        expect(code(() => h.dmopRaw(g, [{ addr: p.kernel, size: 32 }]))).toBe('EFAULT');
        expect(code(() => h.dmopRaw(g, [{ addr: p.unmapped, size: 32 }]))).toBe('EFAULT');
        // Zero-size at an aligned address or NULL pins no page: lock_pages
        // says EFAULT, even where Xen would never read the buffer.
        expect(code(() => h.dmopRaw(g, [{ addr: 0n, size: 0 }]))).toBe('EFAULT');
        const [b0] = encodeDmop({ op: 'nr_vcpus' });
        expect(code(() => h.dmopRaw(g, [b0!, { addr: 0n, size: 0 }]))).toBe('EFAULT');
        expect(code(() => h.dmopRaw(g, [b0!, { addr: p.unmapped, size: 0 }]))).toBe('EFAULT');
        expect(code(() => h.dmopRaw(g, [{ addr: p.unmapped + 1n, size: 0 }]))).toBe('EFAULT'); // unaligned: pins a missing page
      });
    });

    describe('target domain', () => {
      test('a missing domain is ESRCH; DOMID_SELF is not resolved (ESRCH)', () => {
        expect(code(() => h.dmop(env.missingDomain, { op: 'nr_vcpus' }))).toBe('ESRCH');
        expect(code(() => h.dmop(0x7ff0, { op: 'nr_vcpus' }))).toBe('ESRCH');
      });

      test('the caller\'s own domain is EPERM', () => {
        expect(code(() => h.dmop(env.selfDomain, { op: 'nr_vcpus' }))).toBe('EPERM');
      });

      when(caps.pvDomain, 'no PV domain on this platform')('a PV domain is EINVAL', () => {
        expect(code(() => h.dmop(env.pvDomain!, { op: 'nr_vcpus' }))).toBe('EINVAL');
      });

      test('nr_vcpus reports the domain\'s vCPUs; async too', async () => {
        expect(h.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: env.vcpus });
        await expect(h.dmopAsync(g, { op: 'nr_vcpus' })).resolves.toEqual({ vcpus: env.vcpus });
        await expect(h.dmopAsync(env.missingDomain, { op: 'nr_vcpus' })).rejects.toMatchObject({ code: 'ESRCH', syscall: 'ioctl' });
      });
    });

    describe('ioreq server lifecycle', () => {
      test('create, info, map, enable, unmap, disable, destroy', () => {
        const { id } = h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 'atomic' });
        const info = h.dmop(g, { op: 'get_ioreq_server_info', id });
        // Pages from libxl's pool (0xfeff0..0xfeff7); event channels: one per
        // vCPU, the buffered one right after vCPU 0's.
        expect(info).toEqual({ ioreqGfn: 0xfeff0n, bufioreqGfn: 0xfeff1n, bufioreqPort: 2 });
        expect(h.dmop(g, { op: 'get_ioreq_server_info', id })).toEqual(info); // stable once mapped
        h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'port', start: 0x3f8n, end: 0x3ffn });
        h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'memory', start: 0xfebf0000n, end: 0xfebf0fffn });
        h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'pci', start: 0x18n, end: 0x18n });
        h.dmop(g, { op: 'set_ioreq_server_state', id, enabled: true });
        h.dmop(g, { op: 'unmap_io_range_from_ioreq_server', id, type: 'port', start: 0x3f8n, end: 0x3ffn });
        h.dmop(g, { op: 'set_ioreq_server_state', id, enabled: false });
        h.dmop(g, { op: 'destroy_ioreq_server', id });
        expect(code(() => h.dmop(g, { op: 'get_ioreq_server_info', id }))).toBe('ENOENT');
        expect(code(() => h.dmop(g, { op: 'destroy_ioreq_server', id }))).toBe('ENOENT');
      });

      test('eight servers per domain, then ENOSPC; ids are reused after destroy', () => {
        const ids = Array.from({ length: 8 }, () => h.dmop(g, { op: 'create_ioreq_server' }).id);
        expect(new Set(ids).size).toBe(8);
        expect(code(() => h.dmop(g, { op: 'create_ioreq_server' }))).toBe('ENOSPC');
        h.dmop(g, { op: 'destroy_ioreq_server', id: ids[3]! });
        expect(h.dmop(g, { op: 'create_ioreq_server' }).id).toBe(ids[3]);
        for (const id of ids) h.dmop(g, { op: 'destroy_ioreq_server', id });
      });

      test('create: handle_bufioreq above 2 or a non-zero pad is EINVAL', () => {
        expect(code(() => h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 3 }))).toBe('EINVAL');
        expect(code(() => h.dmopRaw(g, raw({ op: 'create_ioreq_server' }, (v) => v.setUint8(9, 1))))).toBe('EINVAL');
      });

      test('get_ioreq_server_info: unknown flags EINVAL, unknown id ENOENT, no_gfns leaves the gfns alone', () => {
        const { id } = h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 0 });
        expect(code(() => h.dmop(g, { op: 'get_ioreq_server_info', id, flags: 2 }))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'get_ioreq_server_info', id: 7 }))).toBe('ENOENT');
        expect(code(() => h.dmop(g, { op: 'get_ioreq_server_info', id: 200 }))).toBe('ENOENT');
        const r = h.dmop(g, { op: 'get_ioreq_server_info', id, flags: 1 });
        expect(r).toEqual({ bufioreqPort: 0, ioreqGfn: 0n, bufioreqGfn: 0n });
        h.dmop(g, { op: 'destroy_ioreq_server', id });
      });

      test('ranges: start > end and unknown types EINVAL; overlaps EEXIST; unmapping what is not mapped ENOENT', () => {
        const { id } = h.dmop(g, { op: 'create_ioreq_server' });
        expect(code(() => h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'port', start: 2n, end: 1n }))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 3, start: 1n, end: 2n }))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'map_io_range_to_ioreq_server', id: 6, type: 'port', start: 1n, end: 2n }))).toBe('ENOENT');
        h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'port', start: 0x60n, end: 0x64n });
        expect(code(() => h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'port', start: 0x64n, end: 0x70n }))).toBe('EEXIST');
        h.dmop(g, { op: 'map_io_range_to_ioreq_server', id, type: 'memory', start: 0x64n, end: 0x70n }); // other type: fine
        expect(code(() => h.dmop(g, { op: 'unmap_io_range_from_ioreq_server', id, type: 'port', start: 0x60n, end: 0x65n }))).toBe('ENOENT');
        h.dmop(g, { op: 'unmap_io_range_from_ioreq_server', id, type: 'port', start: 0x61n, end: 0x62n }); // a split
        expect(code(() => h.dmopRaw(g, raw({ op: 'map_io_range_to_ioreq_server', id, type: 0, start: 1n, end: 1n }, (v) => v.setUint16(10, 1, true))))).toBe('EINVAL');
        h.dmop(g, { op: 'destroy_ioreq_server', id });
      });

      test('set_ioreq_server_state and destroy: non-zero pad EINVAL, unknown id ENOENT', () => {
        const { id } = h.dmop(g, { op: 'create_ioreq_server' });
        expect(code(() => h.dmopRaw(g, raw({ op: 'set_ioreq_server_state', id, enabled: 1 }, (v) => v.setUint8(11, 1))))).toBe('EINVAL');
        expect(code(() => h.dmopRaw(g, raw({ op: 'destroy_ioreq_server', id }, (v) => v.setUint16(10, 1, true))))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'set_ioreq_server_state', id: 5, enabled: 1 }))).toBe('ENOENT');
        h.dmop(g, { op: 'destroy_ioreq_server', id });
      });
    });

    describe('interrupts', () => {
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

    describe('memory', () => {
      const memType = (hh: Privcmd, domid: number, pfn: bigint): number => {
        const arg = hh.hypercallBuffer(16);
        const dv = new DataView(arg.view.buffer, arg.view.byteOffset, 16);
        dv.setUint16(0, domid, true);
        dv.setBigUint64(8, pfn, true);
        hh.hypercall('hvm_op', [15, arg.addr]);
        const t = dv.getUint16(2, true);
        hh.freeHypercallBuffer(arg);
        return t;
      };

      test('set_mem_type: ram_rw <-> ram_ro, seen through HVMOP_get_mem_type', () => {
        expect(memType(h, g, 5n)).toBe(0);
        h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 5n, nr: 2 });
        expect([memType(h, g, 4n), memType(h, g, 5n), memType(h, g, 6n), memType(h, g, 7n)]).toEqual([0, 1, 1, 0]);
        h.dmop(g, { op: 'set_mem_type', memType: 'ram_rw', firstPfn: 5n, nr: 2 });
        expect(memType(h, g, 5n)).toBe(0);
        expect(memType(h, g, BigInt(env.memoryPages + 10))).toBe(2); // a hole reads as mmio_dm
      });

      test('set_mem_type: empty or out-of-range ranges, unused and unknown types, no ioreq claim: EINVAL', () => {
        const last = BigInt(env.memoryPages - 1);
        expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 0, firstPfn: 1n, nr: 0 }))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 0, firstPfn: last, nr: 2 }))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'unused', firstPfn: 1n, nr: 1 }))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 5, firstPfn: 1n, nr: 1 }))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ioreq_server', firstPfn: 1n, nr: 1 }))).toBe('EINVAL');
        expect(code(() => h.dmopRaw(g, raw({ op: 'set_mem_type', memType: 0, firstPfn: 1n, nr: 1 }, (v) => v.setUint16(14, 1, true))))).toBe('EINVAL');
      });

      test('map_mem_type_to_ioreq_server: claim, second claim EBUSY, pages become ioreq_server, release resets them', () => {
        const { id } = h.dmop(g, { op: 'create_ioreq_server' });
        const { id: other } = h.dmop(g, { op: 'create_ioreq_server' });
        expect(code(() => h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id, type: 'ram_rw', flags: 2 }))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id, type: 'ioreq_server', flags: 1 }))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id: 7, type: 'ioreq_server', flags: 2 }))).toBe('ENOENT');
        h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id, type: 'ioreq_server', flags: 2 });
        expect(code(() => h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id: other, type: 'ioreq_server', flags: 2 }))).toBe('EBUSY');
        expect(code(() => h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id: other, type: 'ioreq_server', flags: 0 }))).toBe('EINVAL');
        h.dmop(g, { op: 'set_mem_type', memType: 'ioreq_server', firstPfn: 8n, nr: 1 });
        expect(memType(h, g, 8n)).toBe(4);
        expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_ro', firstPfn: 8n, nr: 1 }))).toBe('EINVAL');
        h.dmop(g, { op: 'map_mem_type_to_ioreq_server', id, type: 'ioreq_server', flags: 0 });
        expect(memType(h, g, 8n)).toBe(0);
        h.dmop(g, { op: 'destroy_ioreq_server', id });
        h.dmop(g, { op: 'destroy_ioreq_server', id: other });
      });

      test('track_dirty_vram: a new range reads all dirty, then clean; size and buffer checks', () => {
        const first = h.dmop(g, { op: 'track_dirty_vram', firstPfn: 16n, nr: 12 }).bitmap;
        expect([...first]).toEqual([0xff, 0xff]); // Xen memsets the whole bitmap, bits past nr included
        expect([...h.dmop(g, { op: 'track_dirty_vram', firstPfn: 16n, nr: 12 }).bitmap]).toEqual([0, 0]);
        h.dmop(g, { op: 'track_dirty_vram', firstPfn: 0n, nr: 0 }); // stop tracking
        const one = encodeDmop({ op: 'track_dirty_vram', firstPfn: 0n, nr: 8 });
        expect(code(() => h.dmopRaw(g, [one[0]!]))).toBe('EINVAL'); // no bitmap buffer
        expect(code(() => h.dmopRaw(g, [one[0]!, new Uint8Array(0)]))).toBe('EINVAL'); // bitmap too small
        const huge = encodeDmop({ op: 'track_dirty_vram', firstPfn: 0n, nr: 8 })[0]!;
        new DataView(huge.buffer).setUint32(8, 262145, true);
        expect(code(() => h.dmopRaw(g, [huge, new Uint8Array(4096)]))).toBe('EINVAL'); // more than 1 GiB of pages
        expect(code(() => h.dmopRaw(g, raw({ op: 'track_dirty_vram', firstPfn: 0n, nr: 8 }, (v) => v.setUint32(12, 1, true))))).toBe('EINVAL'); // pad
      });

      test('modified_memory: bad extents are EINVAL (when in log-dirty mode, else ignored)', () => {
        // Not in log-dirty mode: Xen returns 0 without looking at the extents.
        expect(h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 1n << 40n, nr: 1 }] })).toEqual({});
        // Tracking dirty VRAM does not turn the domain's log-dirty mode on (Xen 4.17.7).
        h.dmop(g, { op: 'track_dirty_vram', firstPfn: 0n, nr: 8 });
        expect(h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 1n << 40n, nr: 1 }] })).toEqual({});
        env.enableLogDirty(g);
        h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 1n, nr: 3 }, { firstPfn: 10n, nr: 1 }] });
        expect(code(() => h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 1n << 40n, nr: 1 }] }))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'modified_memory', extents: [{ firstPfn: 1n, nr: 0 }] }))).toBe('EINVAL');
        const [b0, ext] = encodeDmop({ op: 'modified_memory', extents: [{ firstPfn: 1n, nr: 1 }] });
        new DataView(ext!.buffer).setUint32(4, 1, true);
        expect(code(() => h.dmopRaw(g, [b0!, ext!]))).toBe('EINVAL'); // extent pad
        const [c0] = encodeDmop({ op: 'modified_memory', extents: [{ firstPfn: 1n, nr: 1 }, { firstPfn: 2n, nr: 1 }] });
        expect(code(() => h.dmopRaw(g, [c0!, new Uint8Array(16)]))).toBe('EINVAL'); // 2 extents announced, 1 present
      });

      test('relocate_memory moves pages; a hole as source is EINVAL; pad EINVAL', () => {
        const hole = BigInt(env.memoryPages + 64);
        h.dmop(g, { op: 'relocate_memory', size: 2, srcGfn: 20n, dstGfn: hole });
        expect([memType(h, g, 20n), memType(h, g, hole), memType(h, g, hole + 1n)]).toEqual([2, 0, 0]);
        expect(code(() => h.dmop(g, { op: 'relocate_memory', size: 1, srcGfn: 20n, dstGfn: 30n }))).toBe('EINVAL');
        expect(code(() => h.dmopRaw(g, raw({ op: 'relocate_memory', size: 1, srcGfn: 21n, dstGfn: 30n }, (v) => v.setUint32(12, 1, true))))).toBe('EINVAL');
      });

      test('pin_memory_cacheattr: pin, retype, overlap EBUSY, delete, delete again ENOENT, bad input EINVAL', () => {
        h.dmop(g, { op: 'pin_memory_cacheattr', start: 0xa0n, end: 0xbfn, type: 'uc' });
        h.dmop(g, { op: 'pin_memory_cacheattr', start: 0xa0n, end: 0xbfn, type: 'wc' });
        expect(code(() => h.dmop(g, { op: 'pin_memory_cacheattr', start: 0xb0n, end: 0xc0n, type: 'wb' }))).toBe('EBUSY');
        h.dmop(g, { op: 'pin_memory_cacheattr', start: 0xa0n, end: 0xbfn, type: 'delete' });
        expect(code(() => h.dmop(g, { op: 'pin_memory_cacheattr', start: 0xa0n, end: 0xbfn, type: 'delete' }))).toBe('ENOENT');
        expect(code(() => h.dmop(g, { op: 'pin_memory_cacheattr', start: 2n, end: 1n, type: 'wb' }))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'pin_memory_cacheattr', start: 1n, end: 2n, type: 2 }))).toBe('EINVAL');
        expect(code(() => h.dmopRaw(g, raw({ op: 'pin_memory_cacheattr', start: 1n, end: 2n, type: 6 }, (v) => v.setUint32(28, 1, true))))).toBe('EINVAL');
      });
    });

    describe('raw hypercalls', () => {
      test('xen_version: 4.17; extraversion and capabilities land in hypercall memory', () => {
        expect(h.hypercall('xen_version', [0])).toBe((4n << 16n) | 17n);
        const buf = h.hypercallBuffer(1024);
        expect(h.hypercall('xen_version', [1, buf.addr])).toBe(0n);
        expect(buf.view.toString('latin1', 0, buf.view.indexOf(0))).toMatch(/^[.\w+-]*$/);
        expect(h.hypercall('xen_version', [3, buf.addr])).toBe(0n);
        expect(buf.view.toString('latin1', 0, buf.view.indexOf(0))).toContain('hvm-3.0-x86_64');
        expect(h.hypercall(17, [7])).toBe(4096n);
        h.freeHypercallBuffer(buf);
      });

      test('unknown sub-commands and hypercalls are ENOSYS, even past the old hypercall page', () => {
        expect(code(() => h.hypercall('xen_version', [99]))).toBe('ENOSYS');
        expect(code(() => h.hypercall(60, []))).toBe('ENOSYS');
        // Debian's 6.1 kernel issues hypercalls by number, not through the
        // hypercall page, so op 128 reaches Xen (seen on the real host).
        expect(code(() => h.hypercall(128, []))).toBe('ENOSYS');
      });

      test('dm_op as a raw hypercall: Xen\'s own checks (more than 2 buffers E2BIG, bad pointer EFAULT)', () => {
        const mem = h.hypercallBuffer(64);
        const op = mem; // buffer 0 inside hypercall memory, then the descriptor
        op.view.set(encodeDmop({ op: 'nr_vcpus' })[0]!);
        const desc = h.hypercallBuffer(48);
        const dv = new DataView(desc.view.buffer, desc.view.byteOffset, 48);
        dv.setBigUint64(0, op.addr, true);
        dv.setBigUint64(8, 32n, true);
        expect(h.hypercall('dm_op', [g, 1, desc.addr])).toBe(0n);
        expect(op.view.readUInt32LE(8)).toBe(env.vcpus);
        expect(code(() => h.hypercall('dm_op', [g, 3, desc.addr]))).toBe('E2BIG');
        expect(code(() => h.hypercall('dm_op', [g, 1, 0n]))).toBe('EFAULT');
        h.freeHypercallBuffer(mem);
        h.freeHypercallBuffer(desc);
      });

      test('hvm_op get/set_param: index past HVM_NR_PARAMS EINVAL, missing domain ESRCH', () => {
        const pages = hvmParam(h, 1, g, 33); // HVM_PARAM_NR_IOREQ_SERVER_PAGES
        expect(pages.code).toBe('ok');
        expect(pages.value).toBeGreaterThan(0n);
        expect(hvmParam(h, 1, g, 39).code).toBe('EINVAL');
        expect(hvmParam(h, 1, env.missingDomain, 1).code).toBe('ESRCH');
      });
    });

    describe('hypercall filter (decided before the kernel sees the call)', () => {
      test('device-model role: its target passes; another domain is refused by the filter, not by Xen', () => {
        const g2 = env.freshGuest();
        const f = env.open({ filter: createFilter({ role: 'device-model', target: g }) });
        try {
          expect(f.dmop(g, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus);
          let err: { code?: string; message?: string } = {};
          try {
            f.dmop(g2, { op: 'nr_vcpus' });
          } catch (e) {
            err = e as typeof err;
          }
          expect(err.code).toBe('EPERM');
          expect(err.message).toContain(`filter: rule dm_op/nr_vcpus [XSM_DM_PRIV, dummy.h xsm_dm_op] refuses role device-model(target ${g}) on domain ${g2}`);
          expect(h.dmop(g2, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus); // the same call unfiltered: Xen allows dom0
          // hvm_op get_param: the filter reads the domid from the argument struct.
          expect(hvmParam(f, 1, g, 33).code).toBe('ok'); // HVM_PARAM_NR_IOREQ_SERVER_PAGES
          expect(hvmParam(f, 1, g2, 33).code).toBe('EPERM');
        } finally {
          f.close();
        }
      });

      // Copy once (Xen's copy_from_guest discipline): the filter decides on a
      // snapshot the handle owns, and the snapshot is what is sent.
      test('copy once: buffer 0 of a dmopRawAsync rewritten after the check: the checked op runs, never the rewritten one', async () => {
        const f = env.open({ filter: createFilter({ role: 'device-model', target: g, deny: ['dm_op/remote_shutdown'] }) });
        try {
          const denied = raw({ op: 'remote_shutdown', reason: 'poweroff' })[0]!;
          expect(code(() => f.dmopRaw(g, [denied]))).toBe('EPERM'); // the deny rule holds when it is seen
          const bufs = raw({ op: 'nr_vcpus' });
          const b0 = bufs[0]!;
          expect(b0.length).toBe(denied.length);
          const p = f.dmopRawAsync(g, bufs);
          b0.set(denied); // after the check, before the call runs
          await expect(p).resolves.toBe(0);
          const dv = new DataView(b0.buffer, b0.byteOffset, b0.byteLength);
          // nr_vcpus ran: Xen's vCPU count landed where remote_shutdown's
          // reason (0, poweroff) sits; the op word is still the caller's.
          expect(dv.getUint32(0, true)).toBe(new DataView(denied.buffer, denied.byteOffset).getUint32(0, true));
          expect(dv.getUint32(8, true)).toBe(env.vcpus);
          expect(h.dmop(g, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus);
        } finally {
          f.close();
        }
      });

      test('copy once: an hvm_op struct rewritten to another domain after a hypercallAsync check still reaches the checked domain only', async () => {
        const g2 = env.freshGuest();
        const TIMER_MODE = 10; // HVM_PARAM_TIMER_MODE: 0..3, settable by the device model
        const before2 = hvmParam(h, 1, g2, TIMER_MODE).value;
        expect(before2).not.toBe(2n);
        const f = env.open({ filter: createFilter({ role: 'device-model', target: g }) });
        const buf = f.hypercallBuffer(16);
        try {
          const dv = new DataView(buf.view.buffer, buf.view.byteOffset, 16);
          dv.setUint16(0, g2, true);
          dv.setUint32(4, TIMER_MODE, true);
          dv.setBigUint64(8, 2n, true);
          expect(code(() => f.hypercall('hvm_op', [0, buf.addr]))).toBe('EPERM'); // g2 is refused when it is seen
          dv.setUint16(0, g, true);
          const p = f.hypercallAsync('hvm_op', [0, buf.addr]);
          dv.setUint16(0, g2, true); // after the check, before the call runs
          await expect(p).resolves.toBe(0n);
          expect(hvmParam(h, 1, g2, TIMER_MODE).value).toBe(before2);
          expect(hvmParam(h, 1, g, TIMER_MODE).value).toBe(2n);
          expect(dv.getUint16(0, true)).toBe(g2); // only what Xen changed is copied back: the caller's domid stays
        } finally {
          f.freeHypercallBuffer(buf);
          f.close();
        }
      });

      test('copy once: only genuine Uint8Arrays: a Proxy, a look-alike or a detached buffer is EINVAL before anything is sent', () => {
        const f = env.open({ filter: createFilter({ role: 'device-model', target: g, deny: ['dm_op/remote_shutdown'] }) });
        try {
          const allowed = raw({ op: 'nr_vcpus' })[0]!;
          const denied = raw({ op: 'remote_shutdown', reason: 'poweroff' })[0]!;
          let reads = 0;
          // Answers the filter's first reads with the allowed op, later ones with the denied one.
          const proxy = new Proxy(allowed, {
            get(t, k, r) {
              if (typeof k === 'string' && /^\d+$/.test(k)) return (reads++ < 4 ? t : denied)[Number(k)];
              const v = Reflect.get(t, k, r) as unknown;
              return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
            },
          });
          expect(proxy instanceof Uint8Array).toBe(true);
          expect(code(() => f.dmopRaw(g, [proxy]))).toBe('EINVAL');
          expect(code(() => h.dmopRaw(g, [proxy]))).toBe('EINVAL');
          const lookAlike = Object.create(Uint8Array.prototype, { length: { value: 32 }, 0: { value: 0 } }) as Uint8Array;
          expect(code(() => f.dmopRaw(g, [lookAlike]))).toBe('EINVAL');
          const gone = raw({ op: 'nr_vcpus' })[0]!;
          structuredClone(gone.buffer, { transfer: [gone.buffer as ArrayBuffer] });
          expect(code(() => h.dmopRaw(g, [gone]))).toBe('EINVAL');
          expect(reads).toBe(0); // refused before anything read the proxy's bytes
          expect(h.dmop(g, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus);
        } finally {
          f.close();
        }
      });

      test('control role (XSM_HW_PRIV split): platform_op and the physdev PCI ops are refused; composes with restrict', () => {
        const f = env.open({ filter: createFilter({ role: 'control' }) });
        try {
          expect(f.hypercall('xen_version', [0, 0])).toBeGreaterThan(0n);
          const e = (() => { try { f.hypercall('platform_op', [0]); return {}; } catch (x) { return x as { code?: string; message?: string }; } })();
          expect(e.code).toBe('EPERM');
          expect(e.message).toContain('XSM_HW_PRIV');
          expect(f.dmop(g, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus);
          f.restrict(g);
          expect(f.dmop(g, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus);
          expect(code(() => f.hypercall('xen_version', [0, 0]))).toBe('EPERM'); // the driver's restriction
        } finally {
          f.close();
        }
      });
    });

    describe('relabel-on-build (xsm_op) on a Xen without Flask: the dummy XSM module', () => {
      const LABEL = 'system_u:system_r:domU_t';
      const raw = (op: Uint8Array): string => {
        const buf = h.hypercallBuffer(op.length);
        try {
          buf.view.set(op);
          return code(() => h.hypercall('xsm_op', [buf.addr]));
        } finally {
          h.freeHypercallBuffer(buf);
        }
      };

      test('FLASK_CONTEXT_TO_SID and FLASK_RELABEL_DOMAIN: ENOSYS, reported as "no Flask"; the domain is untouched', () => {
        let e: PrivcmdError | null = null;
        try {
          flaskContextToSid(h, LABEL);
        } catch (x) {
          e = x as PrivcmdError;
        }
        expect(e).toMatchObject({ code: 'ENOSYS', errno: -38, syscall: 'ioctl' });
        expect(e?.message).toContain('without Flask');
        expect(code(() => flaskRelabelDomain(h, g, 1))).toBe('ENOSYS');
        expect(code(() => relabelDomain(h, g, LABEL))).toBe('ENOSYS');
        expect(h.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: env.vcpus });
      });

      test('flaskStatus: absent (FLASK_GETENFORCE is ENOSYS); a restricted handle is refused first (EPERM)', () => {
        expect(flaskStatus(h)).toBe('absent');
        h.restrict(g);
        expect(code(() => flaskStatus(h))).toBe('EPERM');
      });

      test('the dummy module reads nothing: a bad version, an unknown command and an unreadable op are ENOSYS alike', () => {
        const badVersion = encodeFlaskRelabel(g, 1);
        new DataView(badVersion.buffer).setUint32(4, 2, true);
        const unknown = encodeFlaskRelabel(g, 1);
        new DataView(unknown.buffer).setUint32(0, 99, true);
        expect([raw(encodeFlaskRelabel(g, 1)), raw(badVersion), raw(unknown)]).toEqual(['ENOSYS', 'ENOSYS', 'ENOSYS']);
        expect(code(() => h.hypercall('xsm_op', [0x10n]))).toBe('ENOSYS');
      });

      test('the build flow fails with ENOSYS before it creates anything', async () => {
        const calls: string[] = [];
        const toolstack: BuildToolstack = {
          create: () => { calls.push('create'); return g; },
          isPaused: () => { calls.push('isPaused'); return true; },
          unpause: () => { calls.push('unpause'); },
          destroy: () => { calls.push('destroy'); },
        };
        let e: PrivcmdError | null = null;
        try {
          await buildDomain({ toolstack, handle: h, buildLabel: 'system_u:system_r:vm_building_t', runLabel: 'system_u:system_r:vm_t', build: () => { calls.push('build'); } });
        } catch (x) {
          e = x as PrivcmdError;
        }
        expect(e?.code).toBe('ENOSYS');
        expect(calls).toEqual([]);
      });
    });

    altp2mCases(caps, () => ({ env, h, g }));

    describe('handle lifecycle and arguments', () => {
      test('every use of a closed handle is EBADF; closing twice is harmless', async () => {
        h.close();
        expect(h.closed).toBe(true);
        expect(code(() => h.dmop(g, { op: 'nr_vcpus' }))).toBe('EBADF');
        expect(code(() => h.dmopRaw(g, []))).toBe('EBADF');
        expect(code(() => h.restrict(g))).toBe('EBADF');
        expect(code(() => h.hypercall('xen_version', [0]))).toBe('EBADF');
        await expect(h.dmopAsync(g, { op: 'nr_vcpus' })).rejects.toMatchObject({ code: 'EBADF' });
        expect(() => h.close()).not.toThrow();
      });

      test('close() with dmopAsync and dmopRawAsync in flight: each settles with its real result', async () => {
        const typed = Array.from({ length: 4 }, () => h.dmopAsync(g, { op: 'nr_vcpus' }));
        const bufs = Array.from({ length: 2 }, () => encodeDmop({ op: 'nr_vcpus' }));
        const raw = bufs.map((b) => h.dmopRawAsync(g, b));
        const refused = h.dmopAsync(env.missingDomain, { op: 'nr_vcpus' });
        h.close();
        expect(await Promise.all(typed)).toEqual(Array(4).fill({ vcpus: env.vcpus }));
        expect(await Promise.all(raw)).toEqual([0, 0]);
        for (const [b0] of bufs) expect(new DataView(b0!.buffer, b0!.byteOffset).getUint32(8, true)).toBe(env.vcpus);
        await expect(refused).rejects.toMatchObject({ code: 'ESRCH', syscall: 'ioctl' });
      });

      test('dmopRawAsync: more than 16 buffers or one over 4096 bytes is E2BIG; Xen\'s writes land in the caller\'s buffer', async () => {
        const b = () => encodeDmop({ op: 'nr_vcpus' })[0]!;
        await expect(h.dmopRawAsync(g, Array.from({ length: 17 }, b))).rejects.toMatchObject({ code: 'E2BIG', syscall: 'ioctl' });
        const big = new Uint8Array(4097);
        big.set(b());
        await expect(h.dmopRawAsync(g, [big])).rejects.toMatchObject({ code: 'E2BIG', syscall: 'ioctl' });
        const ok = new Uint8Array(4096);
        ok.set(b());
        await expect(h.dmopRawAsync(g, [ok])).resolves.toBe(0);
        expect(new DataView(ok.buffer).getUint32(8, true)).toBe(env.vcpus);
      });

      test('freeHypercallBuffer while a hypercallAsync using it is in flight: the call completes, and no new buffer gets its address meanwhile', async () => {
        const buf = h.hypercallBuffer(1024);
        const p = h.hypercallAsync('xen_version', [3, buf.addr]); // XENVER_capabilities into buf
        h.freeHypercallBuffer(buf);
        expect(buf.view.length).toBe(0);
        expect(code(() => h.freeHypercallBuffer(buf))).toBe('EINVAL');
        const other = h.hypercallBuffer(1024);
        expect(other.addr).not.toBe(buf.addr);
        await expect(p).resolves.toBe(0n);
        h.freeHypercallBuffer(other);
      });

      test('close() frees the hypercall buffers, after an in-flight hypercallAsync completes; freeing one afterwards is EBADF', async () => {
        const buf = h.hypercallBuffer(1024);
        const spare = h.hypercallBuffer(64);
        const p = h.hypercallAsync('xen_version', [3, buf.addr]);
        h.close();
        await expect(p).resolves.toBe(0n);
        for (const b of [buf, spare]) {
          expect(b.view.length).toBe(0);
          expect(code(() => h.freeHypercallBuffer(b))).toBe('EBADF');
        }
      });

      test('bad arguments are EINVAL before anything reaches the kernel', () => {
        for (const bad of [-1, 65536, 1.5, '1', null]) {
          expect({ bad, code: code(() => h.dmop(bad as number, { op: 'nr_vcpus' })) }).toEqual({ bad, code: 'EINVAL' });
        }
        expect(code(() => h.dmop(g, { op: 'nope' } as never))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'nr_vcpus', extra: 1 } as never))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'set_isa_irq_level', isaIrq: 256, level: 0 }))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'set_isa_irq_level', isaIrq: 1 } as never))).toBe('EINVAL');
        expect(code(() => h.dmop(g, { op: 'track_dirty_vram', firstPfn: -1n, nr: 1 }))).toBe('EINVAL');
        expect(code(() => h.dmopRaw(g, [[1, 2] as unknown as Uint8Array]))).toBe('EINVAL');
        expect(code(() => h.hypercall('nope' as never, []))).toBe('EINVAL');
        expect(code(() => h.hypercall(17, [0, 0, 0, 0, 0, 0]))).toBe('EINVAL');
        expect(code(() => h.hypercall(17, [-1]))).toBe('EINVAL');
      });
    });

    // Last: a process restricted by restrictAll stays restricted.
    describe('restrictAll and verifyRestricted (the process stays restricted afterwards, so this runs last)', () => {
      test('all handles, earlier and later, end up restricted, and verifyRestricted proves it; nothing half-done on refusal', () => {
        const g2 = env.freshGuest();
        const a = env.open();
        const b = env.open({ filter: createFilter({ role: 'dom0' }) });
        const c = env.open();
        c.restrict(g2);
        // Never restricted: verifyRestricted refuses to say otherwise.
        const ev = env.openEvtchn();
        const unrestricted = (() => { try { verifyRestricted(env.process); return null; } catch (e) { return e as { code?: string; report?: { handles: { ok: boolean; probes: Record<string, string> }[] } }; } })();
        expect(unrestricted?.code).toBe('ERR_PRIVCMD_NOT_RESTRICTED');
        expect(unrestricted?.report?.handles.some((x) => !x.ok && x.probes.hypercall === 'ok')).toBe(true);
        expect(unrestricted?.report?.handles.some((x) => !x.ok && x.probes.unboundPort === 'ok')).toBe(true);
        // A handle bound to another domain: EINVAL, and nothing changes.
        expect(code(() => restrictAll(g, env.process))).toBe('EINVAL');
        expect(a.restrictedTo).toBeNull();
        expect(ev.restrictedTo).toBeNull();
        expect(a.hypercall('xen_version', [0])).toBeGreaterThan(0n);
        c.close();
        expect(restrictAll(g, env.process).domid).toBe(g);
        expect(restrictAll(g, env.process).domid).toBe(g); // again: fine
        expect(code(() => restrictAll(g2, env.process))).toBe('EINVAL');
        for (const x of [a, b, h]) {
          expect(x.restrictedTo).toBe(g);
          expect(code(() => x.hypercall('xen_version', [0]))).toBe('EPERM');
          expect(x.dmop(g, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus);
        }
        // The event-channel handle too, with evtchn's rules.
        expect(ev.restrictedTo).toBe(g);
        expect(code(() => ev.bindUnboundPort(0))).toBe('EACCES');
        expect(code(() => ev.bindInterdomain(g2, 1))).toBe('EACCES');
        // A later open() cannot escape, of either kind.
        const d = env.open();
        expect(d.restrictedTo).toBe(g);
        expect(code(() => d.dmop(g2, { op: 'nr_vcpus' }))).toBe('EPERM');
        expect(code(() => d.restrict(g2))).toBe('EINVAL');
        const ev2 = env.openEvtchn();
        expect(ev2.restrictedTo).toBe(g);
        expect(code(() => ev2.bindUnboundPort(0))).toBe('EACCES');
        const report = verifyRestricted(env.process);
        expect(report.domid).toBe(g);
        expect(report.handles.filter((x) => x.handle === 'privcmd').length).toBeGreaterThanOrEqual(4);
        expect(report.handles.filter((x) => x.handle === 'evtchn').length).toBe(2);
        for (const x of report.handles) expect(x).toMatchObject({ restrictedTo: g, opened: false, ok: true });
        for (const x of report.handles) expect(Object.values(x.probes).every((v) => v === 'EPERM' || v === 'EACCES')).toBe(true);
        for (const x of [a, b, d, ev, ev2]) x.close();
      });
    });
  });
}

/**
 * altp2m as Xen 4.17 answers it on a domain without altp2m, and
 * HVM_PARAM_ALTP2M (facts §5). Only the public API; which answers to expect
 * depends on whether this Xen supports altp2m at all (caps.altp2m).
 */
function altp2mCases(caps: ContractCapabilities, get: () => { env: ContractEnv; h: Privcmd; g: number }): void {
  const supported = caps.altp2m === true;
  const when = (ok: boolean, why: string) => (title: string, fn: () => void) => (ok ? test(title, fn) : test.skip(`${title} [skipped: ${why}]`, fn));
  /** Without altp2m support every HVMOP_altp2m is EOPNOTSUPP, before anything else. */
  const ifSupported = (errno: string): string => (supported ? errno : 'EOPNOTSUPP');
  const altp2m = (h: Privcmd, request: Altp2mRequest, patch?: (v: DataView) => void): string => {
    const buf = h.hypercallBuffer(80);
    buf.view.set(encodeAltp2mOp(request));
    if (patch) patch(new DataView(buf.view.buffer, buf.view.byteOffset, 80));
    const r = code(() => h.hypercall('hvm_op', [25, buf.addr]));
    h.freeHypercallBuffer(buf);
    return r;
  };

  describe(`altp2m on a domain without altp2m (Xen 4.17; this Xen ${supported ? 'supports' : 'does not support'} altp2m)`, () => {
    test('HVM_PARAM_ALTP2M of a fresh guest reads 0 (disabled)', () => {
      const { h, g } = get();
      expect(hvmParam(h, 1, g, 35)).toEqual({ code: 'ok', value: 0n });
    });

    test('get_domain_state and set_domain_state: EINVAL (the mode is disabled), or EOPNOTSUPP without altp2m support', () => {
      const { h, g } = get();
      expect(altp2m(h, { cmd: 'get_domain_state', domain: g })).toBe(ifSupported('EINVAL'));
      expect(altp2m(h, { cmd: 'set_domain_state', domain: g, state: 1 })).toBe(ifSupported('EINVAL'));
    });

    test('every other sub-op: EOPNOTSUPP (altp2m is not active)', () => {
      const { h, g } = get();
      for (const c of ALTP2M_CMDS.filter((x) => x.cmd > 2)) {
        const b = new Uint8Array(80);
        new DataView(b.buffer).setUint32(0, 1, true);
        new DataView(b.buffer).setUint32(4, c.cmd, true);
        new DataView(b.buffer).setUint16(8, g, true);
        const buf = h.hypercallBuffer(80);
        buf.view.set(b);
        expect({ cmd: c.name, code: code(() => h.hypercall('hvm_op', [25, buf.addr])) }).toEqual({ cmd: c.name, code: 'EOPNOTSUPP' });
        h.freeHypercallBuffer(buf);
      }
    });

    test('check order: pads and version (EINVAL), then the command (unknown: EOPNOTSUPP), then the domain (ESRCH)', () => {
      const { env, h, g } = get();
      const req: Altp2mRequest = { cmd: 'get_domain_state', domain: g };
      expect(altp2m(h, req, (v) => v.setUint32(0, 2, true))).toBe(ifSupported('EINVAL'));
      expect(altp2m(h, req, (v) => v.setUint16(10, 1, true))).toBe(ifSupported('EINVAL'));
      expect(altp2m(h, req, (v) => { v.setUint32(12, 1, true); v.setUint32(4, 99, true); })).toBe(ifSupported('EINVAL'));
      expect(altp2m(h, req, (v) => { v.setUint32(4, 17, true); v.setUint16(8, env.missingDomain, true); })).toBe('EOPNOTSUPP');
      expect(altp2m(h, req, (v) => v.setUint32(4, 0, true))).toBe('EOPNOTSUPP');
      expect(altp2m(h, { cmd: 'get_domain_state', domain: env.missingDomain })).toBe(ifSupported('ESRCH'));
    });

    when(caps.pvDomain, 'no PV domain on this platform')('a PV domain: EOPNOTSUPP', () => {
      const { env, h } = get();
      expect(altp2m(h, { cmd: 'get_domain_state', domain: env.pvDomain! })).toBe('EOPNOTSUPP');
    });

    test('HVM_PARAM_ALTP2M (Xen 4.17; read-only since 4.19): the control domain sets it once, 0..3; altp2m stays off', () => {
      const { h, g } = get();
      expect(hvmParam(h, 0, g, 35, 4n).code).toBe('EINVAL');
      expect(hvmParam(h, 0, g, 35, 1n).code).toBe('ok');
      expect(hvmParam(h, 1, g, 35)).toEqual({ code: 'ok', value: 1n });
      expect(hvmParam(h, 0, g, 35, 1n).code).toBe('ok'); // the same value again
      expect(hvmParam(h, 0, g, 35, 2n).code).toBe('EEXIST');
      // A mode, but not active: get_domain_state answers 0 where altp2m is supported.
      if (supported) expect(altp2mOp(h, { cmd: 'get_domain_state', domain: g })).toEqual({ state: false });
      else expect(altp2m(h, { cmd: 'get_domain_state', domain: g })).toBe('EOPNOTSUPP');
      expect(altp2m(h, { cmd: 'switch_p2m', domain: g, view: 0 })).toBe('EOPNOTSUPP');
    });
  });
}

/** The altp2m cases alone, for an environment that differs from the main suite's only in altp2m support. */
export function altp2mContract(name: string, caps: ContractCapabilities, makeEnv: () => ContractEnv): void {
  describe(`privcmd contract (altp2m): ${name}`, () => {
    let env: ContractEnv;
    let h: Privcmd;
    let g: number;
    beforeAll(() => { env = makeEnv(); });
    afterAll(() => env.cleanup());
    beforeEach(() => {
      h = env.open();
      g = env.freshGuest();
    });
    afterEach(() => h.close());
    altp2mCases(caps, () => ({ env, h, g }));
  });
}

// The I/O Xen handles itself on the simulated host, before any ioreq
// server sees an access (xen/arch/x86/hvm/intercept.c hvm_io_intercept,
// hvm_process_io_intercept), and the null handler for what nobody claims
// (xen/arch/x86/hvm/io.c: reads all-ones, writes dropped). The simulated
// Xen registers three of the handlers Xen 4.17 gives an HVM domain
// (hvm_domain_initialise): the 0xcf8 latch, which always falls through to
// the ioreq servers (xen/arch/x86/hvm/ioreq.c hvm_access_cf8); the standard
// VGA window's fast path, which sends single direct writes to 0xa0000-0xbffff
// through the buffered ring (xen/arch/x86/hvm/stdvga.c; HVM guests only,
// since PVH has no emulated VGA); and the debug console on port 0xe9
// (xen/arch/x86/hvm/hvm.c hvm_print_line). The PIT, RTC, PIC, PM timer,
// HPET, IOAPIC and LAPIC are not modelled (docs/fidelity.md).
import { IOREQ_READ, IOREQ_TYPE } from '../abi/ioreq';
import type { Domain, IoreqServer } from './domain';
import { type IoRequest, mmioFirstByte, mmioLastByte, selectIoreqServer } from './ioreq-dispatch';

/** X86EMUL_OKAY or X86EMUL_UNHANDLEABLE: on to the ioreq servers. */
export type InterceptRc = 'okay' | 'unhandleable';

/** Guest physical memory as Xen's copy helpers see it (hvm_copy_{to,from}_guest_phys). */
export interface GuestPhys {
  /** false: not RAM (HVMTRANS_bad_gfn_to_mfn), the write is dropped. */
  copyTo(gpa: bigint, size: number, value: bigint): boolean;
  /** null: not RAM (HVMTRANS_bad_gfn_to_mfn). */
  copyFrom(gpa: bigint, size: number): bigint | null;
}

/** What a handler may do besides its own device: route a buffered write (the VGA path). */
export interface InterceptEnv {
  readonly d: Domain;
  readonly ram: GuestPhys;
  /** ioreq_send(s, p, 1) to the server the handler selected: 'handled' or 'unhandled'. */
  sendBuffered(s: IoreqServer, p: IoRequest): 'handled' | 'unhandled';
}

interface Handler {
  readonly type: number;
  accept(env: InterceptEnv, p: IoRequest): boolean;
  read(env: InterceptEnv, addr: bigint, size: number): { rc: InterceptRc; data: bigint };
  write(env: InterceptEnv, addr: bigint, size: number, data: bigint): InterceptRc;
}

/** register_portio_handler's accept (hvm_portio_accept): the whole access inside [port, port + size). */
function portio(port: number, size: number, action: (env: InterceptEnv, dir: number, addr: bigint, bytes: number, val: number) => { rc: InterceptRc; val: number }): Handler {
  return {
    type: IOREQ_TYPE.PIO,
    accept: (_env, p) => p.addr >= BigInt(port) && p.addr + BigInt(p.size) <= BigInt(port + size),
    read: (env, addr, bytes) => {
      const r = action(env, IOREQ_READ, addr, bytes, 0xffffffff);
      return { rc: r.rc, data: BigInt(r.val >>> 0) };
    },
    write: (env, addr, bytes, data) => action(env, 0, addr, bytes, Number(data & 0xffffffffn)).rc,
  };
}

/** hvm_access_cf8: a 4-byte write latches d->arch.hvm.pci_cf8; always falls through. */
const CF8 = portio(0xcf8, 4, (env, dir, _addr, bytes, val) => {
  if (dir !== IOREQ_READ && bytes === 4) env.d.pciCf8 = val >>> 0;
  return { rc: 'unhandleable', val };
});

const VGA_MEM_BASE = 0xa0000n;
const VGA_MEM_SIZE = 0x20000n;

/** stdvga_mem_accept / stdvga_mem_write: single direct writes in the VGA window, buffered when a server takes them. */
const STDVGA: Handler = {
  type: IOREQ_TYPE.COPY,
  accept: (env, p) => env.d.type === 'hvm' &&
    mmioFirstByte(p) >= VGA_MEM_BASE && mmioLastByte(p) < VGA_MEM_BASE + VGA_MEM_SIZE &&
    p.dir !== IOREQ_READ && !p.dataIsPtr && p.count === 1,
  read: () => ({ rc: 'unhandleable', data: ~0n }),
  write: (env, addr, size, data) => {
    const p: IoRequest = { type: IOREQ_TYPE.COPY, addr, size, count: 1, dir: 0, data, df: false, dataIsPtr: false };
    const s = selectIoreqServer(env.d, p);
    if (s === null) return 'unhandleable';
    return env.sendBuffered(s, p) === 'handled' ? 'okay' : 'unhandleable';
  },
};

/** DOMAIN_PBUF_SIZE: a line is printed when full. */
const PBUF_SIZE = 200;

/** hvm_print_line: port 0xe9, bytes of 1; printable characters, newline and tab; reads fall through. */
const DEBUGCONS = portio(0xe9, 1, (env, dir, _addr, _bytes, val) => {
  if (dir === IOREQ_READ) return { rc: 'unhandleable', val };
  const c = val & 0xff;
  const printable = c >= 0x20 && c < 0x7f;
  if (!printable && c !== 0x0a && c !== 0x09) return { rc: 'okay', val };
  const d = env.d;
  if (c !== 0x0a) d.debugConsoleLine += String.fromCharCode(c);
  if (d.debugConsoleLine.length === PBUF_SIZE - 1 || c === 0x0a) {
    d.debugConsole.push(d.debugConsoleLine);
    d.debugConsoleLine = '';
  }
  return { rc: 'okay', val };
});

/** In registration order (hvm_domain_initialise: ioreq_domain_init, stdvga_init, then the debug console). */
const HANDLERS: readonly Handler[] = [CF8, STDVGA, DEBUGCONS];

/** null_handler: reads all-ones, writes dropped. */
const NULL_HANDLER: Handler = {
  type: -1,
  accept: () => true,
  read: () => ({ rc: 'okay', data: (1n << 64n) - 1n }),
  write: () => 'okay',
};

/**
 * hvm_process_io_intercept: each repetition through the handler, data_is_ptr
 * items copied to or from guest RAM (a bad gfn drops a read's item and
 * gives a write all-ones). After a partial run the request's count is what
 * was done; a first repetition the handler refuses leaves count 1, so the
 * device model never gets a whole batch an internal handler might want.
 */
function process(env: InterceptEnv, h: Handler, p: IoRequest): InterceptRc {
  let rc: InterceptRc = 'okay';
  const step = BigInt(p.df ? -p.size : p.size);
  let i = 0;
  for (; i < p.count; i++) {
    const addr = p.type === IOREQ_TYPE.COPY ? BigInt.asUintN(64, p.addr + step * BigInt(i)) : p.addr;
    if (p.dir === IOREQ_READ) {
      const r = h.read(env, addr, p.size);
      rc = r.rc;
      if (rc !== 'okay') break;
      if (p.dataIsPtr) env.ram.copyTo(BigInt.asUintN(64, p.data + step * BigInt(i)), p.size, r.data);
      else p.data = r.data;
    } else {
      const data = p.dataIsPtr ? (env.ram.copyFrom(BigInt.asUintN(64, p.data + step * BigInt(i)), p.size) ?? (1n << 64n) - 1n) : p.data;
      rc = h.write(env, addr, p.size, data);
      if (rc !== 'okay') break;
    }
  }
  if (i > 0) {
    p.count = i;
    return 'okay';
  }
  if (rc === 'unhandleable') p.count = 1;
  return rc;
}

/** hvm_io_intercept: the first handler that accepts the access, or 'unhandleable'. */
export function intercept(env: InterceptEnv, p: IoRequest): InterceptRc {
  const h = HANDLERS.find((x) => x.type === p.type && x.accept(env, p));
  return h === undefined ? 'unhandleable' : process(env, h, p);
}

/** hvm_process_io_intercept(&null_handler, p). */
export function nullHandler(env: InterceptEnv, p: IoRequest): void {
  process(env, NULL_HANDLER, p);
}

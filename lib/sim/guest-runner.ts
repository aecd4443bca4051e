// Guest vCPUs doing I/O on the simulated host: each access goes the way
// Xen 4.17 emulates it (xen/arch/x86/hvm/emulate.c hvmemul_do_io): Xen's
// own handlers first (lib/sim/io-intercept.ts), then the ioreq server that
// claims it (lib/sim/ioreq-dispatch.ts), else the null handler. A request
// sent to a server blocks the vCPU until the device model answers through
// the vCPU's port (xen/common/ioreq.c wait_for_io). String operations
// (data_is_ptr) are split as Xen splits them: at most 4096 repetitions
// (hvmemul_linear_to_phys), no guest buffer crossing a page
// (hvmemul_do_io_addr), no MMIO repetition crossing a page (hvmemul_do_io).
// The guest runs without paging, so its addresses are guest physical.
import { IOREQ_READ, IOREQ_STATE, IOREQ_TYPE, IOREQ_WRITE } from '../abi/ioreq';
import { codedError, describe, invalidArgument, type PrivcmdError } from '../errors';
import type { Domain } from './domain';
import { intercept, nullHandler, type GuestPhys, type InterceptEnv } from './io-intercept';
import { completeSlot, type IoRequest, readResponse, selectIoreqServer, sendBuffered, sendIoreq } from './ioreq-dispatch';
import type { GuestMemory } from './memory';

/** One guest instruction's I/O. */
export interface GuestAccess {
  /** in/out: port I/O; read/write: MMIO. */
  op: 'in' | 'out' | 'read' | 'write';
  /** The port (in/out) or the guest physical address (read/write). */
  addr: number | bigint;
  /** Bytes per item: 1, 2 or 4 for ports; also 8 for MMIO. */
  size: number;
  /** A direct write's value (out/write without gpa). */
  value?: number | bigint;
  /** Repetitions (a REP prefix); default 1. More than one needs gpa, except a write (REP STOS). */
  count?: number;
  /** EFLAGS.DF: repetitions walk downwards. */
  df?: boolean;
  /** A string operation's buffer in guest RAM (INS/OUTS, MOVS to or from MMIO): data_is_ptr. */
  gpa?: number | bigint;
}

/** A program step: an access, or a direct read repeated until (value & mask) === equals. */
export interface GuestStep extends GuestAccess {
  until?: { mask: number | bigint; equals: number | bigint };
  /** Reads an `until` step makes at most (default 10000); then the program fails with EAGAIN. */
  tries?: number;
}

/** A direct read's value: a number for 1 to 4 bytes, a bigint for 8. */
export type GuestValue = number | bigint;

export interface GuestRunResult {
  /** Each direct read's value, in program order (an `until` step's last one). */
  reads: GuestValue[];
}

/** What the runner needs of the host (lib/sim/host.ts). */
export interface GuestHost {
  readonly memory: GuestMemory;
  readonly paddrBits: number;
  domainById(domid: number): Domain | undefined;
  guestWrite(domid: number, pfn: number, data?: Uint8Array, offset?: number): void;
}

/** Most repetitions one access may ask for here (Xen takes rCX; the simulator bounds it). */
export const MAX_GUEST_REPS = 1 << 20;
const MAX_REPS_PER_REQUEST = 4096;
const PAGE = 4096;
const SHUTDOWN_CRASH = 3;
const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const ONES = (size: number): bigint => (1n << BigInt(size * 8)) - 1n;

interface VcpuIo {
  busy: boolean;
  /** The port the vCPU is blocked on (_VPF_blocked_in_xen), and whether an event came. */
  port: number | null;
  woken: boolean;
  waker: (() => void) | null;
}

interface DomainIo {
  readonly vcpus: VcpuIo[];
  readonly sleepers: Set<{ reject: (e: PrivcmdError) => void }>;
  readonly runnable: (() => void)[];
  gone: PrivcmdError | null;
}

const IO = new WeakMap<Domain, DomainIo>();

function domainIo(d: Domain): DomainIo {
  let io = IO.get(d);
  if (io === undefined) {
    const state: DomainIo = {
      vcpus: Array.from({ length: d.maxVcpus }, () => ({ busy: false, port: null, woken: false, waker: null })),
      sleepers: new Set(), runnable: [], gone: null,
    };
    io = state;
    IO.set(d, io);
    // default_xen_notification_fn: an event on the port a vCPU is blocked on wakes it.
    d.evtchn.xenNotify = (port) => {
      for (const v of state.vcpus) {
        if (v.port !== port) continue;
        v.woken = true;
        v.waker?.();
      }
    };
  }
  return io;
}

/** Blocks until `register`'s callback is called; rejects at once, or later, when the domain is gone. */
function sleep(io: DomainIo, register: (wake: () => void) => void): Promise<void> {
  if (io.gone !== null) return Promise.reject(io.gone);
  return new Promise((resolve, reject) => {
    const entry = { reject };
    io.sleepers.add(entry);
    register(() => {
      io.sleepers.delete(entry);
      resolve();
    });
  });
}

/** A vCPU runs only while its domain is neither paused nor shut down. */
async function runnable(d: Domain, io: DomainIo): Promise<void> {
  while (io.gone === null && (d.paused || d.shutdownReason !== null)) await sleep(io, (wake) => io.runnable.push(wake));
  if (io.gone !== null) throw io.gone;
}

/** @internal The host unpaused the domain: its blocked vCPUs may run. */
export function resumeGuest(d: Domain): void {
  IO.get(d)?.runnable.splice(0).forEach((wake) => wake());
}

/** @internal The domain was destroyed (or the host closed): every waiting access is rejected with `error`. */
export function guestGone(d: Domain, error: PrivcmdError): void {
  const io = IO.get(d);
  if (io === undefined) return;
  io.gone = error;
  for (const s of [...io.sleepers]) s.reject(error);
  io.sleepers.clear();
  io.runnable.length = 0;
}

/** hvm_copy_{to,from}_guest_phys over the host's pages: RAM only; a read-only page drops writes. */
function guestPhys(host: GuestHost, d: Domain): GuestPhys {
  const chunks = (gpa: bigint, size: number, f: (pfn: number, off: number, at: number, n: number) => boolean): boolean => {
    let at = 0;
    while (at < size) {
      const a = U64(gpa + BigInt(at));
      const off = Number(a & 0xfffn);
      const n = Math.min(PAGE - off, size - at);
      if (!f(Number(a >> 12n), off, at, n)) return false;
      at += n;
    }
    return true;
  };
  return {
    copyTo: (gpa, size, value) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, U64(value), true);
      return chunks(gpa, size, (pfn, off, at, n) => {
        const t = d.p2m.get(pfn);
        if (t === 'ram_rw') host.guestWrite(d.domid, pfn, b.slice(at, at + n), off);
        return t === 'ram_rw' || t === 'ram_ro';
      });
    },
    copyFrom: (gpa, size) => {
      const b = new Uint8Array(8);
      const ok = chunks(gpa, size, (pfn, off, at, n) => {
        const t = d.p2m.get(pfn);
        if (t !== 'ram_rw' && t !== 'ram_ro') return false;
        if (host.memory.hasPage(d.domid, pfn)) host.memory.read(host.memory.ramPage(d.domid, pfn), off, b.subarray(at, at + n));
        return true;
      });
      return ok ? new DataView(b.buffer).getBigUint64(0, true) : null;
    },
  };
}

/** A validated access: what execute() needs, nothing read from the caller's object again. */
interface Checked {
  readonly isPio: boolean;
  readonly dir: number;
  readonly addr: bigint;
  readonly size: number;
  readonly value: bigint;
  readonly count: number;
  readonly df: boolean;
  readonly gpa: bigint | null;
  readonly until: { mask: bigint; equals: bigint; tries: number } | null;
}

const KEYS = new Set(['op', 'addr', 'size', 'value', 'count', 'df', 'gpa', 'until', 'tries']);

function bigArg(what: string, v: unknown, max: bigint): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else throw invalidArgument('guest', `${what} must be an integer or bigint, got ${describe(v)}`);
  if (b < 0n || b > max) throw invalidArgument('guest', `${what} 0x${b.toString(16)} is outside [0, 0x${max.toString(16)}]`);
  return b;
}

/** A copy of an object's own fields; reading them must not throw. */
function readOnce(o: object, what: string): Record<string, unknown> {
  try {
    return { ...(o as Record<string, unknown>) };
  } catch (e) {
    throw invalidArgument('guest', `${what} could not be read: ${describe(e)}`);
  }
}

/** The pages of [first, last] (inclusive byte addresses). */
function pagesOf(first: bigint, last: bigint): number[] {
  const out: number[] = [];
  for (let p = first >> 12n; p <= last >> 12n; p++) out.push(Number(p));
  return out;
}

/** Every check before anything happens: a bad step is EINVAL (EFAULT for a buffer outside RAM), and nothing runs. */
function check(host: GuestHost, d: Domain, step: unknown, allowUntil: boolean): Checked {
  if (typeof step !== 'object' || step === null) throw invalidArgument('guest', `an access must be an object, got ${describe(step)}`);
  // Each field read once, here: a getter or a Proxy that throws is EINVAL, not an uncoded error.
  const a = readOnce(step, 'an access');
  for (const k of Object.keys(a)) if (!KEYS.has(k)) throw invalidArgument('guest', `unknown field ${describe(k)} in an access`);
  const op = a.op;
  if (op !== 'in' && op !== 'out' && op !== 'read' && op !== 'write') throw invalidArgument('guest', `op must be 'in', 'out', 'read' or 'write', got ${describe(op)}`);
  const isPio = op === 'in' || op === 'out';
  const dir = op === 'in' || op === 'read' ? IOREQ_READ : IOREQ_WRITE;
  const size = a.size;
  if (typeof size !== 'number' || !(isPio ? [1, 2, 4] : [1, 2, 4, 8]).includes(size)) {
    throw invalidArgument('guest', `size must be ${isPio ? '1, 2 or 4 for port I/O' : '1, 2, 4 or 8 for MMIO'}, got ${describe(size)}`);
  }
  const count = a.count ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_GUEST_REPS) {
    throw invalidArgument('guest', `count must be an integer in [1, ${MAX_GUEST_REPS}], got ${describe(count)}`);
  }
  const df = a.df ?? false;
  if (typeof df !== 'boolean') throw invalidArgument('guest', `df must be a boolean, got ${describe(df)}`);
  const maxAddr = (1n << BigInt(host.paddrBits)) - 1n;
  const gpa = a.gpa === undefined ? null : bigArg('gpa', a.gpa, maxAddr);
  const direct = gpa === null;
  if (count > 1 && direct && op !== 'write') throw invalidArgument('guest', `${op} with count > 1 is a string operation: give its buffer as gpa`);
  const span = BigInt(size) * BigInt(count);
  let value = 0n;
  if (dir === IOREQ_WRITE && direct) {
    if (a.value === undefined) throw invalidArgument('guest', `${op} needs a value (or a gpa buffer)`);
    value = bigArg('value', a.value, ONES(size));
  } else if (a.value !== undefined) {
    throw invalidArgument('guest', `${op}${direct ? '' : ' with a gpa buffer'} takes no value`);
  }
  const addr = bigArg(isPio ? 'port' : 'addr', a.addr, isPio ? 0xffffn : maxAddr);
  if (isPio && addr + BigInt(size) > 0x10000n) throw invalidArgument('guest', `port 0x${addr.toString(16)} + ${size} bytes passes 0xffff`);
  if (!isPio) {
    const first = df ? addr - span + BigInt(size) : addr;
    const last = df ? addr + BigInt(size) - 1n : addr + span - 1n;
    if (first < 0n || last > maxAddr) throw invalidArgument('guest', `MMIO [0x${first.toString(16)}, 0x${last.toString(16)}] is outside guest physical memory`);
    for (const pfn of pagesOf(first, last)) {
      const t = d.p2m.get(pfn);
      if (t === 'ram_rw' || t === 'ram_ro') throw invalidArgument('guest', `gfn 0x${pfn.toString(16)} is RAM: a guest access there is a memory access, not MMIO (use guestWrite/guestRead)`);
      if (t === 'ioreq_server') throw codedError('EOPNOTSUPP', 'guest', `gfn 0x${pfn.toString(16)} is p2m_ioreq_server: the simulator does not route those pages`);
    }
  }
  if (gpa !== null) {
    const first = df ? gpa - span + BigInt(size) : gpa;
    const last = df ? gpa + BigInt(size) - 1n : gpa + span - 1n;
    if (first < 0n || last > maxAddr) throw invalidArgument('guest', `buffer [0x${first.toString(16)}, 0x${last.toString(16)}] is outside guest physical memory`);
    for (const pfn of pagesOf(first, last)) {
      const t = d.p2m.get(pfn);
      // hvmemul_acquire_page: the buffer must be RAM, else the emulation fails.
      if (t !== 'ram_rw' && t !== 'ram_ro') throw codedError('EFAULT', 'guest', `buffer page 0x${pfn.toString(16)} is not RAM (${t ?? 'a hole'})`);
    }
  }
  let until: Checked['until'] = null;
  if (a.until !== undefined || a.tries !== undefined) {
    if (!allowUntil) throw invalidArgument('guest', 'until and tries belong to runGuest program steps');
    if (!direct || dir !== IOREQ_READ || count !== 1) throw invalidArgument('guest', 'until needs a single direct read (in or read without gpa)');
    const u = a.until;
    if (typeof u !== 'object' || u === null) throw invalidArgument('guest', `until must be { mask, equals }, got ${describe(u)}`);
    const { mask, equals } = readOnce(u, 'until');
    const tries = a.tries ?? 10000;
    if (typeof tries !== 'number' || !Number.isInteger(tries) || tries < 1 || tries > 1e6) throw invalidArgument('guest', `tries must be an integer in [1, 1000000], got ${describe(tries)}`);
    until = { mask: bigArg('until.mask', mask, ONES(size)), equals: bigArg('until.equals', equals, ONES(size)), tries };
  }
  return { isPio, dir, addr, size, value, count, df, gpa, until };
}

class Vcpu {
  readonly io: DomainIo;
  readonly state: VcpuIo;
  readonly ram: GuestPhys;
  readonly env: InterceptEnv;

  constructor(readonly host: GuestHost, readonly d: Domain, readonly v: number) {
    this.io = domainIo(d);
    this.state = this.io.vcpus[v]!;
    this.ram = guestPhys(host, d);
    const lookup = (id: number) => host.domainById(id);
    this.env = {
      d, ram: this.ram,
      sendBuffered: (s, p) => (sendBuffered(host.memory, lookup, d, s, p) === 'unhandled' ? 'unhandled' : 'handled'),
    };
  }

  /** One instruction: its repetitions in as many requests as Xen would send. */
  async execute(a: Checked): Promise<bigint> {
    const step = BigInt(a.size) * (a.df ? -1n : 1n);
    let remaining = a.count;
    let addr = a.addr;
    let gpa = a.gpa;
    let data = 0n;
    while (remaining > 0) {
      await runnable(this.d, this.io);
      let reps = Math.min(remaining, MAX_REPS_PER_REQUEST);
      if (gpa !== null) {
        // hvmemul_do_io_addr: the repetitions that fit the buffer's page; one if an item straddles it.
        const off = Number(gpa & 0xfffn);
        reps = Math.min(reps, Math.floor((a.df ? (off + a.size - 1) & 0xfff : PAGE - off) / a.size)) || 1;
      }
      const p: IoRequest = {
        type: a.isPio ? IOREQ_TYPE.PIO : IOREQ_TYPE.COPY, addr, size: a.size, count: reps, dir: a.dir, df: a.df,
        dataIsPtr: gpa !== null, data: gpa ?? a.value,
      };
      await this.doIo(p);
      data = p.data;
      remaining -= p.count;
      if (!a.isPio) addr = U64(addr + step * BigInt(p.count));
      if (gpa !== null) gpa = U64(gpa + step * BigInt(p.count));
    }
    return data & ONES(a.size);
  }

  /** hvmemul_do_io: Xen's handlers, else the server that claims it, else the null handler. */
  private async doIo(p: IoRequest): Promise<void> {
    if (p.count > 1 && p.type === IOREQ_TYPE.COPY) {
      // No MMIO repetition crosses a gfn: the next page may belong to another device model.
      const off = Number(p.addr & 0xfffn);
      const tail = PAGE - off;
      p.count = tail < p.size ? 1 : Math.min(p.count, Math.floor((p.df ? off + p.size : tail) / p.size));
    }
    if (intercept(this.env, p) === 'okay') return;
    const s = selectIoreqServer(this.d, p);
    if (s === null) {
      nullHandler(this.env, p);
      return;
    }
    const host = this.host;
    const port = s.vcpuPorts[this.v] ?? null;
    this.state.port = port;
    this.state.woken = false;
    try {
      const why = sendIoreq(host.memory, (id) => host.domainById(id), this.d, s, this.v, p);
      // IOREQ_STATUS_UNHANDLED: Xen 4.17 fails the instruction's emulation.
      if (why !== null) throw codedError('EIO', 'guest', `ioreq_send to server ${s.id} refused (${why}): Xen fails the emulation`);
      const data = await this.waitForIo(s);
      if (data !== null && p.dir === IOREQ_READ && !p.dataIsPtr) p.data = data;
    } finally {
      this.state.port = null;
      this.state.waker = null;
    }
  }

  /**
   * wait_for_io: IOREQ_READY and INPROCESS wait for the vCPU's port;
   * IORESP_READY is taken (state back to NONE, data read); NONE ends the
   * wait with all-ones (an emulator gone mid-request); a state going back,
   * or an unknown one, crashes the domain. null: the server was destroyed
   * meanwhile, so Xen finds no pending server (get_pending_vcpu) and the
   * access completes with the request's own data (0 for a direct read).
   */
  private async waitForIo(s: NonNullable<Domain['ioreqServers'][number]>): Promise<bigint | null> {
    const mem = this.host.memory;
    let prev: number = IOREQ_STATE.NONE;
    let r = this.response(s);
    while (r.state !== IOREQ_STATE.NONE) {
      if (r.state < prev) this.crash(`ioreq state went from ${prev} to ${r.state}`);
      prev = r.state;
      if (r.state === IOREQ_STATE.IORESP_READY) {
        completeSlot(mem, s, this.v);
        return r.data;
      }
      if (r.state !== IOREQ_STATE.IOREQ_READY && r.state !== IOREQ_STATE.IOREQ_INPROCESS) this.crash(`ioreq state ${r.state}`);
      // wait_on_xen_event_channel(port, state != prev): an event, then the vCPU runs again and looks.
      do {
        if (!this.state.woken) await sleep(this.io, (wake) => { this.state.waker = wake; });
        this.state.woken = false;
        await runnable(this.d, this.io);
        if (this.d.ioreqServers[s.id] !== s) return null;
        r = this.response(s);
      } while (r.state === prev);
    }
    return (1n << 64n) - 1n;
  }

  private response(s: NonNullable<Domain['ioreqServers'][number]>): { state: number; data: bigint } {
    const r = readResponse(this.host.memory, s, this.v);
    if (r === null) throw this.io.gone ?? codedError('EIO', 'guest', `ioreq server ${s.id}'s page is gone`);
    return r;
  }

  private crash(why: string): never {
    // domain_crash: the domain is shut down with SHUTDOWN_crash; no vCPU of it runs again.
    this.d.shutdownReason = SHUTDOWN_CRASH;
    throw codedError('EIO', 'guest', `${why}: Xen crashes domain ${this.d.domid}`);
  }
}

function vcpuOf(host: GuestHost, domid: unknown, vcpu: unknown): Vcpu {
  if (typeof domid !== 'number' || !Number.isInteger(domid)) throw invalidArgument('guest', `domid must be an integer, got ${describe(domid)}`);
  const d = host.domainById(domid);
  if (d === undefined) throw codedError('ESRCH', 'guest', `no domain ${domid}`);
  if (!d.isHvm) throw invalidArgument('guest', `domain ${domid} is PV: its I/O does not go through Xen's ioreq servers`);
  if (typeof vcpu !== 'number' || !Number.isInteger(vcpu) || vcpu < 0 || vcpu >= d.maxVcpus) {
    throw invalidArgument('guest', `vcpu must be an integer in [0, ${d.maxVcpus - 1}], got ${describe(vcpu)}`);
  }
  const v = new Vcpu(host, d, vcpu);
  if (v.io.gone !== null) throw v.io.gone;
  if (v.state.busy) throw codedError('EBUSY', 'guest', `vCPU ${vcpu} of domain ${domid} is already running an access`);
  return v;
}

function result(size: number, v: bigint): GuestValue {
  return size === 8 ? v : Number(v);
}

/** One access by vCPU `vcpu` of an HVM domain; resolves with a direct read's value (else undefined) once done. */
export async function guestIo(host: GuestHost, domid: number, vcpu: number, access: GuestAccess): Promise<GuestValue | undefined> {
  const v = vcpuOf(host, domid, vcpu);
  const a = check(host, v.d, access, false);
  v.state.busy = true;
  try {
    const data = await v.execute(a);
    return a.dir === IOREQ_READ && a.gpa === null ? result(a.size, data) : undefined;
  } finally {
    v.state.busy = false;
  }
}

/** A program: its steps in order on one vCPU; every step is checked before the first runs. */
export async function runGuest(host: GuestHost, domid: number, vcpu: number, program: readonly GuestStep[]): Promise<GuestRunResult> {
  const v = vcpuOf(host, domid, vcpu);
  if (!Array.isArray(program)) throw invalidArgument('guest', `program must be an array of accesses, got ${describe(program)}`);
  let items: unknown[];
  try {
    const length = program.length;
    if (length > 1e6) throw invalidArgument('guest', `a program has at most 1000000 steps, not ${length}`);
    items = [];
    for (let i = 0; i < length; i++) items.push(program[i]); // a hole is undefined, refused below
  } catch (e) {
    throw (e as { code?: unknown }).code === 'EINVAL' ? e : invalidArgument('guest', `the program could not be read: ${describe(e)}`);
  }
  const steps = items.map((s, i) => {
    try {
      return check(host, v.d, s, true);
    } catch (e) {
      throw Object.assign(e as Error, { step: i });
    }
  });
  v.state.busy = true;
  const reads: GuestValue[] = [];
  try {
    for (const a of steps) {
      let data = await v.execute(a);
      if (a.until !== null) {
        let tries = 1;
        while ((data & a.until.mask) !== a.until.equals) {
          if (tries++ >= a.until.tries) throw codedError('EAGAIN', 'guest', `still polling after ${a.until.tries} reads (last 0x${data.toString(16)})`);
          data = await v.execute(a);
        }
      }
      if (a.dir === IOREQ_READ && a.gpa === null) reads.push(result(a.size, data));
    }
  } finally {
    v.state.busy = false;
  }
  return { reads };
}

/**
 * A guest driver printing `text` on a 16550 at `base`: for each byte, poll
 * LSR (base + 5) until THRE (bit 5) is set, then write THR (base). A newline
 * ends the line.
 */
export function uartPrintProgram(text: string, base = 0x3f8): GuestStep[] {
  const out: GuestStep[] = [];
  for (const byte of new TextEncoder().encode(text)) {
    out.push({ op: 'in', addr: base + 5, size: 1, until: { mask: 0x20, equals: 0x20 } });
    out.push({ op: 'out', addr: base, size: 1, value: byte });
  }
  return out;
}

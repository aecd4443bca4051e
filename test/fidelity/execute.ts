// Runs one fidelity case on any host (the real device in the VM, or the
// simulated host) through the public handle, and observes what a device
// model can see: each step's errno or result, every OUT field of buffer 0,
// the bytes Xen wrote into the other buffers, and afterwards the state that
// can be read back (HVMMEM types of the case's gfns; which ioreq servers
// exist, with their buffered-ioreq port).
import { DMOPS } from '../../lib/abi/dmops';
import { DMOP_STRUCTS, SCALAR_SIZE, type StructLayout } from '../../lib/abi/layouts';
import { DOMID } from '../../lib/abi/domids';
import type { Privcmd } from '../../lib/privcmd';
import { type FidelityCase, type Step, type Target, MISSING_DOMID } from './cases';
import type { HcStep, Norm } from './hypercall-cases';

export interface FidelityEnv {
  readonly h: Privcmd;
  /** A handle restricted to the PV domain. */
  readonly hr: Privcmd;
  /** A fresh paused HVM domain (with log-dirty mode on for 'logdirty'). */
  fresh(kind: 'hvm' | 'logdirty'): number;
  /** Done with a fresh domain. */
  release(domid: number): void;
  readonly pv: number;
  readonly self: number;
}

export interface StepResult {
  /** 'ok' or the errno name. */
  rc: string;
  /** OUT and INOUT fields of buffer 0 after the call, as decimal strings. */
  out?: Record<string, string>;
  /** Extra buffers Xen may write (track_dirty_vram's bitmap), hex. */
  bufs?: string[];
  /** A hypercall's non-negative result (as its step says to record it). */
  value?: string;
}

export interface Observation {
  steps: StepResult[];
  /** gfn -> HVMMEM type number or errno name. */
  memTypes?: Record<string, string>;
  /** ioreq server id -> 'ENOENT'-like errno, or its buffered-ioreq port. */
  servers?: Record<string, string>;
}

const STRUCT_OF = new Map<number, StructLayout>(DMOPS.map((d) => [d.op, DMOP_STRUCTS[d.struct]]));
const HEADER = 8;
/**
 * Ops with continuations (modified_memory, set_mem_type,
 * map_mem_type_to_ioreq_server, relocate_memory): at each -ERESTART Xen
 * writes its progress into buffer 0, and when that happens depends on
 * hypercall_preempt_check() (seen on the real host: a 2-page relocate_memory
 * stopped after one page on one run). Their OUT fields are not observed;
 * their errno and the state read back afterwards are.
 */
const PROGRESS_OPS = new Set([11, 12, 15, 17]);
const PROBE_SERVERS = [0, 1];
const HVMOP_GET_MEM_TYPE = 15n;
/** XEN_DMOP_no_gfns: get_ioreq_server_info without mapping the pages. */
const NO_GFNS = 1;

function put(view: DataView, at: number, bytes: number, v: bigint): void {
  for (let i = 0; i < bytes && at + i < view.byteLength; i++) view.setUint8(at + i, Number((v >> BigInt(8 * i)) & 0xffn));
}
function get(view: DataView, at: number, bytes: number): bigint {
  let v = 0n;
  for (let i = bytes - 1; i >= 0; i--) v = (v << 8n) | BigInt(at + i < view.byteLength ? view.getUint8(at + i) : 0);
  return v;
}

/** Step -> the buffers sent (buffer 0 laid out from the layout table). */
export function encodeStep(s: Step): Uint8Array[] {
  const layout = STRUCT_OF.get(s.op);
  const full = HEADER + (layout?.size ?? 24);
  const b0 = new Uint8Array(Math.max(s.buf0Size ?? full, full));
  const v = new DataView(b0.buffer);
  v.setUint32(0, s.op >>> 0, true);
  v.setUint32(4, (s.headerPad ?? 0) >>> 0, true);
  for (const [name, value] of Object.entries(s.u)) {
    const f = layout?.fields.find((x) => x.name === name);
    if (f === undefined) throw new Error(`op ${s.op} has no field ${name}`);
    put(v, HEADER + f.offset, SCALAR_SIZE[f.type] * (f.count ?? 1), BigInt(value));
  }
  const bufs = [b0.subarray(0, s.buf0Size ?? full)];
  for (const e of s.extra ?? []) {
    const [kind, arg] = [e.slice(0, e.indexOf(':')), e.slice(e.indexOf(':') + 1)];
    if (kind === 'bitmap' || kind === 'bytes') bufs.push(new Uint8Array(Number(arg)));
    else if (kind === 'extents') {
      const list = JSON.parse(arg) as { nr: string; pad: string; first_pfn: string }[];
      const b = new Uint8Array(16 * list.length);
      const ev = new DataView(b.buffer);
      list.forEach((x, i) => {
        ev.setUint32(16 * i, Number(x.nr), true);
        ev.setUint32(16 * i + 4, Number(x.pad), true);
        ev.setBigUint64(16 * i + 8, BigInt(x.first_pfn), true);
      });
      bufs.push(b);
    } else throw new Error(`unknown buffer ${e}`);
  }
  return bufs;
}

const codeOf = (e: unknown): string => {
  const c = (e as { code?: unknown }).code;
  if (typeof c !== 'string') throw e; // an uncoded error is a bug in the library, not an answer
  return c;
};

function runStep(h: Privcmd, domid: number, s: Step): StepResult {
  const bufs = encodeStep(s);
  let rc = 'ok';
  try {
    h.dmopRaw(domid, bufs);
  } catch (e) {
    rc = codeOf(e);
  }
  const r: StepResult = { rc };
  const layout = STRUCT_OF.get(s.op);
  const b0 = bufs[0]!;
  if (layout !== undefined && !PROGRESS_OPS.has(s.op)) {
    const v = new DataView(b0.buffer, b0.byteOffset, b0.byteLength);
    const out: Record<string, string> = {};
    for (const f of layout.fields) {
      if (f.dir !== 'out' && f.dir !== 'inout') continue;
      if (HEADER + f.offset + SCALAR_SIZE[f.type] > b0.byteLength) continue;
      out[f.name] = get(v, HEADER + f.offset, SCALAR_SIZE[f.type] * (f.count ?? 1)).toString();
    }
    if (Object.keys(out).length) r.out = out;
  }
  if (s.extra?.some((e) => e.startsWith('bitmap:'))) r.bufs = bufs.slice(1).map((b) => Buffer.from(b).toString('hex'));
  return r;
}

function domidFor(env: FidelityEnv, t: Target): number {
  switch (t) {
    case 'pv': return env.pv;
    case 'self': return env.self;
    case 'missing': return MISSING_DOMID;
    case 'domid_self': return DOMID.SELF;
    default: return env.fresh(t);
  }
}

/** Run the case's steps and read back what can be read. */
export function runCase(env: FidelityEnv, c: FidelityCase): Observation {
  const fresh = c.target === 'hvm' || c.target === 'logdirty';
  const domid = domidFor(env, c.target);
  try {
    const obs: Observation = { steps: c.steps.map((s) => runStep(env.h, domid, s)) };
    for (const s of c.calls ?? []) obs.steps.push(runCall(c.restricted ? env.hr : env.h, domid, s));
    if (fresh) {
      obs.memTypes = memTypes(env.h, domid, c.probeGfns);
      obs.servers = {};
      for (const id of PROBE_SERVERS) {
        const b0 = encodeStep({ op: 2, u: { id: String(id), flags: String(NO_GFNS) } })[0]!;
        try {
          env.h.dmopRaw(domid, [b0]);
          obs.servers[id] = `port ${new DataView(b0.buffer, b0.byteOffset).getUint32(HEADER + 4, true)}`;
        } catch (e) {
          obs.servers[id] = codeOf(e);
        }
      }
    }
    return obs;
  } finally {
    if (fresh) env.release(domid);
  }
}

/** HVMOP_get_mem_type for each gfn (struct xen_hvm_get_mem_type: domid, mem_type, pad, pfn). */
function memTypes(h: Privcmd, domid: number, gfns: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const arg = h.hypercallBuffer(16);
  try {
    for (const g of gfns) {
      arg.view.fill(0);
      arg.view.writeUInt16LE(domid, 0);
      arg.view.writeBigUInt64LE(BigInt(g), 8);
      try {
        h.hypercall('hvm_op', [HVMOP_GET_MEM_TYPE, arg.addr]);
        out[g] = String(arg.view.readUInt16LE(2));
      } catch (e) {
        out[g] = codeOf(e);
      }
    }
  } finally {
    h.freeHypercallBuffer(arg);
  }
  return out;
}

/** A hypercall step's value: a decimal u64, 'dom', 'dom+N', 'arg', 'arg+N'. */
function argValue(v: string, domid: number, arg: bigint): bigint {
  const m = /^(dom|arg)(?:\+(\d+))?$/.exec(v);
  if (m === null) return BigInt(v);
  return (m[1] === 'dom' ? BigInt(domid) : arg) + BigInt(m[2] ?? 0);
}

function readField(b: Buffer, at: number, bytes: number, how: Norm): string {
  const f = b.subarray(at, at + bytes);
  if (how === 'hex') return f.toString('hex');
  if (how === 'u') return get(new DataView(f.buffer, f.byteOffset, f.byteLength), 0, bytes).toString();
  const nul = f.indexOf(0);
  if (how === 'str') return f.toString('latin1', 0, nul < 0 ? bytes : nul);
  return nul < 0 ? 'unterminated' : nul === 0 ? 'empty' : 'text';
}

/** One raw hypercall: its errno or result, and the fields read back from its argument buffer. */
function runCall(h: Privcmd, domid: number, s: HcStep): StepResult {
  const mem = s.arg === undefined ? null : h.hypercallBuffer(s.arg.size);
  try {
    const addr = mem?.addr ?? 0n;
    if (mem !== null) {
      mem.view.fill(0);
      for (const [at, bytes, v] of s.arg!.set) put(new DataView(mem.view.buffer, mem.view.byteOffset, mem.view.byteLength), at, bytes, BigInt.asUintN(64, argValue(v, domid, addr)));
    }
    const args = s.args.map((v) => BigInt.asUintN(64, argValue(v, domid, addr)));
    const r: StepResult = { rc: 'ok' };
    try {
      const v = h.hypercall(s.hc, args);
      if (v !== 0n) r.value = s.result === 'positive' ? (v > 0n ? 'positive' : v.toString()) : v.toString();
    } catch (e) {
      r.rc = codeOf(e);
    }
    if (mem !== null && s.read?.length) r.out = Object.fromEntries(s.read.map(([name, at, bytes, how]) => [name, readField(mem.view, at, bytes, how)]));
    return r;
  } finally {
    if (mem !== null) h.freeHypercallBuffer(mem);
  }
}

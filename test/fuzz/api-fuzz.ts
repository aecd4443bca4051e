// The public-API fuzzer: seeded and deterministic. It throws random and
// boundary requests, valid-looking and hostile, at every public entry point
// on a simulated host, and after each call checks that
//  - the result is a value, a coded error (`typeof err.code === 'string'`),
//    or the caller's own exception passed through (a getter, a trap, a
//    toPrimitive that throws the fuzzer's sentinel);
//  - a refusal left every domain's host.inspect() as it was, except for the
//    ops Xen itself does page by page and keeps the pages done before a
//    failure (set_mem_type, modified_memory, relocate_memory, altp2m
//    set_mem_access_multi; lib/sim/dmops/memory.ts, lib/sim/altp2m.ts);
//  - a handle restricted to domain R never changed another domain, and a raw
//    hypercall on it never succeeded;
//  - an async call settles (a call that does not settle within a bound is a hang).
// Used by test/fuzz/api-fuzz.test.ts (bounded) and scripts/fuzz-api.js (long runs).
import * as api from '../../lib';
import { createSimulatedHost, open, openEventChannels, type EventChannels, type Privcmd, type SimulatedHost } from '../../lib';

/** mulberry32: a small, fast, seeded PRNG. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)] as T;
  }
}

/** What the fuzzer's hostile getters, traps and conversions throw: the caller's own exception. */
export class Sentinel extends Error {
  constructor() {
    super('fuzzer sentinel');
  }
}

export interface Finding {
  kind: 'uncoded' | 'state-change' | 'escape' | 'hang' | 'close';
  entry: string;
  detail: string;
  seed: number;
  call: number;
}

export interface FuzzReport {
  seed: number;
  calls: number;
  values: number;
  coded: number;
  passedThrough: number;
  findings: Finding[];
  /** Distinct findings: `kind entry: first line` -> count. */
  kinds: Map<string, number>;
}

// ---------------------------------------------------------------- values

const NUMBERS = [0, 1, 2, 3, 5, 16, 17, 31, 32, 33, 4095, 4096, 4097, 0xffff, 0x7ff0, 0x10000, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1,
  2 ** 53, 2 ** 53 - 1, -1, -0, 0.5, 1.5, 1e9, -1e9, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE];
const BIGINTS = [0n, 1n, 0xfffffn, 1n << 36n, 1n << 47n, 1n << 60n, (1n << 64n) - 1n, 1n << 64n, -1n, 0x7f0000000000n, 0x7f0000001000n, 0xffff800000000000n];
const STRINGS = ['', '0', '1', 'nr_vcpus', 'x', '__proto__', 'constructor', 'toString', 'hvm_op', 'dm_op', 'xen_version', 'device-model',
  'dom0', 'guest', 'system_u:system_r:vm_t', 'a\u0000b', 'strict', 'seed', 'get_domain_state'];

/** A detached ArrayBuffer (structuredClone with a transfer list detaches the original). */
function detached(len: number): Uint8Array {
  const ab = new ArrayBuffer(len);
  const u = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  return u;
}

export class Gen {
  constructor(readonly r: Rng) {}

  num(): number {
    return this.r.chance(0.5) ? this.r.pick(NUMBERS) : this.r.int(this.r.pick([2, 16, 256, 4097, 70000]));
  }

  big(): bigint {
    return this.r.chance(0.5) ? this.r.pick(BIGINTS) : BigInt(this.r.int(1 << 20));
  }

  bytes(len?: number): Uint8Array {
    const n = len ?? this.r.pick([0, 1, 4, 16, 31, 32, 33, 64, 80, 4096, 4097]);
    const u = new Uint8Array(n);
    for (let i = 0; i < Math.min(n, 64); i++) u[i] = this.r.chance(0.5) ? 0 : this.r.int(256);
    if (n >= 4 && this.r.chance(0.7)) new DataView(u.buffer).setUint32(0, this.r.int(22), true); // a DMOP number
    return u;
  }

  /** A Uint8Array proxy whose reads change between calls (`instanceof Uint8Array` still holds). */
  proxyBytes(): Uint8Array {
    const target = this.bytes(32);
    let reads = 0;
    const mode = this.r.int(3);
    return new Proxy(target, {
      get(t, k, recv) {
        if (mode === 2 && k === 'byteLength') throw new Sentinel();
        if (typeof k === 'string' && /^\d+$/.test(k)) return (reads++ & 1) === 0 ? t[Number(k)] : (mode === 1 ? 0xff : 3);
        const v = Reflect.get(t, k, t);
        return typeof v === 'function' ? v.bind(t) : v;
        void recv;
      },
    });
  }

  /** A hostile value of any kind. */
  hostile(): unknown {
    switch (this.r.int(22)) {
      case 0: return Object.create(null);
      case 1: return undefined;
      case 2: return null;
      case 3: return this.r.pick(NUMBERS);
      case 4: return this.r.pick(BIGINTS);
      case 5: return this.r.pick(STRINGS);
      case 6: return detached(this.r.pick([0, 32, 4096]));
      case 7: return this.proxyBytes();
      case 8: return new Proxy({}, { get() { throw new Sentinel(); }, has() { throw new Sentinel(); }, ownKeys() { throw new Sentinel(); } });
      case 9: return { [Symbol.toPrimitive]() { throw new Sentinel(); } };
      case 10: return { valueOf() { throw new Sentinel(); }, toString() { throw new Sentinel(); } };
      case 11: return Symbol('fuzz');
      case 12: return this.r.chance(0.5) ? new Array(this.r.pick([3, 2 ** 20, 2 ** 32 - 1])) : [, , 1]; // eslint-disable-line no-sparse-arrays
      case 13: return [];
      case 14: return {};
      case 15: return () => 0;
      case 16: return true;
      case 17: return this.bytes();
      case 18: return new Uint16Array(16);
      case 19: return new DataView(new ArrayBuffer(32));
      case 20: return Buffer.alloc(this.r.pick([0, 32, 80]));
      default: return this.changing(this.r.pick([1, 0, 5]), this.r.pick([-1, 2 ** 40, NaN, 'x']));
    }
  }

  /** An object whose `value` getter answers a first value, then another (a caller racing the library). */
  changing(first: unknown, then: unknown): unknown {
    let n = 0;
    return { get value() { return n++ === 0 ? first : then; } };
  }

  /** Usually a plausible value from `f`, sometimes a hostile one. */
  or<T>(f: () => T, hostileRate = 0.25): T | unknown {
    return this.r.chance(hostileRate) ? this.hostile() : f();
  }

  /** A request object: mostly valid fields, some hostile, some getters that throw or change. */
  object(fields: Record<string, () => unknown>, hostileRate = 0.2): unknown {
    const pick = this.r.int(10);
    if (pick === 0) return this.hostile();
    const o: Record<string, unknown> = pick === 1 ? Object.create(null) as Record<string, unknown> : {};
    for (const [k, f] of Object.entries(fields)) {
      if (this.r.chance(0.1)) continue;
      const kind = this.r.int(20);
      if (kind === 0) Object.defineProperty(o, k, { enumerable: true, configurable: true, get() { throw new Sentinel(); } });
      else if (kind === 1) {
        const a = f();
        const b = this.hostile();
        let n = 0;
        Object.defineProperty(o, k, { enumerable: true, configurable: true, get() { return n++ === 0 ? a : b; } });
      } else o[k] = this.r.chance(hostileRate) ? this.hostile() : f();
    }
    if (this.r.chance(0.05)) Object.defineProperty(o, this.r.pick(STRINGS), { value: this.hostile(), enumerable: true, configurable: true, writable: true });
    if (this.r.chance(0.05)) return new Proxy(o, { get: (t, k) => (this.r.chance(0.5) ? Reflect.get(t, k) : this.hostile()) });
    return o;
  }
}

// ---------------------------------------------------------------- the world

const DMOPS = ['create_ioreq_server', 'get_ioreq_server_info', 'map_io_range_to_ioreq_server', 'unmap_io_range_from_ioreq_server',
  'set_ioreq_server_state', 'destroy_ioreq_server', 'track_dirty_vram', 'set_pci_intx_level', 'set_isa_irq_level',
  'set_pci_link_route', 'modified_memory', 'set_mem_type', 'inject_event', 'inject_msi', 'map_mem_type_to_ioreq_server',
  'remote_shutdown', 'relocate_memory', 'pin_memory_cacheattr', 'nr_vcpus'];
/** Ops Xen does page by page, keeping the pages done before a failure. */
const PAGE_BY_PAGE_DMOPS = new Set(['modified_memory', 'set_mem_type', 'relocate_memory']);
const PAGE_BY_PAGE_DMOP_NUMBERS = new Set(api.DMOPS.filter((d) => PAGE_BY_PAGE_DMOPS.has(d.name)).map((d) => d.op));
const DMOP_FIELDS = ['id', 'handleBufioreq', 'flags', 'ioreqGfn', 'bufioreqGfn', 'bufioreqPort', 'type', 'start', 'end', 'enabled',
  'firstPfn', 'nr', 'domain', 'device', 'intx', 'level', 'isaIrq', 'link', 'memType', 'vcpuid', 'vector', 'insnLen', 'errorCode',
  'cr2', 'addr', 'data', 'reason', 'size', 'srcGfn', 'dstGfn', 'extents', 'irq'];
const ALTP2M = ['get_domain_state', 'set_domain_state', 'vcpu_enable_notify', 'create_p2m', 'destroy_p2m', 'switch_p2m', 'set_mem_access',
  'change_gfn', 'set_mem_access_multi', 'set_suppress_ve', 'get_suppress_ve', 'get_mem_access', 'vcpu_disable_notify', 'get_p2m_idx',
  'set_suppress_ve_multi', 'set_visibility'];
const ALTP2M_FIELDS = ['state', 'vcpuId', 'gfn', 'hvmmemDefaultAccess', 'view', 'access', 'oldGfn', 'newGfn', 'nr', 'opaque', 'pfnList',
  'accessList', 'suppressVe', 'firstGfn', 'lastGfn', 'altp2mIdx', 'visible'];
const TYPES = ['dom0_t', 'domU_t', 'vm_building_t', 'vm_t'];
const FLASK_ALLOW = [
  ...api.domainBuildRules('dom0_t', 'vm_t', 'vm_building_t'),
  { source: 'dom0_t', target: 'security_t', class: 'security' as const, perms: ['check_context'] },
];

export interface World {
  host: SimulatedHost;
  /** Unrestricted dom0 handle. */
  h0: Privcmd;
  /** Restricted to `rTarget`. */
  hr: Privcmd;
  rTarget: number;
  /** Filtered: device-model for `fTarget`. */
  hf: Privcmd;
  fTarget: number;
  /** Event channels: unrestricted, and restricted to `rTarget`. */
  e0: EventChannels;
  er: EventChannels;
  domains: number[];
  spaces: api.AddressSpace[];
  bufs: api.DmBufArray[];
}

function makeWorld(g: Gen): World {
  const flask = g.r.chance(0.2);
  const host = createSimulatedHost({
    altp2m: g.r.chance(0.7),
    dmOpMaxNrBufs: g.r.pick([16, 16, 2]),
    ...(flask ? { flask: { policy: { types: TYPES, allow: FLASK_ALLOW } } } : {}),
    memory: { size: 1 << 20 },
  });
  const domains = [0];
  for (let i = 0; i < 3; i++) {
    const type = g.r.pick(['hvm', 'hvm', 'pvh', 'pv'] as const);
    domains.push(host.createDomain({
      type, vcpus: 1 + g.r.int(2), memoryPages: g.r.pick([0, 16, 64]),
      ...(type !== 'pv' && g.r.chance(0.5) ? { altp2m: g.r.pick(['mixed', 'external', 'limited'] as const) } : {}),
      ...(flask ? { label: 'system_u:system_r:vm_building_t' } : {}),
    }));
  }
  const [, d1, d2] = domains as [number, number, number, number];
  const h0 = open({ host });
  const hr = open({ host, domain: 0 });
  hr.restrict(d1);
  const hf = open({ host, filter: api.createFilter({ role: 'device-model', target: d2, hwPriv: 'none', ...(g.r.chance(0.5) ? { allow: api.altp2mGuestAllowList() } : {}) }) });
  const e0 = openEventChannels({ host });
  const er = openEventChannels({ host });
  er.restrict(d1);
  const space = api.AddressSpace.create({ size: 64 * 1024 });
  return { host, h0, hr, rTarget: d1, hf, fTarget: d2, e0, er, domains, spaces: [space], bufs: [] };
}

/** Close everything; returns what failed to close (closing must always work). */
function closeWorld(w: World): string[] {
  const failed: string[] = [];
  const attempt = (what: string, f: () => void): void => {
    try {
      f();
    } catch (e) {
      failed.push(`${what}: ${describeError(e)}`);
    }
  };
  for (const h of [w.h0, w.hr, w.hf]) attempt('Privcmd.close', () => h.close());
  for (const e of [w.e0, w.er]) attempt('EventChannels.close', () => e.close());
  for (const s of w.spaces) attempt('AddressSpace.close', () => s.close());
  attempt('SimulatedHost.close', () => w.host.close());
  return failed;
}

const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));

function snapshot(w: World): string[] {
  return w.domains.map((d) => {
    try {
      // inspect() plus the domain's event channels (ports, states, pending and mask bits).
      return json({ ...w.host.inspect(d), evtchn: w.host.domainById(d)?.evtchn.snapshot() });
    } catch (e) {
      return `gone: ${String((e as { code?: unknown }).code)}`;
    }
  });
}

// ---------------------------------------------------------------- entries

export interface Call {
  entry: string;
  /** Which handle the call goes through: 'r' restricted, 'f' filtered, or none. */
  via?: 'r' | 'f' | '0';
  /** A refusal may leave pages done (Xen's page-by-page ops). */
  pageByPage?: boolean;
  /** A raw hypercall: must never succeed on the restricted handle. */
  hypercall?: boolean;
  /** The domain a DMOP names: a success on the restricted handle must name its domain. */
  target?: unknown;
  run: () => unknown;
}

export type Entry = (g: Gen, w: World) => Call;

function domid(g: Gen, w: World): unknown {
  return g.or(() => (g.r.chance(0.8) ? g.r.pick(w.domains) : g.r.pick([0x7ff0, 0x7ff2, 0xffff, 0x7fff, 1000])));
}

function handle(g: Gen, w: World): [Privcmd, 'r' | 'f' | '0'] {
  const k = g.r.pick(['0', 'r', 'f'] as const);
  return [k === '0' ? w.h0 : k === 'r' ? w.hr : w.hf, k];
}

function dmopRequest(g: Gen, w: World): unknown {
  const op = g.or(() => g.r.pick(DMOPS), 0.1);
  const fields: Record<string, () => unknown> = { op: () => op };
  const n = g.r.int(6);
  for (let i = 0; i < n; i++) {
    const k = g.r.pick(DMOP_FIELDS);
    fields[k] = k === 'extents'
      ? () => (g.r.chance(0.6) ? Array.from({ length: g.r.int(4) }, () => g.object({ firstPfn: () => g.or(() => g.r.int(80)), nr: () => g.or(() => g.r.int(8)) })) : g.hostile())
      : g.r.chance(0.3) ? () => g.big() : () => (g.r.chance(0.5) ? g.r.int(g.r.pick([4, 70, 0x100])) : g.num());
  }
  if (op === 'relocate_memory' && g.r.chance(0.3)) fields.dstGfn = () => g.r.pick([1n << 60n, (1n << 36n) - 1n, 1n << 36n, (1n << 64n) - 1n]);
  void w;
  return g.object(fields, 0.1);
}

function rawBuffers(g: Gen, w: World, h: Privcmd): unknown {
  if (g.r.chance(0.05)) return g.hostile();
  const n = g.r.pick([0, 1, 1, 2, 3, 17, g.r.chance(0.02) ? 3000 : 2]);
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const k = g.r.int(10);
    if (k < 5) {
      // A valid DMOP encoding, sometimes.
      try {
        const bufs = api.encodeDmop(dmopRequest(g, w) as api.DmopRequest);
        out.push(i === 0 ? bufs[0] : g.bytes());
        continue;
      } catch {
        out.push(g.bytes());
      }
    } else if (k < 7) {
      out.push({ addr: g.r.chance(0.5) ? g.big() : hyperAddr(g, h), size: g.or(() => (g.r.chance(0.5) ? g.num() : g.big())) });
    } else out.push(g.hostile());
  }
  return out;
}

/** A real hypercall-buffer address in the handle's process, or a random one. */
function hyperAddr(g: Gen, h: Privcmd): bigint {
  try {
    const b = h.hypercallBuffer(g.r.pick([32, 80, 4096]));
    b.view.set(g.bytes(Math.min(b.size, 80)).subarray(0, b.size));
    return b.addr + BigInt(g.r.int(8));
  } catch {
    return g.big();
  }
}

function hypercallArgs(g: Gen, h: Privcmd): unknown {
  if (g.r.chance(0.05)) return g.hostile();
  const n = g.r.int(7);
  return Array.from({ length: n }, () => g.or(() => (g.r.chance(0.5) ? hyperAddr(g, h) : g.r.chance(0.5) ? BigInt(g.r.int(40)) : g.big()), 0.15));
}

function altp2mRequest(g: Gen, w: World): unknown {
  const cmd = g.or(() => g.r.pick(ALTP2M), 0.1);
  const fields: Record<string, () => unknown> = { cmd: () => cmd, domain: () => domid(g, w) };
  for (let i = g.r.int(5); i > 0; i--) fields[g.r.pick(ALTP2M_FIELDS)] = () => (g.r.chance(0.3) ? g.big() : g.r.chance(0.5) ? g.r.int(12) : g.num());
  return g.object(fields, 0.1);
}

function space(g: Gen, w: World): api.AddressSpace {
  return g.r.pick(w.spaces);
}

function allocation(g: Gen, w: World): unknown {
  const s = space(g, w);
  if (g.r.chance(0.6)) {
    try {
      return s.alloc(g.r.pick([0, 1, 32, 4096, 5000]));
    } catch { /* full */ }
  }
  return g.object({ addr: () => g.big(), size: () => g.num(), view: () => g.hostile() });
}

/** An allocation's addr, read without trusting the object (it may be hostile). */
function addrOf(a: unknown): unknown {
  try {
    return typeof a === 'object' && a !== null ? (a as { addr?: unknown }).addr : a;
  } catch {
    return undefined;
  }
}

function dmBufs(g: Gen, w: World): unknown {
  if (g.r.chance(0.2)) return g.hostile();
  const s = space(g, w);
  const n = 1 + g.r.int(3);
  const a = new api.DmBufArray(n);
  for (let i = 0; i < n; i++) {
    try {
      const al = s.alloc(g.r.pick([0, 16, 4096]));
      a.set(i, al.addr + BigInt(g.r.int(4)), g.r.pick([0, 16, al.size, 4096 * 3]));
    } catch {
      a.set(i, g.big() & ((1n << 64n) - 1n), g.r.int(5000));
    }
  }
  return a;
}

function copyOptions(g: Gen): unknown {
  return g.r.chance(0.3) ? g.hostile() : g.object({ len: () => g.num(), offset: () => (g.r.chance(0.5) ? g.num() : g.big()), mode: () => g.r.pick(['strict', 'seed', 'x']) });
}

function filterOptions(g: Gen, w: World): unknown {
  return g.object({
    role: () => g.r.pick(api.ROLES), target: () => domid(g, w), self: () => domid(g, w), xenstore: () => g.r.pick([true, false, 'x']),
    hwPriv: () => g.r.pick(['none', 'exclusive', 'non-exclusive', 'x']), altp2mMode: () => g.r.pick(['mixed', 'external', 'limited', 'disabled', 'x']),
    deny: () => (g.r.chance(0.5) ? [g.r.pick(['hvm_op/altp2m', 'dm_op/remote_shutdown', 'nope'])] : g.hostile()),
    allow: () => (g.r.chance(0.5) ? [g.r.pick(['hvm_op/altp2m/get_p2m_idx', 'xen_version', 'nope', { rule: 'dm_op/nr_vcpus', reason: 'r' }])] : g.hostile()),
  });
}

const anyArgs = (g: Gen, n: number): unknown[] => Array.from({ length: n }, () => g.hostile());

export const ENTRIES: Readonly<Record<string, Entry>> = {
  dmop: (g, w) => {
    const [h, via] = handle(g, w);
    const req = dmopRequest(g, w);
    const op = safeOp(req);
    const d = domid(g, w);
    return { entry: 'dmop', via, target: d, pageByPage: PAGE_BY_PAGE_DMOPS.has(op), run: () => h.dmop(d as number, req as api.DmopRequest) };
  },
  dmopRaw: (g, w) => {
    const [h, via] = handle(g, w);
    const bufs = rawBuffers(g, w, h);
    const d = domid(g, w);
    return { entry: 'dmopRaw', via, target: d, pageByPage: rawPageByPage(bufs), run: () => h.dmopRaw(d as number, bufs as api.BufferArg[]) };
  },
  dmopAsync: (g, w) => {
    const [h, via] = handle(g, w);
    const req = dmopRequest(g, w);
    const d = domid(g, w);
    return { entry: 'dmopAsync', via, target: d, pageByPage: PAGE_BY_PAGE_DMOPS.has(safeOp(req)), run: () => h.dmopAsync(d as number, req as api.DmopRequest) };
  },
  dmopRawAsync: (g, w) => {
    const [h, via] = handle(g, w);
    const bufs = rawBuffers(g, w, h);
    const d = domid(g, w);
    return { entry: 'dmopRawAsync', via, target: d, pageByPage: rawPageByPage(bufs), run: () => h.dmopRawAsync(d as number, bufs as api.BufferArg[]) };
  },
  hypercall: (g, w) => {
    const [h, via] = handle(g, w);
    const op = g.or(() => g.r.pick([17, 34, 41, 27, 12, 36, 13, 'xen_version', 'hvm_op', 'xsm_op', 99]), 0.1);
    const args = hypercallArgs(g, h);
    return { entry: 'hypercall', via, hypercall: true, pageByPage: altp2mMulti(h, op, args), run: () => h.hypercall(op as number, args as bigint[]) };
  },
  hypercallAsync: (g, w) => {
    const [h, via] = handle(g, w);
    const op = g.or(() => g.r.pick([17, 34, 41, 'hvm_op']), 0.1);
    const args = hypercallArgs(g, h);
    return { entry: 'hypercallAsync', via, hypercall: true, pageByPage: altp2mMulti(h, op, args), run: () => h.hypercallAsync(op as number, args as bigint[]) };
  },
  restrict: (g, w) => {
    const [h, via] = handle(g, w);
    return { entry: 'restrict', via, run: () => h.restrict(domid(g, w) as number) };
  },
  hypercallBuffer: (g, w) => {
    const [h, via] = handle(g, w);
    const size = g.or(() => g.r.pick([0, 1, 4096, 70000]));
    return { entry: 'hypercallBuffer', via, run: () => h.hypercallBuffer(size as number) };
  },
  freeHypercallBuffer: (g, w) => {
    const [h, via] = handle(g, w);
    const b = g.r.chance(0.5) ? (() => { try { return h.hypercallBuffer(64); } catch { return g.hostile(); } })() : g.object({ addr: () => g.big(), size: () => g.num() });
    return { entry: 'freeHypercallBuffer', via, run: () => h.freeHypercallBuffer(b as api.Allocation) };
  },
  open: (g, w) => {
    const o = g.r.chance(0.8) ? g.object({ host: () => (g.r.chance(0.8) ? w.host : g.hostile()), domain: () => domid(g, w), filter: () => g.hostile() }) : g.hostile();
    return { entry: 'open', run: () => { open(o as api.OpenOptions).close(); } };
  },
  encodeDmop: (g, w) => {
    const req = dmopRequest(g, w);
    return { entry: 'encodeDmop', run: () => api.encodeDmop(req as api.DmopRequest) };
  },
  decodeDmop: (g) => {
    const op = g.or(() => g.r.pick(DMOPS));
    const bufs = g.r.chance(0.7) ? [g.or(() => g.bytes(32)), g.or(() => g.bytes())] : g.hostile();
    return { entry: 'decodeDmop', run: () => api.decodeDmop(op as 'nr_vcpus', bufs as Uint8Array[]) };
  },
  createFilter: (g, w) => {
    const o = filterOptions(g, w);
    return { entry: 'createFilter', run: () => api.createFilter(o as api.FilterOptions) };
  },
  filterCheckDmop: (g, w) => {
    const f = w.hf.filter as api.HypercallFilter;
    const a = [domid(g, w), g.or(() => g.r.int(25)), g.or(() => ({ self: 0, read: null }))];
    return { entry: 'filter.checkDmop', run: () => f.checkDmop(a[0] as number, a[1] as number, a[2] as api.FilterContext) };
  },
  filterCheckHypercall: (g, w) => {
    const f = w.hf.filter as api.HypercallFilter;
    const args = hypercallArgs(g, w.h0);
    const ctx = g.or(() => ({ self: 0, read: g.r.chance(0.5) ? null : (_a: bigint, out: Uint8Array) => { out.fill(g.r.int(256)); return g.r.chance(0.8); } }));
    const op = g.or(() => g.r.pick([17, 34, 41, 27, 13, 99]));
    return { entry: 'filter.checkHypercall', run: () => f.checkHypercall(op as number, args as bigint[], ctx as api.FilterContext) };
  },
  filterVerdict: (g, w) => {
    const name = g.or(() => g.r.pick(['hvm_op/altp2m', 'dm_op', 'xen_version', 'nope']));
    return { entry: 'filter.verdict', run: () => (w.hf.filter as api.HypercallFilter).verdict(name as string) };
  },
  policyHelpers: (g) => {
    const which = g.r.int(10);
    const a = anyArgs(g, 3);
    const x = g.or(() => g.r.int(50));
    const runs: (() => unknown)[] = [
      () => api.xsmRule(a[0] as string), () => api.hypercallRule(x as number), () => api.dmopRule(x as number),
      () => api.roleSubject(a[0] as api.RoleSpec, a[1] as number), () => api.roleLabel(a[0] as api.RoleSpec), () => api.describeRole(a[0] as api.RoleName),
      () => api.altp2mCmd(a[0] as number), () => api.altp2mModeName(a[0] as number), () => api.altp2mXsmAction(a[0] as number, x as number),
      () => api.xsmActionName(a[0] as api.XsmAction),
    ];
    return { entry: `policy#${which}`, run: runs[which] as () => unknown };
  },
  altp2mOp: (g, w) => {
    const [h, via] = handle(g, w);
    const req = altp2mRequest(g, w);
    const multi = safeCmd(req) === 'set_mem_access_multi';
    return { entry: 'altp2mOp', via, hypercall: true, pageByPage: multi, run: () => api.altp2mOp(h, req as api.Altp2mRequest) };
  },
  encodeAltp2mOp: (g, w) => {
    const req = altp2mRequest(g, w);
    return { entry: 'encodeAltp2mOp', run: () => api.encodeAltp2mOp(req as api.Altp2mRequest) };
  },
  decodeAltp2mOp: (g) => {
    const c = g.or(() => g.r.pick(ALTP2M));
    const b = g.or(() => g.bytes(80));
    return { entry: 'decodeAltp2mOp', run: () => api.decodeAltp2mOp(c as 'get_domain_state', b as Uint8Array) };
  },
  restrictAll: (g, w) => {
    const d = domid(g, w);
    const sel = simulatedSelector(g, w);
    return { entry: 'restrictAll', run: () => api.restrictAll(d as number, sel as api.ProcessSelector) };
  },
  verifyRestricted: (g, w) => {
    const sel = simulatedSelector(g, w);
    return { entry: 'verifyRestricted', run: () => api.verifyRestricted(sel as api.ProcessSelector) };
  },
  relabel: (g, w) => {
    const which = g.r.int(6);
    const [h, via] = handle(g, w);
    const d = domid(g, w);
    const label = g.or(() => g.r.pick(['system_u:system_r:vm_t', 'system_u:system_r:vm_building_t', 'nope', '']));
    const sid = g.or(() => g.r.int(8));
    const runs: (() => unknown)[] = [
      () => api.flaskContextToSid(h, label as string), () => api.flaskRelabelDomain(h, d as number, sid as number), () => api.flaskStatus(h),
      () => api.relabelDomain(h, d as number, label as string), () => api.encodeFlaskRelabel(d as number, sid as number),
      () => api.encodeFlaskContextToSid(g.big(), sid as number),
    ];
    // flaskStatus answers 'absent' for a refused xsm_op: not a success of the call.
    // Flask, not the filter, judges xsm_op (by the caller's label): no filter check.
    return { entry: `relabel#${which}`, via: via === 'f' ? undefined : via, hypercall: which === 0 || which === 1 || which === 3, run: runs[which] as () => unknown };
  },
  build: (g, w) => {
    const o = g.object({
      toolstack: () => (g.r.chance(0.7) ? api.simulatedToolstack(w.host, { memoryPages: 4 }) : g.hostile()),
      handle: () => (g.r.chance(0.8) ? w.h0 : g.hostile()),
      buildLabel: () => g.r.pick(['system_u:system_r:vm_building_t', 'x', '']),
      runLabel: () => g.r.pick(['system_u:system_r:vm_t', 'system_u:system_r:vm_building_t']),
    });
    // A successful build adds a domain: that is its job, not a state change.
    return { entry: 'buildDomain', run: async () => { const b = await api.DomainBuild.create(o as api.DomainBuildOptions); w.domains.push(b.domid); return b; } };
  },
  spaceCreate: (g, w) => {
    const o = g.r.chance(0.8) ? g.object({ base: () => g.big(), size: () => g.or(() => g.r.pick([8192, 65536, 4096, 2 ** 33])) }) : g.hostile();
    return { entry: 'AddressSpace.create', run: () => { const s = api.AddressSpace.create(o as api.AddressSpaceOptions); w.spaces.push(s); return s; } };
  },
  spaceAlloc: (g, w) => {
    const s = space(g, w);
    const size = g.or(() => g.r.pick([0, 1, 4096, 8192, 2 ** 20]));
    const o = g.r.chance(0.5) ? undefined : g.r.chance(0.5) ? g.hostile() : g.object({ alignEnd: () => g.r.chance(0.5), readOnly: () => g.r.chance(0.5) });
    return { entry: 'space.alloc', run: () => s.alloc(size as number, o as api.AllocOptions) };
  },
  spaceFree: (g, w) => {
    const s = space(g, w);
    const a = g.r.chance(0.5) ? allocation(g, w) : g.r.chance(0.5) ? g.object({ addr: () => (g.r.chance(0.5) ? addrOf(allocation(g, w)) : g.big()) }) : g.hostile();
    return { entry: 'space.free', run: () => s.free(a as api.Allocation) };
  },
  spaceRW: (g, w) => {
    const s = space(g, w);
    const addr = g.or(() => (g.r.chance(0.5) ? s.base + BigInt(g.r.int(70000)) : g.big()));
    const which = g.r.int(4);
    const len = g.or(() => g.r.pick([0, 1, 4096, 70000]));
    const bytes = g.or(() => g.bytes());
    const runs: (() => unknown)[] = [() => s.read(addr as bigint, len as number), () => s.write(addr as bigint, bytes as Uint8Array),
      () => s.pageState(addr as bigint), () => s.addressOf(bytes as Uint8Array)];
    return { entry: `space#${which}`, run: runs[which] as () => unknown };
  },
  dmBufArray: (g) => {
    const which = g.r.int(4);
    const nr = g.or(() => g.r.int(5));
    const a = new api.DmBufArray(2);
    const i = g.or(() => g.r.int(3));
    const runs: (() => unknown)[] = [() => new api.DmBufArray(nr as number, g.or(() => g.bytes()) as Uint8Array),
      () => api.DmBufArray.of(g.or(() => [g.object({ addr: () => g.big(), size: () => g.num() })]) as { addr: bigint; size: number }[]),
      () => a.get(i as number), () => a.set(i as number, g.or(() => g.big()) as bigint, g.or(() => g.num()) as number)];
    return { entry: `DmBufArray#${which}`, run: runs[which] as () => unknown };
  },
  validateDmBuffers: (g, w) => {
    const s = g.or(() => space(g, w), 0.1);
    const ubufs = g.or(() => {
      const b = dmBufs(g, w);
      if (!(b instanceof api.DmBufArray)) return g.big();
      try {
        const al = space(g, w).alloc(b.bytes.length);
        al.view.set(b.bytes);
        return al.addr;
      } catch {
        return g.big();
      }
    });
    const num = g.or(() => g.r.int(20));
    const lim = g.r.chance(0.5) ? undefined : g.object({ maxBufs: () => g.num(), maxBufSize: () => g.num() });
    return { entry: 'validateDmBuffers', run: () => api.validateDmBuffers(s as api.AddressSpace, ubufs as bigint, num as number, lim as api.DmBufferLimits) };
  },
  copyDmBuffer: (g, w) => {
    const s = g.or(() => space(g, w), 0.1);
    const bufs = dmBufs(g, w);
    const idx = g.or(() => g.r.int(4));
    const local = g.or(() => g.bytes(g.r.pick([0, 16, 4096])));
    const o = copyOptions(g);
    const from = g.r.chance(0.5);
    return {
      entry: from ? 'copyDmBufferFromGuest' : 'copyDmBufferToGuest',
      run: () => (from
        ? api.copyDmBufferFromGuest(s as api.AddressSpace, local as Uint8Array, bufs as api.DmBufArray, idx as number, o as api.CopyOptions)
        : api.copyDmBufferToGuest(s as api.AddressSpace, bufs as api.DmBufArray, idx as number, local as Uint8Array, o as api.CopyOptions)),
    };
  },
  createSimulatedHost: (g) => {
    const o = g.r.chance(0.7) ? g.object({ dmOpMaxNrBufs: () => g.num(), dmOpBufMaxSize: () => g.num(), paddrBits: () => g.num(), hwPriv: () => g.r.pick(['none', 'x']),
      memory: () => g.object({ size: () => g.r.pick([65536, 3, 2 ** 33]), base: () => g.big() }), dom0: () => g.hostile(), xenVersion: () => g.hostile(), altp2m: () => g.hostile() }) : g.hostile();
    return { entry: 'createSimulatedHost', run: () => { createSimulatedHost(o as api.SimulatedHostOptions).close(); } };
  },
  hostControls: (g, w) => {
    const which = g.r.int(8);
    const d = domid(g, w);
    const a = g.or(() => g.r.int(100));
    const b = g.or(() => g.r.int(10));
    const runs: (() => unknown)[] = [
      () => { const id = w.host.createDomain(g.object({ type: () => g.r.pick(['hvm', 'pv', 'x']), vcpus: () => g.num(), memoryPages: () => g.r.int(8), target: () => domid(g, w), label: () => g.hostile(), altp2m: () => g.hostile() }) as api.DomainConfig); w.domains.push(id); return id; },
      () => w.host.pauseDomain(d as number), () => w.host.unpauseDomain(d as number), () => w.host.setLogDirty(d as number, g.or(() => g.r.chance(0.5)) as boolean),
      () => w.host.cleanDirtyLog(d as number), () => w.host.populatePhysmap(d as number, a as number, b as number),
      () => w.host.removeFromPhysmap(d as number, a as number, b as number), () => w.host.guestWrite(d as number, a as number),
      () => w.host.mapForeignPages(d as number, g.object({ firstPfn: () => a, count: () => b, write: () => g.r.chance(0.5), by: () => domid(g, w) }) as { firstPfn: number; count: number }),
    ];
    // Toolstack controls change domains by design: only their refusals are checked.
    return { entry: `host#${which}`, run: runs[which] as () => unknown, hostControl: true } as Call;
  },
  policyMore: (g, w) => {
    const which = g.r.int(7);
    const a = anyArgs(g, 3);
    const subject = g.object({ domid: () => domid(g, w), isControl: () => g.r.chance(0.5), isHardware: () => g.r.chance(0.5), isXenstore: () => g.r.chance(0.5), target: () => domid(g, w) });
    const rule = g.r.chance(0.7) ? g.r.pick(api.XSM_RULES) : g.hostile();
    const args = hypercallArgs(g, w.h0);
    const runs: (() => unknown)[] = [
      () => api.xsmDefaultAction(g.or(() => g.r.int(8)) as api.XsmAction, subject as api.XsmSubject, g.or(() => subject) as api.XsmSubject,
        g.or(() => g.r.pick(api.HW_PRIV_VARIANTS)) as api.HwPrivVariant),
      () => api.ruleAction(rule as api.XsmRule, g.or(() => g.r.int(5)) as number),
      () => api.classifyHypercall(g.or(() => g.r.pick([17, 34, 41, 36])) as number, args as bigint[],
        g.or(() => (_a: bigint, out: Uint8Array) => { out.fill(g.r.int(40)); return true; }) as api.ArgReader),
      () => api.altp2mRuleName(a[0] as api.Altp2mCmdName),
      () => api.tePolicy(g.or(() => (g.r.chance(0.5) ? 'type a_t;\nallow a_t a_t:domain create;' : { types: ['a_t'], allow: [g.object({ source: () => 'a_t', target: () => 'a_t', class: () => 'domain', perms: () => ['create'] })] })) as string),
      () => w.host.inspect(domid(g, w) as number),
      () => api.roleSubject(g.object({ role: () => g.r.pick(api.ROLES), target: () => domid(g, w) }) as api.RoleSpec, g.or(() => domid(g, w)) as number),
    ];
    return { entry: `policyMore#${which}`, run: runs[which] as () => unknown };
  },
  evtchn: (g, w) => {
    const k = g.r.pick(['0', 'r'] as const);
    const e = k === '0' ? w.e0 : w.er;
    const port = (): unknown => g.or(() => g.r.pick([0, 1, 2, 3, 4, 4095, 4096]));
    const d = domid(g, w);
    const which = g.r.int(8);
    const runs: (() => unknown)[] = [
      () => e.bindInterdomain(d as number, port() as number),
      () => e.bindUnboundPort(d as number),
      () => e.bindVirq(g.or(() => g.r.pick([0, 1, 23, 24])) as number),
      () => e.unbind(port() as number),
      () => e.notify(port() as number),
      () => e.restrict(d as number),
      () => e.pending(),
      () => e.unmask(port() as number),
    ];
    // A bind that went through on the restricted handle must name its domain (checked as for DMOPs).
    return { entry: `evtchn#${which}`, via: k, ...(which === 0 ? { target: d } : {}), run: runs[which] as () => unknown };
  },
  mapping: (g, w) => {
    const [h, via] = handle(g, w);
    const d = domid(g, w);
    const which = g.r.int(3);
    const resource = () => g.object({
      type: () => g.r.pick(['ioreq_server', 'grant_table', 'vmtrace_buf', 'x', 0, 7]), id: () => g.or(() => g.r.pick([0, 1, 8, 2 ** 32])),
      frame: () => g.or(() => g.r.pick([0, 1, 2, 0xffffffff])), count: () => g.or(() => g.r.pick([0, 1, 2, 3, 2 ** 21])), writable: () => g.or(() => g.r.chance(0.5)),
    });
    const gfns = (): unknown => (g.r.chance(0.7) ? Array.from({ length: g.r.int(4) }, () => g.or(() => g.r.pick([0, 1, 7, 600, 0xfeff0, 2 ** 40]))) : g.hostile());
    const runs: (() => unknown)[] = [
      () => h.mapResource(d as number, resource() as api.MapResourceOptions).unmap(),
      () => h.resourceFrames(d as number, resource() as api.ResourceId),
      () => h.mapForeign(d as number, gfns() as number[], g.or(() => ({ writable: g.r.chance(0.5) })) as api.MapForeignOptions).unmap(),
    ];
    // A mapping that went through on the restricted handle must be of its domain (checked as for DMOPs).
    return { entry: `mapping#${which}`, via, target: d, run: runs[which] as () => unknown };
  },
  openEventChannels: (g, w) => {
    const o = g.r.chance(0.8) ? g.object({ host: () => (g.r.chance(0.8) ? w.host : g.hostile()), domain: () => domid(g, w), device: () => g.hostile() }) : g.hostile();
    return { entry: 'openEventChannels', run: () => { openEventChannels(o as api.OpenEventChannelsOptions).close(); } };
  },
  misc: (g) => {
    const which = g.r.int(4);
    const a = anyArgs(g, 4);
    const runs: (() => unknown)[] = [() => api.pciSbdf(a[0] as number, a[1] as number, a[2] as number, a[3] as number),
      () => api.tePolicy(a[0] as string), () => api.domainBuildRules(a[0] as string, a[1] as string, a[2] as string), () => api.readArg(a[0] as api.ArgLoc, a[1] as bigint[], () => true)];
    return { entry: `misc#${which}`, run: runs[which] as () => unknown };
  },
};

function safeOp(req: unknown): string {
  try {
    const d = typeof req === 'object' && req !== null ? Object.getOwnPropertyDescriptor(req, 'op') : undefined;
    return d !== undefined && 'value' in d && typeof d.value === 'string' ? d.value : '';
  } catch {
    return '';
  }
}

function safeCmd(req: unknown): string {
  try {
    const d = typeof req === 'object' && req !== null ? Object.getOwnPropertyDescriptor(req, 'cmd') : undefined;
    return d !== undefined && 'value' in d && typeof d.value === 'string' ? d.value : '';
  } catch {
    return '';
  }
}

/**
 * A selector for restrictAll/verifyRestricted that never names the real
 * process: restricting it is one-way and process-wide (native state shared
 * by every test file jest runs in this worker), so a fuzzed call that
 * selected it would restrict the device handles of later suites. Hostile
 * non-objects, or plain data { host, domain } whose host is never undefined;
 * getter and Proxy selectors are covered by test/hardening/host-selector.test.ts,
 * and the real process's path by test/deprivilege/process-handles.test.ts (in
 * a child process).
 */
function simulatedSelector(g: Gen, w: World): unknown {
  if (g.r.chance(0.15)) return g.r.pick([null, 0, 5, 'host', true, Symbol('sel'), 1n]);
  let host: unknown = w.host;
  if (g.r.chance(0.2)) {
    do host = g.hostile(); while (host === undefined);
  }
  return { host, domain: g.or(() => g.r.pick(w.domains)) };
}

/** Any buffer 0 of a raw call names a page-by-page op (read without trusting the buffer: a Proxy may lie). */
function rawPageByPage(bufs: unknown): boolean {
  if (!Array.isArray(bufs) || bufs.length === 0) return false;
  const b = bufs[0] as unknown;
  // A Proxy may answer differently on each read: treat it as any op.
  if (b instanceof Uint8Array) {
    try {
      const op = b.byteLength >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : -1;
      return PAGE_BY_PAGE_DMOP_NUMBERS.has(op) || isProxyLike(b);
    } catch {
      return true;
    }
  }
  return true; // { addr, size }: buffer 0 lives in simulated memory; be conservative
}

function isProxyLike(b: Uint8Array): boolean {
  try {
    return b[0] !== b[0];
  } catch {
    return true;
  }
}

/** A raw hvm_op(HVMOP_altp2m, addr) whose struct names set_mem_access_multi (or cannot be read). */
function altp2mMulti(h: Privcmd, op: unknown, args: unknown): boolean {
  if (op !== 34 && op !== 'hvm_op') return false;
  if (!Array.isArray(args) || args[0] !== 25n) return false;
  void h;
  return true; // the struct is in simulated memory, written by the fuzzer at random: assume the multi sub-op
}

// ---------------------------------------------------------------- the loop

function isCoded(e: unknown): boolean {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string';
}

function describeError(e: unknown): string {
  try {
    if (e instanceof Error) return `${e.constructor.name}: ${e.message.split('\n')[0]}`;
    return `thrown ${typeof e}`;
  } catch {
    return 'unprintable error';
  }
}

const HANG_MS = 2000;

async function settle(v: unknown, hangMs: number): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown } | { hang: true }> {
  if (!(v instanceof Promise)) return { ok: true, value: v };
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<{ hang: true }>((res) => { timer = setTimeout(() => res({ hang: true }), hangMs); });
  try {
    return await Promise.race([v.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error })), t]);
  } finally {
    clearTimeout(timer);
  }
}

export interface FuzzOptions {
  seed: number;
  /** Stop after this many calls... */
  calls?: number;
  /** ...or after this many milliseconds, whichever comes first. */
  ms?: number;
  /** Calls per world (a fresh host and handles). */
  worldCalls?: number;
  /** Only these entries (names in ENTRIES or `custom`). */
  entries?: readonly string[];
  /** Extra entries (the fuzzer's own self-test plants faults with these). */
  custom?: Readonly<Record<string, Entry>>;
  /** How long an async call may take to settle (default 2000 ms). */
  hangMs?: number;
  onFinding?: (f: Finding) => void;
}

export async function fuzzApi(options: FuzzOptions): Promise<FuzzReport> {
  const r = new Rng(options.seed);
  const g = new Gen(r);
  const table: Readonly<Record<string, Entry>> = { ...ENTRIES, ...options.custom };
  const names = options.entries ?? Object.keys(table);
  const hangMs = options.hangMs ?? HANG_MS;
  const report: FuzzReport = { seed: options.seed, calls: 0, values: 0, coded: 0, passedThrough: 0, findings: [], kinds: new Map() };
  const deadline = options.ms === undefined ? Infinity : Date.now() + options.ms;
  const maxCalls = options.calls ?? Infinity;
  const perWorld = options.worldCalls ?? 150;
  const find = (kind: Finding['kind'], entry: string, detail: string): void => {
    const f: Finding = { kind, entry, detail, seed: options.seed, call: report.calls };
    report.findings.push(f);
    const key = `${kind} ${entry}: ${detail.replace(/0x[0-9a-f]+|\d+/g, 'N').slice(0, 160)}`;
    report.kinds.set(key, (report.kinds.get(key) ?? 0) + 1);
    options.onFinding?.(f);
  };
  let w = makeWorld(g);
  let inWorld = 0;
  while (report.calls < maxCalls && Date.now() < deadline) {
    if (inWorld++ >= perWorld) {
      for (const f of closeWorld(w)) find('close', f.split(':')[0] as string, f);
      w = makeWorld(g);
      inWorld = 0;
    }
    const name = r.pick(names);
    let call: Call & { hostControl?: boolean };
    try {
      call = (table[name] as Entry)(g, w) as Call & { hostControl?: boolean };
    } catch (e) {
      if (e instanceof Sentinel) continue; // the fuzzer tripped over its own hostile value
      throw new Error(`fuzzer bug building ${name}: ${describeError(e)}`);
    }
    const before = snapshot(w);
    report.calls++;
    let out: Awaited<ReturnType<typeof settle>>;
    const t0 = Date.now();
    try {
      out = await settle(call.run(), hangMs);
    } catch (e) {
      out = { ok: false, error: e };
    }
    if ('hang' in out) {
      find('hang', call.entry, `did not settle within ${hangMs} ms`);
      continue;
    }
    // A synchronous call cannot be interrupted, but one that stalls the loop this long is a hang too.
    if (Date.now() - t0 > hangMs) find('hang', call.entry, `took ${Date.now() - t0} ms`);
    const after = snapshot(w).slice(0, before.length);
    const changed = w.domains.slice(0, before.length).filter((_d, i) => before[i] !== after[i]);
    if (out.ok) {
      report.values++;
    } else if (out.error instanceof Sentinel) {
      report.passedThrough++;
    } else if (isCoded(out.error)) {
      report.coded++;
    } else {
      find('uncoded', call.entry, describeError(out.error));
    }
    if (!out.ok && changed.length > 0 && !call.pageByPage && !call.hostControl) {
      find('state-change', call.entry, `refused (${describeError(out.error)}) yet changed domain(s) ${changed.join(', ')}: ${firstDiff(before, after, w.domains)}`);
    }
    if (call.via === 'r') {
      const others = changed.filter((d) => d !== w.rTarget);
      if (others.length > 0) find('escape', call.entry, `the handle restricted to domain ${w.rTarget} changed domain(s) ${others.join(', ')}`);
      if (call.hypercall && out.ok) find('escape', call.entry, 'a raw hypercall succeeded on a restricted handle');
      // A DMOP that went through names the handle's domain (num == 0 never reaches Xen, but privcmd still checks the domain first).
      if (call.target !== undefined && out.ok && call.target !== w.rTarget) find('escape', call.entry, `a DMOP for domain ${String(call.target)} succeeded on a handle restricted to ${w.rTarget}`);
    }
    if (call.via === 'f' && out.ok) {
      const others = changed.filter((d) => d !== w.fTarget && d !== 0);
      if (others.length > 0) find('escape', call.entry, `the filter (device-model for ${w.fTarget}) let a call change domain(s) ${others.join(', ')}`);
    }
  }
  for (const f of closeWorld(w)) find('close', f.split(':')[0] as string, f);
  return report;
}

function firstDiff(before: string[], after: string[], domains: number[]): string {
  for (let i = 0; i < before.length; i++) {
    const a = before[i] as string;
    const b = after[i] as string;
    if (a === b) continue;
    let j = 0;
    while (j < a.length && a[j] === b[j]) j++;
    return `domain ${domains[i]} at ...${a.slice(Math.max(0, j - 40), j + 40)} -> ...${b.slice(Math.max(0, j - 40), j + 40)}`;
  }
  return '';
}

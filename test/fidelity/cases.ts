// The differential suite's case generator (issue 15). From the layout table
// in lib/abi it makes, for every DMOP, boundary cases for every field, plus
// targets, buffer shapes, gfn classes, overflowing combinations and short
// stateful sequences. Every case starts from a fresh domain, so any case can
// be replayed alone. Deterministic: the same code makes the same list, and
// the fixture records a hash of it.
import { createHash } from 'crypto';
import { DMOPS, type DmopInfo } from '../../lib/abi/dmops';
import { DMOP_STRUCTS, SCALAR_SIZE, type Field } from '../../lib/abi/layouts';
import { hypercallCases, type HcStep } from './hypercall-cases';

/** Where a case's DMOPs go. Fresh ones are a new paused HVM domain (2 vCPUs, PAGES pages). */
export type Target = 'hvm' | 'logdirty' | 'pv' | 'self' | 'missing' | 'domid_self';

export interface Step {
  /** DMOP number written into xen_dm_op.op (known name or raw number). */
  readonly op: number;
  /** Union fields by C name, as decimal strings (u64 values are bigints). Absent: 0. */
  readonly u: Readonly<Record<string, string>>;
  /** xen_dm_op.pad. */
  readonly headerPad?: number;
  /** Size of buffer 0; default 8 + op_size (32 for ops Xen does not know). */
  readonly buf0Size?: number;
  /** Extra buffers: 'bitmap:<bytes>' (zero-filled), 'extents:<json>', 'bytes:<n>'. */
  readonly extra?: readonly string[];
}

export interface FidelityCase {
  readonly id: string;
  readonly target: Target;
  readonly steps: readonly Step[];
  /** Raw hypercalls (IOCTL_PRIVCMD_HYPERCALL), after the DMOP steps. */
  readonly calls?: readonly HcStep[];
  /** Made on a handle restricted to the PV domain. */
  readonly restricted?: boolean;
  /** gfns whose HVMMEM type is read back afterwards (fresh HVM targets only). */
  readonly probeGfns: readonly string[];
}

export const VCPUS = 2;
export const PAGES = 512;
/** The domains' max_pages as xenctl sets them (XEN_DOMCTL_max_mem): RAM, the ioreq pool and 64 pages of slack. */
export const MAX_PAGES = PAGES + 8 + 64;
/** The PV domain's: no RAM, the same slack. */
export const PV_MAX_PAGES = 8 + 64;
/** libxl's ioreq server page pool (populated by xenctl and the simulated host alike). */
export const IOREQ_PFN = 0xfeff0n;
/** The highest populated gfn of a fresh domain: the end of the ioreq pool. */
export const MAX_GPFN = 0xfeff7n;
export const MISSING_DOMID = 0x7000;
const U64 = (1n << 64n) - 1n;
const INVALID_GFN = U64;

const byName = new Map<string, DmopInfo>(DMOPS.map((d) => [d.name, d]));
const info = (name: string): DmopInfo => {
  const d = byName.get(name);
  if (d === undefined) throw new Error(`no DMOP ${name}`);
  return d;
};

/** A field's largest value (arrays such as pad[3]: every byte 0xff). */
export function fieldMax(f: Field): bigint {
  const bits = BigInt(SCALAR_SIZE[f.type] * 8 * (f.count ?? 1));
  return (1n << bits) - 1n;
}

/** gfns of every class: populated RAM, unpopulated, the ioreq pool, the p2m's edge, beyond it. */
const GFNS: readonly bigint[] = [
  0n, 1n, 0x10n, BigInt(PAGES - 1), BigInt(PAGES), 0x300n, IOREQ_PFN, MAX_GPFN, MAX_GPFN + 1n,
  (1n << 36n) - 1n, 1n << 36n, 1n << 52n, INVALID_GFN - 1n, INVALID_GFN,
];

// A valid request per op (fields not named are 0), the setup it needs, and
// per-field values beyond 0/1/max/max-1 (the semantic limits and their
// neighbours, reserved and unknown values).
interface OpPlan {
  readonly base: Record<string, bigint>;
  readonly target?: Target;
  /** Steps that run first (an ioreq server to talk about). */
  readonly setup?: readonly Step[];
  readonly extra?: (u: Record<string, bigint>) => string[];
  readonly values?: Record<string, readonly bigint[]>;
}

const CREATE: Step = { op: 1, u: { handle_bufioreq: '1' } };
const ID_VALUES = [2n, 7n, 8n];
const bitmapFor = (u: Record<string, bigint>) => {
  const nr = u.nr ?? 0n;
  const bytes = (nr + 7n) / 8n;
  return [`bitmap:${bytes > 4096n ? 4096n : bytes}`];
};
const EXTENT = (nr: bigint, first: bigint, pad = 0n) => ({ nr: nr.toString(), pad: pad.toString(), first_pfn: first.toString() });

const PLANS: Record<string, OpPlan> = {
  create_ioreq_server: { base: { handle_bufioreq: 1n }, values: { handle_bufioreq: [2n, 3n] } },
  get_ioreq_server_info: { base: { id: 0n, flags: 1n }, setup: [CREATE], values: { id: ID_VALUES, flags: [2n, 3n] } },
  map_io_range_to_ioreq_server: {
    base: { id: 0n, type: 0n, start: 0x3f8n, end: 0x3ffn }, setup: [CREATE],
    values: { id: ID_VALUES, type: [2n, 3n], start: [0x3f7n, 0x3ffn, 0x400n, 0xffffn, 0x10000n], end: [0x3f7n, 0x3f8n, 0xffffn, 0x10000n] },
  },
  unmap_io_range_from_ioreq_server: {
    base: { id: 0n, type: 0n, start: 0x3f8n, end: 0x3ffn }, setup: [CREATE, { op: 3, u: { id: '0', type: '0', start: String(0x3f8), end: String(0x3ff) } }],
    values: { id: ID_VALUES, type: [2n, 3n], start: [0x3f7n, 0x3f9n, 0x400n], end: [0x3f7n, 0x3fen, 0x400n] },
  },
  set_ioreq_server_state: { base: { id: 0n, enabled: 1n }, setup: [CREATE], values: { id: ID_VALUES, enabled: [2n] } },
  destroy_ioreq_server: { base: { id: 0n }, setup: [CREATE], values: { id: ID_VALUES } },
  track_dirty_vram: {
    base: { nr: 64n, first_pfn: 0x100n }, extra: bitmapFor,
    values: { nr: [7n, 8n, 9n, 32768n, 32769n, 262143n, 262144n, 262145n], first_pfn: GFNS },
  },
  set_pci_intx_level: {
    base: { domain: 0n, bus: 0n, device: 3n, intx: 0n, level: 1n },
    values: { device: [30n, 31n, 32n], intx: [2n, 3n, 4n], level: [2n] },
  },
  set_isa_irq_level: { base: { isa_irq: 5n, level: 1n }, values: { isa_irq: [14n, 15n, 16n], level: [2n] } },
  set_pci_link_route: { base: { link: 0n, isa_irq: 5n }, values: { link: [2n, 3n, 4n], isa_irq: [14n, 15n, 16n] } },
  modified_memory: {
    base: { nr_extents: 1n, opaque: 0n }, target: 'logdirty',
    extra: () => [`extents:${JSON.stringify([EXTENT(1n, 0x10n)])}`],
    values: { nr_extents: [2n, 256n], opaque: [2n] },
  },
  set_mem_type: {
    base: { nr: 1n, mem_type: 1n, first_pfn: 0x10n },
    values: { nr: [2n, BigInt(PAGES - 0x10), BigInt(PAGES - 0x10 + 1), MAX_GPFN - 0x10n + 1n, MAX_GPFN - 0x10n + 2n], mem_type: [2n, 3n, 4n, 5n], first_pfn: GFNS },
  },
  inject_event: {
    base: { vcpuid: 0n, vector: 14n, type: 3n, insn_len: 0n, error_code: 0n, cr2: 0n },
    values: { vcpuid: [2n, 3n], vector: [2n, 8n, 31n, 32n], type: [2n, 4n, 5n, 6n, 7n, 8n], insn_len: [15n, 16n], cr2: [0xfffff000n] },
  },
  inject_msi: {
    base: { data: 0x30n, addr: 0xfee00000n },
    values: {
      // vector in bits 0..7, delivery mode 8..10, level 14, trigger 15
      data: [0x10n, 0xffn, 0x100n, 0x130n, 0x230n, 0x330n, 0x430n, 0x530n, 0x630n, 0x730n, 0x4030n, 0x8030n, 0xc030n, 0xc130n, 0x10030n],
      addr: [0xfee01000n, 0xfee02000n, 0xfeeff000n, 0xfee00004n, 0xfee00008n, 0xfee0000cn, 0x1fee00000n, 0xfed00000n],
    },
  },
  map_mem_type_to_ioreq_server: {
    base: { id: 0n, type: 4n, flags: 2n, opaque: 0n }, setup: [CREATE],
    values: { id: ID_VALUES, type: [2n, 3n, 5n], flags: [3n, 4n], opaque: [2n, 0x100n, MAX_GPFN, INVALID_GFN] },
  },
  remote_shutdown: { base: { reason: 0n }, values: { reason: [2n, 3n, 4n, 5n, 6n] } },
  relocate_memory: {
    base: { size: 1n, src_gfn: 0x10n, dst_gfn: 0x300n },
    values: { size: [2n, 0xffffn, 0x10000n, 0x10001n], src_gfn: GFNS, dst_gfn: GFNS },
  },
  pin_memory_cacheattr: {
    base: { start: 0x10n, end: 0x10n, type: 6n },
    values: {
      start: [0x11n, (1n << 28n) - 1n, 1n << 28n, (1n << 40n) - 1n, 1n << 40n, INVALID_GFN],
      end: [0xfn, 0x11n, (1n << 28n) - 1n, 1n << 28n, (1n << 40n) - 1n, 1n << 40n, INVALID_GFN],
      type: [2n, 3n, 4n, 5n, 7n, 8n, 0xfffffffen],
    },
  },
  set_irq_level: { base: { irq: 0n, level: 1n }, values: { irq: [16n], level: [2n] } },
  nr_vcpus: { base: {} },
};

const str = (u: Record<string, bigint>): Record<string, string> =>
  Object.fromEntries(Object.entries(u).map(([k, v]) => [k, v.toString()]));

function step(d: DmopInfo, u: Record<string, bigint>, plan: OpPlan, more: Partial<Step> = {}): Step {
  const extra = plan.extra?.(u);
  return { op: d.op, u: str(u), ...(extra ? { extra } : {}), ...more };
}

/** The gfns a case names (below the p2m's reach), for the read-back. */
function probeFor(steps: readonly Step[]): string[] {
  const set = new Set<bigint>([0x10n, 0x11n, BigInt(PAGES - 1), 0x300n, IOREQ_PFN]);
  for (const s of steps) {
    for (const k of ['first_pfn', 'src_gfn', 'dst_gfn', 'start', 'opaque']) {
      const v = s.u[k];
      if (v === undefined) continue;
      const g = BigInt(v);
      if (g < 1n << 36n && set.size < 10) set.add(g);
    }
  }
  return [...set].sort((a, b) => (a < b ? -1 : 1)).map(String);
}

export function generateCases(): FidelityCase[] {
  const out: FidelityCase[] = [];
  const ids = new Set<string>();
  const add = (id: string, target: Target, steps: readonly Step[]) => {
    if (ids.has(id)) return; // a value listed twice (0/1/max coinciding with a named one)
    ids.add(id);
    const fresh = target === 'hvm' || target === 'logdirty';
    out.push({ id, target, steps, probeGfns: fresh ? probeFor(steps) : [] });
  };

  for (const d of DMOPS) {
    const plan = PLANS[d.name];
    if (plan === undefined) throw new Error(`no plan for ${d.name}`);
    const layout = DMOP_STRUCTS[d.struct];
    const target = plan.target ?? 'hvm';
    const setup = plan.setup ?? [];
    const base = { ...plan.base };
    add(`${d.name}/base`, target, [...setup, step(d, base, plan)]);
    if (setup.length) add(`${d.name}/base/no-setup`, target, [step(d, base, plan)]);
    // Every field: 0, 1, max-1, max, the signed boundary (max/2, max/2 + 1:
    // a signed/unsigned mix-up shows there) and the plan's values; with its setup.
    for (const f of layout.fields) {
      const max = fieldMax(f);
      const vals = [0n, 1n, max - 1n, max, max >> 1n, (max >> 1n) + 1n, ...(plan.values?.[f.name] ?? [])];
      for (const v of vals) {
        const u = { ...base, [f.name]: v };
        add(`${d.name}/${f.name}=${v}`, target, [...setup, step(d, u, plan)]);
      }
    }
    // Targets.
    for (const t of ['pv', 'self', 'missing', 'domid_self'] as const) add(`${d.name}/target=${t}`, t, [step(d, base, plan)]);
    if (target !== 'logdirty') add(`${d.name}/target=logdirty`, 'logdirty', [...setup, step(d, base, plan)]);
    else add(`${d.name}/target=hvm`, 'hvm', [...setup, step(d, base, plan)]);
    // Buffer 0 shapes: one byte short of the op, the exact size, a whole page, more than the driver takes.
    const size0 = 8 + layout.size;
    for (const s of [0, 7, 8, size0 - 1, size0, 4096, 4097]) add(`${d.name}/buf0=${s}`, target, [...setup, step(d, base, plan, { buf0Size: s })]);
    add(`${d.name}/header.pad=1`, target, [...setup, step(d, base, plan, { headerPad: 1 })]);
    // Buffer counts: the op's own, one more, and the driver's and Xen's limits.
    const own = step(d, base, plan);
    const n = 1 + (own.extra?.length ?? 0);
    if (n === 1) add(`${d.name}/bufs=2`, target, [...setup, { ...own, extra: ['bytes:64'] }]);
    else add(`${d.name}/bufs=1`, target, [...setup, { ...own, extra: [] }]);
    add(`${d.name}/bufs=3`, target, [...setup, { ...own, extra: [...(own.extra ?? []), 'bytes:16', 'bytes:16'].slice(0, 2) }]);
  }

  // Op numbers Xen does not know (or knows on Arm only), and the top of the range.
  for (const op of [0, 19, 21, 22, 0xff, 0xffff, 0x7fffffff, 0xffffffff]) {
    add(`op=${op}`, 'hvm', [{ op, u: {} }]);
    add(`op=${op}/target=pv`, 'pv', [{ op, u: {} }]);
  }

  overflowCases(add);
  gfnClassCases(add);
  sequenceCases(add);
  hypercallCases((id, target, calls, restricted) => {
    if (ids.has(id)) throw new Error(`hypercall case ${id} twice`);
    ids.add(id);
    const fresh = target === 'hvm';
    out.push({ id, target, steps: [], calls, ...(restricted ? { restricted } : {}), probeGfns: fresh ? probeFor([]) : [] });
  });
  return out;
}

type Add = (id: string, target: Target, steps: readonly Step[]) => void;
const S = (name: string, u: Record<string, bigint>, more: Partial<Step> = {}): Step => {
  const d = info(name);
  const plan = PLANS[name] as OpPlan;
  return step(d, { ...plan.base, ...u }, plan, more);
};

function overflowCases(add: Add): void {
  for (const [first, nr] of [[INVALID_GFN, 1n], [INVALID_GFN, 2n], [INVALID_GFN - 1n, 2n], [INVALID_GFN - 1n, 3n], [MAX_GPFN, 1n], [MAX_GPFN, 2n], [(1n << 63n), 1n << 31n]] as const) {
    add(`overflow/set_mem_type/${first}+${nr}`, 'hvm', [S('set_mem_type', { first_pfn: first, nr })]);
    add(`overflow/track_dirty_vram/${first}+${nr}`, 'hvm', [S('track_dirty_vram', { first_pfn: first, nr })]);
    add(`overflow/modified_memory/${first}+${nr}`, 'logdirty', [S('modified_memory', {}, { extra: [`extents:${JSON.stringify([EXTENT(nr, first)])}`] })]);
    add(`overflow/relocate/src=${first}+${nr}`, 'hvm', [S('relocate_memory', { src_gfn: first, size: nr })]);
    add(`overflow/relocate/dst=${first}+${nr}`, 'hvm', [S('relocate_memory', { dst_gfn: first, size: nr })]);
  }
  for (const [start, end] of [[0x400n, 0x3ffn], [0n, U64], [U64, U64], [U64, 0n]] as const) {
    add(`overflow/map_io_range/${start}-${end}`, 'hvm', [CREATE, S('map_io_range_to_ioreq_server', { start, end })]);
    add(`overflow/pin_memory_cacheattr/${start}-${end}`, 'hvm', [S('pin_memory_cacheattr', { start, end })]);
  }
  // modified_memory extents: pad, empty, beyond the highest gfn, opaque against nr, several extents.
  const ext = (id: string, extents: object[], u: Record<string, bigint> = {}) =>
    add(`modified_memory/extents/${id}`, 'logdirty', [S('modified_memory', { nr_extents: BigInt(extents.length), ...u }, { extra: [`extents:${JSON.stringify(extents)}`] })]);
  ext('pad', [EXTENT(1n, 0x10n, 1n)]);
  ext('nr=0', [EXTENT(0n, 0x10n)]);
  ext('to-max', [EXTENT(MAX_GPFN - 0x10n, 0x10n)]);
  ext('past-max', [EXTENT(MAX_GPFN - 0x10n + 1n, 0x10n)]);
  ext('at-max', [EXTENT(1n, MAX_GPFN)]);
  ext('beyond-max', [EXTENT(1n, MAX_GPFN + 1n)]);
  ext('opaque<nr', [EXTENT(4n, 0x10n)], { opaque: 3n });
  ext('opaque=nr', [EXTENT(4n, 0x10n)], { opaque: 4n });
  ext('two', [EXTENT(2n, 0x10n), EXTENT(1n, 0x300n)]);
  ext('two-second-bad', [EXTENT(2n, 0x10n), EXTENT(0n, 0x300n)]);
  ext('two-first-bad', [EXTENT(0n, 0x10n), EXTENT(1n, 0x300n)]);
  ext('zero-extents', [], { nr_extents: 0n });
  add('modified_memory/extents/not-logdirty-bad', 'hvm', [S('modified_memory', {}, { extra: [`extents:${JSON.stringify([EXTENT(0n, INVALID_GFN)])}`] })]);
}

function gfnClassCases(add: Add): void {
  // set_mem_type: every type on populated, unpopulated and ioreq-pool gfns.
  for (const g of [0x10n, BigInt(PAGES), IOREQ_PFN]) {
    for (const t of [0n, 1n, 2n, 3n, 4n]) add(`gfn/set_mem_type/${g}/type=${t}`, 'hvm', [S('set_mem_type', { first_pfn: g, mem_type: t })]);
    add(`gfn/track_dirty_vram/${g}`, 'hvm', [S('track_dirty_vram', { first_pfn: g, nr: 8n })]);
    add(`gfn/modified_memory/${g}`, 'logdirty', [S('modified_memory', {}, { extra: [`extents:${JSON.stringify([EXTENT(1n, g)])}`] })]);
    add(`gfn/pin_memory_cacheattr/${g}`, 'hvm', [S('pin_memory_cacheattr', { start: g, end: g })]);
    for (const dst of [0x11n, BigInt(PAGES), IOREQ_PFN, MAX_GPFN + 1n]) {
      add(`gfn/relocate/${g}->${dst}`, 'hvm', [S('relocate_memory', { src_gfn: g, dst_gfn: dst })]);
    }
  }
  // A server's own pages: mapped by get_ioreq_server_info, then typed and moved.
  const info0: Step = S('get_ioreq_server_info', { flags: 0n });
  add('gfn/ioreq-page/set_mem_type', 'hvm', [CREATE, info0, S('set_mem_type', { first_pfn: IOREQ_PFN, mem_type: 1n })]);
  add('gfn/ioreq-page/relocate', 'hvm', [CREATE, info0, S('relocate_memory', { src_gfn: IOREQ_PFN, dst_gfn: 0x300n })]);
  add('gfn/ioreq-page/track', 'hvm', [CREATE, info0, S('track_dirty_vram', { first_pfn: IOREQ_PFN, nr: 8n })]);
}

function sequenceCases(add: Add): void {
  const range = (op: string, start: bigint, end: bigint, type = 0n, id = 0n) => S(op, { id, type, start, end });
  const map = (s: bigint, e: bigint, t = 0n) => range('map_io_range_to_ioreq_server', s, e, t);
  const unmap = (s: bigint, e: bigint, t = 0n) => range('unmap_io_range_from_ioreq_server', s, e, t);
  const destroy = (id = 0n) => S('destroy_ioreq_server', { id });
  const info0 = (flags: bigint, id = 0n) => S('get_ioreq_server_info', { id, flags });
  add('seq/create-map-unmap2-destroy2', 'hvm', [CREATE, map(0x3f8n, 0x3ffn), unmap(0x3f8n, 0x3ffn), unmap(0x3f8n, 0x3ffn), destroy(), destroy()]);
  add('seq/create-info-info-destroy-info', 'hvm', [CREATE, info0(0n), info0(0n), destroy(), info0(1n)]);
  add('seq/create-info-nobuf', 'hvm', [S('create_ioreq_server', { handle_bufioreq: 0n }), info0(0n)]);
  add('seq/create-atomic-info', 'hvm', [S('create_ioreq_server', { handle_bufioreq: 2n }), info0(0n)]);
  add('seq/create9', 'hvm', Array.from({ length: 9 }, () => CREATE));
  add('seq/create-destroy-create', 'hvm', [CREATE, destroy(), CREATE, info0(1n)]);
  add('seq/create2-destroy0-info1', 'hvm', [CREATE, CREATE, destroy(0n), info0(1n, 1n), info0(1n, 0n)]);
  add('seq/map-overlap', 'hvm', [CREATE, map(0x3f8n, 0x3ffn), map(0x3fcn, 0x400n), map(0x3f8n, 0x3ffn)]);
  add('seq/map-adjacent', 'hvm', [CREATE, map(0x3f8n, 0x3ffn), map(0x400n, 0x407n), unmap(0x3f8n, 0x407n), unmap(0x3f8n, 0x3ffn)]);
  add('seq/map-split-unmap', 'hvm', [CREATE, map(0x3f0n, 0x3ffn), unmap(0x3f4n, 0x3f7n), unmap(0x3f0n, 0x3f3n)]);
  add('seq/map-many', 'hvm', [CREATE, ...Array.from({ length: 260 }, (_, i) => map(0x1000n + BigInt(i) * 4n, 0x1000n + BigInt(i) * 4n + 1n))]);
  add('seq/map-mmio-pci', 'hvm', [CREATE, map(0xf0000000n, 0xf0000fffn, 1n), map(0x10n, 0x10n, 2n), unmap(0x10n, 0x10n, 2n), map(0x10n, 0x11n, 2n)]);
  add('seq/two-servers-same-range', 'hvm', [CREATE, CREATE, map(0x3f8n, 0x3ffn), range('map_io_range_to_ioreq_server', 0x3f8n, 0x3ffn, 0n, 1n)]);
  add('seq/state-on-on-off', 'hvm', [CREATE, S('set_ioreq_server_state', { enabled: 1n }), S('set_ioreq_server_state', { enabled: 1n }), S('set_ioreq_server_state', { enabled: 0n }), destroy()]);
  add('seq/enabled-then-info', 'hvm', [CREATE, S('set_ioreq_server_state', { enabled: 1n }), info0(0n)]);
  const claim = (flags: bigint, id = 0n) => S('map_mem_type_to_ioreq_server', { id, flags });
  const setType = (g: bigint, t: bigint, nr = 1n) => S('set_mem_type', { first_pfn: g, mem_type: t, nr });
  add('seq/claim-type-release', 'hvm', [CREATE, claim(2n), setType(0x10n, 4n, 2n), claim(0n), setType(0x10n, 4n)]);
  add('seq/claim-twice', 'hvm', [CREATE, claim(2n), claim(2n), claim(0n), claim(0n)]);
  add('seq/claim-two-servers', 'hvm', [CREATE, CREATE, claim(2n), claim(2n, 1n)]);
  add('seq/claim-type-destroy-claim', 'hvm', [CREATE, claim(2n), setType(0x10n, 4n), destroy(), CREATE, claim(2n, 1n)]);
  add('seq/type-ioreq-unclaimed', 'hvm', [setType(0x10n, 4n)]);
  add('seq/type-ro-rw-mmio', 'hvm', [setType(0x10n, 1n), setType(0x10n, 0n), setType(0x10n, 2n), setType(0x10n, 0n), setType(0x10n, 3n)]);
  add('seq/type-hole-mmio-unused', 'hvm', [setType(0x300n, 2n), setType(0x300n, 0n), setType(0x300n, 3n), setType(0x300n, 2n)]);
  add('seq/type-partial', 'hvm', [setType(BigInt(PAGES - 2), 1n, 4n)]);
  const pin = (start: bigint, end: bigint, type = 6n) => S('pin_memory_cacheattr', { start, end, type });
  add('seq/pin-pin-same', 'hvm', [pin(0x10n, 0x1fn), pin(0x10n, 0x1fn), pin(0x10n, 0x1fn, 0n)]);
  add('seq/pin-overlap', 'hvm', [pin(0x10n, 0x1fn), pin(0x18n, 0x27n), pin(0x1fn, 0x1fn), pin(0x20n, 0x2fn)]);
  add('seq/pin-delete2', 'hvm', [pin(0x10n, 0x1fn), pin(0x10n, 0x1fn, 0xffffffffn), pin(0x10n, 0x1fn, 0xffffffffn)]);
  add('seq/pin-delete-other', 'hvm', [pin(0x10n, 0x1fn), pin(0x10n, 0x1en, 0xffffffffn)]);
  add('seq/pin-65', 'hvm', Array.from({ length: 65 }, (_, i) => pin(BigInt(i) * 2n, BigInt(i) * 2n)));
  const track = (nr: bigint, first = 0x100n) => S('track_dirty_vram', { nr, first_pfn: first });
  add('seq/track-track', 'hvm', [track(64n), track(64n)]);
  add('seq/track-change-nr-track', 'hvm', [track(64n), track(32n), track(32n)]);
  add('seq/track-change-first', 'hvm', [track(64n), track(64n, 0x101n)]);
  add('seq/track-stop-track', 'hvm', [track(64n), track(0n), track(64n)]);
  add('seq/track-odd', 'hvm', [track(13n), track(13n)]);
  add('seq/track-logdirty', 'logdirty', [track(64n), track(64n)]);
  add('seq/track-unpopulated', 'hvm', [track(16n, BigInt(PAGES - 8)), track(16n, BigInt(PAGES - 8))]);
  const ev = (vcpuid: bigint, vector = 14n) => S('inject_event', { vcpuid, vector });
  add('seq/event-busy', 'hvm', [ev(0n), ev(0n), ev(1n), ev(1n)]);
  const reloc = (src: bigint, dst: bigint, size = 1n) => S('relocate_memory', { src_gfn: src, dst_gfn: dst, size });
  add('seq/relocate-there-back', 'hvm', [reloc(0x10n, 0x300n), reloc(0x300n, 0x10n), reloc(0x300n, 0x10n)]);
  add('seq/relocate-onto-populated', 'hvm', [setType(0x10n, 1n), reloc(0x10n, 0x11n)]);
  add('seq/relocate-range-into-hole', 'hvm', [reloc(BigInt(PAGES - 4), BigInt(PAGES - 2), 4n)]);
  add('seq/relocate-ro', 'hvm', [setType(0x10n, 1n), reloc(0x10n, 0x300n)]);
  add('seq/relocate-mmio', 'hvm', [setType(0x300n, 2n), reloc(0x300n, 0x301n)]);
  add('seq/relocate-past-hole', 'hvm', [reloc(BigInt(PAGES - 2), 0x300n, 4n)]);
  add('seq/relocate-overlapping', 'hvm', [reloc(0x10n, 0x12n, 4n)]);
  add('seq/shutdown-twice', 'hvm', [S('remote_shutdown', { reason: 2n }), S('remote_shutdown', { reason: 0n }), S('nr_vcpus', {}), CREATE]);
  add('seq/isa-levels', 'hvm', [S('set_isa_irq_level', { level: 1n }), S('set_isa_irq_level', { level: 1n }), S('set_isa_irq_level', { level: 0n }), S('set_isa_irq_level', { level: 0n })]);
  add('seq/intx-levels', 'hvm', [S('set_pci_intx_level', { level: 1n }), S('set_pci_intx_level', { level: 1n }), S('set_pci_intx_level', { level: 0n })]);
  add('seq/link-route-twice', 'hvm', [S('set_pci_link_route', { isa_irq: 5n }), S('set_pci_link_route', { isa_irq: 0n }), S('set_pci_link_route', { isa_irq: 5n })]);
  add('seq/logdirty-mark', 'logdirty', [S('modified_memory', {}), S('modified_memory', {})]);
  add('seq/msi-fixed-lowest', 'hvm', [S('inject_msi', { data: 0x30n }), S('inject_msi', { data: 0x130n }), S('inject_msi', { data: 0x30n })]);
}

/** A hash of the case list: the fixture records it, so a changed generator asks for a new recording. */
export function casesHash(cases: readonly FidelityCase[]): string {
  return createHash('sha256').update(JSON.stringify(cases)).digest('hex').slice(0, 16);
}

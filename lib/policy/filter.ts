// The hypercall filter: attached to a handle, it decides before anything
// reaches the kernel whether a hypercall or DMOP may go out, from the one
// policy table (lib/policy/xsm-actions.ts) and the same xsmDefaultAction the
// simulated hypervisor uses. Every verdict is computed when the filter is
// built; a call is a table lookup (plus, for some entries, reading a sub-op
// or a domid from the argument struct, as Xen itself would).
//
// On top of Xen's policy the filter refuses, by its own rules:
// - the rules named in `deny` (and every rule under them);
// - under a rule one of whose children `allow` names, every child it does not
//   name, and any value the table does not know there (an allow-list: what
//   was not judged safe is refused); under hvm_op/altp2m also an interface
//   version other than the one the list was judged for;
// - multicall, unless the role may do everything (a batch hides its calls);
// - hypercall numbers outside the table, unless the role may do everything;
// - a raw dm_op hypercall or a dmopRaw whose op it cannot see, when the deny
//   list names a DMOP;
// - a call it needs to read an argument of and cannot (fail closed).
import { DMOP_TABLE_SIZE } from '../abi/dmops';
import { DOMID } from '../abi/domids';
import { HYPERCALLS } from '../abi/hypercalls';
import { describe, codedError, invalidArgument, type PrivcmdError } from '../errors';
import { domidArg } from '../domid-arg';
import { HW_PRIV_VARIANTS, xsmActionName, xsmDefaultAction, type HwPrivVariant, type XsmSubject } from './xsm';
import { ALTP2M_MODES, ALTP2M_STRUCTS, HVMOP_ALTP2M, HVMOP_ALTP2M_INTERFACE_VERSION, altp2mModeName, type AllowEntry, type Altp2mModeName } from './altp2m';
import { roleLabel, roleSubject, type RoleName, type RoleSpec } from './roles';
import {
  XSM_RULES, hypercallRule, readArgAt, ruleAction, xsmRule,
  type ArgLoc, type ArgReader, type TargetLoc, type XsmRule,
} from './xsm-actions';

export interface FilterOptions extends RoleSpec {
  role: RoleName;
  /** device-model: the domain it serves. */
  target?: number;
  /** The domain the caller runs in, for XSM_TARGET on itself by number (default: what the handle knows; DOMID_SELF always works). */
  self?: number;
  /** Which form of the XSM_HW_PRIV split to apply. Default 'none', as the simulated host: every released Xen (up to 4.22) has no split; hwPrivOf() says which a target Xen applies. */
  hwPriv?: HwPrivVariant;
  /** The altp2m mode altp2m calls are judged for (default 'mixed'); Xen applies the target domain's real mode. */
  altp2mMode?: Altp2mModeName;
  /** Rules to refuse whatever the role (rule names); a rule refuses everything under it. */
  deny?: readonly string[];
  /**
   * An allow-list (rule names, or entries with a reason such as
   * altp2mGuestAllowList()): naming a rule confines its parent to the rules
   * named under it; the parent's other children, and values the table does
   * not know there, are refused. XSM and `deny` still apply to what it keeps.
   */
  allow?: readonly (string | AllowEntry)[];
}

/** What the handle knows about where it runs: its domain, and how to read its memory. */
export interface FilterContext {
  readonly self: number | null;
  readonly read: ArgReader | null;
}

export type VerdictKind = 'allow' | 'deny' | 'targeted';
/** Why a rule is refused: Xen's XSM policy, the deny list, the allow-list, the filter's own rules, or the altp2m mode. */
export type VerdictSource = 'xsm' | 'deny-list' | 'allow-list' | 'filter' | 'altp2m-mode';

export interface RuleVerdict {
  readonly rule: string;
  readonly kind: VerdictKind;
  /** targeted: the caller's own domain passes. */
  readonly self: boolean;
  /** targeted: this domain passes (-1: none). */
  readonly target: number;
  readonly source: VerdictSource;
}

const ALLOW = 0;
const DENY = 1;
const TARGETED = 2;

interface Verdict {
  readonly kind: 0 | 1 | 2;
  readonly rule: XsmRule;
  readonly allowSelf: boolean;
  readonly allowTarget: number;
  readonly source: VerdictSource;
  /** Why, for a refusal: ` (on the deny list)`, ` (it may reach domain 5 only)`... Built once, here, never on the allow path. */
  readonly why: string;
}

/** A value the call must carry for the filter to decide on it (an interface version). */
interface Guard {
  readonly loc: ArgLoc;
  readonly value: number;
  readonly what: string;
}

interface Node {
  /** The verdict of this rule and every rule under it, when they all agree. */
  readonly uniform: Verdict | null;
  readonly guard: Guard | null;
  readonly own: Verdict;
  readonly key: ArgLoc | null;
  readonly children: ReadonlyMap<number, Node>;
}

/** A domain that is nobody: not the caller, not a role's target. */
const STRANGER: XsmSubject = { domid: -2, isControl: false, isHardware: false, isXenstore: false, target: null };
/**
 * hvm_op/altp2m under an allow-list: the sub-ops were judged for struct
 * xen_hvm_altp2m_op's interface version 1 (do_altp2m_op in
 * xen/arch/x86/hvm/hvm.c refuses other versions in 4.17; a later Xen may
 * give another version other sub-ops or another layout).
 */
const ALTP2M_RULE = (hypercallRule(HYPERCALLS.hvm_op) as XsmRule).children.get(HVMOP_ALTP2M) as XsmRule;
const ALTP2M_VERSION: Guard = {
  loc: { arg: 1, at: { struct: 'xen_hvm_altp2m_op', field: 'version', offset: (ALTP2M_STRUCTS.xen_hvm_altp2m_op.fields.find((x) => x.name === 'version') as { offset: number }).offset, size: 4 }, mask: 0xffffffff },
  value: HVMOP_ALTP2M_INTERFACE_VERSION,
  what: 'altp2m interface version',
};

function sameTarget(a: TargetLoc | null, b: TargetLoc | null): boolean {
  if (a === null || b === null) return a === b;
  return a.arg === b.arg && a.self === b.self && a.mask === b.mask && (a.at?.offset ?? -1) === (b.at?.offset ?? -1);
}

function sameEffect(a: Verdict, b: Verdict): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind !== TARGETED) return true;
  return a.allowSelf === b.allowSelf && a.allowTarget === b.allowTarget && sameTarget(a.rule.target, b.rule.target);
}

function checkContext(ctx: unknown): void {
  if (ctx === undefined) return;
  if (typeof ctx !== 'object' || ctx === null) throw invalidArgument('filter', `ctx must be { self, read }, got ${describe(ctx)}`);
  const { self, read } = ctx as { self?: unknown; read?: unknown };
  if (self !== null && self !== undefined && (typeof self !== 'number' || !Number.isInteger(self))) throw invalidArgument('filter', `ctx.self must be a domid or null, got ${describe(self)}`);
  if (read !== null && read !== undefined && typeof read !== 'function') throw invalidArgument('filter', `ctx.read must be a function or null, got ${describe(read)}`);
}

/** Every option createFilter() takes; any other key is EINVAL. */
const FILTER_OPTION_KEYS: ReadonlySet<string> = new Set(['role', 'target', 'xenstore', 'self', 'hwPriv', 'altp2mMode', 'deny', 'allow'] satisfies (keyof FilterOptions)[]);

/** The rule names of an allow option, validated (each read once). */
function allowNames(allowOpt: unknown): string[] {
  if (allowOpt === undefined) return [];
  if (!Array.isArray(allowOpt)) throw invalidArgument('filter', 'allow must be an array of rule names or { rule, reason } entries');
  if (allowOpt.length > XSM_RULES.length) throw invalidArgument('filter', `allow names ${allowOpt.length} rules; there are only ${XSM_RULES.length}`);
  const names: string[] = [];
  for (const e of Array.from(allowOpt as unknown[])) {
    const name: unknown = typeof e === 'object' && e !== null ? (e as { rule?: unknown }).rule : e;
    if (typeof name !== 'string' || xsmRule(name) === undefined) throw invalidArgument('filter', `allow: no rule named ${describe(name)} (entries are rule names like 'hvm_op/altp2m/get_p2m_idx', or { rule, reason })`);
    names.push(name);
  }
  // An entry under a rule the list itself refuses would be dead: say so rather than ignore it.
  const listed = new Set(names);
  const confined = new Set(names.map((n) => (xsmRule(n) as XsmRule).parent));
  for (const n of names) {
    for (let r = xsmRule(n) as XsmRule; r.parent !== null || confined.has(null); r = r.parent as XsmRule) {
      if (confined.has(r.parent) && !listed.has(r.name)) throw invalidArgument('filter', `allow: ${n} is under ${r.name}, which the allow-list itself refuses (list ${r.name} too)`);
      if (r.parent === null) break;
    }
  }
  return names;
}

export class HypercallFilter {
  readonly role: RoleName;
  readonly target: number | null;
  /** Whether the role is also the xenstore domain. */
  readonly xenstore: boolean;
  readonly hwPriv: HwPrivVariant;
  readonly altp2mMode: Altp2mModeName;
  readonly deny: readonly string[];
  readonly allow: readonly string[];
  /** Whether every rule allows this role everything (dom0; control under Xen 4.17's policy). */
  readonly allowsEverything: boolean;
  readonly #label: string;
  readonly #self: number | null;
  readonly #subject: XsmSubject;
  readonly #verdicts = new Map<XsmRule, Verdict>();
  readonly #nodes: (Node | undefined)[] = [];
  readonly #dmop: Verdict[] = [];
  readonly #dmopAny: Verdict;
  readonly #confined: ReadonlySet<XsmRule | null>;

  constructor(options: FilterOptions) {
    if (typeof options !== 'object' || options === null) throw invalidArgument('filter', 'options must be an object such as { role: \'device-model\', target: 5 }');
    // A misspelt option (isXenstore for xenstore, denyList for deny) would
    // otherwise be ignored and leave the filter laxer than meant.
    for (const key of Object.keys(options)) {
      if (!FILTER_OPTION_KEYS.has(key)) {
        throw invalidArgument('filter', `unknown option ${describe(key)}: the options are ${[...FILTER_OPTION_KEYS].join(', ')}`);
      }
    }
    // Each option read once (a getter may answer differently on each read), deny copied.
    const { role, target, xenstore, self, hwPriv: hwPrivOpt, altp2mMode: modeOpt, deny: denyOpt, allow: allowOpt } = options;
    options = { role, ...(target !== undefined ? { target } : {}), ...(xenstore !== undefined ? { xenstore } : {}) } as FilterOptions;
    const hwPriv = hwPrivOpt ?? 'none';
    if (!HW_PRIV_VARIANTS.includes(hwPriv)) throw invalidArgument('filter', `hwPriv must be one of ${HW_PRIV_VARIANTS.join(', ')}, got ${describe(hwPriv)}`);
    const mode = modeOpt ?? 'mixed';
    if (typeof mode !== 'string' || !Object.hasOwn(ALTP2M_MODES, mode)) throw invalidArgument('filter', `altp2mMode must be one of ${Object.keys(ALTP2M_MODES).join(', ')}, got ${describe(mode)}`);
    if (denyOpt !== undefined && !Array.isArray(denyOpt)) throw invalidArgument('filter', 'deny must be an array of rule names');
    if (denyOpt !== undefined && denyOpt.length > XSM_RULES.length) throw invalidArgument('filter', `deny names ${denyOpt.length} rules; there are only ${XSM_RULES.length}`);
    const deny: readonly string[] = denyOpt === undefined ? [] : Array.from(denyOpt as readonly string[]);
    for (const name of deny) {
      if (typeof name !== 'string' || xsmRule(name) === undefined) throw invalidArgument('filter', `deny: no rule named ${describe(name)} (names are like 'hvm_op/altp2m/switch_p2m'; see XSM_RULES)`);
    }
    const allow = allowNames(allowOpt);
    this.#self = self ?? null;
    this.#subject = roleSubject(options, this.#self);
    this.role = options.role;
    this.target = this.#subject.target;
    this.xenstore = this.#subject.isXenstore;
    this.hwPriv = hwPriv;
    this.altp2mMode = mode;
    this.deny = Object.freeze([...deny]);
    this.allow = Object.freeze([...allow]);
    this.#label = roleLabel(options);
    const denied = new Set(deny);
    const listed = new Set(allow);
    /** Rules (null: the table's top level) confined to what the allow-list names under them. */
    this.#confined = new Set(allow.map((n) => (xsmRule(n) as XsmRule).parent));

    // Every rule's verdict from XSM and the deny list.
    const modeValue = ALTP2M_MODES[mode];
    for (const rule of XSM_RULES) {
      let v = this.#xsmVerdict(rule, modeValue);
      for (let r: XsmRule | null = rule; r !== null; r = r.parent) {
        if (denied.has(r.name)) {
          v = this.#make(DENY, rule, 'deny-list', ` (on the filter's deny list${r === rule ? '' : `, under ${r.name}`})`);
          break;
        }
      }
      if (v.source !== 'deny-list') {
        if (this.#confined.has(rule)) v = this.#make(DENY, rule, 'allow-list', ' (a sub-op not on the filter\'s allow-list)');
        for (let r: XsmRule | null = rule; r !== null; r = r.parent) {
          if (this.#confined.has(r.parent) && !listed.has(r.name)) {
            v = this.#make(DENY, rule, 'allow-list', ` (not on the filter's allow-list${r === rule ? '' : `, under ${r.name}`})`);
            break;
          }
        }
      }
      this.#verdicts.set(rule, v);
    }
    this.allowsEverything = deny.length === 0 && allow.length === 0 && [...this.#verdicts.values()].every((v) => v.kind === ALLOW);

    // The filter's own rules.
    const multicall = hypercallRule(HYPERCALLS.multicall) as XsmRule;
    if (!this.allowsEverything && this.#verdicts.get(multicall)?.kind !== DENY) {
      this.#verdicts.set(multicall, this.#make(DENY, multicall, 'filter', ' (a batch hides its calls from the filter, and this role may not do everything)'));
    }
    const dmOp = hypercallRule(HYPERCALLS.dm_op) as XsmRule;
    const dmDenied = [...dmOp.children.values()].filter((r) => this.#verdicts.get(r)?.source === 'deny-list');
    const dmOwn = this.#verdicts.get(dmOp) as Verdict;
    this.#dmopAny = dmDenied.length > 0 && dmOwn.kind !== DENY
      ? this.#make(DENY, dmOp, 'deny-list', ` (the filter cannot see which DMOP it carries, and the deny list names ${dmDenied.map((r) => r.name).join(', ')})`)
      : dmOwn;
    for (let op = 0; op < DMOP_TABLE_SIZE; op++) this.#dmop.push(this.#verdicts.get(dmOp.children.get(op) as XsmRule) ?? this.#dmopAny);

    for (const num of Object.values(HYPERCALLS)) {
      const rule = hypercallRule(num);
      if (rule) this.#nodes[num] = this.#compile(rule, rule === dmOp ? this.#dmopAny : undefined);
    }
  }

  #make(kind: 0 | 1 | 2, rule: XsmRule, source: VerdictSource, why = '', allowSelf = false, allowTarget = -1): Verdict {
    return { kind, rule, allowSelf, allowTarget, source, why };
  }

  /** Xen's verdict for this role, probing xsmDefaultAction with the caller, its target and a stranger. */
  #xsmVerdict(rule: XsmRule, mode: number): Verdict {
    const action = ruleAction(rule, mode);
    if (action === null) {
      return this.#make(DENY, rule, 'altp2m-mode', ` (Xen refuses it before XSM in altp2m mode ${String(altp2mModeName(mode))}: -EINVAL)`);
    }
    const S = this.#subject;
    const variant = this.hwPriv;
    if (rule.target === null) {
      return xsmDefaultAction(action, S, null, variant) === 0 ? this.#make(ALLOW, rule, 'xsm') : this.#make(DENY, rule, 'xsm');
    }
    if (xsmDefaultAction(action, S, STRANGER, variant) === 0) return this.#make(ALLOW, rule, 'xsm');
    const self = xsmDefaultAction(action, S, S, variant) === 0;
    const t = S.target;
    const onTarget = t !== null && xsmDefaultAction(action, S, { ...STRANGER, domid: t }, variant) === 0;
    if (!self && !onTarget) return this.#make(DENY, rule, 'xsm');
    const may = [self ? 'itself' : '', onTarget ? `domain ${String(t)}` : ''].filter(Boolean).join(' and ');
    return this.#make(TARGETED, rule, 'xsm', ` (it may reach ${may} only)`, self, onTarget ? (t as number) : -1);
  }

  #compile(rule: XsmRule, own?: Verdict): Node {
    const v = own ?? (this.#verdicts.get(rule) as Verdict);
    const children = new Map<number, Node>();
    const guard = rule === ALTP2M_RULE && this.#confined.has(rule) ? ALTP2M_VERSION : null;
    let uniform: Verdict | null = guard === null ? v : null;
    // dm_op's children (the DMOPs) are not selected by reading: dmop() looks them up itself.
    if (rule.key !== null) {
      for (const [k, c] of rule.children) {
        const n = this.#compile(c);
        children.set(k, n);
        if (uniform !== null && (n.uniform === null || !sameEffect(n.uniform, v))) uniform = null;
      }
    }
    return { uniform, guard, own: v, key: rule.key, children };
  }

  #refuse(v: Verdict, detail = ''): PrivcmdError {
    const r = v.rule;
    const action = ruleAction(r, ALTP2M_MODES[this.altp2mMode]);
    const what = v.source === 'xsm' && action !== null ? ` [${xsmActionName(action)}, dummy.h ${r.hook}]` : '';
    return codedError('EPERM', 'ioctl', `filter: rule ${r.name}${what} refuses role ${this.#label}${detail}${v.why}`);
  }

  /** The deepest rule the call selects, for a refusal's message (the slow path). */
  #walk(node: Node, args: readonly bigint[], read: ArgReader | null): Verdict {
    let n = node;
    while (n.key !== null && read !== null) {
      const k = readArgAt(n.key, args, read);
      const c = k < 0 ? undefined : n.children.get(k);
      if (c === undefined) break;
      n = c;
    }
    return n.own;
  }

  #selfOf(ctx: FilterContext | undefined): number {
    return this.#self ?? ctx?.self ?? -1;
  }

  /**
   * Decide a DMOP: `op` is the XEN_DMOP_* number, or -1 when the filter cannot
   * see it (a raw buffer 0 it cannot read). Throws a coded EPERM on refusal.
   */
  checkDmop(domid: number, op: number, ctx?: FilterContext): void {
    domidArg('filter', 'domid', domid);
    if (typeof op !== 'number' || !Number.isInteger(op) || op < -1 || op > 0xffffffff) throw invalidArgument('filter', `op must be a DMOP number (or -1: unknown), got ${describe(op)}`);
    checkContext(ctx);
    const v = op >= 0 && op < DMOP_TABLE_SIZE ? (this.#dmop[op] as Verdict) : this.#dmopAny;
    if (v.kind === ALLOW) return;
    if (v.kind === TARGETED && (domid === v.allowTarget || (v.allowSelf && domid === this.#selfOf(ctx)))) return;
    throw this.#refuse(v, ` on domain ${domid}`);
  }

  /**
   * Decide a raw hypercall with its five arguments (u64 bigints). Reads the
   * sub-op or target domain from the argument struct where the table says
   * so, through ctx.read. Throws a coded EPERM on refusal.
   */
  checkHypercall(op: number, args: readonly bigint[], ctx?: FilterContext): void {
    if (typeof op !== 'number' || !Number.isInteger(op) || op < 0 || op > 0xffffffff) throw invalidArgument('filter', `op must be a hypercall number, got ${describe(op)}`);
    if (!Array.isArray(args) || args.length > 5) throw invalidArgument('filter', `args must be an array of at most five u64 bigints, got ${describe(args)}`);
    for (let i = 0; i < args.length; i++) {
      const a: unknown = args[i];
      // One op that V8 lowers, where two range comparisons each call a builtin.
      if (typeof a !== 'bigint' || BigInt.asUintN(64, a) !== a) throw invalidArgument('filter', `hypercall argument ${i} must be a u64 bigint, got ${describe(a)}`);
    }
    checkContext(ctx);
    const root = this.#nodes[op];
    if (root === undefined) {
      if (this.allowsEverything) return;
      throw codedError('EPERM', 'ioctl', `filter: hypercall ${op} is not in the policy table: refused for role ${this.#label}`);
    }
    const read = ctx?.read ?? null;
    let n = root;
    let v: Verdict;
    for (;;) {
      const u = n.uniform;
      if (u !== null) {
        v = u;
        break;
      }
      const g = n.guard;
      if (g !== null) {
        if (read === null) throw this.#refuse({ ...n.own, why: '' }, `: the filter cannot read the ${g.what} on this backend`);
        const have = readArgAt(g.loc, args, read);
        if (have !== g.value) throw this.#refuse({ ...n.own, why: '' }, have < 0 ? `: the filter cannot read the ${g.what}` : `: ${g.what} ${have} is not ${g.value}, the one the allow-list was judged for`);
      }
      const key = n.key as ArgLoc;
      if (key.at !== null && read === null) throw this.#refuse(n.own, ': the filter cannot read the argument struct on this backend to find the sub-op');
      const k = readArgAt(key, args, read as ArgReader);
      if (k < 0) throw this.#refuse(n.own, `: the filter cannot read the sub-op at 0x${((args[key.arg] ?? 0n) + BigInt(key.at?.offset ?? 0)).toString(16)}`);
      const c = n.children.get(k);
      if (c === undefined) {
        v = n.own;
        break;
      }
      n = c;
    }
    if (v.kind === ALLOW) return;
    if (v.kind === TARGETED) {
      const loc = v.rule.target as TargetLoc;
      if (loc.at !== null && read === null) throw this.#refuse(v, ': the filter cannot read the target domain on this backend');
      const d = readArgAt(loc, args, read as ArgReader);
      if (d < 0) throw this.#refuse(v, ': the filter cannot read the target domain');
      if (d === v.allowTarget) return;
      if (v.allowSelf && ((loc.self && d === DOMID.SELF) || d === this.#selfOf(ctx))) return;
      throw this.#refuse(n.uniform !== null ? this.#walk(n, args, read) : v, ` on domain ${d}`);
    }
    throw this.#refuse(n.uniform !== null ? this.#walk(n, args, read) : v);
  }

  /** The filter's verdict for a rule, without a call (for tests, audits and docs). */
  verdict(ruleName: string): RuleVerdict {
    const rule = xsmRule(ruleName);
    if (rule === undefined) throw invalidArgument('filter', `no rule named ${describe(ruleName)}`);
    const v = (rule === hypercallRule(HYPERCALLS.dm_op) ? this.#dmopAny : this.#verdicts.get(rule)) as Verdict;
    return {
      rule: rule.name,
      kind: v.kind === ALLOW ? 'allow' : v.kind === DENY ? 'deny' : 'targeted',
      self: v.allowSelf,
      target: v.allowTarget,
      source: v.source,
    };
  }

  /** `device-model(target 5)`, `control`, ... */
  get label(): string {
    return this.#label;
  }
}

/**
 * A hypercall filter for a role: `createFilter({ role: 'device-model', target: 5 })`.
 * Attach it with open({ ..., filter }).
 */
export function createFilter(options: FilterOptions): HypercallFilter {
  return new HypercallFilter(options);
}

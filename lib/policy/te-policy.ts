// A small type-enforcement policy, the part of Flask the simulated host
// enforces: declared types and `allow source target : class { perms }` rules,
// nothing else (no attributes, roles, booleans, MLS or type transitions).
// Written either as an object or in the policy language's own syntax:
//
//   type dom0_t; type vm_building_t; type vm_t;
//   allow dom0_t vm_building_t : domain create;
//   allow dom0_t vm_building_t : mmu { map_read map_write };
//   allow dom0_t vm_building_t : domain2 relabelfrom;
//   allow dom0_t vm_t : domain2 relabelto;
//   allow vm_building_t vm_t : domain transition;
import { describe, invalidArgument } from '../errors';

/**
 * The classes and permissions the simulated Flask checks (names as in Xen's
 * xen/xsm/flask/policy/access_vectors), and where:
 * - domain create: XEN_DOMCTL_createdomain (flask_domain_create), caller -> new label;
 * - domain transition, domain2 relabelfrom / relabelto / relabelself: FLASK_RELABEL_DOMAIN;
 * - mmu map_read / map_write: mapping a domain's memory (flask_mmu_update, flask_map_gmfn_foreign);
 * - security check_context: FLASK_CONTEXT_TO_SID (domain_has_security).
 */
export const FLASK_PERMS = {
  domain: ['create', 'transition'],
  domain2: ['relabelfrom', 'relabelto', 'relabelself'],
  mmu: ['map_read', 'map_write'],
  security: ['check_context'],
} as const;

export type FlaskClass = keyof typeof FLASK_PERMS;

/** The security server's own type (SECINITSID_SECURITY), declared in every policy. */
export const SECURITY_TYPE = 'security_t';
/** The type of SECINITSID_UNLABELED (what an unknown sid reads as), declared in every policy. */
export const UNLABELED_TYPE = 'unlabeled_t';

export interface TeAllow {
  readonly source: string;
  readonly target: string;
  readonly class: FlaskClass;
  readonly perms: readonly string[];
}

export interface TePolicySpec {
  readonly types: readonly string[];
  readonly allow: readonly TeAllow[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class TePolicy {
  readonly types: ReadonlySet<string>;
  readonly rules: readonly TeAllow[];
  /** "source target class" -> allowed permissions. */
  readonly #av = new Map<string, Set<string>>();

  private constructor(types: Set<string>, rules: TeAllow[]) {
    this.types = types;
    this.rules = rules;
    for (const r of rules) {
      const k = `${r.source} ${r.target} ${r.class}`;
      let s = this.#av.get(k);
      if (s === undefined) this.#av.set(k, (s = new Set()));
      for (const p of r.perms) s.add(p);
    }
  }

  /** Is `perm` on `cls` allowed from type `source` to type `target`? */
  allows(source: string, target: string, cls: FlaskClass, perm: string): boolean {
    return this.#av.get(`${source} ${target} ${cls}`)?.has(perm) === true;
  }

  /** A policy from an object; EINVAL naming the first thing wrong. */
  static from(spec: TePolicySpec): TePolicy {
    const syscall = 'flask';
    if (typeof spec !== 'object' || spec === null) throw invalidArgument(syscall, 'a policy is { types: string[], allow: { source, target, class, perms }[] } or policy text');
    // Each field read once: a getter cannot pass a check and then answer something else.
    const { types: specTypes, allow } = spec;
    if (!Array.isArray(specTypes) || !Array.isArray(allow)) {
      throw invalidArgument(syscall, 'a policy is { types: string[], allow: { source, target, class, perms }[] } or policy text');
    }
    const types = new Set<string>([SECURITY_TYPE, UNLABELED_TYPE]);
    for (let i = 0; i < specTypes.length; i++) {
      const t: unknown = specTypes[i];
      if (typeof t !== 'string' || !NAME.test(t)) throw invalidArgument(syscall, `type ${quoted(t)} is not a valid type name`);
      types.add(t);
    }
    const rules: TeAllow[] = [];
    for (let i = 0; i < allow.length; i++) {
      const r: unknown = allow[i];
      const where = `allow rule ${i}`;
      if (typeof r !== 'object' || r === null) throw invalidArgument(syscall, `${where} is not an object`);
      const { source, target, class: cls, perms } = r as TeAllow;
      for (const [end, t] of [['source', source], ['target', target]] as const) {
        if (typeof t !== 'string' || !types.has(t)) throw invalidArgument(syscall, `${where}: ${end} type ${quoted(t)} is not declared`);
      }
      const known: readonly string[] | undefined = typeof cls === 'string' && Object.hasOwn(FLASK_PERMS, cls) ? (FLASK_PERMS as Record<string, readonly string[]>)[cls] : undefined;
      if (known === undefined) throw invalidArgument(syscall, `${where}: class ${quoted(cls)} is not one the simulated Flask checks (${Object.keys(FLASK_PERMS).join(', ')})`);
      if (!Array.isArray(perms) || perms.length === 0 || perms.length > known.length) throw invalidArgument(syscall, `${where}: perms must be a non-empty array of class ${cls}'s permissions`);
      const copy: string[] = [];
      for (let j = 0; j < perms.length; j++) {
        const p: unknown = perms[j];
        if (typeof p !== 'string' || !known.includes(p)) throw invalidArgument(syscall, `${where}: ${quoted(p)} is not a permission of class ${cls} (${known.join(', ')})`);
        copy.push(p);
      }
      rules.push({ source, target, class: cls, perms: copy });
    }
    return new TePolicy(types, rules);
  }

  /** A policy from its text (`type t;` and `allow s t : class perm;` / `{ perms }`; `#` comments). */
  static parse(text: string): TePolicy {
    if (typeof text !== 'string') throw invalidArgument('flask', 'policy text must be a string');
    const types: string[] = [];
    const allow: TeAllow[] = [];
    // Statements end with ';'; keep each one's line for messages.
    const src = text.replace(/#[^\n]*/g, '');
    let line = 1;
    let start = 1;
    let cur = '';
    const statements: { text: string; line: number }[] = [];
    for (const ch of src) {
      if (cur.trim() === '') start = line;
      if (ch === '\n') line++;
      if (ch === ';') {
        statements.push({ text: cur.trim(), line: start });
        cur = '';
      } else {
        cur += ch;
      }
    }
    if (cur.trim() !== '') throw invalidArgument('flask', `policy line ${start}: statement without a closing ';'`);
    for (const st of statements) {
      const bad = (why: string) => invalidArgument('flask', `policy line ${st.line}: ${why}: ${JSON.stringify(st.text)}`);
      const t = /^type\s+(\S+)$/.exec(st.text);
      if (t) {
        types.push(t[1] as string);
        continue;
      }
      const a = /^allow\s+(\S+)\s+(\S+)\s*:\s*(\S+)\s+(?:\{([^}]*)\}|(\S+))$/.exec(st.text);
      if (!a) throw bad("expected 'type NAME;' or 'allow SOURCE TARGET : CLASS PERM;' / '{ PERMS }'");
      const perms = (a[4] ?? a[5] ?? '').trim().split(/\s+/).filter((p) => p !== '');
      if (perms.length === 0) throw bad('no permissions');
      allow.push({ source: a[1] as string, target: a[2] as string, class: a[3] as FlaskClass, perms });
    }
    return TePolicy.from({ types, allow });
  }
}

/** A name as policy messages show it ("b_t"); any other value safely (describe()). */
function quoted(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : describe(v);
}

/** A policy from text, an object, or an already-built policy. */
export function tePolicy(p: TePolicy | TePolicySpec | string): TePolicy {
  if (p instanceof TePolicy) return p;
  return typeof p === 'string' ? TePolicy.parse(p) : TePolicy.from(p);
}

/**
 * The rules a toolstack type needs to build domains of type `run` under a
 * build type and hand them over, as Xen's example policy macros
 * create_domain and create_domain_build_label (tools/flask/policy/modules/
 * xen.if) grant them: create and map the domain under `build` (default
 * `<run>_building`), relabel it from `build` to `run`, and the `build -> run`
 * transition. Nothing lets the toolstack map `run` memory.
 */
export function domainBuildRules(toolstack: string, run: string, build?: string): TeAllow[] {
  for (const [what, v] of [['toolstack', toolstack], ['run', run], ['build', build ?? '']] as const) {
    if (typeof v !== 'string' || (v === '' && what !== 'build')) throw invalidArgument('flask', `${what} must be a type name, got ${describe(v)}`);
  }
  build ||= `${run}_building`;
  return [
    { source: toolstack, target: build, class: 'domain', perms: ['create'] },
    { source: toolstack, target: build, class: 'mmu', perms: ['map_read', 'map_write'] },
    { source: toolstack, target: build, class: 'domain2', perms: ['relabelfrom'] },
    { source: toolstack, target: run, class: 'domain2', perms: ['relabelto'] },
    { source: build, target: run, class: 'domain', perms: ['transition'] },
  ];
}

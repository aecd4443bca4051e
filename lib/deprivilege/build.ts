// Relabel-on-build, as libxl does it with Flask: create the domain paused
// under a build label the toolstack may map, build it, relabel it to its run
// label before it ever runs (so the builder loses access to its memory), and
// only then unpause. A relabel that fails destroys the domain
// (libxl's domcreate_complete); unpausing before the relabel is refused.
// The toolstack (create / unpause / destroy) is pluggable: the simulated
// host's controls here, xl or libxl on a real host; the labels go through
// the builder's privcmd handle (lib/clients/flask.ts).
import { describe, invalidArgument, isPrivcmdError, libraryError, PrivcmdLibraryError, withDetail } from '../errors';
import type { Privcmd } from '../privcmd';
import type { DomainConfig } from '../sim/domain';
import type { SimulatedHost } from '../sim/host';
import { flaskContextToSid, flaskRelabelDomain } from '../clients/flask';
import { isDomid } from '../domid-arg';

/** What the flow needs from a toolstack. Each may return a Promise. */
export interface BuildToolstack {
  /** Create a domain, paused, labelled `label`; returns its domid. */
  create(label: string): number | Promise<number>;
  /** Is the domain still paused (it has not run)? */
  isPaused(domid: number): boolean | Promise<boolean>;
  unpause(domid: number): void | Promise<void>;
  destroy(domid: number): void | Promise<void>;
}

/** The simulated host's domain controls as a toolstack (dom0's). */
export function simulatedToolstack(host: SimulatedHost, config: Omit<DomainConfig, 'label'> = {}): BuildToolstack {
  return {
    create: (label) => host.createDomain({ ...config, label }),
    isPaused: (domid) => host.inspect(domid).paused,
    unpause: (domid) => host.unpauseDomain(domid),
    destroy: (domid) => host.destroyDomain(domid),
  };
}

export interface DomainBuildOptions {
  toolstack: BuildToolstack;
  /** The builder's privcmd handle (unrestricted: it sends xsm_op). */
  handle: Privcmd;
  /** The label the domain is created and built under, e.g. `system_u:system_r:vm_building_t`. */
  buildLabel: string;
  /** The label it runs under, e.g. `system_u:system_r:vm_t`. */
  runLabel: string;
}

/** The flow's steps that can refuse (an error's `step`). */
export type BuildStep = 'create' | 'relabel' | 'unpause';

export type BuildState = 'building' | 'relabeling' | 'relabeled' | 'running' | 'destroyed';

/**
 * ERR_PRIVCMD_NOT_RELABELED: the flow refused a step that would let the
 * domain run under its build label (or found it had). `step` is the flow's
 * step that found it.
 */
function notRelabeled(step: BuildStep, why: string): PrivcmdLibraryError & { step: BuildStep } {
  return libraryError('ERR_PRIVCMD_NOT_RELABELED', `${step}: ${why}`, { step });
}

/** ERR_PRIVCMD_BUILD_STATE: a step called out of order (relabel twice, unpause a destroyed domain). */
function wrongState(step: BuildStep, why: string): PrivcmdLibraryError & { step: BuildStep } {
  return libraryError('ERR_PRIVCMD_BUILD_STATE', `${step}: ${why}`, { step });
}

function checkOptions(o: unknown): DomainBuildOptions {
  if (typeof o !== 'object' || o === null) throw invalidArgument('build', 'options must be { toolstack, handle, buildLabel, runLabel }');
  const x = o as DomainBuildOptions;
  const t = x.toolstack as unknown as Record<string, unknown> | null;
  if (typeof t !== 'object' || t === null || !['create', 'isPaused', 'unpause', 'destroy'].every((k) => typeof t[k] === 'function')) {
    throw invalidArgument('build', 'toolstack must have create, isPaused, unpause and destroy functions');
  }
  if (typeof x.handle !== 'object' || x.handle === null || typeof x.handle.hypercall !== 'function' || typeof x.handle.processMappingsOf !== 'function') {
    throw invalidArgument('build', 'handle must be a privcmd handle (open())');
  }
  for (const k of ['buildLabel', 'runLabel'] as const) {
    if (typeof x[k] !== 'string' || x[k] === '') throw invalidArgument('build', `${k} must be a non-empty security label`);
  }
  if (x.buildLabel === x.runLabel) throw invalidArgument('build', `buildLabel and runLabel are both ${x.buildLabel}: the builder would keep access to the running domain`);
  return x;
}

/** The options read once into an object of our own: a getter cannot answer one thing to the check and another to the flow. */
function snapshotOptions(o: unknown): DomainBuildOptions {
  if (typeof o !== 'object' || o === null) throw invalidArgument('build', 'options must be { toolstack, handle, buildLabel, runLabel }');
  const { toolstack: t0, handle, buildLabel, runLabel, ...rest } = o as DomainBuildOptions;
  const t = t0 as unknown as Record<string, unknown> | null;
  const bound = (k: string): unknown => {
    const f = (t as Record<string, unknown>)[k];
    return typeof f === 'function' ? f.bind(t) : f;
  };
  const toolstack = typeof t === 'object' && t !== null
    ? { create: bound('create'), isPaused: bound('isPaused'), unpause: bound('unpause'), destroy: bound('destroy') } as unknown as BuildToolstack
    : t as unknown as BuildToolstack;
  return { ...rest, toolstack, handle, buildLabel, runLabel };
}

/** One domain's way from creation to running, in the only order the flow allows. */
export class DomainBuild {
  readonly domid: number;
  readonly runSid: number;
  readonly #o: DomainBuildOptions;
  #state: BuildState = 'building';

  private constructor(o: DomainBuildOptions, domid: number, runSid: number) {
    this.#o = o;
    this.domid = domid;
    this.runSid = runSid;
  }

  /**
   * Both labels are turned into sids first (so a Xen without Flask, ENOSYS,
   * or a label the policy does not know, EINVAL, fails before anything is
   * created); then the domain is created paused under the build label.
   */
  static async create(options: DomainBuildOptions): Promise<DomainBuild> {
    const o = checkOptions(snapshotOptions(options));
    flaskContextToSid(o.handle, o.buildLabel);
    const runSid = flaskContextToSid(o.handle, o.runLabel);
    const domid = await o.toolstack.create(o.buildLabel);
    if (!isDomid(domid, 'guest')) {
      throw invalidArgument('build', `toolstack.create returned ${describe(domid)}, not a guest domid: check the toolstack (nothing was destroyed)`);
    }
    const b = new DomainBuild(o, domid, runSid);
    if (!(await b.#stillPaused())) {
      await b.abort(notRelabeled('create', `domain ${domid} was not created paused; it may have run under ${o.buildLabel}`));
    }
    return b;
  }

  get state(): BuildState {
    return this.#state;
  }

  /**
   * Relabel to the run label. The domain must still be paused; a refusal
   * (the policy's EACCES, or any other) destroys it, and the error says so.
   */
  async relabel(): Promise<void> {
    if (this.#state !== 'building') throw wrongState('relabel', `domain ${this.domid} is ${this.#state}; relabel() applies once, to a domain being built`);
    // Claimed before the first await, so a second relabel() at once is refused rather than racing.
    this.#state = 'relabeling';
    if (!(await this.#stillPaused())) {
      await this.abort(notRelabeled('relabel', `domain ${this.domid} was unpaused under its build label ${this.#o.buildLabel} before the relabel`));
    }
    // A mapping made under the build label outlives the relabel (Xen checks
    // a foreign map when it is made, never again), so the builder would keep
    // the access the relabel is meant to take away. Refused, not unmapped
    // behind the caller's back: their views would go dead without warning.
    const held = this.#o.handle.processMappingsOf(this.domid);
    if (held > 0) {
      this.#state = 'building';
      throw wrongState('relabel', `${held} mapping(s) of domain ${this.domid}'s memory are live in this process; unmap them first (a mapping made under ${this.#o.buildLabel} would outlive the relabel)`);
    }
    try {
      flaskRelabelDomain(this.#o.handle, this.domid, this.runSid);
    } catch (e) {
      await this.abort(e);
    }
    this.#state = 'relabeled';
  }

  /**
   * Unpause: only after the relabel. Before it, ERR_PRIVCMD_NOT_RELABELED and
   * nothing happens. If the toolstack's unpause fails, the domain stays
   * relabelled and paused (try again, or destroy()); buildDomain destroys it.
   */
  async unpause(): Promise<void> {
    if (this.#state === 'building' || this.#state === 'relabeling') {
      throw notRelabeled('unpause', `domain ${this.domid} is still under its build label ${this.#o.buildLabel}; relabel() first`);
    }
    if (this.#state !== 'relabeled') throw wrongState('unpause', `domain ${this.domid} is ${this.#state}`);
    await this.#o.toolstack.unpause(this.domid);
    this.#state = 'running';
  }

  async destroy(): Promise<void> {
    if (this.#state === 'destroyed') return;
    await this.#o.toolstack.destroy(this.domid);
    this.#state = 'destroyed';
  }

  /** isPaused(), or the build is given up: a domain the flow cannot vouch for is not left behind. */
  async #stillPaused(): Promise<boolean> {
    try {
      return await this.#o.toolstack.isPaused(this.domid);
    } catch (e) {
      return this.abort(e);
    }
  }

  /** Give the build up: destroy the domain, then throw `cause` with that outcome added to its message. */
  async abort(cause: unknown): Promise<never> {
    let outcome = `domain ${this.domid} destroyed`;
    try {
      await this.destroy();
    } catch (d) {
      outcome = `destroying domain ${this.domid} failed too (${(d as Error).message}): destroy it by hand`;
    }
    if (isPrivcmdError(cause) || cause instanceof PrivcmdLibraryError) throw withDetail(cause, `${cause.detail}; ${outcome}`);
    // Anything else: a new error (the original may be frozen), keeping its code if it has one.
    const e = new Error(`${cause instanceof Error ? cause.message : describe(cause)}; ${outcome}`) as Error & { cause?: unknown; code?: unknown };
    e.cause = cause;
    if (cause instanceof Error && 'code' in cause) e.code = (cause as { code?: unknown }).code;
    throw e;
  }
}

/**
 * The whole flow: create paused under the build label, run `build(domid)`
 * (the builder maps and fills the domain's memory), relabel, unpause. If
 * `build` throws, or the relabel or the unpause fails, the domain is
 * destroyed and the error rethrown, saying so. Returns the domid and its run sid.
 */
export async function buildDomain(
  options: DomainBuildOptions & { build: (domid: number) => void | Promise<void> },
): Promise<{ domid: number; sid: number }> {
  if (typeof options !== 'object' || options === null || typeof options.build !== 'function') {
    throw invalidArgument('build', 'options.build must be a function (domid) => void | Promise<void>');
  }
  const b = await DomainBuild.create(options);
  try {
    await options.build(b.domid);
  } catch (e) {
    await b.abort(e);
  }
  try {
    await b.relabel();
  } catch (e) {
    // relabel() destroys the domain itself when the relabel fails; a refusal
    // before it (a mapping still live) leaves the domain to us.
    if (b.state === 'destroyed') throw e;
    await b.abort(e);
  }
  try {
    await b.unpause();
  } catch (e) {
    await b.abort(e);
  }
  return { domid: b.domid, sid: b.runSid };
}

// A launcher for deprivileged device-model processes, as libxl's dm_restrict
// runs QEMU: a per-domain uid (xen-qemuuser-domid<N>, or a base uid plus the
// domid), an optional chroot, and a privcmd handle restricted to the domain
// and verified before the command starts. The child gets that handle as an
// inherited fd (PRIVCMD_SHIM_FD) and, with `evtchn: true`, an event-channel
// handle restricted the same way (PRIVCMD_SHIM_EVTCHN_FD); as a non-root uid
// it cannot open either device again. Every step that cannot be done fails loudly, with
// the reason, before anything runs.
import { spawn, type ChildProcess, type StdioOptions } from 'child_process';
import { accessSync, constants, readdirSync, readFileSync, statSync, closeSync } from 'fs';
import * as path from 'path';
import { errnoName } from '../abi/errno';
import { describe, codedError, invalidArgument, type PrivcmdError } from '../errors';
import { open, PRIVCMD_DEVICE, type Privcmd } from '../privcmd';
import { openEventChannels, EVTCHN_DEVICE, type EventChannels } from '../evtchn';
import { restrictAll } from './restrict-all';
import type { SimulatedHost } from '../sim/host';
import { domidArg } from '../domid-arg';

export interface LaunchOptions {
  /** The domain the device model serves. */
  domid: number;
  command: string;
  args?: readonly string[];
  /** The user to run as (default `xen-qemuuser-domid<domid>`, from /etc/passwd). */
  user?: string;
  /** Instead of a user: uid = baseUid + domid (libxl's xen-qemuuser-range-base), gid = baseGid ?? that uid. */
  baseUid?: number;
  baseGid?: number;
  /** Directory to chroot into (done by coreutils `chroot --userspec`, as root, before the uid change). */
  chroot?: string;
  /** The privcmd device (default /dev/xen/privcmd). */
  device?: string;
  /** Also hand over an event-channel handle, restricted to the domain and verified (default false). */
  evtchn?: boolean;
  /** The event-channel device (default /dev/xen/evtchn). */
  evtchnDevice?: string;
  /** Test and demo only: verify the restriction on a simulated host's handle; no fd is passed. */
  host?: SimulatedHost;
  env?: NodeJS.ProcessEnv;
  stdio?: 'inherit' | 'pipe';
  /** Where users are looked up (default /etc/passwd). */
  passwdFile?: string;
  /**
   * Processes already running under the target uid (a device model of an
   * earlier domain with the same domid) are refused (EBUSY, naming them);
   * true kills them first (SIGKILL, waiting until they are gone).
   */
  killStale?: boolean;
}

/** A process found running under a uid. */
export interface StaleProcess {
  readonly pid: number;
  readonly comm: string;
}

export interface Launched {
  readonly child: ChildProcess;
  readonly uid: number;
  readonly gid: number;
  /** The fd number the child holds the restricted handle at (null on a simulated host). */
  readonly fd: number | null;
  /** The fd number of the restricted event-channel handle (null without `evtchn`, or on a simulated host). */
  readonly evtchnFd: number | null;
}

/** The child's fd for the restricted handle, and the env names that announce it. */
export const CHILD_FD = 3;
export const ENV_FD = 'PRIVCMD_SHIM_FD';
export const ENV_DOMID = 'PRIVCMD_SHIM_DOMID';
/** The child's fd for the restricted event-channel handle, and its env name. */
export const CHILD_EVTCHN_FD = 4;
export const ENV_EVTCHN_FD = 'PRIVCMD_SHIM_EVTCHN_FD';
/** More arguments than any device model takes (and well under ARG_MAX). */
const MAX_ARGS = 4096;

const fail = (code: Parameters<typeof codedError>[0], syscall: string, why: string): PrivcmdError =>
  codedError(code, syscall, `launch: ${why}; refusing to run the device model unprotected`);

/** uid/gid of a user from a passwd file. */
function lookupUser(name: string, file: string): { uid: number; gid: number } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw fail('ENOENT', 'getpwnam', `cannot read ${file} to look up user ${name}`);
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) {
      const uid = Number(f[2]);
      const gid = Number(f[3]);
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    }
  }
  throw fail('ENOENT', 'getpwnam', `user ${name} does not exist (create it, or pass baseUid)`);
}

function resolveIds(o: Pick<LaunchOptions, 'domid' | 'user' | 'baseUid' | 'baseGid' | 'passwdFile'>): { uid: number; gid: number } {
  if (o.baseUid !== undefined) {
    if (o.user !== undefined) throw invalidArgument('launch', 'give `user` or `baseUid`, not both');
    if (typeof o.baseUid !== 'number' || !Number.isInteger(o.baseUid) || o.baseUid < 1) throw invalidArgument('launch', `baseUid must be a positive integer, got ${describe(o.baseUid)}`);
    const uid = o.baseUid + o.domid;
    const gid = o.baseGid ?? uid;
    if (uid > 0xfffffffe || typeof gid !== 'number' || !Number.isInteger(gid) || gid < 0 || gid > 0xfffffffe) {
      throw invalidArgument('launch', `baseUid ${o.baseUid} + domid ${o.domid} (gid ${describe(gid)}) is not a valid unprivileged uid/gid`);
    }
    return { uid, gid };
  }
  return lookupUser(o.user ?? `xen-qemuuser-domid${o.domid}`, o.passwdFile ?? '/etc/passwd');
}

/**
 * Live processes with `uid` as any of their real, effective, saved or
 * filesystem uids (the Uid: line of /proc/<pid>/status, fs/proc/array.c).
 * Zombies are left out: they hold no handles and run nothing, and a killed
 * child of this process stays one until Node reaps it.
 */
export function processesOfUid(uid: number, procRoot = '/proc'): StaleProcess[] {
  if (typeof uid !== 'number' || !Number.isInteger(uid) || uid < 0 || uid > 0xffffffff) throw invalidArgument('launch', `uid must be a uid, got ${describe(uid)}`);
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    throw fail('ENOENT', 'open', `cannot list ${procRoot} to look for processes of uid ${uid}`);
  }
  const found: StaleProcess[] = [];
  for (const e of entries) {
    if (!/^[1-9][0-9]*$/.test(e)) continue;
    let status: string;
    try {
      status = readFileSync(`${procRoot}/${e}/status`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const lines = status.split('\n');
    const field = (name: string): string => lines.find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim() ?? '';
    if (/^[ZX]/.test(field('State'))) continue;
    if (field('Uid').split(/\s+/).some((u) => u === String(uid))) found.push({ pid: Number(e), comm: field('Name') });
  }
  return found;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** How long killStale waits for killed processes to go. */
const STALE_KILL_WAIT_MS = 5000;

/** Refuse (or, with killStale, kill) processes already running under the uid. */
function clearStale(uid: number, domid: number, kill: boolean): void {
  let stale = processesOfUid(uid);
  if (stale.length === 0) return;
  const list = (ps: StaleProcess[]): string => ps.map((p) => `${p.pid} (${p.comm})`).join(', ');
  if (!kill) {
    throw Object.assign(fail('EBUSY', 'launch', `uid ${uid} already runs ${list(stale)}, left from an earlier domain ${domid}? It could interfere with the new one; stop it, or pass killStale: true`), { processes: stale });
  }
  for (const p of stale) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw fail('EPERM', 'kill', `cannot kill ${list([p])} of uid ${uid}: ${(e as Error).message}`);
    }
  }
  // SIGKILL is delivered asynchronously; wait, bounded, until none is left (fork races included).
  const deadline = Date.now() + STALE_KILL_WAIT_MS;
  for (;;) {
    stale = processesOfUid(uid);
    if (stale.length === 0) return;
    if (Date.now() >= deadline) throw Object.assign(fail('EBUSY', 'kill', `uid ${uid} still runs ${list(stale)} ${STALE_KILL_WAIT_MS} ms after SIGKILL`), { processes: stale });
    for (const p of stale) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    Atomics.wait(sleepCell, 0, 0, 10);
  }
}

/** Would uid/gid (with no supplementary groups) be allowed to open the device read-write? */
function canOpen(device: string, uid: number, gid: number): boolean {
  const st = statSync(device);
  const bits = uid === st.uid ? (st.mode >> 6) & 7 : gid === st.gid ? (st.mode >> 3) & 7 : st.mode & 7;
  return (bits & 6) !== 0;
}

function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir || '.', name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}

/** The restriction, proven on the handle: the kernel refuses a hypercall and a DMOP for another domain. */
function verifyHandle(h: Privcmd, domid: number): void {
  const p = h.probeRestriction();
  const hc = p.hypercall < 0n ? errnoName(Number(p.hypercall)) : 'ok';
  const dm = p.dmop < 0 ? errnoName(p.dmop) : 'ok';
  if (h.restrictedTo !== domid || hc !== 'EPERM' || dm !== 'EPERM') {
    throw fail('EPERM', 'ioctl', `the handle is not restricted to domain ${domid} (hypercall: ${hc}, DMOP to another domain: ${dm})`);
  }
}

/**
 * The event-channel restriction, proven on the handle: the kernel refuses an
 * unbound port and another domain's port (drivers/xen/evtchn.c: EACCES).
 */
function verifyEvtchn(e: EventChannels, domid: number): void {
  const p = e.probeRestriction();
  const ub = p.unboundPort < 0 ? errnoName(p.unboundPort) : 'ok';
  const other = p.otherDomainBind < 0 ? errnoName(p.otherDomainBind) : 'ok';
  if (e.restrictedTo !== domid || ub !== 'EACCES' || other !== 'EACCES') {
    throw fail('EPERM', 'ioctl', `the event-channel handle is not restricted to domain ${domid} (unbound port: ${ub}, another domain's port: ${other})`);
  }
}

/**
 * Start a device model deprivileged. Order: check the arguments and the
 * user, that we may change uid (root), the chroot; open privcmd, restrict it
 * to the domain and verify; the same for evtchn if asked; check that the new
 * uid cannot reopen either device; then spawn. Throws a coded error at the
 * first step that cannot be done.
 */
export function launchDeviceModel(o: LaunchOptions): Launched {
  if (typeof o !== 'object' || o === null) throw invalidArgument('launch', 'options must be an object');
  // Each option read once: a getter must not restrict the handle to one domain and name another to the child.
  o = { ...o };
  domidArg('launch', 'domid', o.domid, 'guest');
  if (typeof o.command !== 'string' || o.command === '') throw invalidArgument('launch', 'command must be a non-empty string');
  const argv: unknown = o.args ?? [];
  // Bounded before it is walked: a 2^32-1 sparse array would keep some() busy for minutes.
  if (!Array.isArray(argv) || argv.length > MAX_ARGS) throw invalidArgument('launch', `args must be an array of at most ${MAX_ARGS} strings`);
  const args: string[] = Array.from({ length: argv.length }, (_x, i): unknown => argv[i]) as string[];
  if (args.some((a) => typeof a !== 'string')) throw invalidArgument('launch', `args must be an array of at most ${MAX_ARGS} strings`);
  if (o.killStale !== undefined && typeof o.killStale !== 'boolean') throw invalidArgument('launch', `killStale must be a boolean, got ${describe(o.killStale)}`);
  if (o.evtchn !== undefined && typeof o.evtchn !== 'boolean') throw invalidArgument('launch', `evtchn must be a boolean, got ${describe(o.evtchn)}`);
  if (o.evtchnDevice !== undefined && (typeof o.evtchnDevice !== 'string' || o.evtchn !== true)) {
    throw invalidArgument('launch', `evtchnDevice must be a path, and comes with evtchn: true; got ${describe(o.evtchnDevice)}`);
  }
  const { uid, gid } = resolveIds(o);
  if (uid === 0 || gid === 0) throw fail('EPERM', 'setuid', `user resolves to uid ${uid} / gid ${gid}: root is not deprivileged`);
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw fail('EPERM', 'setuid', `changing to uid ${uid} needs root, and this process runs as uid ${process.getuid?.() ?? '?'}`);
  }
  let chrootBin: string | null = null;
  if (o.chroot !== undefined) {
    let isDir = false;
    try {
      isDir = statSync(o.chroot).isDirectory();
    } catch {
      // reported below
    }
    if (!isDir) throw fail('ENOENT', 'chroot', `${o.chroot} is not a directory`);
    chrootBin = findOnPath('chroot');
    if (chrootBin === null) throw fail('ENOENT', 'chroot', 'no chroot program on PATH (coreutils)');
  }

  // Last before the handle: dm_restrict's per-domain uid protects nothing if
  // a process of an earlier domain with this domid still runs under it.
  clearStale(uid, o.domid, o.killStale === true);

  // The handles the child inherits, restricted and verified first.
  const device = o.device ?? PRIVCMD_DEVICE;
  const evtchnDevice = o.evtchnDevice ?? EVTCHN_DEVICE;
  let h: Privcmd;
  try {
    h = o.host !== undefined ? open({ host: o.host }) : open({ device });
  } catch (e) {
    const err = e as PrivcmdError;
    throw fail(err.code as Parameters<typeof codedError>[0], err.syscall ?? 'open', `cannot open privcmd (${err.message})`);
  }
  let ev: EventChannels | null = null;
  try {
    try {
      h.restrict(o.domid);
    } catch (e) {
      const err = e as PrivcmdError;
      throw fail(err.code as Parameters<typeof codedError>[0], 'ioctl', `cannot restrict privcmd to domain ${o.domid} (${err.message})`);
    }
    verifyHandle(h, o.domid);
    if (o.host === undefined && canOpen(device, uid, gid)) {
      throw fail('EACCES', 'open', `${device} is open to uid ${uid} / gid ${gid}: the device model could reopen it unrestricted`);
    }
    if (o.evtchn === true) {
      try {
        ev = o.host !== undefined ? openEventChannels({ host: o.host }) : openEventChannels({ device: evtchnDevice });
      } catch (e) {
        const err = e as PrivcmdError;
        throw fail(err.code as Parameters<typeof codedError>[0], err.syscall ?? 'open', `cannot open the event-channel device (${err.message})`);
      }
      try {
        ev.restrict(o.domid);
      } catch (e) {
        const err = e as PrivcmdError;
        throw fail(err.code as Parameters<typeof codedError>[0], 'ioctl', `cannot restrict the event-channel handle to domain ${o.domid} (${err.message})`);
      }
      verifyEvtchn(ev, o.domid);
      if (o.host === undefined && canOpen(evtchnDevice, uid, gid)) {
        throw fail('EACCES', 'open', `${evtchnDevice} is open to uid ${uid} / gid ${gid}: the device model could reopen it unrestricted`);
      }
    }
    const fd = o.host === undefined ? h.deviceFd() : null;
    const evFd = ev !== null && o.host === undefined ? ev.deviceFd() : null;
    const env: NodeJS.ProcessEnv = { ...(o.env ?? process.env), [ENV_DOMID]: String(o.domid) };
    if (fd !== null) env[ENV_FD] = String(CHILD_FD);
    else delete env[ENV_FD];
    if (evFd !== null) env[ENV_EVTCHN_FD] = String(CHILD_EVTCHN_FD);
    else delete env[ENV_EVTCHN_FD];
    const base = o.stdio ?? 'inherit';
    const stdio: StdioOptions = fd === null ? [base, base, base] : evFd === null ? [base, base, base, fd] : [base, base, base, fd, evFd];
    const child = chrootBin !== null
      ? spawn(chrootBin, [`--userspec=${uid}:${gid}`, `--groups=${gid}`, o.chroot as string, o.command, ...args], { stdio, env })
      : spawn(o.command, [...args], { stdio, env, uid, gid });
    return { child, uid, gid, fd: fd !== null ? CHILD_FD : null, evtchnFd: evFd !== null ? CHILD_EVTCHN_FD : null };
  } finally {
    // The child holds its own copies of the descriptors; ours go.
    h.close();
    ev?.close();
  }
}

/** An integer the launcher put in the environment, or NaN. */
function envInt(env: NodeJS.ProcessEnv, name: string): number {
  const raw: unknown = env[name];
  return typeof raw === 'string' && /^[0-9]{1,10}$/.test(raw) ? Number(raw) : NaN;
}

function checkEnv(env: unknown): NodeJS.ProcessEnv {
  if (typeof env !== 'object' || env === null) throw invalidArgument('open', `env must be an environment object, got ${describe(env)}`);
  return env as NodeJS.ProcessEnv;
}

/** The inherited privcmd handle, without restricting the process yet. */
function takePrivcmd(env: NodeJS.ProcessEnv): { h: Privcmd; domid: number } {
  const fd = envInt(env, ENV_FD);
  const domid = envInt(env, ENV_DOMID);
  if (!Number.isInteger(fd) || !Number.isInteger(domid)) {
    throw codedError('EBADF', 'open', `no inherited privcmd handle (${ENV_FD} / ${ENV_DOMID} not set): not started by the launcher`);
  }
  return { h: open({ fd }), domid };
}

/** The inherited event-channel handle: the kernel must hold it restricted to PRIVCMD_SHIM_DOMID. */
function takeEvtchn(env: NodeJS.ProcessEnv): EventChannels {
  const fd = envInt(env, ENV_EVTCHN_FD);
  const domid = envInt(env, ENV_DOMID);
  if (!Number.isInteger(fd) || !Number.isInteger(domid)) {
    throw codedError('EBADF', 'open', `no inherited event-channel handle (${ENV_EVTCHN_FD} / ${ENV_DOMID} not set): not started by the launcher with evtchn: true`);
  }
  const ev = openEventChannels({ fd, restrictTo: domid }); // a close-on-exec duplicate
  // The inherited descriptor is closed: it would outlive ev.close() (whose
  // ports stay bound while any descriptor of the file is open) and pass to
  // whatever the device model executes.
  try {
    closeSync(fd);
  } catch {
    /* already gone: the duplicate is what matters */
  }
  return ev;
}

function restrictOrClose(domid: number, handles: readonly { close(): void }[]): void {
  try {
    restrictAll(domid);
  } catch (e) {
    for (const h of handles) h.close();
    throw e;
  }
}

/**
 * In the launched process: the restricted handle the launcher passed down.
 * The whole process is restricted to PRIVCMD_SHIM_DOMID (restrictAll), so a
 * later open() starts restricted and verifyRestricted() holds; restricting
 * the inherited fd again is a no-op, and makes sure of it on one that somehow
 * is not.
 */
export function openInherited(env: NodeJS.ProcessEnv = process.env): Privcmd {
  const { h, domid } = takePrivcmd(checkEnv(env));
  restrictOrClose(domid, [h]);
  return h;
}

/**
 * In the launched process: the event-channel handle the launcher passed down
 * (launchDeviceModel({ evtchn: true })), then restrictAll(PRIVCMD_SHIM_DOMID).
 * An evtchn handle is restricted once only, so the kernel is asked whether it
 * already is, and to which domain; one restricted elsewhere is EACCES.
 */
export function openInheritedEventChannels(env: NodeJS.ProcessEnv = process.env): EventChannels {
  const e = checkEnv(env);
  const ev = takeEvtchn(e);
  restrictOrClose(envInt(e, ENV_DOMID), [ev]);
  return ev;
}

/** Both handles the launcher passed down, then restrictAll: nothing is left open if either fails. */
export function openInheritedHandles(env: NodeJS.ProcessEnv = process.env): { privcmd: Privcmd; evtchn: EventChannels; domid: number } {
  const e = checkEnv(env);
  const { h, domid } = takePrivcmd(e);
  let ev: EventChannels;
  try {
    ev = takeEvtchn(e);
  } catch (err) {
    h.close();
    throw err;
  }
  restrictOrClose(domid, [h, ev]);
  return { privcmd: h, evtchn: ev, domid };
}

/** @internal For the QEMU launcher (./qemu.ts): the same user resolution and stale-process check. */
export { resolveIds as resolveLaunchIds, clearStale as clearStaleProcesses };

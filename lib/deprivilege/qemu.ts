// Stock QEMU under dm_restrict, as libxl starts it
// (libxl__build_device_model_args_new in tools/libs/light/libxl_dm.c):
// `-xen-domid N` first, then the caller's arguments, `-xen-domid-restrict`
// and `-chroot DIR`, and `-runas USER` last. QEMU opens its own privcmd,
// evtchn, gnttab and xenstore handles and restricts them itself
// (xen_restrict in QEMU's accel/xen), so the launcher cannot check those
// from outside: it checks what the kernel shows of the process, its uids
// (/proc/<pid>/status) and its root (/proc/<pid>/root), once QEMU has
// dropped them (after its set-up: os_setup_post in QEMU's os-posix.c).
import { spawn, type ChildProcess } from 'child_process';
import { readFileSync, readlinkSync, realpathSync, statSync } from 'fs';
import { describe, codedError, invalidArgument, type PrivcmdError } from '../errors';
import { domidArg } from '../domid-arg';
import { clearStaleProcesses, resolveLaunchIds } from './launcher';

export type QemuVersion = 'qemu-xen' | 'qemu-xen-traditional';

export interface QemuOptions {
  /** The guest domain QEMU serves. */
  domid: number;
  /** Which QEMU (libxl's device_model_version); only 'qemu-xen' has dm_restrict. Default 'qemu-xen'. */
  version?: QemuVersion;
  /** QEMU's own arguments (machine, devices...), without the dm_restrict ones. */
  args?: readonly string[];
  /** `-runas NAME` (default `xen-qemuuser-domid<domid>`, looked up in /etc/passwd)... */
  user?: string;
  /** ...or `-runas UID:GID` with uid = baseUid + domid (libxl's xen-qemuuser-range-base), gid = baseGid ?? uid. */
  baseUid?: number;
  baseGid?: number;
  /** `-chroot DIR` (libxl uses XEN_RUN_DIR/qemu-root-<domid>, created empty, mode 0000). */
  chroot?: string;
  passwdFile?: string;
}

export interface QemuLaunchOptions extends QemuOptions {
  /** The QEMU binary (e.g. /usr/bin/qemu-system-i386 built with Xen). */
  command: string;
  /** Kill processes already running under the target uid (see launchDeviceModel). */
  killStale?: boolean;
  /** How long to wait for QEMU to drop its privileges (default 30 s). */
  verifyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  stdio?: 'inherit' | 'pipe';
}

/** What /proc shows of a process. */
export interface OutsideView {
  readonly pid: number;
  /** Real, effective, saved and filesystem uid. */
  readonly uids: readonly number[];
  readonly gids: readonly number[];
  /** The target of /proc/<pid>/root. */
  readonly root: string;
}

export interface QemuLaunched {
  readonly child: ChildProcess;
  readonly uid: number;
  readonly gid: number;
  /** The argv after the command. */
  readonly args: readonly string[];
  /**
   * Resolves with what /proc shows once QEMU runs as the uid (in the chroot,
   * when asked); rejects (EPERM, and the process is killed) if it exits or
   * does not get there in time.
   */
  readonly verified: Promise<OutsideView>;
}

/** Options that would let the caller's arguments undo or hide the restriction. */
const RESERVED = new Set(['xen-domid', 'xen-domid-restrict', 'runas', 'chroot', 'run-with', 'daemonize']);
const MAX_ARGS = 4096;

const fail = (code: Parameters<typeof codedError>[0], syscall: string, why: string): PrivcmdError =>
  codedError(code, syscall, `qemu: ${why}; refusing to run QEMU unprotected`);

function checkQemu(o: QemuOptions): { uid: number; gid: number; args: string[]; runas: string } {
  if (typeof o !== 'object' || o === null) throw invalidArgument('launch', 'options must be an object');
  domidArg('launch', 'domid', o.domid, 'guest');
  const version: unknown = o.version ?? 'qemu-xen';
  // libxl__build_device_model_args_old refuses the same way: qemu-traditional has no -xen-domid-restrict.
  if (version === 'qemu-xen-traditional') throw invalidArgument('launch', 'dm_restrict not supported by qemu-xen-traditional');
  if (version !== 'qemu-xen') throw invalidArgument('launch', `version must be 'qemu-xen' or 'qemu-xen-traditional', got ${describe(version)}`);
  const argv: unknown = o.args ?? [];
  if (!Array.isArray(argv) || argv.length > MAX_ARGS) throw invalidArgument('launch', `args must be an array of at most ${MAX_ARGS} strings`);
  const args: unknown[] = Array.from({ length: argv.length }, (_x, i): unknown => argv[i]);
  for (const a of args) {
    if (typeof a !== 'string') throw invalidArgument('launch', `args must be an array of at most ${MAX_ARGS} strings, got ${describe(a)}`);
    // QEMU takes -opt and --opt alike; a later -runas or -xen-domid would override ours.
    const name = /^--?([^=]+)/.exec(a)?.[1];
    if (name !== undefined && RESERVED.has(name)) throw invalidArgument('launch', `args must not contain ${a}: the launcher sets the dm_restrict options itself (and a daemonized QEMU cannot be verified)`);
  }
  if (o.chroot !== undefined && (typeof o.chroot !== 'string' || o.chroot === '')) throw invalidArgument('launch', `chroot must be a directory path, got ${describe(o.chroot)}`);
  const { uid, gid } = resolveLaunchIds(o);
  if (uid === 0 || gid === 0) throw fail('EPERM', 'setuid', `user resolves to uid ${uid} / gid ${gid}: root is not deprivileged`);
  // libxl passes the user name when it has one, else uid:gid.
  const runas = o.baseUid === undefined ? (o.user ?? `xen-qemuuser-domid${o.domid}`) : `${uid}:${gid}`;
  return { uid, gid, args: args as string[], runas };
}

/**
 * QEMU's argv (after the binary) for dm_restrict, in libxl's order. Pure:
 * looks up the user, touches nothing else. Throws EINVAL for qemu-xen-traditional
 * (libxl: "dm_restrict not supported by qemu-xen-traditional").
 */
export function qemuDmRestrictArgs(o: QemuOptions): string[] {
  const { args, runas } = checkQemu({ ...o });
  return [
    '-xen-domid', String(o.domid),
    ...args,
    '-xen-domid-restrict',
    ...(o.chroot !== undefined ? ['-chroot', o.chroot] : []),
    '-runas', runas,
  ];
}

function idsOf(status: string, field: string): number[] {
  const line = status.split('\n').find((l) => l.startsWith(`${field}:`));
  return line === undefined ? [] : line.slice(field.length + 1).trim().split(/\s+/).map(Number);
}

/** What /proc shows of a live process: its uids, gids and root. ESRCH if it is gone (or a zombie). */
export function outsideView(pid: number, procRoot = '/proc'): OutsideView {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid < 1) throw invalidArgument('launch', `pid must be a process id, got ${describe(pid)}`);
  let status: string;
  let root: string;
  try {
    status = readFileSync(`${procRoot}/${pid}/status`, 'utf8');
    root = readlinkSync(`${procRoot}/${pid}/root`);
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    throw codedError(c === 'EACCES' ? 'EACCES' : 'ESRCH', 'open', `cannot read ${procRoot}/${pid}: ${c ?? String(e)}`);
  }
  if (/^State:\s*[ZX]/m.test(status)) throw codedError('ESRCH', 'open', `process ${pid} has exited`);
  return { pid, uids: idsOf(status, 'Uid'), gids: idsOf(status, 'Gid'), root };
}

/** Why `view` is not deprivileged to uid/gid (and chroot), or null when it is. */
export function deprivilegeMismatch(view: OutsideView, uid: number, gid: number, chroot?: string): string | null {
  if (view.uids.length !== 4 || view.uids.some((u) => u !== uid)) return `uids are ${view.uids.join(' ')}, not all ${uid}`;
  if (view.gids.length !== 4 || view.gids.some((g) => g !== gid)) return `gids are ${view.gids.join(' ')}, not all ${gid}`;
  if (chroot !== undefined && view.root !== chroot) return `its root is ${view.root}, not ${chroot}`;
  return null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Start stock QEMU with dm_restrict, as libxl does: as root (QEMU needs it to
 * open the Xen devices; it restricts them, chroots and drops to -runas
 * itself), after the same checks as launchDeviceModel (root, the uid, no
 * process already under it, the chroot directory). `verified` then checks
 * from outside that QEMU really dropped to the uid and entered the chroot.
 */
export function launchQemu(o: QemuLaunchOptions): QemuLaunched {
  if (typeof o !== 'object' || o === null) throw invalidArgument('launch', 'options must be an object');
  o = { ...o };
  if (typeof o.command !== 'string' || o.command === '') throw invalidArgument('launch', 'command must be a non-empty string');
  if (o.killStale !== undefined && typeof o.killStale !== 'boolean') throw invalidArgument('launch', `killStale must be a boolean, got ${describe(o.killStale)}`);
  const timeout = o.verifyTimeoutMs ?? 30000;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1 || timeout > 600000) throw invalidArgument('launch', `verifyTimeoutMs must be an integer in [1, 600000], got ${describe(timeout)}`);
  const args = qemuDmRestrictArgs(o);
  const { uid, gid } = resolveLaunchIds(o);
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw fail('EPERM', 'setuid', `QEMU must start as root to open the Xen devices before it drops to uid ${uid}, and this process runs as uid ${process.getuid?.() ?? '?'}`);
  }
  let chroot: string | undefined;
  if (o.chroot !== undefined) {
    try {
      if (statSync(o.chroot).isDirectory()) chroot = realpathSync(o.chroot);
    } catch {
      // reported below
    }
    if (chroot === undefined) throw fail('ENOENT', 'chroot', `${o.chroot} is not a directory`);
  }
  clearStaleProcesses(uid, o.domid, o.killStale === true);
  const base = o.stdio ?? 'inherit';
  const child = spawn(o.command, args, { stdio: [base, base, base], env: o.env ?? process.env });
  let spawnError: Error | null = null;
  child.once('error', (e) => { spawnError = e; });
  const verified = (async (): Promise<OutsideView> => {
    const deadline = Date.now() + timeout;
    let why = 'it did not start';
    for (;;) {
      if (spawnError !== null) throw fail('ENOENT', 'spawn', `cannot start ${o.command}: ${(spawnError as Error).message}`);
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          const view = outsideView(child.pid);
          const m = deprivilegeMismatch(view, uid, gid, chroot);
          if (m === null) return view;
          why = m;
        } catch (e) {
          why = (e as Error).message;
        }
      } else if (child.exitCode !== null || child.signalCode !== null) {
        throw fail('EPERM', 'launch', `QEMU (pid ${child.pid ?? '?'}) exited (${child.exitCode ?? child.signalCode}) before it was seen deprivileged`);
      }
      if (Date.now() >= deadline) {
        child.kill('SIGKILL');
        throw fail('EPERM', 'launch', `QEMU (pid ${child.pid ?? '?'}) killed: ${timeout} ms after start ${why}`);
      }
      await sleep(Math.min(20, Math.max(1, deadline - Date.now())));
    }
  })();
  // The check kills QEMU whether or not anyone awaits it; a caller who never
  // looks must not have the process crash on an unhandled rejection.
  verified.catch(() => undefined);
  return { child, uid, gid, args, verified };
}

// Stock QEMU under dm_restrict: libxl's arguments, the refusals, and the
// check from outside (uids from /proc/<pid>/status, root from
// /proc/<pid>/root) against a stand-in that does what -runas and -chroot
// ask (or not). No QEMU is needed.
import { execFileSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { deprivilegeMismatch, launchQemu, outsideView, qemuDmRestrictArgs, type QemuLaunchOptions } from '../../lib/deprivilege/qemu';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasGcc = (() => { try { execFileSync('gcc', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'privcmd-qemu-'));
const passwd = path.join(tmp, 'passwd');
fs.writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\nxen-qemuuser-domid5:x:32005:32105::/:/bin/false\nxen-qemuuser-domid6:x:0:0::/:/bin/false\n');

type Refused = { code?: string; errno?: number; syscall?: string; message?: string };
const caught = (f: () => unknown): { code?: string; errno?: number; syscall?: string; message?: string } => {
  try {
    f();
    return {};
  } catch (e) {
    return e as { code?: string };
  }
};

describe('qemuDmRestrictArgs: libxl\'s arguments (libxl__build_device_model_args_new)', () => {
  test('-xen-domid first, the caller\'s arguments, -xen-domid-restrict, -chroot, -runas last', () => {
    expect(qemuDmRestrictArgs({ domid: 5, args: ['-machine', 'xenfv', '-m', '512'], chroot: '/var/run/xen/qemu-root-5', passwdFile: passwd })).toEqual([
      '-xen-domid', '5', '-machine', 'xenfv', '-m', '512',
      '-xen-domid-restrict', '-chroot', '/var/run/xen/qemu-root-5', '-runas', 'xen-qemuuser-domid5',
    ]);
  });

  test('no chroot unless asked; with a base uid, -runas uid:gid as libxl writes it', () => {
    expect(qemuDmRestrictArgs({ domid: 7, baseUid: 40000 })).toEqual(['-xen-domid', '7', '-xen-domid-restrict', '-runas', '40007:40007']);
    expect(qemuDmRestrictArgs({ domid: 7, baseUid: 40000, baseGid: 999 })).toEqual(['-xen-domid', '7', '-xen-domid-restrict', '-runas', '40007:999']);
    expect(qemuDmRestrictArgs({ domid: 7, user: 'xen-qemuuser-domid5', passwdFile: passwd }).slice(-2)).toEqual(['-runas', 'xen-qemuuser-domid5']);
  });

  test('qemu-xen-traditional is refused with libxl\'s message: it has no restriction', () => {
    const e = caught(() => qemuDmRestrictArgs({ domid: 5, version: 'qemu-xen-traditional', baseUid: 40000 }));
    expect(e).toMatchObject({ code: 'EINVAL', errno: -22, syscall: 'launch' });
    expect(e.message).toContain('dm_restrict not supported by qemu-xen-traditional');
    expect(caught(() => launchQemu({ domid: 5, version: 'qemu-xen-traditional', baseUid: 40000, command: '/bin/true' })).code).toBe('EINVAL');
    expect(caught(() => qemuDmRestrictArgs({ domid: 5, version: 'qemu-kvm' as never, baseUid: 40000 })).code).toBe('EINVAL');
  });

  test('arguments that would override or hide the restriction are EINVAL', () => {
    for (const a of ['-runas', '--runas', '-chroot', '--chroot=/', '-xen-domid', '-xen-domid-restrict', '-daemonize', '-run-with']) {
      expect({ a, c: caught(() => qemuDmRestrictArgs({ domid: 5, baseUid: 40000, args: [a, 'x'] })).code }).toEqual({ a, c: 'EINVAL' });
    }
    expect(caught(() => qemuDmRestrictArgs({ domid: 5, baseUid: 40000, args: ['-m', 512 as never] })).code).toBe('EINVAL');
    expect(caught(() => qemuDmRestrictArgs({ domid: 5, baseUid: 40000, args: '-m 512' as never })).code).toBe('EINVAL');
  });

  test('bad domid, chroot or user: coded, before anything', () => {
    for (const domid of [0, -1, 0x7ff0, 2.5, '5']) expect(caught(() => qemuDmRestrictArgs({ domid: domid as number, baseUid: 40000 })).code).toBe('EINVAL');
    expect(caught(() => qemuDmRestrictArgs({ domid: 5, baseUid: 40000, chroot: '' })).code).toBe('EINVAL');
    expect(caught(() => qemuDmRestrictArgs({ domid: 9, passwdFile: passwd }))).toMatchObject({ code: 'ENOENT', syscall: 'getpwnam' });
    expect(caught(() => qemuDmRestrictArgs({ domid: 6, passwdFile: passwd }))).toMatchObject({ code: 'EPERM', syscall: 'setuid' });
    expect(caught(() => qemuDmRestrictArgs(null as never)).code).toBe('EINVAL');
  });
});

describe('the view from outside', () => {
  test('outsideView reads this process\'s four uids and gids and its root', () => {
    const v = outsideView(process.pid);
    const uid = process.getuid?.() ?? -1;
    expect(v.uids).toHaveLength(4);
    expect(v.uids[0]).toBe(uid);
    expect(v.root).toBe('/');
    expect(deprivilegeMismatch(v, uid + 1, v.gids[0] as number)).toBe(`uids are ${v.uids.join(' ')}, not all ${uid + 1}`);
    expect(deprivilegeMismatch(v, v.uids[0] as number, v.gids[0] as number, '/jail')).toBe('its root is /, not /jail');
    expect(deprivilegeMismatch({ pid: 1, uids: [5, 5, 0, 5], gids: [5, 5, 5, 5], root: '/j' }, 5, 5, '/j')).toBe('uids are 5 5 0 5, not all 5'); // saved uid 0: it could switch back
    expect(deprivilegeMismatch({ pid: 1, uids: [5, 5, 5, 5], gids: [5, 5, 5, 5], root: '/j' }, 5, 5, '/j')).toBeNull();
  });

  test('a process that does not exist: ESRCH; a bad pid: EINVAL', () => {
    expect(caught(() => outsideView(0x3fffffff)).code).toBe('ESRCH');
    expect(caught(() => outsideView(0)).code).toBe('EINVAL');
    expect(caught(() => outsideView('1' as never)).code).toBe('EINVAL');
  });

  (isRoot ? test.skip : test)('not root: EPERM, QEMU must start as root [skipped as root]', () => {
    expect(caught(() => launchQemu({ domid: 5, baseUid: 40000, command: '/bin/true' }))).toMatchObject({ code: 'EPERM', syscall: 'setuid' });
  });
});

(isRoot && hasGcc ? describe : describe.skip)('launchQemu with a stand-in QEMU [needs root and gcc; CI runs as root]', () => {
  const jail = path.join(tmp, 'jail');
  // A QEMU stand-in that does what -runas uid:gid and -chroot ask, as QEMU's os-posix.c does after set-up.
  const honest = path.join(tmp, 'qemu-honest');
  // One that ignores them (a QEMU without -runas support, or a wrapper that drops them).
  const liar = path.join(tmp, 'qemu-liar');
  // One that honours -runas only.
  const half = path.join(tmp, 'qemu-half');
  let child: ChildProcess | null = null;

  beforeAll(() => {
    fs.mkdirSync(jail);
    const src = path.join(tmp, 'pause.c');
    fs.writeFileSync(src, '#include <unistd.h>\nint main(void){pause();return 0;}\n');
    execFileSync('gcc', ['-static', '-O1', '-o', path.join(jail, 'pause'), src]);
    fs.writeFileSync(honest, '#!/bin/sh\nrunas=; root=/\nwhile [ $# -gt 0 ]; do case "$1" in -runas) runas=$2; shift;; -chroot) root=$2; shift;; esac; shift; done\nexec chroot --userspec="$runas" --groups="${runas#*:}" "$root" /pause\n', { mode: 0o755 });
    fs.writeFileSync(liar, '#!/bin/sh\nexec sleep 600\n', { mode: 0o755 });
    fs.writeFileSync(half, '#!/bin/sh\nwhile [ $# -gt 0 ]; do case "$1" in -runas) runas=$2; shift;; esac; shift; done\nexec chroot --userspec="$runas" --groups="${runas#*:}" / sleep 600\n', { mode: 0o755 });
  });
  afterEach(async () => {
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const c = child;
      await new Promise((r) => { c.on('exit', r); c.kill('SIGKILL'); });
    }
    child = null;
  });

  const start = (o: Partial<QemuLaunchOptions> & { command: string }) => {
    const l = launchQemu({ domid: 5, baseUid: 33000, stdio: 'pipe', ...o });
    child = l.child;
    return l;
  };

  test('verified: runs as the uid in the chroot, as /proc shows from outside', async () => {
    const l = start({ command: honest, chroot: jail });
    expect(l.args).toEqual(['-xen-domid', '5', '-xen-domid-restrict', '-chroot', jail, '-runas', '33005:33005']);
    const v = await l.verified;
    expect(v).toEqual({ pid: l.child.pid, uids: [33005, 33005, 33005, 33005], gids: [33005, 33005, 33005, 33005], root: fs.realpathSync(jail) });
  });

  test('a QEMU that stays root: verified rejects EPERM saying why, and the process is killed', async () => {
    const l = start({ command: liar, verifyTimeoutMs: 300 });
    const e = await l.verified.then((): Refused => ({}), (x: unknown) => x as Refused);
    expect(e.code).toBe('EPERM');
    expect(e.message).toContain('uids are 0 0 0 0, not all 33005');
    await new Promise((r) => (l.child.exitCode !== null || l.child.signalCode !== null ? r(null) : l.child.on('exit', r)));
    expect(l.child.signalCode).toBe('SIGKILL');
  });

  test('a caller who never awaits verified: QEMU is still killed, and no unhandled rejection escapes', async () => {
    const unhandled: unknown[] = [];
    const seen = (r: unknown) => unhandled.push(r);
    process.on('unhandledRejection', seen);
    try {
      const l = start({ command: liar, verifyTimeoutMs: 100 });
      await new Promise((r) => (l.child.exitCode !== null || l.child.signalCode !== null ? r(null) : l.child.on('exit', r)));
      expect(l.child.signalCode).toBe('SIGKILL');
      await new Promise((r) => setTimeout(r, 50)); // past the microtask turn where an unhandled rejection is reported
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', seen);
    }
  });

  test('a QEMU that drops the uid but stays out of the chroot: refused, saying why', async () => {
    const l = start({ command: half, chroot: jail, verifyTimeoutMs: 300 });
    const e = await l.verified.then((): Refused => ({}), (x: unknown) => x as Refused);
    expect(e.code).toBe('EPERM');
    expect(e.message).toContain(`its root is /, not ${fs.realpathSync(jail)}`);
  });

  test('a chroot that is not a directory: ENOENT; a command that does not exist: verified rejects', async () => {
    expect(caught(() => launchQemu({ domid: 5, baseUid: 33000, command: honest, chroot: path.join(tmp, 'nope') }))).toMatchObject({ code: 'ENOENT', syscall: 'chroot' });
    const l = start({ command: path.join(tmp, 'no-such-qemu'), verifyTimeoutMs: 300 });
    const e = await l.verified.then((): Refused => ({}), (x: unknown) => x as Refused);
    expect(e.code).toBe('ENOENT');
  });

  test('a process left under the uid is refused (EBUSY) before QEMU starts', async () => {
    const l = start({ command: honest, chroot: jail });
    await l.verified;
    const e = caught(() => launchQemu({ domid: 5, baseUid: 33000, command: honest }));
    expect(e.code).toBe('EBUSY');
    // Named by pid and comm (chroot, or pause once it has exec'd: /proc shows either).
    expect(e.message).toContain(`already runs ${l.child.pid} (`);
  });
});

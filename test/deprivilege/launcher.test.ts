// The dm_restrict launcher: each step that cannot be done fails loudly before
// anything runs; as root (CI) the uid change and the chroot are real. The
// restricted fd passed to the child is exercised on the real device by the
// real-host harness.
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { launchDeviceModel, openInherited, openInheritedEventChannels, openInheritedHandles, processesOfUid, type LaunchOptions } from '../../lib/deprivilege/launcher';
import { openEventChannels } from '../../lib/evtchn';
import { code } from '../support/code';
import { createSimulatedHost } from '../../lib/sim/host';
import { verifyRestricted } from '../../lib/deprivilege/restrict-all';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasGcc = (() => { try { execFileSync('gcc', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'privcmd-launch-'));

const refusalOf = (f: () => unknown): { code?: string; syscall?: string; message?: string } => {
  try {
    f();
    return {};
  } catch (e) {
    return e as { code?: string };
  }
};

const refusal = (o: LaunchOptions): { code?: string; syscall?: string; message?: string } => refusalOf(() => launchDeviceModel(o));

function run(o: LaunchOptions): Promise<string> {
  const { child } = launchDeviceModel({ ...o, stdio: 'pipe' });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    // 'close', not 'exit': the output can still be in flight when the process exits.
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`))));
  });
}

describe('openInherited (in the launched process; the real hand-off runs in the real-host harness)', () => {
  test('not started by the launcher: EBADF; an inherited fd that is not privcmd: ENOTTY, and nothing is restricted', () => {
    expect(refusalOf(() => openInherited({}))).toMatchObject({ code: 'EBADF', syscall: 'open' });
    expect(refusalOf(() => openInherited({ PRIVCMD_SHIM_FD: 'x', PRIVCMD_SHIM_DOMID: '5' })).code).toBe('EBADF');
    const fd = fs.openSync('/dev/null', 'r+');
    try {
      expect(refusalOf(() => openInherited({ PRIVCMD_SHIM_FD: String(fd), PRIVCMD_SHIM_DOMID: '5' })).code).toBe('ENOTTY');
      // The refused call did not restrict the process: restrictAll to another domain still works.
      expect(refusalOf(() => verifyRestricted()).code).toBe('ERR_PRIVCMD_NOT_RESTRICTED');
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('the inherited event-channel handle (the real hand-off runs in the real-host harness)', () => {
  test('not started with evtchn: EBADF; an fd that is not evtchn: ENOTTY; nothing restricted, nothing left open', () => {
    expect(refusalOf(() => openInheritedEventChannels({}))).toMatchObject({ code: 'EBADF', syscall: 'open' });
    expect(code(() => openInheritedEventChannels({ PRIVCMD_SHIM_EVTCHN_FD: '4' }))).toBe('EBADF');
    expect(code(() => openInheritedEventChannels({ PRIVCMD_SHIM_EVTCHN_FD: '4x', PRIVCMD_SHIM_DOMID: '5' }))).toBe('EBADF');
    expect(code(() => openInheritedHandles({}))).toBe('EBADF');
    const fd = fs.openSync('/dev/null', 'r+');
    try {
      // IOCTL_EVTCHN_RESTRICT_DOMID on /dev/null: the kernel's ENOTTY, from the ioctl.
      expect(refusalOf(() => openInheritedEventChannels({ PRIVCMD_SHIM_EVTCHN_FD: String(fd), PRIVCMD_SHIM_DOMID: '5' }))).toMatchObject({ code: 'ENOTTY', syscall: 'ioctl' });
      // Both: privcmd is taken first and refused the same way; the evtchn fd is never touched.
      expect(code(() => openInheritedHandles({ PRIVCMD_SHIM_FD: String(fd), PRIVCMD_SHIM_EVTCHN_FD: String(fd), PRIVCMD_SHIM_DOMID: '5' }))).toBe('ENOTTY');
      expect(code(() => verifyRestricted())).toBe('ERR_PRIVCMD_NOT_RESTRICTED');
    } finally {
      fs.closeSync(fd);
    }
  });

  test('openEventChannels({ fd, restrictTo }): bad arguments are EINVAL before anything is opened; a closed fd is EBADF', () => {
    const fd = fs.openSync('/dev/null', 'r+');
    try {
      for (const o of [{ fd }, { fd, restrictTo: 0 }, { fd, restrictTo: 0x7ff0 }, { fd, restrictTo: 1.5 }, { fd: -1, restrictTo: 5 },
        { fd: 2 ** 31, restrictTo: 5 }, { fd: '3', restrictTo: 5 }, { restrictTo: 5 }, { fd, restrictTo: 5, device: '/dev/null' }]) {
        expect(refusalOf(() => openEventChannels(o as never))).toMatchObject({ code: 'EINVAL', syscall: 'open' });
      }
      const host = createSimulatedHost();
      expect(code(() => openEventChannels({ host, fd, restrictTo: 5 } as never))).toBe('EINVAL');
      host.close();
    } finally {
      fs.closeSync(fd);
    }
    expect(refusalOf(() => openEventChannels({ fd, restrictTo: 5 }))).toMatchObject({ code: 'EBADF', syscall: 'fcntl' });
  });
});

describe('processesOfUid: the Uid: lines of /proc/<pid>/status', () => {
  test('any of the four uids matches; zombies, dead and non-pid entries are left out', () => {
    const proc = path.join(tmp, 'proc');
    const st = (pid: string, name: string, state: string, uids: string): void => {
      fs.mkdirSync(path.join(proc, pid), { recursive: true });
      fs.writeFileSync(path.join(proc, pid, 'status'), `Name:\t${name}\nUmask:\t0022\nState:\t${state}\nTgid:\t${pid}\nUid:\t${uids}\nGid:\t0\t0\t0\t0\n`);
    };
    st('100', 'qemu-system-i38', 'S (sleeping)', '30005\t30005\t30005\t30005');
    st('101', 'helper', 'R (running)', '0\t0\t30005\t0'); // saved uid: it can switch back
    st('102', 'old', 'Z (zombie)', '30005\t30005\t30005\t30005');
    st('103', 'other', 'S (sleeping)', '300050\t300050\t300050\t300050');
    st('self', 'node', 'S (sleeping)', '30005\t30005\t30005\t30005');
    fs.mkdirSync(path.join(proc, '104')); // exited between the listing and the read
    expect(processesOfUid(30005, proc)).toEqual([{ pid: 100, comm: 'qemu-system-i38' }, { pid: 101, comm: 'helper' }]);
    expect(processesOfUid(4242, proc)).toEqual([]);
    expect(refusalOf(() => processesOfUid(-1, proc)).code).toBe('EINVAL');
    expect(refusalOf(() => processesOfUid(5, path.join(tmp, 'no-proc'))).code).toBe('ENOENT');
  });

  test('on this machine: finds this process under its own uid', () => {
    expect(processesOfUid(process.getuid?.() ?? 0).map((p) => p.pid)).toContain(process.pid);
  });
});

describe('refusals (nothing runs)', () => {
  test('bad domid, command or args: EINVAL', () => {
    for (const domid of [0, -1, 0x7ff0, 1.5]) expect(refusal({ domid, command: 'true', baseUid: 20000 }).code).toBe('EINVAL');
    expect(refusal({ domid: 5, command: '', baseUid: 20000 }).code).toBe('EINVAL');
    expect(refusal({ domid: 5, command: 'true', args: [1 as never], baseUid: 20000 }).code).toBe('EINVAL');
    expect(refusal({ domid: 5, command: 'true', baseUid: 20000, user: 'x' }).code).toBe('EINVAL');
    expect(refusal({ domid: 5, command: 'true', baseUid: 20000, killStale: 'yes' as never }).code).toBe('EINVAL');
  });

  test('a missing per-domain user: ENOENT naming it', () => {
    const passwd = path.join(tmp, 'passwd');
    fs.writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\n');
    const e = refusal({ domid: 7, command: 'true', passwdFile: passwd });
    expect(e).toMatchObject({ code: 'ENOENT', syscall: 'getpwnam' });
    expect(e.message).toContain('xen-qemuuser-domid7 does not exist');
  });

  test('evtchn not a boolean, or evtchnDevice without evtchn: EINVAL', () => {
    for (const o of [{ evtchn: 1 }, { evtchn: 'yes' }, { evtchnDevice: '/dev/xen/evtchn' }, { evtchn: true, evtchnDevice: 5 }]) {
      expect(refusal({ domid: 5, command: 'true', baseUid: 20000, ...o } as never)).toMatchObject({ code: 'EINVAL', syscall: 'launch' });
    }
  });

  test('a user that resolves to root: EPERM', () => {
    const passwd = path.join(tmp, 'passwd-root');
    fs.writeFileSync(passwd, 'xen-qemuuser-domid7:x:0:0::/:/bin/false\n');
    expect(refusal({ domid: 7, command: 'true', passwdFile: passwd }).code).toBe('EPERM');
  });

  (isRoot ? test.skip : test)('not root: EPERM, cannot change uid [skipped as root: CI runs the uid change instead]', () => {
    expect(refusal({ domid: 5, command: 'true', baseUid: 20000 })).toMatchObject({ code: 'EPERM', syscall: 'setuid' });
  });

  (isRoot ? test : test.skip)('no privcmd device: ENOENT; a device that is not privcmd: ENOTTY [needs root]', () => {
    expect(refusal({ domid: 5, command: 'true', baseUid: 20000, device: '/nonexistent/privcmd' }).code).toBe('ENOENT');
    expect(refusal({ domid: 5, command: 'true', baseUid: 20000, device: '/dev/null' }).code).toBe('ENOTTY');
  });

  (isRoot ? test : test.skip)('a chroot that is not a directory: ENOENT [needs root]', () => {
    expect(refusal({ domid: 5, command: 'true', baseUid: 20000, chroot: path.join(tmp, 'nope') })).toMatchObject({ code: 'ENOENT', syscall: 'chroot' });
  });
});

(isRoot ? describe : describe.skip)('as root: the uid change is real [skipped unless root; CI runs as root]', () => {
  test('runs as baseUid + domid with only its own group, the restriction verified first', async () => {
    const host = createSimulatedHost();
    const g = host.createDomain({ type: 'hvm' });
    const out = await run({ domid: g, command: 'sh', args: ['-c', 'id -u; id -g; id -G; echo "$PRIVCMD_SHIM_DOMID ${PRIVCMD_SHIM_FD:-nofd}"'], baseUid: 30000, host });
    expect(out.trim().split('\n')).toEqual([String(30000 + g), String(30000 + g), String(30000 + g), `${g} nofd`]);
    host.close();
  });

  test('evtchn: true restricts and verifies an event-channel handle too (a simulated one has no fd to pass)', async () => {
    const host = createSimulatedHost();
    const g = host.createDomain({ type: 'hvm' });
    const launched = launchDeviceModel({ domid: g, command: 'sh', args: ['-c', 'echo "${PRIVCMD_SHIM_FD:-nofd} ${PRIVCMD_SHIM_EVTCHN_FD:-noevfd}"'], baseUid: 30000, host, evtchn: true, stdio: 'pipe',
      env: { PATH: process.env.PATH, PRIVCMD_SHIM_EVTCHN_FD: '9' } });
    expect([launched.fd, launched.evtchnFd]).toEqual([null, null]);
    let out = '';
    launched.child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    await new Promise((resolve) => launched.child.on('close', resolve));
    // A stale PRIVCMD_SHIM_EVTCHN_FD from the caller's env is not passed on.
    expect(out.trim()).toBe('nofd noevfd');
    host.close();
  });

  describe('a process left under the target uid (an earlier domain with the same domid)', () => {
    let stale: ChildProcess | null = null;
    const gone = (c: ChildProcess): Promise<NodeJS.Signals | null> => new Promise((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) resolve(c.signalCode);
      else c.on('exit', (_code, sig) => resolve(sig));
    });
    afterEach(async () => {
      if (stale !== null && stale.exitCode === null && stale.signalCode === null) {
        stale.kill('SIGKILL');
        await gone(stale);
      }
      stale = null;
    });

    test('is refused: EBUSY naming pid and command, nothing started, the process left alone', async () => {
      const host = createSimulatedHost();
      const g = host.createDomain({ type: 'hvm' });
      stale = spawn('sleep', ['600'], { uid: 31000 + g, gid: 31000 + g, stdio: 'ignore' });
      const pid = stale.pid as number;
      const e = refusal({ domid: g, command: 'true', baseUid: 31000, host }) as { code?: string; syscall?: string; message?: string; processes?: unknown };
      expect(e).toMatchObject({ code: 'EBUSY', errno: -16, syscall: 'launch' });
      expect(e.message).toContain(`uid ${31000 + g} already runs ${pid} (sleep)`);
      expect(e.processes).toEqual([{ pid, comm: 'sleep' }]);
      expect(stale.exitCode === null && stale.signalCode === null).toBe(true);
      host.close();
    });

    test('killStale: true kills it (SIGKILL, waited for), then starts', async () => {
      const host = createSimulatedHost();
      const g = host.createDomain({ type: 'hvm' });
      stale = spawn('sleep', ['600'], { uid: 31000 + g, gid: 31000 + g, stdio: 'ignore' });
      const out = await run({ domid: g, command: 'id', args: ['-u'], baseUid: 31000, host, killStale: true });
      expect(out.trim()).toBe(String(31000 + g));
      expect(await gone(stale)).toBe('SIGKILL');
      host.close();
    });
  });

  (hasGcc ? test : test.skip)('with a chroot: the command sees the new root and runs unprivileged [needs gcc for a static probe]', async () => {
    const root = path.join(tmp, 'jail');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'marker'), 'jail');
    const src = path.join(tmp, 'probe.c');
    fs.writeFileSync(src, '#include <stdio.h>\n#include <unistd.h>\nint main(void){printf("%d %d %d\\n",(int)getuid(),(int)getgid(),access("/marker",F_OK)==0);return 0;}\n');
    execFileSync('gcc', ['-static', '-O1', '-o', path.join(root, 'probe'), src]);
    const host = createSimulatedHost();
    const g = host.createDomain({ type: 'hvm' });
    const out = await run({ domid: g, command: '/probe', baseUid: 30000, baseGid: 30500, chroot: root, host });
    expect(out.trim()).toBe(`${30000 + g} 30500 1`);
    host.close();
  });
});

// The set-up step (scripts/setup.js) on a machine without the toolchain,
// simulated with a PATH that holds node and fakes only: a fake apt-get and
// sudo record every call (and can "install" stand-ins for the tools),
// so the install branch is checked without installing anything.
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const setupJs = path.join(root, 'scripts', 'setup.js');

const setup = require(setupJs) as {
  decide(facts: {
    level: string; missing: { name: string; generic: string }[]; packages: string[];
    hasApt: boolean; noInstall: boolean; uid: number; sudoWorks: () => boolean;
  }): { action: string; prefix?: string[]; line?: string };
};

const uid = process.getuid?.() ?? -1;
const asRoot = uid === 0;
const s = asRoot ? '' : 'sudo ';
const BUILD_PKGS = 'g++ make python3';

let work: string;
let log: string;

/** Where `name` is on the PATH this test runs with. */
function which(name: string): string {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    const f = path.join(d, name);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      if (fs.statSync(f).isFile()) return f;
    } catch { /* not here */ }
  }
  throw new Error(`${name} is not on PATH`);
}

// Fakes are node scripts with an absolute shebang, so they need nothing else.
const FAKE_APT = `#!${process.execPath}
const fs = require('fs'), path = require('path');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ cmd: 'apt-get', args, frontend: process.env.DEBIAN_FRONTEND ?? null }) + '\\n');
if (args[0] === 'install') {
  if (process.env.FAKE_APT_FAIL) process.exit(100);
  const provides = JSON.parse(process.env.FAKE_APT_PROVIDES || '{}');
  for (const pkg of args.filter((a) => !a.startsWith('-')).slice(1)) {
    for (const name of provides[pkg] || []) fs.writeFileSync(path.join(process.env.FAKE_APT_BIN, name), '#!/bin/sh\\n', { mode: 0o755 });
  }
}
`;
const FAKE_SUDO = `#!${process.execPath}
const fs = require('fs'), { spawnSync } = require('child_process');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ cmd: 'sudo', args }) + '\\n');
if (args[0] !== '-n') process.exit(1);
if (args[1] === 'true' && args.length === 2) process.exit(0);
const r = spawnSync(args[1], args.slice(2), { stdio: 'inherit' });
process.exit(r.status ?? 1);
`;

/** A bin directory with node, env and the fakes (apt-get unless told not to), and nothing else. */
function makeBin(name: string, opts: { apt?: boolean } = {}): string {
  const bin = path.join(work, name);
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync(which('env'), path.join(bin, 'env'));
  if (opts.apt !== false) fs.writeFileSync(path.join(bin, 'apt-get'), FAKE_APT, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'sudo'), FAKE_SUDO, { mode: 0o755 });
  fs.chmodSync(bin, 0o777); // the fake apt-get links into it, also as another user
  return bin;
}

/** A clean environment: nothing of ours (CXX, PYTHON, npm_config_*) leaks in. */
function bareEnv(bin: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: bin, HOME: work, FAKE_LOG: log, FAKE_APT_BIN: bin, ...extra };
}

function node(script: string, args: string[], env: Record<string, string>): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [script, ...args], { cwd: root, env, encoding: 'utf8' });
}

function calls(): { cmd: string; args: string[]; frontend?: string | null }[] {
  if (!fs.existsSync(log)) return [];
  return fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { cmd: string; args: string[] });
}

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'privcmd-setup-'));
  fs.chmodSync(work, 0o777);
  log = path.join(work, 'calls.log');
});

afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('with g++, make and python3 hidden from PATH and installing off', () => {
  test('the build step exits 1 with one line naming the exact apt-get command, and runs nothing', () => {
    const bin = makeBin('bin');
    const r = node(setupJs, ['build'], bareEnv(bin, { PRIVCMD_SHIM_NO_INSTALL: '1' }));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('privcmd-shim set-up: cannot build: missing g++, make, python3 (installing is off: PRIVCMD_SHIM_NO_INSTALL is set); '
      + `run: ${s}apt-get update && ${s}apt-get install -y --no-install-recommends ${BUILD_PKGS}\n`);
    expect(calls()).toEqual([]);
  });

  test('the native build (npm ci\'s prepare) stops at that line and never reaches node-gyp', () => {
    const bin = makeBin('bin');
    const r = node(path.join(root, 'scripts', 'build-native.js'), [], bareEnv(bin, { PRIVCMD_SHIM_NO_INSTALL: '1' }));
    expect(r.status).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(out).toMatch(/^privcmd-shim set-up: cannot build: missing g\+\+, make, python3 .*apt-get install -y --no-install-recommends g\+\+ make python3\n$/);
    expect(out).not.toMatch(/gyp/i);
    expect(calls()).toEqual([]);
  });

  test('control: node-gyp itself, on that PATH, prints the find-Python dump the set-up step prevents', () => {
    const bin = makeBin('bin');
    const proj = path.join(work, 'proj');
    fs.mkdirSync(proj);
    fs.writeFileSync(path.join(proj, 'binding.gyp'), '{ "targets": [] }');
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), 'configure', '--nodedir', path.join(work, 'none')],
      { cwd: proj, env: bareEnv(bin), encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/gyp ERR! find Python/);
  });

  test('the test level also names the C compiler, libxen-dev, clang, its libFuzzer runtime and clang-format', () => {
    const bin = makeBin('bin');
    const r = node(setupJs, ['test'], bareEnv(bin, { PRIVCMD_SHIM_NO_INSTALL: '1' }));
    expect(r.status).toBe(1);
    // Xen's headers are files under /usr/include, not on PATH: listed only where absent.
    const xen = ['/usr/include/xendevicemodel.h', '/usr/include/xen/hvm/dm_op.h'].every((f) => fs.existsSync(f));
    const names = ['g++', 'make', 'python3', 'cc', ...(xen ? [] : ['Xen headers']), 'clang', 'libFuzzer', 'clang-format'].join(', ');
    // No apt-cache on this PATH, so the libFuzzer package is Debian 12's name.
    const pkgs = [BUILD_PKGS, 'gcc', ...(xen ? [] : ['libxen-dev']), 'clang', 'libclang-rt-14-dev', 'clang-format'].join(' ');
    expect(r.stderr).toBe(`privcmd-shim set-up: cannot test: missing ${names} (installing is off: PRIVCMD_SHIM_NO_INSTALL is set); `
      + `run: ${s}apt-get update && ${s}apt-get install -y --no-install-recommends ${pkgs}\n`);
    expect(calls()).toEqual([]);
  });

  test('without apt-get (not Debian) the one line names what to install generically', () => {
    const bin = makeBin('bin', { apt: false });
    const r = node(setupJs, ['build'], bareEnv(bin));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("privcmd-shim set-up: cannot build: missing g++, make, python3; install a C++ compiler, make, Python 3 with the system's package manager (no apt-get here)\n");
    expect(calls()).toEqual([]);
  });
});

describe('with installing on', () => {
  const expectedCalls = (prefixed: boolean, install: string[]) => {
    const apt = (args: string[]) => ({ cmd: 'apt-get', args, frontend: 'noninteractive' });
    const sudo = (args: string[]) => ({ cmd: 'sudo', args: ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args] });
    const update = ['update', '-q'];
    const inst = ['install', '-y', '-q', '--no-install-recommends', ...install];
    return prefixed ? [{ cmd: 'sudo', args: ['-n', 'true'] }, sudo(update), apt(update), sudo(inst), apt(inst)] : [apt(update), apt(inst)];
  };
  const provides = () => JSON.stringify({ 'g++': ['g++'], make: ['make'], python3: ['python3'] });

  test('it runs apt-get update and apt-get install -y --no-install-recommends with exactly what is missing, then succeeds', () => {
    const bin = makeBin('bin');
    const r = node(setupJs, ['build'], bareEnv(bin, { FAKE_APT_PROVIDES: provides() }));
    expect(r.stderr).toBe('privcmd-shim set-up: installing what the build needs (g++, make, python3) with apt-get; PRIVCMD_SHIM_NO_INSTALL=1 turns this off\n');
    expect(r.status).toBe(0);
    expect(calls()).toEqual(expectedCalls(!asRoot, ['g++', 'make', 'python3']));
  });

  // Needs root to become another user; as a non-root user the test above
  // already takes the sudo path.
  const canDrop = asRoot && fs.existsSync('/usr/bin/setpriv');
  (canDrop ? test : test.skip)(`as a user with passwordless sudo it installs through sudo -n${canDrop ? '' : ' [skipped: needs root and setpriv to run as uid 65534; the test above took the sudo path]'}`, () => {
    const bin = makeBin('bin');
    // A copy uid 65534 can read wherever the checkout is (e.g. under /root).
    const copy = path.join(work, 'setup.js');
    fs.copyFileSync(setupJs, copy);
    fs.chmodSync(copy, 0o644);
    const r = spawnSync('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, copy, 'build'],
      { cwd: work, env: bareEnv(bin, { FAKE_APT_PROVIDES: provides() }), encoding: 'utf8' });
    expect(r.stderr).toMatch(/^privcmd-shim set-up: installing what the build needs/);
    expect(r.status).toBe(0);
    expect(calls()).toEqual(expectedCalls(true, ['g++', 'make', 'python3']));
  });

  test('a failing apt-get ends in one line naming the command, exit 1', () => {
    const bin = makeBin('bin');
    const r = node(setupJs, ['build'], bareEnv(bin, { FAKE_APT_FAIL: '1' }));
    expect(r.status).toBe(1);
    const cmd = `${asRoot ? '' : 'sudo -n '}apt-get install -y -q --no-install-recommends g++ make python3`;
    expect(r.stderr.trim().split('\n').pop()).toBe(`privcmd-shim set-up: \`${cmd}\` failed (exit 100); fix that, or install the packages yourself and rerun`);
  });

  test('an install that leaves something missing is not taken for success', () => {
    const bin = makeBin('bin');
    const r = node(setupJs, ['build'], bareEnv(bin, { FAKE_APT_PROVIDES: JSON.stringify({ make: ['make'] }) }));
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toBe('privcmd-shim set-up: still missing after apt-get install: g++, python3');
  });

  test('with everything present (the machine npm test runs on) it does nothing, prints nothing, calls no apt-get', () => {
    const bin = makeBin('bin');
    const env: Record<string, string> = { ...process.env as Record<string, string>, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, FAKE_LOG: log };
    delete env.PRIVCMD_SHIM_NO_INSTALL;
    for (const level of ['build', 'test']) {
      const r = node(setupJs, [level], env);
      expect({ level, status: r.status, out: r.stdout + r.stderr }).toEqual({ level, status: 0, out: '' });
    }
    expect(calls()).toEqual([]);
  });
});

describe('decide(): what to do, for the cases this machine cannot be in', () => {
  const missing = [{ name: 'g++', generic: 'a C++ compiler' }, { name: 'make', generic: 'make' }];
  const base = { level: 'build', missing, packages: ['g++', 'make'], hasApt: true, noInstall: false };

  test('not root, passwordless sudo: install through sudo -n', () => {
    expect(setup.decide({ ...base, uid: 1000, sudoWorks: () => true }))
      .toEqual({ action: 'install', prefix: ['sudo', '-n', 'env', 'DEBIAN_FRONTEND=noninteractive'] });
  });

  test('not root, no passwordless sudo: one line with the sudo command', () => {
    expect(setup.decide({ ...base, uid: 1000, sudoWorks: () => false })).toEqual({
      action: 'fail',
      line: 'privcmd-shim set-up: cannot build: missing g++, make (not root and no passwordless sudo); '
        + 'run: sudo apt-get update && sudo apt-get install -y --no-install-recommends g++ make',
    });
  });

  test('installing off: sudo is not even tried', () => {
    const sudoWorks = jest.fn(() => true);
    expect(setup.decide({ ...base, noInstall: true, uid: 1000, sudoWorks }).action).toBe('fail');
    expect(sudoWorks).not.toHaveBeenCalled();
  });

  test('nothing missing: nothing to do', () => {
    expect(setup.decide({ ...base, missing: [], uid: 1000, sudoWorks: () => false })).toEqual({ action: 'none' });
  });
});

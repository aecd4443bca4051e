#!/usr/bin/env node
// The one set-up step for working from a checkout: `node scripts/setup.js
// [build|test]`. `build` (run by scripts/build-native.js, so by `npm ci`,
// `npm run build` and `npm pack`) needs g++, make and python3 for node-gyp;
// `test` (run first by `npm test`, and by .ci/run) adds a C compiler, Xen's
// headers and libxendevicemodel (libxen-dev, for test/abi), clang with
// its libFuzzer runtime, and clang-format (npm run lint). When all is there it does nothing, quickly: it runs
// on every build. When something is missing it installs the Debian packages
// if it can (root or passwordless sudo, apt-get, and PRIVCMD_SHIM_NO_INSTALL
// unset); otherwise it prints one line naming the command and exits 1, so
// node-gyp never starts and never prints its `gyp ERR! find Python` dump.
// Plain Node with no dependencies: it runs before node_modules exists.
// Consumers of the published package never run it (prebuilt addon,
// `gypfile: false`, no install scripts).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const TAG = 'privcmd-shim set-up';
const APT_INSTALL = ['install', '-y', '-q', '--no-install-recommends'];
const DEFAULT_CLANG_MAJOR = '14'; // Debian 12's clang

function onPath(name, env) {
  if (!name) return false;
  if (name.includes('/')) return isExecutable(name);
  return (env.PATH || '').split(path.delimiter).some((d) => d && isExecutable(path.join(d, name)));
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

// `CXX='ccache g++'` names its compiler last; node-gyp's make build uses CXX.
function compilerIn(value, fallback) {
  const words = (value || '').trim().split(/\s+/).filter(Boolean);
  return words.length ? words[words.length - 1] : fallback;
}

function run(cmd, args, env) {
  return spawnSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

// clang's runtime directory holds libclang_rt.fuzzer(-<arch>).a when the
// libFuzzer runtime is installed (libclang-rt-N-dev on Debian 12).
function hasFuzzerRuntime(env) {
  if (!onPath('clang', env)) return false;
  const r = run('clang', ['--print-runtime-dir'], env);
  if (r.status !== 0) return false;
  try {
    return fs.readdirSync(r.stdout.trim()).some((f) => /^libclang_rt\.fuzzer(-[\w]+)?\.a$/.test(f));
  } catch {
    return false;
  }
}

// The Debian package with clang's libFuzzer runtime: libclang-rt-N-dev for
// the clang that is (or will be) installed. Where the archive has no such
// package (Ubuntu 22.04's clang 14 ships it in libclang-common-14-dev, a
// dependency of clang) there is nothing extra to name.
function fuzzerPackage(env) {
  let major;
  if (onPath('clang', env)) {
    const r = run('clang', ['-dumpversion'], env);
    if (r.status === 0) major = r.stdout.trim().split('.')[0];
  }
  let known = true; // whether apt-cache can tell; an empty cache cannot
  if (onPath('apt-cache', env)) {
    if (!major) {
      const r = run('apt-cache', ['depends', 'clang'], env);
      const m = r.status === 0 ? /Depends: clang-(\d+)/.exec(r.stdout) : null;
      if (m) major = m[1];
      else known = false;
    }
    if (known && major) {
      const r = run('apt-cache', ['show', '--no-all-versions', `libclang-rt-${major}-dev`], env);
      if (r.status !== 0 || !r.stdout.trim()) return null;
    }
  }
  return `libclang-rt-${major || DEFAULT_CLANG_MAJOR}-dev`;
}

// What each level needs: a name for the message, the Debian package (or a
// function naming it), what to install elsewhere, and how to tell it is there.
const NEEDS = {
  build: [
    { name: 'g++', pkg: 'g++', generic: 'a C++ compiler', present: (env) => onPath(compilerIn(env.CXX, 'g++'), env) },
    { name: 'make', pkg: 'make', generic: 'make', present: (env) => onPath('make', env) },
    {
      name: 'python3', pkg: 'python3', generic: 'Python 3',
      // node-gyp takes $PYTHON or npm's `python` setting before python3.
      present: (env) => [env.PYTHON, env.npm_config_python].some((p) => p && onPath(p, env)) || onPath('python3', env),
    },
  ],
  test: [
    { name: 'cc', pkg: 'gcc', generic: 'a C compiler', present: (env) => onPath(compilerIn(env.CC, 'cc'), env) },
    {
      name: 'Xen headers', pkg: 'libxen-dev', generic: "Xen's development headers and libraries",
      present: () => ['/usr/include/xendevicemodel.h', '/usr/include/xen/hvm/dm_op.h'].every((f) => fs.existsSync(f)),
    },
    { name: 'clang', pkg: 'clang', generic: 'clang', present: (env) => onPath('clang', env) && onPath('clang++', env) },
    { name: 'libFuzzer', pkg: fuzzerPackage, generic: "clang's libFuzzer runtime", present: hasFuzzerRuntime },
    // npm run lint checks native/ with it (.clang-format).
    { name: 'clang-format', pkg: 'clang-format', generic: 'clang-format', present: (env) => onPath('clang-format', env) },
  ],
};

function needsFor(level) {
  if (level === 'build') return NEEDS.build;
  if (level === 'test') return [...NEEDS.build, ...NEEDS.test];
  throw new Error(`${TAG}: unknown level '${level}' (build or test)`);
}

function missingFor(level, env) {
  return needsFor(level).filter((n) => !n.present(env));
}

function packagesFor(missing, env) {
  const pkgs = [];
  for (const n of missing) {
    const p = typeof n.pkg === 'function' ? n.pkg(env) : n.pkg;
    if (p && !pkgs.includes(p)) pkgs.push(p);
  }
  return pkgs;
}

function installOff(env) {
  const v = env.PRIVCMD_SHIM_NO_INSTALL;
  return v !== undefined && v !== '' && v !== '0';
}

// What to do about `missing`, decided from facts passed in (so the tests can
// cover the sudo and non-Debian cases on any machine):
//   { action: 'none' } | { action: 'install', prefix } | { action: 'fail', line }
// prefix is what goes before `apt-get`: [] as root, sudo -n otherwise.
function decide({ level, missing, packages, hasApt, noInstall, uid, sudoWorks }) {
  if (missing.length === 0) return { action: 'none' };
  const names = missing.map((n) => n.name).join(', ');
  const verb = level === 'test' ? 'test' : 'build';
  if (!hasApt) {
    const what = missing.map((n) => n.generic).join(', ');
    return { action: 'fail', line: `${TAG}: cannot ${verb}: missing ${names}; install ${what} with the system's package manager (no apt-get here)` };
  }
  const root = uid === 0;
  const canSudo = !root && !noInstall && sudoWorks();
  if (!noInstall && (root || canSudo)) {
    return { action: 'install', prefix: root ? [] : ['sudo', '-n', 'env', 'DEBIAN_FRONTEND=noninteractive'] };
  }
  const s = root ? '' : 'sudo ';
  const why = noInstall ? 'installing is off: PRIVCMD_SHIM_NO_INSTALL is set' : 'not root and no passwordless sudo';
  return {
    action: 'fail',
    line: `${TAG}: cannot ${verb}: missing ${names} (${why}); run: ${s}apt-get update && ${s}apt-get install -y --no-install-recommends ${packages.join(' ')}`,
  };
}

function fail(line) {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

// Makes `level` ready or exits the process with one line on stderr.
function ensure(level, env = process.env) {
  const missing = missingFor(level, env);
  if (missing.length === 0) return;
  const hasApt = onPath('apt-get', env);
  const d = decide({
    level, missing, hasApt, noInstall: installOff(env),
    packages: hasApt ? packagesFor(missing, env) : [],
    uid: typeof process.getuid === 'function' ? process.getuid() : -1,
    sudoWorks: () => onPath('sudo', env) && spawnSync('sudo', ['-n', 'true'], { env, stdio: 'ignore' }).status === 0,
  });
  if (d.action === 'fail') fail(d.line);

  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => {
    const [cmd, ...rest] = [...d.prefix, 'apt-get', ...args];
    const shown = [...d.prefix.filter((w) => !w.includes('=') && w !== 'env'), 'apt-get', ...args].join(' ');
    const r = spawnSync(cmd, rest, { env: aptEnv, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) fail(`${TAG}: \`${shown}\` failed (${r.error ? r.error.code : `exit ${r.status ?? r.signal}`}); fix that, or install the packages yourself and rerun`);
  };
  process.stderr.write(`${TAG}: installing what the ${level} needs (${missing.map((n) => n.name).join(', ')}) with apt-get; PRIVCMD_SHIM_NO_INSTALL=1 turns this off\n`);
  apt(['update', '-q']);
  // After the update, so that apt-cache knows which clang the archive has.
  apt([...APT_INSTALL, ...packagesFor(missing, env)]);
  const still = missingFor(level, env);
  if (still.length) fail(`${TAG}: still missing after apt-get install: ${still.map((n) => n.name).join(', ')}`);
}

module.exports = { ensure, decide, missingFor, packagesFor, NEEDS };

if (require.main === module) {
  const level = process.argv[2] || 'build';
  if (level !== 'build' && level !== 'test') fail(`${TAG}: usage: node scripts/setup.js [build|test]`);
  ensure(level);
}

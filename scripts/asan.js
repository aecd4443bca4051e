#!/usr/bin/env node
// The addon itself under AddressSanitizer + UndefinedBehaviorSanitizer: builds
// it with node-gyp into build-asan/ (the same binding.gyp and sources as the
// shipped build, plus the sanitizer flags), then runs the jest suites that
// load the addon against that build, in a node with the ASan runtime preloaded
// (node itself is not instrumented, so the runtime must come first) and leak
// detection off (V8 and Node keep allocations until exit by design). Any
// sanitizer report fails the run: it aborts the process, which fails the test
// or the jest worker running it; ASan's reports also go to build-asan/reports/
// and the run fails if any is there, even one from a child process whose
// death a test did not notice.
//
//   npm run test:asan                 the suites below
//   npm run test:asan -- <jest args>  other suites or options instead
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const dir = path.join(root, 'build-asan');
const reports = path.join(dir, 'reports');
const addon = path.join(dir, 'build', 'Release', 'privcmd_shim.node');
const cxx = process.env.CXX || 'g++';
// The suites that drive the Node-API layer (argument unpacking, views and
// their finalizers, the mailbox, close and detach, the device binding's
// refusals without a device, restrictAll and the launcher, the ordered
// accesses on ioreq pages). The others pass
// too (test/policy, test/dmop, test/cli.test.ts: `npm run test:asan -- test`
// minus test/package, which is about npm) but add minutes, not native paths.
const suites = ['test/contract', 'test/native', 'test/sim', 'test/device', 'test/deprivilege', 'test/ioreq'];

function fail(msg) {
  console.error(`test:asan: ${msg}`);
  process.exit(1);
}

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  return r.status ?? 1;
}

// The runtime to preload: the one this compiler links the addon against.
const q = spawnSync(cxx, ['-print-file-name=libasan.so'], { encoding: 'utf8' });
const libasan = q.status === 0 ? q.stdout.trim() : '';
if (!path.isAbsolute(libasan) || !fs.existsSync(libasan)) fail(`${cxx} has no libasan.so: apt-get install g++`);

// ---- build ------------------------------------------------------------------
// build-asan/ holds a copy of binding.gyp and a link to native/, so node-gyp
// builds the same sources into build-asan/build without touching build/.
fs.mkdirSync(dir, { recursive: true });
fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
const link = path.join(dir, 'native');
if (!fs.existsSync(link)) fs.symlinkSync(path.join('..', 'native'), link);
const sources = [];
(function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.(cc|h)$/.test(e.name)) sources.push(p);
  }
})(path.join(root, 'native'));
sources.push(path.join(root, 'binding.gyp'), __filename);
const newest = Math.max(...sources.map((f) => fs.statSync(f).mtimeMs));
if (!fs.existsSync(addon) || fs.statSync(addon).mtimeMs < newest) {
  const env = { ...process.env };
  const headers = path.resolve(path.dirname(process.execPath), '..');
  if (!env.npm_config_nodedir && fs.existsSync(path.join(headers, 'include', 'node', 'node_api.h'))) {
    env.npm_config_nodedir = headers;
  }
  const san = '-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g';
  env.CXX = cxx;
  env.CXXFLAGS = `${env.CXXFLAGS ?? ''} ${san}`.trim();
  env.CFLAGS = `${env.CFLAGS ?? ''} ${san}`.trim();
  env.LDFLAGS = `${env.LDFLAGS ?? ''} -fsanitize=address,undefined`.trim();
  const gyp = path.join(root, 'node_modules', '.bin', 'node-gyp');
  console.log('$ node-gyp rebuild -C build-asan   (CXXFLAGS/LDFLAGS with -fsanitize=address,undefined)');
  if (run(gyp, ['rebuild', '--jobs', 'max', '--loglevel', 'warn', '-C', dir], { env, stdio: ['ignore', 'ignore', 'inherit'] }) !== 0) {
    fail('the sanitized build failed');
  }
}

// ---- run --------------------------------------------------------------------
fs.rmSync(reports, { recursive: true, force: true });
fs.mkdirSync(reports, { recursive: true });
const env = {
  ...process.env,
  LD_PRELOAD: libasan,
  PRIVCMD_SHIM_NATIVE_BUILD: 'build-asan',
  ASAN_OPTIONS: `detect_leaks=0:abort_on_error=1:log_path=${path.join(reports, 'asan')}`,
  UBSAN_OPTIONS: `print_stacktrace=1:halt_on_error=1:log_path=${path.join(reports, 'ubsan')}`,
};
// The preloaded node must really load the sanitized addon, or the run proves nothing.
const probe = spawnSync(process.execPath, ['-e',
  "const n = require('./dist/native.js'); process.stdout.write(n.nativePath() + ' ' + typeof n.native.spaceCreate)"],
{ cwd: root, env, encoding: 'utf8' });
if (probe.status !== 0 || probe.stdout !== `${addon} function`) {
  fail(`the preloaded node did not load ${addon}: ${probe.stdout}${probe.stderr}`);
}
const extra = process.argv.slice(2);
const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');
console.log(`$ LD_PRELOAD=${libasan} PRIVCMD_SHIM_NATIVE_BUILD=build-asan jest ${(extra.length ? extra : suites).join(' ')}`);
const status = run(process.execPath, [jest, ...(extra.length ? extra : suites)], { env });
const found = fs.readdirSync(reports);
for (const f of found) console.error(fs.readFileSync(path.join(reports, f), 'utf8'));
if (found.length > 0) fail(`${found.length} sanitizer report(s) in build-asan/reports/`);
if (status !== 0) fail(`jest exited with ${status}`);
console.log('test:asan: no sanitizer reports');

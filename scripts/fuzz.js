#!/usr/bin/env node
// The libFuzzer targets: builds every native/fuzz/<name>.cc (each defines
// LLVMFuzzerTestOneInput) with all of native/core under
// -fsanitize=fuzzer,address,undefined into build/fuzz/<name>, then runs each
// in turn, seeded from native/fuzz/corpus/<name>/ (read only; new inputs go to
// build/fuzz/corpus/<name>/). Any crash, sanitizer report, leak, timeout or
// broken invariant fails the run; the input is kept as
// build/fuzz/crashes/<name>-crash-<sha1> (replay: build/fuzz/<name> <file>).
//
//   npm run fuzz -- --seconds N       each target for N seconds (default 10)
//   npm run fuzz -- --runs N          each target for N executions instead
//   npm run fuzz -- NAME...           only these targets
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'build', 'fuzz');
const fuzzDir = path.join(root, 'native', 'fuzz');
const coreDir = path.join(root, 'native', 'core');
const cxx = process.env.FUZZ_CXX || 'clang++';
const INSTALL = 'apt-get install clang libclang-rt-14-dev';

function fail(msg) {
  console.error(`fuzz: ${msg}`);
  process.exit(1);
}

// ---- arguments --------------------------------------------------------------
let seconds = 10;
let runs = 0;
const only = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const num = () => {
    const v = Number(argv[++i]);
    if (!Number.isInteger(v) || v <= 0) fail(`${a} needs a positive integer`);
    return v;
  };
  if (a === '--seconds') seconds = num();
  else if (a === '--runs') runs = num();
  else if (a.startsWith('-')) fail(`unknown option ${a} (--seconds N, --runs N, target names)`);
  else only.push(a);
}

// ---- toolchain: clang with its libFuzzer runtime ----------------------------
const probe = spawnSync(cxx, ['-print-resource-dir'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) fail(`${cxx} not found: ${INSTALL}`);
const rt = path.join(probe.stdout.trim(), 'lib', 'linux', 'libclang_rt.fuzzer-x86_64.a');
if (!fs.existsSync(rt)) fail(`${cxx} has no libFuzzer runtime (${rt}): ${INSTALL}`);

// ---- targets ----------------------------------------------------------------
const list = (dir, ext) => fs.readdirSync(dir).filter((f) => f.endsWith(ext)).sort();
let targets = list(fuzzDir, '.cc').map((f) => f.slice(0, -3));
for (const t of only) if (!targets.includes(t)) fail(`no target ${t} (native/fuzz/${t}.cc); have: ${targets.join(', ')}`);
if (only.length > 0) targets = only;
if (targets.length === 0) fail('no targets in native/fuzz/');

const core = list(coreDir, '.cc').map((f) => path.join(coreDir, f));
const common = ['-std=c++17', '-g', '-O1', '-Wall', '-Wextra', '-Werror', '-fno-omit-frame-pointer',
  '-fno-sanitize-recover=all', `-I${path.join(root, 'native')}`, '-D__XEN_TOOLS__'];
// Any header or source change, or a change of this script, rebuilds.
const inputs = [...list(coreDir, '').map((f) => path.join(coreDir, f)),
  ...list(fuzzDir, '.h').map((f) => path.join(fuzzDir, f)), __filename];
const newest = (files) => Math.max(...files.map((f) => fs.statSync(f).mtimeMs));
const stale = (file, deps) => !fs.existsSync(file) || fs.statSync(file).mtimeMs < newest(deps);

function compile(args) {
  return new Promise((resolve) => {
    const p = spawn(cxx, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('error', (e) => resolve(e.message));
    p.on('exit', (code, sig) => resolve(code === 0 ? null : `${cxx} ${args.join(' ')}: exit ${code ?? sig}`));
  });
}

// Two at a time (the machines have two cores).
async function pool(jobs) {
  const errors = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const err = await jobs[next++]();
      if (err) errors.push(err);
    }
  };
  await Promise.all([worker(), worker()]);
  if (errors.length > 0) fail(`build failed:\n${errors.join('\n')}`);
}

async function build() {
  const objDir = path.join(out, 'obj');
  fs.mkdirSync(objDir, { recursive: true });
  // The core once, instrumented for coverage but without libFuzzer's main.
  const objs = core.map((src) => path.join(objDir, `${path.basename(src, '.cc')}.o`));
  await pool(core.map((src, i) => async () =>
    stale(objs[i], inputs) ? compile([...common, '-fsanitize=fuzzer-no-link,address,undefined', '-c', src, '-o', objs[i]]) : null));
  await pool(targets.map((t) => async () => {
    const src = path.join(fuzzDir, `${t}.cc`);
    const exe = path.join(out, t);
    return stale(exe, [src, ...inputs, ...objs])
      ? compile([...common, '-fsanitize=fuzzer,address,undefined', src, ...objs, '-o', exe]) : null;
  }));
}

// ---- running ----------------------------------------------------------------
function runTarget(t) {
  const seeds = path.join(fuzzDir, 'corpus', t);
  const work = path.join(out, 'corpus', t);
  const crashes = path.join(out, 'crashes');
  fs.mkdirSync(work, { recursive: true });
  fs.mkdirSync(crashes, { recursive: true });
  const log = path.join(out, `${t}.log`);
  const args = [work, ...(fs.existsSync(seeds) ? [seeds] : []),
    runs > 0 ? `-runs=${runs}` : `-max_total_time=${seconds}`,
    `-artifact_prefix=${crashes}${path.sep}${t}-`, '-print_final_stats=1', '-timeout=10', '-rss_limit_mb=2048'];
  console.log(`$ build/fuzz/${t} ${args.map((a) => a.replace(`${root}${path.sep}`, '')).join(' ')}`);
  const started = Date.now();
  const fd = fs.openSync(log, 'w');
  const r = spawnSync(path.join(out, t), args, {
    cwd: root, stdio: ['ignore', fd, fd],
    env: { ...process.env, ASAN_OPTIONS: 'abort_on_error=1:detect_leaks=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' },
  });
  fs.closeSync(fd);
  const text = fs.readFileSync(log, 'utf8');
  const execs = /stat::number_of_executed_units:\s*(\d+)/.exec(text)?.[1] ?? '?';
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status === 0 && !r.error) {
    console.log(`fuzz: ${t}: ${execs} runs in ${secs} s, no findings`);
    return true;
  }
  const tail = text.split('\n').filter((l) => !/^(#\d+\s+(NEW|REDUCE|pulse)|\s+NEW_FUNC|INFO:)/.test(l)).slice(-60).join('\n');
  console.error(tail);
  const kept = fs.readdirSync(crashes)
    .filter((f) => f.startsWith(`${t}-`) && fs.statSync(path.join(crashes, f)).mtimeMs >= started)
    .map((f) => `build/fuzz/crashes/${f}`);
  console.error(`fuzz: ${t}: FAILED (${r.error ? r.error.message : `exit ${r.status ?? r.signal}`}) after ${execs} runs; ` +
    `input kept: ${kept.join(' ') || 'none'}; log: build/fuzz/${t}.log`);
  return false;
}

build().then(() => {
  let failed = 0;
  for (const t of targets) if (!runTarget(t)) failed++;
  const line = `fuzz: ${targets.length} targets, ${failed} failed`;
  if (failed > 0) fail(line.slice(6));
  console.log(line);
});

#!/usr/bin/env node
// The sanitizer build of the native core: compiles native/core/*.cc with the
// C++ tests in native/test/ under AddressSanitizer + UndefinedBehaviorSanitizer
// (any finding aborts) and runs them. The addon itself is built only by
// binding.gyp; both builds take their sources from the same native/core
// directory listing, so they cannot drift apart.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

require('./setup').ensure('build'); // g++ (its ASan/UBSan runtimes come with it)

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'build', 'sanitize');
fs.mkdirSync(out, { recursive: true });
const core = fs.readdirSync(path.join(root, 'native', 'core')).filter((f) => f.endsWith('.cc'))
  .map((f) => path.join('native', 'core', f));
const tests = fs.readdirSync(path.join(root, 'native', 'test')).filter((f) => f.endsWith('.cc'))
  .map((f) => path.join('native', 'test', f));
const exe = path.join(out, 'core_test');
const cxx = process.env.CXX || 'g++';
const flags = ['-std=c++17', '-g', '-O1', '-Wall', '-Wextra', '-Werror', '-fno-omit-frame-pointer',
  '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-D__XEN_TOOLS__'];

function run(cmd, args, env) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    console.error(`sanitizer build: ${cmd} exited with ${r.status ?? r.signal}`);
    process.exit(1);
  }
}

run(cxx, [...flags, ...core, ...tests, '-o', exe]);
run(exe, [], {
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1:strict_string_checks=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
});

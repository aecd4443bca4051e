#!/usr/bin/env node
// Builds the addon from source with node-gyp (build/Release), or with
// --prebuild the shippable prebuilds/linux-x64/privcmd-shim.node (prebuildify).
// Node's own headers are used when they sit beside the running node (as on
// Debian's nodejs), so no header download is needed. The set-up step runs
// first: a missing g++, make or python3 is installed, or named in one line,
// before node-gyp can fail on it.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

require('./setup').ensure('build');

const root = path.resolve(__dirname, '..');
const env = { ...process.env };
const headers = path.resolve(path.dirname(process.execPath), '..');
if (!env.npm_config_nodedir && fs.existsSync(path.join(headers, 'include', 'node', 'node_api.h'))) {
  env.npm_config_nodedir = headers;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function bin(name) {
  return path.join(root, 'node_modules', '.bin', name);
}

if (process.argv.includes('--prebuild')) {
  run(bin('prebuildify'), ['--napi', '--strip']);
} else {
  run(bin('node-gyp'), ['rebuild', '--jobs', 'max']);
}

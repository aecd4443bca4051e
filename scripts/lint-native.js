#!/usr/bin/env node
// npm run lint, native half: every C++ file under native/ must be as
// clang-format (.clang-format) writes it.
// `node scripts/lint-native.js --fix` rewrites them in place.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const fix = process.argv.includes('--fix');

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'corpus' ? [] : walk(p);
    return /\.(cc|h)$/.test(e.name) ? [p] : [];
  });
}

const files = walk(path.join(root, 'native'));
const which = spawnSync('clang-format', ['--version'], { encoding: 'utf8' });
if (which.error) {
  console.error('lint-native: clang-format is not installed (npm run setup installs it: Debian package clang-format)');
  process.exit(1);
}
const r = spawnSync('clang-format', fix ? ['-i', ...files] : ['--dry-run', '--Werror', ...files], { encoding: 'utf8', cwd: root });
process.stderr.write(r.stderr);
if (r.status !== 0) {
  console.error(`lint-native: ${fix ? 'clang-format failed' : 'files differ from clang-format (node scripts/lint-native.js --fix)'}`);
  process.exit(1);
}
console.log(`lint-native: ${files.length} files ${fix ? 'formatted' : 'as clang-format writes them'}`);

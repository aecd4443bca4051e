#!/usr/bin/env node
// Prints the node_modules directories the given packages need at runtime
// (their dependency closure), one per line, for copying into the initramfs.
'use strict';
const path = require('path');
const fs = require('fs');

const root = path.resolve(__dirname, '..', '..');
const seen = new Set();
function visit(name, from) {
  let dir = from;
  for (;;) {
    const cand = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(cand, 'package.json'))) {
      if (seen.has(cand)) return;
      seen.add(cand);
      const pkg = JSON.parse(fs.readFileSync(path.join(cand, 'package.json'), 'utf8'));
      for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, cand);
      return;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot resolve ${name} from ${from}`);
    dir = up;
  }
}
for (const name of process.argv.slice(2)) visit(name, root);
for (const d of [...seen].sort()) console.log(path.relative(root, d));

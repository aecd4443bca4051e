#!/usr/bin/env node
// npm run fuzz:api -- --seconds N [--seed S] [--seeds K]: the public-API
// fuzzer (test/fuzz/api-fuzz.ts) for a long run, K seeds from S in turn (the
// time split between them). Prints calls fuzzed, uncoded errors, state
// changes on refusal, restriction escapes and hangs; exits 1 on any finding.
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

// Load the TypeScript sources directly (transpile only; `npm run typecheck` checks types).
require.extensions['.ts'] = (module, filename) => {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: filename,
  });
  module._compile(out.outputText, filename);
};

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) {
    console.error(`--${name} needs a non-negative integer`);
    process.exit(2);
  }
  return v;
}

async function main() {
  const { fuzzApi } = require(path.join(__dirname, '..', 'test', 'fuzz', 'api-fuzz.ts'));
  const seconds = arg('seconds', 60);
  const seed0 = arg('seed', Date.now() % 0x7fffffff);
  const seeds = Math.max(1, arg('seeds', 1));
  const total = { calls: 0, values: 0, coded: 0, passedThrough: 0, uncoded: 0, 'state-change': 0, escape: 0, hang: 0, close: 0 };
  const kinds = new Map();
  for (let k = 0; k < seeds; k++) {
    const seed = (seed0 + k) >>> 0;
    const t0 = Date.now();
    const r = await fuzzApi({ seed, ms: (seconds * 1000) / seeds });
    for (const key of ['calls', 'values', 'coded', 'passedThrough']) total[key] += r[key];
    for (const f of r.findings) total[f.kind]++;
    for (const [key, n] of r.kinds) kinds.set(key, (kinds.get(key) ?? 0) + n);
    console.log(`seed ${seed}: ${r.calls} calls in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${r.findings.length} finding(s)`);
  }
  console.log(`calls fuzzed: ${total.calls} (values ${total.values}, coded errors ${total.coded}, caller exceptions passed through ${total.passedThrough})`);
  console.log(`uncoded errors: ${total.uncoded}`);
  console.log(`state changes on refusal: ${total['state-change']}`);
  console.log(`restriction/filter escapes: ${total.escape}`);
  console.log(`hangs: ${total.hang}`);
  console.log(`failed closes: ${total.close}`);
  for (const [key, n] of [...kinds].sort((a, b) => b[1] - a[1])) console.log(`  ${n} x ${key}`);
  process.exit(total.uncoded + total['state-change'] + total.escape + total.hang + total.close > 0 ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});

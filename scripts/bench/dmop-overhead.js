// The Node side of the fake-device benchmark (run by scripts/bench.mjs under
// LD_PRELOAD=fake-privcmd.so): a typed nr_vcpus DMOP, a pre-encoded
// dmopRaw and an empty native call on the device backend, in ns per call.
// Prints one JSON line.
'use strict';
const path = require('path');
const root = path.resolve(__dirname, '..', '..');
const lib = require(path.join(root, 'dist', 'index.js'));
const { native } = require(path.join(root, 'dist', 'native.js'));

const N = Number(process.argv[2] || 2000000);
const h = lib.open();
const NR_VCPUS = { op: 'nr_vcpus' };
if (h.dmop(1, NR_VCPUS).vcpus !== 2) throw new Error('the fake device did not answer nr_vcpus (is LD_PRELOAD set?)');
const raw = lib.encodeDmop(NR_VCPUS);

function perCall(f) {
  for (let i = 0; i < N / 10; i++) f();
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) f();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / N);
  }
  return best;
}

const out = {
  noop: perCall(() => native.noop()),
  typed: perCall(() => h.dmop(1, NR_VCPUS)),
  raw: perCall(() => h.dmopRaw(1, raw)),
};
h.close();
console.log(JSON.stringify(out));

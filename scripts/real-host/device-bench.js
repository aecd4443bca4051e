// The device benchmark, run in dom0 of the real-host VM after the contract
// suite: the nr_vcpus DMOP through the public API (dmop(), and a pre-encoded
// dmopRaw()) against a C program issuing the same ioctl in a loop, and
// against libxendevicemodel's xendevicemodel_nr_vcpus. Rounds are
// interleaved and medians compared, so the ratios come from one run on one
// machine. Under QEMU's TCG the absolute figures are ~100x a real host's.
'use strict';
const { execFileSync } = require('child_process');
const { open, encodeDmop } = require('../../lib/index');

const N = Number(process.env.BENCH_ITERATIONS || 20000);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 7);
const xenctl = (...a) => execFileSync(process.env.XENCTL || 'xenctl', a, { encoding: 'utf8' }).trim();
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ns = (t0) => Number(process.hrtime.bigint() - t0) / N;

const dom = Number(xenctl('hvm', '2', '512'));
const h = open();
try {
  const bufs = encodeDmop({ op: 'nr_vcpus' });
  // One loop per variant, so each call site stays monomorphic.
  const api = (n) => {
    let v = 0;
    for (let i = 0; i < n; i++) v += h.dmop(dom, { op: 'nr_vcpus' }).vcpus;
    return v;
  };
  const raw = (n) => {
    let v = 0;
    for (let i = 0; i < n; i++) v += h.dmopRaw(dom, bufs);
    return v;
  };
  const c = (mode) => Number(execFileSync('dmop-bench', [String(dom), String(N), mode], { encoding: 'utf8' }).trim());
  api(2000);
  raw(2000);
  const r = { api: [], raw: [], ioctl: [], xdm: [] };
  for (let k = 0; k < ROUNDS; k++) {
    let t0 = process.hrtime.bigint();
    api(N);
    r.api.push(ns(t0));
    t0 = process.hrtime.bigint();
    raw(N);
    r.raw.push(ns(t0));
    r.ioctl.push(c('ioctl'));
    r.xdm.push(c('xdm'));
  }
  const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]));
  const f = (x) => x.toFixed(0).padStart(7);
  const all = (k) => r[k].map((x) => (x / 1000).toFixed(1)).join(' ');
  console.log(`BENCH nr_vcpus DMOP on a real Xen 4.17 (QEMU TCG; ${N} calls x ${ROUNDS} interleaved rounds, medians)`);
  console.log(`BENCH   C ioctl loop                 ${f(m.ioctl)} ns/op   1.00x          rounds (us): ${all('ioctl')}`);
  console.log(`BENCH   xendevicemodel_nr_vcpus      ${f(m.xdm)} ns/op   ${(m.xdm / m.ioctl).toFixed(2)}x          rounds (us): ${all('xdm')}`);
  console.log(`BENCH   privcmd-shim dmop()          ${f(m.api)} ns/op   ${(m.api / m.ioctl).toFixed(2)}x (goal <= 1.25x)  rounds (us): ${all('api')}`);
  console.log(`BENCH   privcmd-shim dmopRaw()       ${f(m.raw)} ns/op   ${(m.raw / m.ioctl).toFixed(2)}x (pre-encoded)  rounds (us): ${all('raw')}`);
} finally {
  h.close();
  xenctl('destroy', String(dom));
}

#!/usr/bin/env node
// Leak and soak check. Runs cycles of everything that takes native memory or
// a file descriptor, and reports the fd count (/proc/self/fd) and RSS before
// and after. One cycle:
//  - simulated host: open a handle; a DMOP; a hypercall buffer allocated,
//    used and freed, another left for close(); async DMOPs awaited, one more
//    still queued at close(); close;
//  - an AddressSpace created, allocated from, freed and closed;
//  - a real hypercall buffer (mmap) allocated and freed;
//  - the device binding on a fake device (/dev/null: every ioctl answers
//    ENOTTY, the fd and the thread-pool calls are real): open, async DM_OP and
//    hypercall, close; and open() of it, which fails its probe and must close.
// Usage: MALLOC_ARENA_MAX=1 node --expose-gc scripts/soak.js [--cycles N | --seconds S] [--warmup N] [--json]
// (build first: it loads dist/). `npm run soak -- --seconds 600` for a long run.
'use strict';
const fs = require('fs');
const path = require('path');

const dist = path.resolve(__dirname, '..', 'dist');
const { open, createSimulatedHost, encodeDmop } = require(path.join(dist, 'index.js'));
const { AddressSpace } = require(path.join(dist, 'sim', 'address-space.js'));
const { native } = require(path.join(dist, 'native.js'));

const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : Number(process.argv[i + 1]);
};
const seconds = arg('--seconds');
const cycles = arg('--cycles') ?? (seconds === undefined ? 5000 : Infinity);
const warmup = arg('--warmup') ?? 4000;
const json = process.argv.includes('--json');
if (typeof global.gc !== 'function') {
  console.error('soak: run with node --expose-gc');
  process.exit(2);
}

const host = createSimulatedHost();
const guest = host.createDomain({ type: 'hvm', vcpus: 2, memoryPages: 256 });
const space0 = host.process(0).space;

const fds = () => fs.readdirSync('/proc/self/fd').length;
// Collect, then let finalizers (run after the event loop turns) do their work.
async function settle() {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await new Promise((r) => setImmediate(r));
  }
}

async function cycle() {
  const h = open({ host, domain: 0 });
  h.dmop(guest, { op: 'nr_vcpus' });
  const buf = h.hypercallBuffer(4096);
  h.hypercall('xen_version', [1, buf.addr]);
  h.freeHypercallBuffer(buf);
  h.hypercallBuffer(64); // left for close()
  await Promise.all([h.dmopAsync(guest, { op: 'nr_vcpus' }), h.dmopRawAsync(guest, encodeDmop({ op: 'nr_vcpus' }))]);
  const queued = h.dmopAsync(guest, { op: 'nr_vcpus' });
  h.close();
  await queued;

  const s = AddressSpace.create({ size: 1 << 20 });
  const a = s.alloc(5000);
  a.view.fill(1);
  s.alloc(100);
  s.free(a);
  s.close();

  const hb = native.hypercallBufferAlloc(4096);
  if (typeof hb === 'number') throw new Error(`hypercallBufferAlloc: ${hb}`);
  new Uint8Array(hb.buffer)[0] = 1;
  if (native.hypercallBufferFree(hb.buffer) !== 0) throw new Error('hypercallBufferFree');

  const d = native.deviceOpen('/dev/null');
  if (typeof d === 'number') throw new Error(`deviceOpen: ${d}`);
  await Promise.all([d.dmOpAsync(1, [new Uint8Array(32)], null), d.hypercallAsync(17, new BigUint64Array(5))]);
  d.close();
  try {
    open({ device: '/dev/null' });
    throw new Error('open(/dev/null) succeeded');
  } catch (e) {
    if (e.code !== 'ENOTTY') throw e;
  }
}

async function main() {
  // (Before the first measurement: the first write to a piped stdout opens an fd.)
  if (!json) console.log(`soak: ${seconds !== undefined ? `${seconds} s` : `${cycles} cycles`} after ${warmup} to warm up`);
  // Warm up: module loading, JIT, pools, first-use allocations, and V8's heap
  // growing to its working size (it levels off after a few thousand cycles).
  for (let i = 0; i < warmup; i++) await cycle();
  await settle();
  const start = { fds: fds(), rss: process.memoryUsage().rss, live: space0.liveAllocations };
  let peakRss = start.rss;
  const checkpoints = [];
  const t0 = process.hrtime.bigint();
  const deadline = seconds === undefined ? Infinity : Date.now() + seconds * 1000;
  let n = 0;
  while (n < cycles && Date.now() < deadline) {
    await cycle();
    n++;
    if (n % 1000 === 0) {
      await settle();
      const rss = process.memoryUsage().rss;
      checkpoints.push({ n, rss });
      peakRss = Math.max(peakRss, rss);
      if (!json && seconds !== undefined) console.log(`cycles=${n} fds=${fds()} rssMiB=${(process.memoryUsage().rss / 2 ** 20).toFixed(1)}`);
    }
  }
  await settle();
  const end = { fds: fds(), rss: process.memoryUsage().rss, live: space0.liveAllocations };
  peakRss = Math.max(peakRss, end.rss);
  // V8's heap grows for a few thousand cycles before it levels off: growth
  // over the second half of the run is what a leak shows up in.
  const mid = checkpoints.find((c) => c.n >= n / 2) ?? { n: 0, rss: start.rss };
  const r = {
    cycles: n,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    fdsBefore: start.fds,
    fdsAfter: end.fds,
    rssBeforeMiB: start.rss / 2 ** 20,
    rssAfterMiB: end.rss / 2 ** 20,
    rssPeakMiB: peakRss / 2 ** 20,
    rssGrowthMiB: (end.rss - start.rss) / 2 ** 20,
    rssGrowthSecondHalfMiB: (end.rss - mid.rss) / 2 ** 20,
    liveAllocationsBefore: start.live,
    liveAllocationsAfter: end.live,
  };
  if (json) console.log(JSON.stringify(r));
  else for (const [k, v] of Object.entries(r)) console.log(`${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : v}`);
  host.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

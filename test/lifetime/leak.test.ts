// The CI-sized leak check: scripts/soak.js (the dist/ build) under
// --expose-gc in a child process, whose fd table and RSS nothing else moves.
// Thousands of cycles of handle open/close, allocations, hypercall buffers,
// async DMOPs (one queued at close) on the simulated host, and the device
// binding on a fake device (/dev/null). `npm run soak` runs it long.
import { spawnSync } from 'child_process';
import * as path from 'path';

test('fd count exactly flat, no simulated allocation left, RSS bounded over 2000 cycles (after 3000 to warm up)', () => {
  const script = path.resolve(__dirname, '..', '..', 'scripts', 'soak.js');
  // A 1 MiB young generation: V8 then reaches its working size sooner, and
  // RSS moves less between measurements.
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=1', script, '--warmup', '3000', '--cycles', '2000', '--json'],
    { encoding: 'utf8' });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  const f = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  expect(f.cycles).toBe(2000);
  expect(f.fdsAfter).toBe(f.fdsBefore);
  expect(f.liveAllocationsAfter).toBe(f.liveAllocationsBefore);
  // V8's heap grows by ~14 MiB over the first few thousand cycles, then
  // levels off (seen flat over 20,000 cycles). After 1000 warm-up cycles it
  // was still growing, and a loaded CI machine saw 3.8 MiB in the second
  // half with no leak; after 3000 the second half moves about 1 MiB. A leak
  // of 4 KiB a cycle would add 4 MiB there.
  expect(f.rssGrowthMiB).toBeLessThan(32);
  expect(f.rssGrowthSecondHalfMiB).toBeLessThan(3);
}, 60_000);

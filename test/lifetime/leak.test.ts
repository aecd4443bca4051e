// The CI-sized leak check: scripts/soak.js (the dist/ build) under
// --expose-gc in a child process, whose fd table and RSS nothing else moves.
// Thousands of cycles of handle open/close, allocations, hypercall buffers,
// async DMOPs (one queued at close) on the simulated host, and the device
// binding on a fake device (/dev/null). `npm run soak` runs it long.
import { spawnSync } from 'child_process';
import * as path from 'path';

test('fd count exactly flat, no simulated allocation left, RSS bounded over 4000 cycles (after 8000 to warm up)', () => {
  const script = path.resolve(__dirname, '..', '..', 'scripts', 'soak.js');
  // A 1 MiB young generation: V8 then reaches its working size sooner, and
  // RSS moves less between measurements.
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=1', script, '--warmup', '8000', '--cycles', '4000', '--json'],
    { encoding: 'utf8' });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  const f = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  expect(f.cycles).toBe(4000);
  expect(f.fdsAfter).toBe(f.fdsBefore);
  expect(f.liveAllocationsAfter).toBe(f.liveAllocationsBefore);
  // V8's heap grows for the first several thousand cycles, then levels off
  // (flat to 0.1 MiB from 9,000 to 100,000 cycles here). With 3000 warm-up
  // cycles the heap was still growing, and the second half moved 3.4-4.2 MiB
  // in about half the runs with no leak; the warm-up is now past that. A
  // leak of 1.5 KiB a cycle would add 3 MiB over the second 2000 cycles.
  expect(f.rssGrowthMiB).toBeLessThan(32);
  expect(f.rssGrowthSecondHalfMiB).toBeLessThan(3);
}, 120_000);

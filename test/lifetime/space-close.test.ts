// AddressSpace.close() gives the native memory back at once, not when the
// views' finalizers run after the event loop turns. Measured in a child
// process, whose RSS nothing else moves.
import { spawnSync } from 'child_process';
import * as path from 'path';

const dist = path.resolve(__dirname, '..', '..', 'dist');

/** Run a script in a child node (the dist/ build), so that a crash cannot take jest down. */
function child(script: string): { status: number | null; signal: string | null; out: string } {
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, DIST: dist } });
  return { status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}` };
}

describe('AddressSpace.close() releases native memory at once', () => {
  test('a synchronous loop of create(64 GiB)/alloc/close keeps RSS flat (the page-state array alone is 16 MiB a space)', () => {
    const r = child(`
      const { AddressSpace } = require(process.env.DIST + '/sim/address-space.js');
      const once = () => { const s = AddressSpace.create({ size: 2 ** 36 }); s.alloc(1 << 20).view.fill(1); s.close(); };
      once();
      const before = process.memoryUsage().rss;
      for (let i = 0; i < 64; i++) once();
      console.log('growth=' + (process.memoryUsage().rss - before));
    `);
    expect(r.status).toBe(0);
    const growth = Number(/growth=(-?\d+)/.exec(r.out)?.[1]);
    // Without the release: 64 x (16 MiB of page state + 1 MiB touched).
    expect(growth).toBeLessThan(64 * 1024 * 1024);
  });
});

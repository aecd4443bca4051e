// Lengths that no JS view can span (over 2^32 bytes on Node 20) are refused
// with a coded error before any external ArrayBuffer is made; making one
// aborted the process (a double free in the failure path). Run in a child
// process so that a regression cannot kill jest.
import { spawnSync } from 'child_process';
import * as path from 'path';

const dist = path.resolve(__dirname, '..', '..', 'dist');

/** Run a script in a child node (the dist/ build), so that a crash cannot take jest down. */
function child(script: string): { status: number | null; signal: string | null; out: string } {
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, DIST: dist } });
  return { status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}` };
}

describe('lengths no view can span (over 2^32 bytes) are refused, not a crash', () => {
  test('AddressSpace alloc(2^32 + 1) in an 8 GiB space: ENOMEM, coded; 2^32 itself works', () => {
    const r = child(`
      const { AddressSpace } = require(process.env.DIST + '/sim/address-space.js');
      const s = AddressSpace.create({ size: 2 ** 33 });
      try { s.alloc(2 ** 32 + 1); console.log('no error'); } catch (e) { console.log('code=' + e.code + ' errno=' + e.errno + ' syscall=' + e.syscall); }
      console.log('live=' + s.liveAllocations);
      const a = s.alloc(2 ** 32);
      a.view[2 ** 32 - 1] = 1;
      console.log('max=' + a.view.length);
      s.close();
      console.log('closed len=' + a.view.length);
    `);
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
    expect(r.out).toContain('code=ENOMEM errno=-12 syscall=mmap');
    expect(r.out).toContain('live=0');
    expect(r.out).toContain(`max=${2 ** 32}`);
    expect(r.out).toContain('closed len=0');
  });

  test('hypercallBuffer(2^32 + 1) on a host with 8 GiB process spaces: ENOMEM, coded', () => {
    const r = child(`
      const { createSimulatedHost } = require(process.env.DIST + '/sim/host.js');
      const { open } = require(process.env.DIST + '/privcmd.js');
      const host = createSimulatedHost({ memory: { size: 2 ** 33 } });
      const h = open({ host, domain: 0 });
      try { h.hypercallBuffer(2 ** 32 + 1); console.log('no error'); } catch (e) { console.log('code=' + e.code + ' syscall=' + e.syscall); }
      h.close();
      host.close();
    `);
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
    expect(r.out).toContain('code=ENOMEM syscall=mmap');
  });
});

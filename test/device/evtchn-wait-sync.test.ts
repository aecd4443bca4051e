// EventChannels.waitSync: poll() on the calling thread, bounded by a
// timeout. On a device handle the mechanics are the native poll, checked
// here without Xen on a FIFO standing in for /dev/xen/evtchn (read() of it
// yields 4-byte port numbers, as the driver's does); on a simulated host
// nothing can fire while the thread blocks, so it never waits.
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openEventChannels } from '../../lib/evtchn';
import { open } from '../../lib/privcmd';
import { createSimulatedHost } from '../../lib/sim/host';
import { code } from '../support/code';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evtchn-wait-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fifo(): string {
  const p = path.join(tmp, `fifo-${Math.random().toString(36).slice(2)}`);
  execFileSync('mkfifo', [p]);
  return p;
}

describe('on a device handle (a FIFO for the device)', () => {
  test('returns the ports already readable, without waiting; then [] once the timeout passes with nothing', () => {
    const p = fifo();
    const ev = openEventChannels({ device: p });
    const w = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    try {
      const ports = Buffer.alloc(8);
      ports.writeUInt32LE(5, 0);
      ports.writeUInt32LE(9, 4);
      fs.writeSync(w, ports);
      expect(ev.waitSync(60_000)).toEqual([5, 9]);
      // Nothing readable: poll() times out (not asserted on time: only that it returns, with nothing).
      expect(ev.waitSync(1)).toEqual([]);
      expect(ev.waitSync(0)).toEqual([]);
    } finally {
      fs.closeSync(w);
      ev.close();
    }
  });

  test('a port written while it blocks wakes it (a writer in another process)', () => {
    const p = fifo();
    const ev = openEventChannels({ device: p });
    // The writer opens the FIFO and writes port 7 after the parent has started to block in poll().
    const writer = `const fs=require('fs');setTimeout(()=>{const w=fs.openSync(${JSON.stringify(p)},'w');const b=Buffer.alloc(4);b.writeUInt32LE(7);fs.writeSync(w,b);fs.closeSync(w);},200);`;
    const child = spawn(process.execPath, ['-e', writer], { stdio: 'ignore' });
    try {
      let got: number[] = [];
      // Bounded: at most 60 one-second waits; the port arrives in the first one or two.
      for (let i = 0; i < 60 && got.length === 0; i++) got = ev.waitSync(1000);
      expect(got).toEqual([7]);
    } finally {
      child.kill();
      ev.close();
    }
  });

  test('bad timeouts are EINVAL before anything waits; a closed handle is EBADF', () => {
    const p = fifo();
    const ev = openEventChannels({ device: p });
    for (const t of [-1, 1.5, 2 ** 31, NaN, '5', undefined, 5n]) expect(code(() => ev.waitSync(t as never))).toBe('EINVAL');
    ev.close();
    expect(code(() => ev.waitSync(0))).toBe('EBADF');
  });
});

describe('on a simulated host', () => {
  test('returns what is pending at once, and [] at once when nothing is: no event can arrive while the thread blocks', () => {
    const host = createSimulatedHost();
    try {
      const g = host.createDomain({ type: 'hvm' });
      const dm = open({ host });
      const ev = openEventChannels({ host });
      expect(ev.waitSync(60_000)).toEqual([]);
      dm.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 'off' });
      // A freshly bound interdomain port arrives pending once (Xen marks the new local port pending).
      const local = ev.bindInterdomain(g, 1);
      expect(ev.waitSync(60_000)).toEqual([local]);
      expect(code(() => ev.waitSync(-1))).toBe('EINVAL');
      ev.close();
      expect(code(() => ev.waitSync(0))).toBe('EBADF');
    } finally {
      host.close();
    }
  });
});

// The addon's process-wide count of device handles and its process-wide
// restriction (native/core/process_handles.h), without Xen: /dev/null stands
// in for both devices (every ioctl answers ENOTTY). The restriction is one-way
// for the whole process, so these run in a child process of their own.
import { execFileSync } from 'child_process';
import * as path from 'path';

// The dist/ build (npm test builds it before jest runs).
const dist = path.resolve(__dirname, '..', '..', 'dist');

function inChild(body: string): unknown {
  const script = `
    const { native } = require(${JSON.stringify(path.join(dist, 'native.js'))});
    const out = {};
    ${body}
    process.stdout.write(JSON.stringify(out));
  `;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

test('every open device handle is counted, restricted or not; closing uncounts it', () => {
  expect(inChild(`
    out.start = native.processHandles();
    const p = native.deviceOpen('/dev/null');
    const e = native.evtchnOpen('/dev/null');
    out.both = native.processHandles();
    out.restrictFails = [p.restrict(5), e.restrict(5)]; // ENOTTY: still unrestricted
    out.after = native.processHandles();
    p.close(); e.close();
    out.closed = native.processHandles();
  `)).toEqual({
    start: { open: 0, unrestricted: 0, domid: -1 },
    both: { open: 2, unrestricted: 2, domid: -1 },
    restrictFails: [-25, -25],
    after: { open: 2, unrestricted: 2, domid: -1 },
    closed: { open: 0, unrestricted: 0, domid: -1 },
  });
});

test('once the process is restricted, a handle that cannot be restricted at open does not open at all', () => {
  expect(inChild(`
    out.set = native.processRestrict(5);
    out.again = native.processRestrict(5);
    out.other = native.processRestrict(6);
    out.privcmd = native.deviceOpen('/dev/null');
    out.evtchn = native.evtchnOpen('/dev/null');
    out.state = native.processHandles();
  `)).toEqual({ set: 0, again: 0, other: -22, privcmd: -25, evtchn: -25, state: { open: 0, unrestricted: 0, domid: 5 } });
});

test('an inherited evtchn fd: a duplicate that must take (or already hold) the restriction, else it is not kept', () => {
  expect(inChild(`
    const fd = require('fs').openSync('/dev/null', 'r+');
    out.notEvtchn = native.evtchnFromFd(fd, 5); // RESTRICT_DOMID: ENOTTY
    out.badFd = native.evtchnFromFd(99999, 5);
    out.badArgs = [native.evtchnFromFd(-1, 5), native.evtchnFromFd(fd, 0x10000), native.evtchnFromFd(String(fd), 5)];
    out.state = native.processHandles();
    native.processRestrict(5);
    out.otherDomain = native.evtchnFromFd(fd, 6); // the process is restricted to 5: refused before the dup
    out.after = native.processHandles();
  `)).toEqual({
    notEvtchn: -25, badFd: -9, badArgs: [-22, -22, -22],
    state: { open: 0, unrestricted: 0, domid: -1 },
    otherDomain: -22,
    after: { open: 0, unrestricted: 0, domid: 5 },
  });
});

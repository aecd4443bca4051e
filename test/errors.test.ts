// One way to fail: system errors carry code, errno and syscall; the
// library's own refusals carry a code (ERR_*) and no fake errno or syscall.
import * as os from 'os';
import { codedError, libraryError, withDetail, PrivcmdLibraryError } from '../lib/errors';

describe('library errors', () => {
  test('carry code, detail and the fields the site adds, never errno or syscall', () => {
    const e = libraryError('ERR_PRIVCMD_BUILD_STATE', 'unpause: domain 3 is destroyed', { step: 'unpause' });
    expect(e).toBeInstanceOf(PrivcmdLibraryError);
    expect(e).toMatchObject({ code: 'ERR_PRIVCMD_BUILD_STATE', detail: 'unpause: domain 3 is destroyed', step: 'unpause' });
    expect(e.message).toBe('ERR_PRIVCMD_BUILD_STATE: unpause: domain 3 is destroyed');
    expect('errno' in e).toBe(false);
    expect('syscall' in e).toBe(false);
  });

  test('withDetail keeps the kind, the code, the extra fields, and the original as cause', () => {
    const lib = libraryError('ERR_PRIVCMD_NOT_RESTRICTED', 'x', { report: [1] });
    const more = withDetail(lib, 'x; and more');
    expect(more).toBeInstanceOf(PrivcmdLibraryError);
    expect(more).toMatchObject({ code: 'ERR_PRIVCMD_NOT_RESTRICTED', detail: 'x; and more', report: [1] });
    expect((more as Error & { cause?: unknown }).cause).toBe(lib);
    expect('errno' in more).toBe(false);

    const sys = codedError('EPERM', 'ioctl', 'refused');
    const sys2 = withDetail(sys, 'refused, really');
    expect(sys2).toMatchObject({ code: 'EPERM', errno: -1, syscall: 'ioctl', detail: 'refused, really' });
    expect((sys2 as Error & { cause?: unknown }).cause).toBe(sys);
  });

  test('a missing native build is ERR_PRIVCMD_NATIVE_MISSING, with the loader\'s error as cause', () => {
    const saved = process.env.PRIVCMD_SHIM_NATIVE_BUILD;
    process.env.PRIVCMD_SHIM_NATIVE_BUILD = os.tmpdir();
    try {
      let thrown: unknown;
      jest.isolateModules(() => {
        try { require('../lib/native'); } catch (e) { thrown = e; }
      });
      expect(thrown).toMatchObject({ code: 'ERR_PRIVCMD_NATIVE_MISSING' });
      expect((thrown as Error).message).toMatch(/^ERR_PRIVCMD_NATIVE_MISSING: privcmd-shim: no native build/);
      expect((thrown as Error & { cause?: unknown }).cause).toBeInstanceOf(Error);
      expect('errno' in (thrown as object)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.PRIVCMD_SHIM_NATIVE_BUILD; else process.env.PRIVCMD_SHIM_NATIVE_BUILD = saved;
    }
  });
});

describe('domid arguments', () => {
  const { domidArg, isDomid } = require('../lib/domid-arg') as typeof import('../lib/domid-arg');
  test.each([
    ['domid_t', [0, 1, 0x7ff0, 0xffff], [-1, 0x10000, 1.5, '1', null, 2n]],
    ['domain', [0, 1, 0x7fef], [-1, 0x7ff0, 0xffff, 0x7ff0 + 1]],
    ['guest', [1, 0x7fef], [0, 0x7ff0]],
    ['domain-or-self', [0, 0x7fef, 0x7ff0], [0x7ff1, 0xffff, -1]],
  ] as const)('%s: accepts what it names, refuses the rest with EINVAL naming the argument', (kind, good, bad) => {
    for (const v of good) expect(domidArg('ioctl', 'domid', v, kind)).toBe(v);
    for (const v of bad) {
      expect(isDomid(v, kind)).toBe(false);
      let e: unknown;
      try { domidArg('ioctl', 'remoteDomid', v, kind); } catch (x) { e = x; }
      expect(e).toMatchObject({ code: 'EINVAL', syscall: 'ioctl' });
      expect((e as Error).message).toMatch(/remoteDomid must be/);
    }
  });
});

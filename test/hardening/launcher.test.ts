// The launcher's entry points under bad input: a coded error before anything
// is opened or spawned (issue 11, section 3).
import { launchDeviceModel, openInherited } from '../../lib';
import { code } from '../support/hostile';

test('launchDeviceModel: a Symbol baseUid or gid, a huge sparse args array, a non-number domid: EINVAL', () => {
  const base = { domid: 5, command: '/bin/true' };
  expect(code(() => launchDeviceModel({ ...base, baseUid: Symbol('s') as never }))).toBe('EINVAL');
  expect(code(() => launchDeviceModel({ ...base, baseUid: 1000, baseGid: Symbol('s') as never }))).toBe('EINVAL');
  expect(code(() => launchDeviceModel({ ...base, args: new Array(2 ** 32 - 1) as never }))).toBe('EINVAL');
  expect(code(() => launchDeviceModel({ ...base, args: [, 'x'] as never }))).toBe('EINVAL'); // eslint-disable-line no-sparse-arrays
  expect(code(() => launchDeviceModel({ ...base, domid: Object.create(null) as never }))).toBe('EINVAL');
});

test('openInherited: a null environment or non-string entries: coded, not a TypeError', () => {
  expect(code(() => openInherited(null as never))).toBe('EINVAL');
  expect(code(() => openInherited({ PRIVCMD_SHIM_FD: Symbol('s') as never, PRIVCMD_SHIM_DOMID: '5' }))).toBe('EBADF');
  expect(code(() => openInherited({ PRIVCMD_SHIM_FD: '', PRIVCMD_SHIM_DOMID: '' }))).toBe('EBADF');
});

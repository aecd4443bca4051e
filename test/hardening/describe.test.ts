// describe(): a caller's value in an error message, safely (issue 11,
// section 3). String() throws on Object.create(null), a Symbol in a template,
// a detached typed array or a throwing toPrimitive, and a 2^32-1 sparse
// array's string is too long to build.
import { describe as describeValue } from '../../lib/errors';

function detached(len = 32): Uint8Array {
  const ab = new ArrayBuffer(len);
  const u = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  return u;
}

test('short, and total on every kind of value', () => {
  expect(describeValue(Object.create(null))).toBe('an object');
  expect(describeValue(new Array(2 ** 32 - 1))).toBe(`an array of length ${2 ** 32 - 1}`);
  expect(describeValue(detached())).toBe('a Uint8Array of 0 bytes');
  expect(describeValue({ [Symbol.toPrimitive]() { throw new Error('toPrimitive'); } })).toBe('an object');
  expect(describeValue(Symbol('s'))).toBe('a symbol');
  expect(describeValue(5n)).toBe('5n');
  expect(describeValue(1.5)).toBe('1.5');
  expect(describeValue('x')).toBe("'x'");
  expect(describeValue('x'.repeat(1000)).length).toBeLessThan(80);
  const revoked = Proxy.revocable([], {});
  revoked.revoke();
  expect(describeValue(revoked.proxy)).toBe('an unreadable object');
});

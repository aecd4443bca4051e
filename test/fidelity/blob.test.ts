// The fixture's way out of the VM: console lines that survive other output
// in between, and refuse to decode when a line is lost or mangled.
import { blobLines, parseBlob, type Fixture } from './compare';

const fixture: Fixture = {
  xen: '4.17.7', kernel: '6.1.0-test', generator: 'abc', cases: 1,
  results: { 'x/base': { steps: [{ rc: 'ok', out: { id: '0' } }], memTypes: { 16: '0' }, servers: { 0: 'port 2' } } },
};

describe('fidelity blob on the serial console', () => {
  test('round trip, with Xen messages and carriage returns in between', () => {
    const lines = blobLines({ ...fixture, results: { ...fixture.results, big: { steps: Array.from({ length: 400 }, (_, i) => ({ rc: `E${i}` })) } } });
    expect(lines.length).toBeGreaterThan(4);
    const log = ['(XEN) hello', ...lines.flatMap((l) => [`${l}\r`, '(XEN) d1: something'])].join('\n');
    expect(parseBlob(log).results['x/base']).toEqual(fixture.results['x/base']);
  });

  test('a missing line, a mangled line, a wrong sha and no markers are refused', () => {
    const lines = blobLines(fixture);
    expect(() => parseBlob(lines.filter((l) => !l.startsWith('FXD 0 ')).join('\n'))).toThrow(/missing or mangled/);
    expect(() => parseBlob(lines.map((l) => (l.startsWith('FXD 0 ') ? `${l.slice(0, 12)}(XEN) x` : l)).join('\n'))).toThrow(/missing or mangled/);
    expect(() => parseBlob(lines.map((l) => (l.startsWith('FXD 0 ') ? `FXD 0 ${l.slice(6).replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}` : l)).join('\n'))).toThrow(/sha256/);
    expect(() => parseBlob('nothing here')).toThrow(/FIDELITY BEGIN/);
  });
});

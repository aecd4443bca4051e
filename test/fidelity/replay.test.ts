// The replayer (issue 15): every case recorded on the real Xen 4.17 host
// (test/fidelity/observed-xen-4.17.json, written by npm run test:xen --
// --record) runs again on the simulated host, and must be answered the same,
// OUT fields and read-back state included, unless the allow-list explains it.
import * as fs from 'fs';
import * as path from 'path';
import { createSimulatedHost, type SimulatedHost } from '../../lib/sim/host';
import { open, type Privcmd } from '../../lib/privcmd';
import { casesHash, generateCases, MAX_PAGES, PAGES, PV_MAX_PAGES, VCPUS } from './cases';
import { runCase, type Observation } from './execute';
import { ALLOWED } from './allow-list';
import { allowed, describeDifference, differences, type Fixture } from './compare';

const FIXTURE = path.join(__dirname, 'observed-xen-4.17.json');
const fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Fixture;
const cases = generateCases();

let host: SimulatedHost;
let h: Privcmd;
let hr: Privcmd;
let pv: number;
beforeAll(() => {
  host = createSimulatedHost();
  pv = host.createDomain({ type: 'pv', memoryPages: 0, maxPages: PV_MAX_PAGES });
  h = open({ host, domain: 0 });
  hr = open({ host, domain: 0 });
  hr.restrict(pv);
});
afterAll(() => host.close());

function replay(): Record<string, Observation> {
  const out: Record<string, Observation> = {};
  const env = {
    h, hr, pv, self: 0,
    fresh: (kind: 'hvm' | 'logdirty') => {
      const d = host.createDomain({ type: 'hvm', vcpus: VCPUS, memoryPages: PAGES, maxPages: MAX_PAGES });
      if (kind === 'logdirty') host.setLogDirty(d, true);
      return d;
    },
    release: (d: number) => host.destroyDomain(d),
  };
  for (const c of cases) out[c.id] = runCase(env, c);
  return out;
}

describe('the simulated host answers every recorded real-host case the same', () => {
  test('the fixture comes from this generator, on Xen 4.17 with a Linux 6.1 dom0', () => {
    expect(fixture.generator).toBe(casesHash(cases)); // else: npm run test:xen -- --record
    expect(fixture.cases).toBe(cases.length);
    expect(fixture.xen).toMatch(/^4\.17\./);
    expect(fixture.kernel).toMatch(/^6\.1\./);
  });

  // One replay for both checks below (each must hold on its own, too).
  let diffs: ReturnType<typeof differences> = [];
  beforeAll(() => {
    diffs = differences(fixture.results, replay());
  });

  test(`all ${cases.length} cases: zero differences outside the allow-list`, () => {
    const unexplained = diffs.filter((d) => allowed(d.id) === undefined).map(describeDifference);
    expect(unexplained).toEqual([]);
  });

  test('every allow-list entry has a reason and still explains a difference', () => {
    for (const a of ALLOWED) {
      expect(a.reason.length).toBeGreaterThan(20);
      expect([String(a.id), diffs.some((d) => (typeof a.id === 'string' ? d.id === a.id : a.id.test(d.id)))]).toEqual([String(a.id), true]);
    }
  });
});

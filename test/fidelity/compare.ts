// The fixture's shape and the comparison both checks use: the replayer
// (simulated host against the fixture, in npm test) and the CI check (a new
// real-host run against the fixture, in npm run test:xen).
import { createHash } from 'crypto';
import { gunzipSync, gzipSync } from 'zlib';
import { ALLOWED } from './allow-list';
import type { Observation } from './execute';

export interface Fixture {
  /** xen_version: major.minor + extraversion. */
  xen: string;
  /** The dom0 kernel's release (uname -r). */
  kernel: string;
  /** casesHash() of the generator the cases came from. */
  generator: string;
  cases: number;
  results: Record<string, Observation>;
}

export interface Difference {
  id: string;
  expected: Observation | undefined;
  actual: Observation | undefined;
}

const canon = (o: unknown): string => JSON.stringify(o);

/** Cases whose observations differ (both directions: missing on either side counts). */
export function differences(expected: Record<string, Observation>, actual: Record<string, Observation>): Difference[] {
  const ids = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  const out: Difference[] = [];
  for (const id of [...ids].sort()) {
    if (canon(expected[id]) !== canon(actual[id])) out.push({ id, expected: expected[id], actual: actual[id] });
  }
  return out;
}

/** The allow-list entry that explains a simulated-host difference, if any. */
export function allowed(id: string): { reason: string } | undefined {
  return ALLOWED.find((a) => (typeof a.id === 'string' ? a.id === id : a.id.test(id)));
}

/** A difference, short enough to read in a log. */
export function describeDifference(d: Difference): string {
  const e = d.expected;
  const a = d.actual;
  if (e === undefined || a === undefined) return `${d.id}: ${e === undefined ? 'not in the fixture' : 'not run'}`;
  const parts: string[] = [];
  const n = Math.max(e.steps.length, a.steps.length);
  for (let i = 0; i < n; i++) {
    if (canon(e.steps[i]) !== canon(a.steps[i])) parts.push(`step ${i}: expected ${canon(e.steps[i])}, got ${canon(a.steps[i])}`);
  }
  if (canon(e.memTypes) !== canon(a.memTypes)) parts.push(`memTypes: expected ${canon(e.memTypes)}, got ${canon(a.memTypes)}`);
  if (canon(e.servers) !== canon(a.servers)) parts.push(`servers: expected ${canon(e.servers)}, got ${canon(a.servers)}`);
  return `${d.id}: ${parts.join('; ')}`;
}

/**
 * The fixture as console lines, for the way out of the VM: gzipped, base64,
 * numbered, with the blob's sha256 on the first line.
 */
export function blobLines(fixture: Fixture): string[] {
  const blob = gzipSync(Buffer.from(JSON.stringify(fixture))).toString('base64');
  const lines = blob.match(/.{1,96}/g) ?? [];
  return [
    `FIDELITY BEGIN ${lines.length} ${createHash('sha256').update(blob).digest('hex')}`,
    ...lines.map((l, i) => `FXD ${i} ${l}`),
    'FIDELITY END',
  ];
}

/** blobLines back out of a console log (other output in between is fine); throws if any line is lost or mangled. */
export function parseBlob(log: string): Fixture {
  const text = log.replace(/\r/g, '');
  const begin = /^FIDELITY BEGIN (\d+) ([0-9a-f]{64})$/m.exec(text);
  if (!begin) throw new Error('no FIDELITY BEGIN line: the recorder did not finish');
  const n = Number(begin[1]);
  const chunks = new Array<string | undefined>(n);
  for (const m of text.matchAll(/^FXD (\d+) ([A-Za-z0-9+/=]+)$/gm)) if (Number(m[1]) < n) chunks[Number(m[1])] = m[2];
  const missing = [...chunks.keys()].filter((i) => chunks[i] === undefined);
  if (missing.length) throw new Error(`${missing.length} of ${n} FXD lines missing or mangled on the console (first: ${missing[0]})`);
  const blob = chunks.join('');
  if (createHash('sha256').update(blob).digest('hex') !== begin[2]) throw new Error('the recorded blob does not match its sha256');
  return JSON.parse(gunzipSync(Buffer.from(blob, 'base64')).toString('utf8')) as Fixture;
}

// The host side of the recorder, called by scripts/real-host/run.sh:
//   node host-cli.js extract <serial.log> <out.json>   the blob between the markers, verified
//   node host-cli.js check <observed.json> <fixture.json>
// check fails when the real host's answers (or its Xen / kernel versions, or
// the generator) no longer match the committed fixture.
import * as fs from 'fs';
import { differences, describeDifference, parseBlob, type Fixture } from './compare';

function extract(log: string, out: string): void {
  const fixture = parseBlob(fs.readFileSync(log, 'latin1'));
  fs.writeFileSync(out, `${JSON.stringify(fixture, null, 1)}\n`);
  console.log(`[fidelity] ${fixture.cases} cases from Xen ${fixture.xen}, kernel ${fixture.kernel} -> ${out}`);
}

function check(observedPath: string, fixturePath: string): number {
  const observed = JSON.parse(fs.readFileSync(observedPath, 'utf8')) as Fixture;
  const fixture = JSON.parse(fs.readFileSync(fixturePath, 'utf8')) as Fixture;
  const problems: string[] = [];
  for (const k of ['xen', 'kernel', 'generator'] as const) {
    if (observed[k] !== fixture[k]) problems.push(`${k}: the fixture has ${fixture[k]}, the real host now ${observed[k]}`);
  }
  const diffs = differences(fixture.results, observed.results);
  for (const d of diffs.slice(0, 50)) problems.push(describeDifference(d));
  if (diffs.length > 50) problems.push(`... and ${diffs.length - 50} more`);
  if (problems.length === 0) {
    console.log(`[fidelity] the real host answers all ${observed.cases} cases as recorded`);
    return 0;
  }
  console.log(`[fidelity] the real host no longer matches ${fixturePath} (${diffs.length} cases differ); re-record with npm run test:xen -- --record:`);
  for (const p of problems) console.log(`[fidelity]   ${p}`);
  return 1;
}

const [cmd, a, b] = process.argv.slice(2);
try {
  if (cmd === 'extract' && a && b) extract(a, b);
  else if (cmd === 'check' && a && b) process.exitCode = check(a, b);
  else {
    console.error('usage: host-cli.js extract <serial.log> <out.json> | check <observed.json> <fixture.json>');
    process.exitCode = 2;
  }
} catch (e) {
  console.error(`[fidelity] ${(e as Error).message}`);
  process.exitCode = 1;
}

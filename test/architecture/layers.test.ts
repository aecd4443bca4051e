// Every import in lib/ looks down the house (issue 12, docs in README
// "Layout"): abi → errors → codec → policy → sim → backends → handles →
// clients and features → cli. Type-only and dynamic imports count. A file
// that no layer names fails the test, so a new room has to be placed.
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const LIB = path.join(__dirname, '../../lib');

/** Bottom to top. An entry ending in '/' is a folder. */
const LAYERS: readonly (readonly string[])[] = [
  ['abi/'],
  ['errors.ts', 'native.ts', 'allocation.ts', 'domid-arg.ts', 'later.ts', 'types/'],
  ['codec/', 'dmop/'],
  ['policy/'],
  ['sim/'],
  ['backends/', 'copy-once.ts', 'handle-registry.ts'],
  ['privcmd.ts', 'evtchn.ts', 'mapping.ts'],
  ['clients/', 'deprivilege/', 'ioreq/', 'devices/', 'probe.ts', 'selfcheck.ts'],
  ['demo.ts', 'cli.ts', 'index.ts'],
];

/** Within the backends layer, neither backend looks at the other. */
const APART: readonly (readonly [RegExp, RegExp])[] = [
  [/^backends\/(device|evtchn-device)\.ts$/, /^backends\/(simulated|evtchn-simulated)\.ts$/],
  [/^backends\/(simulated|evtchn-simulated)\.ts$/, /^backends\/(device|evtchn-device)\.ts$/],
];

function layerOf(rel: string): number {
  return LAYERS.findIndex((l) => l.some((e) => (e.endsWith('/') ? rel.startsWith(e) : rel === e)));
}

function resolve(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  return [`${base}.ts`, `${base}/index.ts`, base].find((c) => sources.has(c)) ?? `${base}.ts`;
}

function violations(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [rel, src] of files) {
    const mine = layerOf(rel);
    if (mine < 0) { out.push(`${rel}: in no layer (add it to LAYERS in test/architecture/layers.test.ts)`); continue; }
    for (const imp of ts.preProcessFile(src, true, true).importedFiles) {
      const target = resolve(rel, imp.fileName);
      if (target === null) continue;
      const theirs = layerOf(target);
      if (theirs > mine) out.push(`${rel} (layer ${mine}) imports ${target} (layer ${theirs}): upward`);
      for (const [a, b] of APART) if (a.test(rel) && b.test(target)) out.push(`${rel} imports ${target}: one backend looks at the other`);
    }
  }
  return out;
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

const sources = new Map(walk(LIB).map((f) => [path.relative(LIB, f).split(path.sep).join('/'), fs.readFileSync(f, 'utf8')]));

describe('the import graph of lib/', () => {
  it('has no import going up a layer and none between the backends', () => {
    expect(sources.size).toBeGreaterThan(40);
    expect(violations(sources)).toEqual([]);
  });

  it('catches an upward import, a type-only one, a dynamic one, a backend pair and an unplaced file', () => {
    const planted = new Map([
      ['policy/filter.ts', "import { open } from '../privcmd';"],
      ['abi/dmops.ts', "import type { Privcmd } from '../privcmd';"],
      ['sim/host.ts', "const x = import('../deprivilege/launcher');"],
      ['backends/device.ts', "import type { SimulatedBackend } from './simulated';"],
      ['somewhere-new.ts', ''],
      ['privcmd.ts', "import { ERRNO } from './abi/errno';"],
    ]);
    expect(violations(planted)).toEqual([
      'policy/filter.ts (layer 3) imports privcmd.ts (layer 6): upward',
      'abi/dmops.ts (layer 0) imports privcmd.ts (layer 6): upward',
      'sim/host.ts (layer 4) imports deprivilege/launcher.ts (layer 7): upward',
      'backends/device.ts imports backends/simulated.ts: one backend looks at the other',
      'somewhere-new.ts: in no layer (add it to LAYERS in test/architecture/layers.test.ts)',
    ]);
  });
});

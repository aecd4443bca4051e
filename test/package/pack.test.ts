// The packed package works where it is installed: `npm pack` (which runs
// prebuildify), then install the tarball into an empty project with
// --ignore-scripts, and load it from CommonJS and from an ES module with a
// PATH that has node and nothing else (no compiler, no make, no python).
// Slow (a real pack and install), so it runs once, in this file.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
let work: string;
let consumer: string;
let tarball: string;

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// Run node in the consumer with an empty environment apart from a PATH that
// holds only a symlink to node.
function runIsolated(file: string): string {
  const bin = path.join(work, 'bin');
  return execFileSync(path.join(bin, 'node'), [file], {
    cwd: consumer, encoding: 'utf8', env: { PATH: bin, HOME: work },
  });
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'privcmd-pack-'));
  fs.mkdirSync(path.join(work, 'bin'));
  fs.symlinkSync(process.execPath, path.join(work, 'bin', 'node'));
  const out = npm(['pack', '--json', '--pack-destination', work], root);
  const info = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, (info[0] as { filename: string }).filename);
  (globalThis as { packedFiles?: string[] }).packedFiles = (info[0] as { files: { path: string }[] }).files.map((f) => f.path);
  consumer = path.join(work, 'consumer');
  fs.mkdirSync(consumer);
  fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  npm(['install', '--ignore-scripts', '--no-audit', '--no-fund', tarball], consumer);
}, 240_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the tarball ships the prebuild, the ESM entry and the sources for a source build, and no build/ output', () => {
  const files = (globalThis as { packedFiles?: string[] }).packedFiles ?? [];
  expect(files).toEqual(expect.arrayContaining([
    'prebuilds/linux-x64/privcmd-shim.node', 'dist/index.js', 'dist/index.d.ts', 'dist/esm/index.mjs',
    'dist/cli.js', 'binding.gyp', 'native/binding.cc', 'native/core/dm_buffers.cc',
  ]));
  expect(files.filter((f) => f.startsWith('build/') || f.startsWith('native/test/') || f.startsWith('test/'))).toEqual([]);
});

test('require() loads the prebuild and works without a compiler on PATH', () => {
  fs.writeFileSync(path.join(consumer, 'cjs.js'), `
    const m = require('privcmd-shim');
    const s = m.AddressSpace.create();
    const a = s.alloc(8);
    a.view[0] = 42;
    console.log(JSON.stringify({ native: m.nativePath(), byte: s.read(a.addr, 1)[0] }));
    s.close();
  `);
  const r = JSON.parse(runIsolated('cjs.js')) as { native: string; byte: number };
  expect(r.native).toBe(path.join(consumer, 'node_modules', 'privcmd-shim', 'prebuilds', 'linux-x64', 'privcmd-shim.node'));
  expect(r.byte).toBe(42);
});

test('import and require share one implementation (no dual-package hazard)', () => {
  fs.writeFileSync(path.join(consumer, 'esm.mjs'), `
    import * as m from 'privcmd-shim';
    import def from 'privcmd-shim';
    import { createRequire } from 'module';
    const cjs = createRequire(import.meta.url)('privcmd-shim');
    const names = Object.keys(cjs).filter((k) => k !== '__esModule');
    console.log(JSON.stringify({
      same: names.every((k) => m[k] === cjs[k]),
      missing: names.filter((k) => !(k in m)),
      defaultIsCjs: def === cjs,
      count: names.length,
    }));
  `);
  const r = JSON.parse(runIsolated('esm.mjs')) as { same: boolean; missing: string[]; defaultIsCjs: boolean; count: number };
  expect(r).toEqual({ same: true, missing: [], defaultIsCjs: true, count: expect.any(Number) });
  expect(r.count).toBeGreaterThan(10);
});

test('the installed CLI runs the demo and its self-check', () => {
  const cli = path.join(consumer, 'node_modules', 'privcmd-shim', 'dist', 'cli.js');
  expect(runIsolated(cli)).toMatch(/all \d+ steps behaved as Xen and Linux do/);
  const out = execFileSync(path.join(work, 'bin', 'node'), [cli, 'selfcheck'], { cwd: consumer, encoding: 'utf8', env: { PATH: path.join(work, 'bin'), HOME: work } });
  expect(out).toMatch(/all \d+ checks passed/);
  expect(out).toContain('prebuilds/linux-x64/privcmd-shim.node');
});

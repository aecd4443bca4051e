// The packed package works where it is installed: `npm pack` (which builds
// and runs prebuildify) in a temporary copy of the checkout, so that packing
// never rebuilds the checkout's own build/, dist/ or prebuilds/ under the
// other tests; then a plain `npm install` of the tarball (scripts enabled) into
// an empty project, run by a node whose PATH holds node and nothing else: no
// compiler, no make, no python, not even npm or sh. It loads from CommonJS
// and from an ES module with that PATH too.
// Slow (a real pack and install), so it runs once, in this file.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
// What a checkout builds or packs into, and never part of the package's sources.
const NOT_COPIED = new Set(['node_modules', 'build', 'dist', 'prebuilds', 'coverage', '.git']);
let work: string;
let consumer: string;
let tarball: string;
let installOutput: string;

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** npm's own CLI script, to run it with a node-only PATH. */
function npmCli(): string {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    const f = path.join(d, 'npm');
    if (fs.existsSync(f)) {
      const cli = path.join(path.dirname(fs.realpathSync(f)), 'npm-cli.js');
      if (fs.existsSync(cli)) return cli;
    }
  }
  throw new Error('npm-cli.js not found beside npm on PATH');
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

  const src = path.join(work, 'src');
  fs.cpSync(root, src, {
    recursive: true,
    filter: (from) => {
      const rel = path.relative(root, from);
      return !NOT_COPIED.has(rel.split(path.sep)[0] as string) && !rel.endsWith('.tgz');
    },
  });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(src, 'node_modules'));
  const out = npm(['pack', '--json', '--pack-destination', work], src);
  const info = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, (info[0] as { filename: string }).filename);
  (globalThis as { packedFiles?: string[] }).packedFiles = (info[0] as { files: { path: string }[] }).files.map((f) => f.path);

  consumer = path.join(work, 'consumer');
  fs.mkdirSync(consumer);
  fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  // The user's npm config and cache (HOME) and network settings stay; npm's
  // variables from the `npm test` this runs under do not.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
  env.PATH = path.join(work, 'bin');
  installOutput = execFileSync(path.join(work, 'bin', 'node'),
    [npmCli(), 'install', '--ignore-scripts=false', '--foreground-scripts', '--no-audit', '--no-fund', tarball],
    { cwd: consumer, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}, 300_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the tarball ships the prebuild, the ESM entry and the sources for a source build, and no build/ output', () => {
  const files = (globalThis as { packedFiles?: string[] }).packedFiles ?? [];
  expect(files).toEqual(expect.arrayContaining([
    'prebuilds/linux-x64/privcmd-shim.node', 'dist/index.js', 'dist/index.d.ts', 'dist/esm/index.mjs',
    'dist/cli.js', 'binding.gyp', 'native/binding.cc', 'native/core/dm_buffers.cc',
    'scripts/build-native.js', 'scripts/setup.js',
  ]));
  expect(files.filter((f) => f.startsWith('build/') || f.startsWith('native/test/') || f.startsWith('native/fuzz/') || f.startsWith('test/'))).toEqual([]);
});

test('npm install of the tarball, scripts enabled and only node on PATH, runs no script and compiles nothing', () => {
  // Nothing the set-up step or node-gyp would print, and nothing built: an
  // install script, `prepare` or npm's implicit `node-gyp rebuild` (which
  // `gypfile: false` turns off) would have failed on this PATH anyway.
  expect(installOutput).toMatch(/added \d+ packages?/);
  expect(installOutput).not.toMatch(/gyp|set-up|prepare|> privcmd-shim/);
  const installed = path.join(consumer, 'node_modules', 'privcmd-shim');
  expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
  const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')) as { gypfile?: boolean; scripts?: Record<string, string> };
  expect(pkg.gypfile).toBe(false);
  expect(Object.keys(pkg.scripts ?? {}).filter((k) => /^(pre|post)?install$/.test(k))).toEqual([]);
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

// The device backend's success paths without Xen: a child node runs the
// built library (dist/) under LD_PRELOAD of the benchmark's fake
// /dev/xen/privcmd (scripts/bench/fake-privcmd.c), which answers
// XEN_DMOP_nr_vcpus with vcpus = domain + 1 and every other DMOP with 0. So
// the typed fast path (buffer 0 in the native mailbox, the domain in its
// tail) and dmopRaw's buffer list are checked for what reaches the ioctl,
// here as well as on a real Xen (scripts/real-host).
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const dist = path.join(root, 'dist', 'index.js');

/** Why the fake device cannot run here, or null. */
function unavailable(): string | null {
  if (!fs.existsSync('/usr/include/xen/sys/privcmd.h')) return 'no Xen headers (apt-get install libxen-dev)';
  if (!fs.existsSync(dist)) return 'dist/ is not built (npm run build:ts)';
  const built = fs.statSync(dist).mtimeMs;
  const stale = (dir: string): boolean => fs.readdirSync(dir, { withFileTypes: true }).some((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? stale(p) : e.name.endsWith('.ts') && fs.statSync(p).mtimeMs > built;
  });
  if (stale(path.join(root, 'lib'))) return 'dist/ is older than lib/ (npm run build:ts)';
  return null;
}

const why = unavailable();
if (why !== null) console.log(`fake-device tests skipped: ${why}`);

// Runs in the child, against dist/; prints one JSON line.
const CHILD = `
const lib = require(${JSON.stringify(dist)});
const code = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };
const out = {};
const h = lib.open();
out.kind = h.kind;
out.typed = [1, 7, 65535].map((d) => h.dmop(d, { op: 'nr_vcpus' }).vcpus);
out.other = h.dmop(3, { op: 'create_ioreq_server', handleBufioreq: 'atomic' });
out.badDomid = [65536, -1, 1.5, '1'].map((d) => code(() => h.dmop(d, { op: 'nr_vcpus' })));
const raw = lib.encodeDmop({ op: 'nr_vcpus' });
out.rawRc = h.dmopRaw(9, raw);
out.rawVcpus = raw[0][8] | (raw[0][9] << 8);
const two = lib.encodeDmop({ op: 'nr_vcpus' });
out.rawTwo = h.dmopRaw(4, [two[0], new Uint8Array(3)]);
out.rawTwoVcpus = two[0][8];
out.rawNone = code(() => h.dmopRaw(4, []));
// Arrays dressed as { addr, size } pairs, or not of this realm: sent as the
// buffers they are (never as pointers), written back in place.
const dressed = lib.encodeDmop({ op: 'nr_vcpus' })[0];
Object.setPrototypeOf(dressed, null);
dressed.addr = 0x1000n;
dressed.size = 16n;
out.dressed = [code(() => h.dmopRaw(11, [dressed])), dressed[8]];
const dressedTwo = lib.encodeDmop({ op: 'nr_vcpus' })[0];
Object.setPrototypeOf(dressedTwo, null);
dressedTwo.addr = 0x1000n;
dressedTwo.size = 16n;
out.dressedList = [code(() => h.dmopRaw(12, [dressedTwo, new Uint8Array(3)])), dressedTwo[8]];
const foreign = require('vm').runInNewContext('new Uint8Array(32)');
foreign.set(lib.encodeDmop({ op: 'nr_vcpus' })[0]);
out.foreign = [code(() => h.dmopRaw(13, [foreign])), foreign[8]];
h.close();
out.closed = [code(() => h.dmop(1, { op: 'nr_vcpus' })), code(() => h.dmopRaw(1, raw))];
const f = lib.open({ filter: lib.createFilter({ role: 'device-model', target: 5 }) });
out.filtered = [f.dmop(5, { op: 'nr_vcpus' }).vcpus, code(() => f.dmop(6, { op: 'nr_vcpus' }))];
const fr = lib.encodeDmop({ op: 'nr_vcpus' });
out.filteredRaw = [f.dmopRaw(5, fr), fr[0][8], code(() => f.dmopRaw(6, lib.encodeDmop({ op: 'nr_vcpus' })))];
const fd = lib.encodeDmop({ op: 'nr_vcpus' })[0];
Object.setPrototypeOf(fd, null);
fd.addr = 0x1000n;
fd.size = 16n;
const fl = lib.encodeDmop({ op: 'nr_vcpus' })[0];
Object.defineProperty(fl, 'length', { value: 1e9 });
out.filteredDressed = [code(() => f.dmopRaw(5, [fd])), fd[8], code(() => f.dmopRaw(5, [fl])), fl[8]];
f.close();
console.log(JSON.stringify(out));
`;

(why === null ? describe : describe.skip)('the device backend over a fake /dev/xen/privcmd', () => {
  let result: Record<string, unknown>;

  beforeAll(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-privcmd-'));
    const so = path.join(dir, 'fake-privcmd.so');
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-D__XEN_TOOLS__', '-shared', '-fPIC', '-o', so,
      path.join(root, 'scripts', 'bench', 'fake-privcmd.c'), '-ldl'], { stdio: ['ignore', 'ignore', 'inherit'] });
    // Keep a preloaded runtime (test:asan preloads ASan) ahead of the fake.
    const preload = [process.env.LD_PRELOAD, so].filter(Boolean).join(' ');
    const r = spawnSync(process.execPath, ['-e', CHILD], { env: { ...process.env, LD_PRELOAD: preload }, encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    if (r.status !== 0) throw new Error(`the child failed (${r.status}): ${r.stderr}`);
    result = JSON.parse(r.stdout) as Record<string, unknown>;
  });

  test('a typed DMOP reaches the ioctl with its domain and decodes what came back', () => {
    expect(result.kind).toBe('device');
    expect(result.typed).toEqual([2, 8, 65536]);
    expect(result.other).toEqual({ id: 0 });
  });

  test('a domid that is not a domid_t is EINVAL before anything is sent', () => {
    expect(result.badDomid).toEqual(['EINVAL', 'EINVAL', 'EINVAL', 'EINVAL']);
  });

  test('dmopRaw writes back into the caller\'s buffers, with one buffer or several', () => {
    expect(result.rawRc).toBe(0);
    expect(result.rawVcpus).toBe(10);
    expect(result.rawTwo).toBe(0);
    expect(result.rawTwoVcpus).toBe(5);
    expect(result.rawNone).toBe('EFAULT');
  });

  test('a Uint8Array dressed as an { addr, size } pair, or of another realm, goes out as the buffer it is', () => {
    expect(result.dressed).toEqual(['ok', 12]);
    expect(result.dressedList).toEqual(['ok', 13]);
    expect(result.foreign).toEqual(['ok', 14]);
    // With a filter: buffer 0 is snapshotted by its intrinsic length and decided on.
    expect(result.filteredDressed).toEqual(['ok', 6, 'ok', 6]);
  });

  test('a closed handle is EBADF on both paths', () => {
    expect(result.closed).toEqual(['EBADF', 'EBADF']);
  });

  test('a filtered handle decides on what it sends, typed and raw', () => {
    expect(result.filtered).toEqual([6, 'EPERM']);
    expect(result.filteredRaw).toEqual([0, 6, 'EPERM']);
  });
});

// A small jest-compatible runner for the contract suite where jest itself is
// too heavy (the dom0 of the real-host VM): describe/test/hooks/skip, with
// jest's own `expect` package for the assertions. It prints one line per case
// (`CASE PASS|FAIL|SKIP <name>`) and a final `RESULT` line, which the
// real-host harness parses. Usage: node runner.js <env module> [filter]
import { expect } from 'expect';

type Fn = () => unknown | Promise<unknown>;
interface Suite {
  name: string;
  parent: Suite | null;
  skip: boolean;
  children: (Suite | Case)[];
  beforeAll: Fn[];
  afterAll: Fn[];
  beforeEach: Fn[];
  afterEach: Fn[];
}
interface Case {
  name: string;
  fn: Fn;
  skip: boolean;
}

const root: Suite = { name: '', parent: null, skip: false, children: [], beforeAll: [], afterAll: [], beforeEach: [], afterEach: [] };
let current = root;

function describe(name: string, body: () => void, skip = false): void {
  const s: Suite = { name, parent: current, skip: skip || current.skip, children: [], beforeAll: [], afterAll: [], beforeEach: [], afterEach: [] };
  current.children.push(s);
  const saved = current;
  current = s;
  try {
    body();
  } finally {
    current = saved;
  }
}
describe.skip = (name: string, body: () => void) => describe(name, body, true);

function test(name: string, fn: Fn): void {
  current.children.push({ name, fn, skip: current.skip });
}
test.skip = (name: string, fn: Fn) => current.children.push({ name, fn, skip: true });

const g = globalThis as Record<string, unknown>;
Object.assign(g, {
  describe, test, it: test, expect,
  beforeAll: (fn: Fn) => current.beforeAll.push(fn),
  afterAll: (fn: Fn) => current.afterAll.push(fn),
  beforeEach: (fn: Fn) => current.beforeEach.push(fn),
  afterEach: (fn: Fn) => current.afterEach.push(fn),
});

const counts = { pass: 0, fail: 0, skip: 0 };

function chain(s: Suite | null): Suite[] {
  const out: Suite[] = [];
  for (let x = s; x; x = x.parent) out.unshift(x);
  return out;
}

async function runSuite(s: Suite, filter: string, prefix: string): Promise<void> {
  const title = s.name ? `${prefix}${s.name} › ` : prefix;
  const active = !s.skip;
  let setupError: unknown = null;
  if (active) {
    for (const f of s.beforeAll) {
      try { await f(); } catch (e) { setupError = e; break; }
    }
  }
  for (const c of s.children) {
    if ('children' in c) {
      await runSuite(c, filter, title);
      continue;
    }
    const name = `${title}${c.name}`;
    if (filter && !name.includes(filter)) continue;
    if (c.skip || !active) {
      counts.skip++;
      console.log(`CASE SKIP ${name}`);
      continue;
    }
    let error: unknown = setupError;
    if (!error) {
      const suites = chain(s);
      try {
        for (const x of suites) for (const f of x.beforeEach) await f();
        await c.fn();
      } catch (e) {
        error = e;
      }
      for (const x of suites.reverse()) {
        for (const f of x.afterEach) {
          try { await f(); } catch (e) { error ??= e; }
        }
      }
    }
    if (error) {
      counts.fail++;
      const msg = String((error as Error)?.message ?? error).split('\n').filter((l) => l.trim()).slice(0, 8).join(' | ');
      console.log(`CASE FAIL ${name} :: ${msg}`);
    } else {
      counts.pass++;
      console.log(`CASE PASS ${name}`);
    }
  }
  if (active) {
    for (const f of s.afterAll) {
      try { await f(); } catch (e) { console.log(`HOOK FAIL afterAll ${title}: ${String(e)}`); counts.fail++; }
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  const [envModule, filter = ''] = argv;
  if (!envModule) {
    console.error('usage: runner <env module> [filter]');
    return 2;
  }
  // The env module defines the suites (it calls privcmdContract(...)).
  require(envModule);
  await runSuite(root, filter, '');
  console.log(`RESULT pass=${counts.pass} fail=${counts.fail} skip=${counts.skip}`);
  return counts.fail === 0 && counts.pass > 0 ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => { console.error(e); process.exitCode = 1; });
}

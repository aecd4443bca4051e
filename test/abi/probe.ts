// The header tests' probe: compile a generated C program against Xen's
// headers (libxen-dev) with the system compiler, run it, and read back the
// `key=value` lines it prints. And the rule for when those suites run:
// without the headers they are skipped with the reason printed, except under
// CI (PRIVCMD_SHIM_REQUIRE_XEN_HEADERS=1, set by .ci/run), where their
// absence fails.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Compile and run `program` (C, gnu11, -Wall -Werror, -D__XEN_TOOLS__ as Xen's tools build). */
export function compileProbe(program: string, extraFlags: readonly string[] = []): Map<string, bigint> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'privcmd-abi-'));
  try {
    fs.writeFileSync(path.join(dir, 'probe.c'), program);
    execFileSync(process.env.CC ?? 'cc', ['-std=gnu11', '-Wall', '-Werror', '-D__XEN_TOOLS__', ...extraFlags, '-o', path.join(dir, 'probe'), path.join(dir, 'probe.c')], { stdio: 'pipe' });
    const out = execFileSync(path.join(dir, 'probe'), { encoding: 'utf8' });
    return new Map(out.trim().split('\n').map((l) => {
      const [k, v] = l.split('=');
      return [k as string, BigInt(v as string)];
    }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * describe() when `headers` all exist or CI requires them, else a skipped
 * suite with the reason printed once. `facts()` inside it is the probe's
 * output (compiled in beforeAll), read by key.
 */
export function describeWithHeaders(title: string, headers: readonly string[], program: () => string, extraFlags: () => readonly string[],
  fn: (fact: (key: string) => number, has: (key: string) => boolean) => void): void {
  const have = headers.every((h) => fs.existsSync(h));
  const required = process.env.PRIVCMD_SHIM_REQUIRE_XEN_HEADERS === '1';
  if (!have && !required) {
    console.warn(`${title}: skipped because Xen headers are missing (apt-get install libxen-dev); .ci/run installs them and requires this suite`);
  }
  (have || required ? describe : describe.skip)(title, () => {
    let facts = new Map<string, bigint>();
    beforeAll(() => {
      if (!have) throw new Error(`Xen headers missing (${headers.join(', ')}): install libxen-dev`);
      facts = compileProbe(program(), extraFlags());
    });
    const fact = (k: string): number => {
      const v = facts.get(k);
      if (v === undefined) throw new Error(`probe printed no value for ${k}`);
      return Number(v);
    };
    fn(fact, (k) => facts.has(k));
  });
}

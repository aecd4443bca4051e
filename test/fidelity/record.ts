// The recorder: run every fidelity case on the real /dev/xen/privcmd in dom0
// of the real-host VM, and print the observations, gzipped and base64, between
// FIDELITY BEGIN / FIDELITY END markers on the console (the serial log is
// the only way out of the VM). Lines are numbered and the blob carries its
// sha256, so a line lost or mangled on the console is noticed on the host.
// Domains come from the xenctl helper, made in batches to keep the VM run short.
import { execFileSync } from 'child_process';
import * as os from 'os';
import { open } from '../../lib/privcmd';
import { casesHash, generateCases, PAGES, VCPUS } from './cases';
import { runCase, type FidelityEnv, type Observation } from './execute';
import { blobLines, type Fixture } from './compare';

const XENCTL = process.env.XENCTL ?? 'xenctl';
const BATCH = 32;

const xenctl = (...args: string[]): string => execFileSync(XENCTL, args, { encoding: 'utf8' }).trim();

function main(): void {
  const started = Date.now();
  const cases = generateCases();
  const h = open({ testOnlyRawPointers: true });
  const pools: Record<'hvm' | 'logdirty', number[]> = { hvm: [], logdirty: [] };
  const need = { hvm: cases.filter((c) => c.target === 'hvm').length, logdirty: cases.filter((c) => c.target === 'logdirty').length };
  let dead: number[] = [];
  const pv = Number(xenctl('pv'));
  const hr = open();
  hr.restrict(pv);
  const env: FidelityEnv = {
    h, hr, pv, self: 0,
    fresh: (kind) => {
      const pool = pools[kind];
      if (pool.length === 0) {
        const n = Math.max(1, Math.min(BATCH, need[kind]));
        const ids = xenctl('hvm', String(VCPUS), String(PAGES), String(n)).split(/\s+/).map(Number);
        if (kind === 'logdirty') xenctl('logdirty', ...ids.map(String));
        pool.push(...ids);
      }
      need[kind]--;
      return pool.shift() as number;
    },
    release: (domid) => {
      dead.push(domid);
      if (dead.length >= BATCH) {
        xenctl('destroy', ...dead.map(String));
        dead = [];
      }
    },
  };
  const results: Record<string, Observation> = {};
  // The hypercall cases' share of the VM time, apart (they need few domains).
  let hypercallMs = 0;
  for (const c of cases) {
    const t = Date.now();
    results[c.id] = runCase(env, c);
    if (c.calls) hypercallMs += Date.now() - t;
  }
  const leftover = [...dead, ...pools.hvm, ...pools.logdirty, pv];
  xenctl('destroy', ...leftover.map(String));
  const v = h.hypercall('xen_version', [0n, 0n]);
  const extra = h.hypercallBuffer(16);
  h.hypercall('xen_version', [1n, extra.addr]);
  const xen = `${Number(v >> 16n)}.${Number(v & 0xffffn)}${extra.view.toString('latin1').replace(/\0.*$/s, '')}`;
  h.close();
  hr.close();
  const fixture: Fixture = { xen, kernel: os.release(), generator: casesHash(cases), cases: cases.length, results };
  for (const l of blobLines(fixture)) console.log(l);
  const hc = cases.filter((c) => c.calls).length;
  console.log(`FIDELITY TIME ${cases.length} cases in ${((Date.now() - started) / 1000).toFixed(1)} s (${hc} hypercall cases: ${(hypercallMs / 1000).toFixed(1)} s)`);
}

main();

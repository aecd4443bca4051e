// restrictAll and worker threads, on the real device, run by the real-host
// harness in dom0 in a process of its own (it restricts its process). Each
// worker loads its own module instance, so restrictAll in the main thread
// cannot reach a handle a worker opened: it must say so (EBUSY), never claim
// success; and every later open, in any thread, must start restricted (the
// addon's process-wide state, native/core/process_handles.h).
// Prints `CASE PASS|FAIL workers › <name>` lines and a `WORKERS` result.
import { execFileSync } from 'child_process';
import { Worker } from 'worker_threads';
import { restrictAll, verifyRestricted } from '../../lib/deprivilege/restrict-all';
import { open } from '../../lib/privcmd';
import { openEventChannels } from '../../lib/evtchn';
import { code } from '../support/code';
import { caseReport } from './case-report';

const { counts, check, exitCode } = caseReport('workers');

/** A worker that opens handles on request and answers what they can do. */
const WORKER = `
const { parentPort } = require('worker_threads');
const { open } = require(${JSON.stringify(require.resolve('../../lib/privcmd'))});
const { openEventChannels } = require(${JSON.stringify(require.resolve('../../lib/evtchn'))});
const code = (f) => { try { f(); return 'ok'; } catch (e) { return String(e.code ?? e); } };
const held = [];
parentPort.on('message', (m) => {
  if (m.cmd === 'open') { held.push(open()); parentPort.postMessage({}); return; }
  if (m.cmd === 'probe') {
    const h = open();
    const ev = openEventChannels();
    const r = { privcmd: h.restrictedTo, evtchn: ev.restrictedTo, other: code(() => h.dmop(m.other, { op: 'nr_vcpus' })),
      hypercall: code(() => h.hypercall('xen_version', [0])), unbound: code(() => ev.bindUnboundPort(0)) };
    h.close(); ev.close();
    parentPort.postMessage(r);
    return;
  }
  if (m.cmd === 'close') { for (const h of held.splice(0)) h.close(); parentPort.postMessage({}); }
});
`;

function ask(w: Worker, msg: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.postMessage(msg);
  });
}

async function main(): Promise<number> {
  const xenctl = process.env.XENCTL ?? 'xenctl';
  const g = Number(execFileSync(xenctl, ['hvm', '1', '256'], { encoding: 'utf8' }).trim());
  const g2 = Number(execFileSync(xenctl, ['hvm', '1', '256'], { encoding: 'utf8' }).trim());
  const w = new Worker(WORKER, { eval: true });
  try {
    await ask(w, { cmd: 'open' });
    const mine = open();
    const err = code(() => restrictAll(g));
    check('restrictAll refuses to claim a handle another worker holds (EBUSY)', err === 'EBUSY', err);
    check('it still restricted what it could reach', mine.restrictedTo === g && code(() => mine.dmop(g2, { op: 'nr_vcpus' })) === 'EPERM', mine.restrictedTo);
    const v = code(() => verifyRestricted());
    check('verifyRestricted fails while the worker\'s handle is unrestricted', v === 'ERR_PRIVCMD_NOT_RESTRICTED', v);
    const r = await ask(w, { cmd: 'probe', other: g2 });
    check('a later open in the worker starts restricted, privcmd and evtchn', r.privcmd === g && r.evtchn === g, r);
    check('and the kernel refuses it another domain, raw hypercalls and unbound ports',
      r.other === 'EPERM' && r.hypercall === 'EPERM' && r.unbound === 'EACCES', r);
    await ask(w, { cmd: 'close' });
    const again = code(() => restrictAll(g));
    check('once the worker closed its handle, restrictAll succeeds', again === 'ok', again);
    const ev = openEventChannels();
    check('a later open in the main thread starts restricted too', ev.restrictedTo === g && code(() => ev.bindUnboundPort(0)) === 'EACCES', ev.restrictedTo);
    const report = code(() => verifyRestricted());
    check('verifyRestricted passes', report === 'ok', report);
    ev.close();
    mine.close();
  } catch (e) {
    check('unexpected error', false, String((e as Error).stack ?? e));
  } finally {
    await w.terminate();
    try { execFileSync(xenctl, ['destroy', String(g), String(g2)]); } catch { /* best effort */ }
  }
  console.log(`WORKERS pass=${counts.pass} fail=${counts.fail}`);
  return exitCode();
}

main().then((rc) => { process.exitCode = rc; }, (e) => { console.error(e); process.exitCode = 1; });

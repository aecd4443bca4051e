// A running HVM guest served by a restricted Node device model, on the real
// Xen in the VM (run by the real-host harness in dom0, as root, after the C
// device model's run of the same guest program: scripts/real-host/guest-dm.c).
//
//   node guest.device.js <message> <iterations>
//
// The parent creates the guest (xenctl guest: paused, the UART program of
// scripts/real-host/guest-program.h loaded) and a second guest that runs
// unserved, gives that one an unbound port for dom0, and launches this same
// file as the device model with launchDeviceModel (uid 20000 + domid, privcmd
// at fd 3, evtchn at fd 4). The child restricts and verifies itself, creates
// the ioreq server, claims the UART and the done port, says READY; the parent
// unpauses the guest (the child cannot); the child serves until the done
// write, then fails to reach the second guest every way the issue lists. The
// parent checks that root's own handles reach that guest the same ways, so
// each refusal is the restriction and not a bad argument.
//
// Prints `CASE PASS|FAIL guest-node › <name>` per check, the child's
// `GUEST-NODE ok "<message>" N round trips in T s` and `BENCH guest-node R
// round trips/s`, and a final `GUEST-NODE RESULT pass=N fail=M`.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { performance } from 'perf_hooks';
import { createInterface } from 'readline';
import { launchDeviceModel, openInheritedHandles, ENV_FD, ENV_EVTCHN_FD } from '../../lib/deprivilege/launcher';
import { restrictAll, verifyRestricted } from '../../lib/deprivilege/restrict-all';
import { createIoreqServer } from '../../lib/ioreq/server';
import type { IoDevice } from '../../lib/ioreq/claims';
import { Uart16550 } from '../../lib/devices/uart16550';
import { open, PRIVCMD_DEVICE } from '../../lib/privcmd';
import { openEventChannels, EVTCHN_DEVICE } from '../../lib/evtchn';
import { caseReport, errCode } from './case-report';

const BASE_UID = 20000;
// scripts/real-host/guest-program.h
const UART_BASE = 0x3f8;
const UART_SCR = 7;
const DONE_PORT = 0x500;
const GUEST_CODE_GFN = 1;
/** Longer than any run: the guest needs a few seconds even in TCG. */
const SERVE_TIMEOUT_MS = 90_000;
const ENV_OTHER = 'GUEST_NODE_OTHER';
/** Set (by REAL_HOST_GUEST_PROFILE=1): run the device model under --cpu-prof and print where its time went. */
const ENV_PROFILE = 'GUEST_NODE_PROFILE';
const PROFILE_DIR = '/tmp/guest-node-prof';
/** Node options for the device model only (REAL_HOST_GUEST_NODE_FLAGS), space-separated: to measure V8 flags. */
const ENV_FLAGS = 'GUEST_NODE_FLAGS';
const ENV_OTHER_PORT = 'GUEST_NODE_OTHER_PORT';

const { counts, check, exitCode } = caseReport('guest-node');

/** The device model, as the launcher started it. */
async function child(message: string): Promise<void> {
  const uid = process.getuid?.();
  const { privcmd, evtchn, domid } = openInheritedHandles();
  check('takes privcmd at fd 3 and evtchn at fd 4, both restricted to its domain',
    process.env[ENV_FD] === '3' && process.env[ENV_EVTCHN_FD] === '4' && privcmd.restrictedTo === domid && evtchn.restrictedTo === domid,
    { fd: process.env[ENV_FD], evtchnFd: process.env[ENV_EVTCHN_FD], p: privcmd.restrictedTo, e: evtchn.restrictedTo, domid });
  check(`runs as the per-domain uid ${BASE_UID} + ${domid}`, uid === BASE_UID + domid, uid);
  const all = restrictAll(domid);
  check('restrictAll covers both handles', all.handles === 2, all);
  let report: ReturnType<typeof verifyRestricted> | string;
  try {
    report = verifyRestricted();
  } catch (e) {
    report = String((e as Error).message);
  }
  // Not vacuous: both inherited handles were probed (none opened for the check), and the kernel refused every probe.
  const probed = typeof report === 'object' ? report.handles.map((c) => `${c.handle}:${c.opened ? 'fresh' : 'held'}:${c.ok}`).sort() : [];
  check('verifyRestricted() passes on both inherited handles', JSON.stringify(probed) === JSON.stringify(['evtchn:held:true', 'privcmd:held:true']), report);

  let served = 0;
  let scrWrites = 0;
  let tb = 0;
  let t1 = 0;
  let done = false;
  const uart = new Uart16550();
  const lines: string[] = [];
  uart.on('line', (l: string) => lines.push(l));
  // Counting wrappers: every access is one round trip (the guest does 1-byte PIO only).
  const uartDev: IoDevice = {
    read: (off, size) => {
      served++;
      return uart.read(off, size);
    },
    write: (off, size, v) => {
      served++;
      if (off === UART_SCR && scrWrites++ === 0) tb = performance.now();
      uart.write(off, size, v);
    },
  };
  const doneDev: IoDevice = {
    read: () => {
      served++;
      return 0xff;
    },
    write: () => {
      served++;
      done = true;
      t1 = performance.now();
    },
  };
  const server = createIoreqServer({ privcmd, evtchn, domid });
  let deviceErrors = 0;
  server.on('deviceError', () => { deviceErrors++; });
  server.claimPorts(UART_BASE, UART_BASE + 7, uartDev);
  server.claimPorts(DONE_PORT, DONE_PORT, doneDev);
  console.log('READY');
  const t0 = performance.now();
  const deadline = t0 + SERVE_TIMEOUT_MS;
  let serveError = 'ok';
  try {
    // The loop owns this process: waitSync() polls on this thread (as the C
    // device model does), returning at once when ports are pending; wait()
    // would hop to the thread pool and back for every event. No clock reads
    // per round trip: in the VM's PV dom0 each may be a system call.
    while (!done) {
      const fired = evtchn.waitSync(1000);
      // [] only after a second without an event: then the clock is worth reading.
      if (fired.length === 0 && performance.now() > deadline) {
        throw new Error(`no done write within ${SERVE_TIMEOUT_MS / 1000} s (${served} round trips)`);
      }
      server.handle(fired);
    }
  } catch (e) {
    serveError = String((e as Error).message ?? e);
  }
  uart.flush();
  const text = lines.join('\n');
  check('serves the guest until its done write, with no device error', serveError === 'ok' && deviceErrors === 0, { serveError, deviceErrors, served });
  check('the guest printed its message through the Node UART', text === message, { text, message });
  if (text === message && serveError === 'ok') {
    console.log(`GUEST-NODE ok "${text}" ${served} round trips in ${((t1 - t0) / 1000).toFixed(3)} s`);
    if (scrWrites > 1) console.log(`BENCH guest-node ${((scrWrites - 1) / ((t1 - tb) / 1000)).toFixed(0)} round trips/s (${scrWrites} SCR writes)`);
  } else {
    console.log(`GUEST-NODE FAIL got "${text}", expected "${message}"`);
  }
  check('server.close() disables, releases, unbinds, unmaps and destroys without error', errCode(() => server.close()) === 'ok');

  // The second guest, from this same process. The codes are Linux 6.1's
  // (drivers/xen/privcmd.c, drivers/xen/evtchn.c), given before Xen is asked.
  const other = Number(process.env[ENV_OTHER]);
  const otherPort = Number(process.env[ENV_OTHER_PORT]);
  const map = errCode(() => privcmd.mapForeign(other, [GUEST_CODE_GFN]).unmap());
  check(`a foreign map of guest ${other} is refused: EPERM (privcmd_ioctl_mmap_batch: domid != restriction)`, map === 'EPERM', map);
  const dmop = errCode(() => privcmd.dmop(other, { op: 'nr_vcpus' }));
  check(`a DMOP for guest ${other} is refused: EPERM (privcmd_ioctl_dm_op)`, dmop === 'EPERM', dmop);
  const bind = errCode(() => evtchn.bindInterdomain(other, otherPort));
  check(`binding guest ${other}'s unbound port ${otherPort} is refused: EACCES (evtchn_ioctl: restrict_domid)`, bind === 'EACCES', bind);
  const hc = errCode(() => privcmd.hypercall('xen_version', [0n, 0n]));
  check('a raw hypercall is refused: EPERM (privcmd_ioctl_hypercall on a restricted handle)', hc === 'EPERM', hc);
  // The misc devices are created root-only (mode 0600: no .mode in privcmd's
  // and evtchn's struct miscdevice), so open(2) as this uid is EACCES, through
  // the library as well as directly.
  const reopen = {
    privcmdFs: errCode(() => fs.closeSync(fs.openSync(PRIVCMD_DEVICE, 'r+'))),
    privcmdLib: errCode(() => open().close()),
    evtchnFs: errCode(() => fs.closeSync(fs.openSync(EVTCHN_DEVICE, 'r+'))),
    evtchnLib: errCode(() => openEventChannels().close()),
  };
  check(`reopening ${PRIVCMD_DEVICE} and ${EVTCHN_DEVICE} is refused: EACCES, directly and through the library`,
    Object.values(reopen).every((c) => c === 'EACCES'), reopen);
  privcmd.close();
  evtchn.close();
}

/** The functions the device model spent most samples in (self time), from its --cpu-prof output. */
function printProfile(): void {
  interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
  for (const f of fs.readdirSync(PROFILE_DIR).filter((n) => n.endsWith('.cpuprofile'))) {
    const p = JSON.parse(fs.readFileSync(`${PROFILE_DIR}/${f}`, 'utf8')) as { nodes: Node[]; samples: number[] };
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    for (const id of p.samples) {
      const cf = byId.get(id)?.callFrame;
      const key = cf === undefined ? '?' : `${cf.functionName || '(anonymous)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + 1);
    }
    for (const [k, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`PROFILE ${(100 * n / p.samples.length).toFixed(1)}% ${k}`);
  }
}

function xenctl(...args: string[]): string {
  return execFileSync(process.env.XENCTL ?? 'xenctl', args, { encoding: 'utf8' }).trim();
}

async function parent(message: string, iterations: string): Promise<number> {
  const domains: string[] = [];
  try {
    const guest = Number(xenctl('guest', message, iterations));
    domains.push(String(guest));
    // The second guest runs the same program unserved (Xen's null handler
    // answers its I/O) and halts; it stays a live, unpaused domain.
    const other = Number(xenctl('guest', 'nobody serves this one', '0'));
    domains.push(String(other));
    const otherPort = Number(xenctl('unbound', String(other), '0'));
    xenctl('unpause', String(other));

    const profile = process.env[ENV_PROFILE] === '1';
    if (profile) {
      fs.mkdirSync(PROFILE_DIR, { recursive: true });
      fs.chmodSync(PROFILE_DIR, 0o777); // written by the device model's uid
    }
    const flags = (process.env[ENV_FLAGS] ?? '').split(' ').filter((f) => f !== '');
    if (flags.length > 0) console.log(`GUEST-NODE flags ${flags.join(' ')}`);
    const { child: c } = launchDeviceModel({
      domid: guest, command: process.execPath, args: [...flags, ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []), __filename, message], baseUid: BASE_UID, stdio: 'pipe', evtchn: true,
      env: { ...process.env, [ENV_OTHER]: String(other), [ENV_OTHER_PORT]: String(otherPort) },
    });
    let err = '';
    c.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    let sawOk = false;
    let unpaused = 'not asked';
    const rl = createInterface({ input: c.stdout as NodeJS.ReadableStream });
    rl.on('line', (l) => {
      if (l === 'READY') {
        // Only now may the guest run: the device model is bound and verified.
        unpaused = errCode(() => xenctl('unpause', String(guest)));
        return;
      }
      console.log(l);
      if (l.startsWith('CASE ')) counts[l.startsWith('CASE PASS') ? 'pass' : 'fail']++;
      if (l === `GUEST-NODE ok "${message}"` || l.startsWith(`GUEST-NODE ok "${message}" `)) sawOk = true;
    });
    const [code] = await Promise.all([
      new Promise<number | null>((resolve) => c.on('exit', resolve)),
      new Promise((resolve) => rl.on('close', resolve)),
    ]);
    check('the device model said READY and the guest was unpaused', unpaused === 'ok', unpaused);
    if (profile) printProfile();
    check('the device model exited 0 after the guest\'s message came through', code === 0 && sawOk, { code, err: err.slice(-2000) });

    // The same calls from root's unrestricted handles reach the second guest:
    // the child's refusals were its restriction, not a bad domain or port.
    const p = open();
    const ev = openEventChannels();
    try {
      const vcpus = errCode(() => p.dmop(other, { op: 'nr_vcpus' }));
      const mapped = errCode(() => p.mapForeign(other, [GUEST_CODE_GFN]).unmap());
      const bound = errCode(() => ev.unbind(ev.bindInterdomain(other, otherPort)));
      check(`root's own handles reach guest ${other}: DMOP, foreign map and its port all work`, vcpus === 'ok' && mapped === 'ok' && bound === 'ok', { vcpus, mapped, bound });
    } finally {
      p.close();
      ev.close();
    }
  } catch (e) {
    check('unexpected error', false, String((e as Error).stack ?? e));
  } finally {
    if (domains.length > 0) {
      const destroyed = errCode(() => xenctl('destroy', ...domains));
      check('both guests destroyed', destroyed === 'ok', destroyed);
    }
  }
  console.log(`GUEST-NODE RESULT pass=${counts.pass} fail=${counts.fail}`);
  return exitCode();
}

if (require.main === module) {
  const [message = 'Hello from an HVM guest, served from dom0', iterations = '5000'] = process.argv.slice(2);
  if (process.env[ENV_FD] !== undefined) {
    child(message).then(() => {
      process.exitCode = counts.fail === 0 ? 0 : 1;
    }, (e) => {
      check('unexpected error in the device model', false, String((e as Error).stack ?? e));
      process.exitCode = 1;
    });
  } else {
    parent(message, iterations).then((rc) => { process.exitCode = rc; }, (e) => { console.error(e); process.exitCode = 1; });
  }
}

// The dm_restrict launcher on the real device, run by the real-host harness in
// dom0 (as root) after the contract suite, in a process of its own (the
// suite's last cases restrict the runner process). The parent launches this
// same file as the device model: as uid 10000 + domid it takes the privcmd
// handle at fd 3 and the event-channel handle at fd 4, and reports what it can
// and cannot do; the parent checks the report.
// Prints `CASE PASS|FAIL launcher › <name>` lines and a `LAUNCHER` result.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { launchDeviceModel, openInheritedHandles, ENV_FD, ENV_EVTCHN_FD } from '../../lib/deprivilege/launcher';
import { EVTCHN_DEVICE } from '../../lib/evtchn';
import { verifyRestricted } from '../../lib/deprivilege/restrict-all';
import { open, PRIVCMD_DEVICE } from '../../lib/privcmd';
import { caseReport, errCode } from './case-report';

const BASE_UID = 10000;

/** The device model's side: what the inherited handle and the new uid allow. */
function child(): void {
  const domid = Number(process.env.PRIVCMD_SHIM_DOMID);
  const { privcmd: h, evtchn } = openInheritedHandles();
  const probe = h.probeRestriction();
  const evProbe = evtchn.probeRestriction();
  const report = {
    uid: process.getuid?.(),
    gid: process.getgid?.(),
    groups: process.getgroups?.(),
    fd: process.env[ENV_FD],
    evtchnFd: process.env[ENV_EVTCHN_FD],
    restrictedTo: h.restrictedTo,
    evtchnRestrictedTo: evtchn.restrictedTo,
    evtchnProbe: evProbe,
    // The handle holds a close-on-exec duplicate; the inherited fd 4 is
    // closed (the number may be reused since, but not for the device).
    fd4: errCode(() => { if (fs.readlinkSync('/proc/self/fd/4') === EVTCHN_DEVICE) throw Object.assign(new Error('open'), { code: 'STILL OPEN' }); }),
    reopenEvtchn: errCode(() => fs.closeSync(fs.openSync(EVTCHN_DEVICE, 'r+'))),
    nrVcpus: errCode(() => h.dmop(domid, { op: 'nr_vcpus' })) === 'ok' ? (h.dmop(domid, { op: 'nr_vcpus' }) as { vcpus: number }).vcpus : null,
    otherDomain: errCode(() => h.dmop(0, { op: 'nr_vcpus' })),
    hypercall: errCode(() => h.hypercall('xen_version', [0n, 0n])),
    probe: { hypercall: Number(probe.hypercall), dmop: probe.dmop },
    verify: errCode(() => verifyRestricted()),
    reopenFs: errCode(() => fs.closeSync(fs.openSync(PRIVCMD_DEVICE, 'r+'))),
    reopenLib: errCode(() => open().close()),
  };
  console.log(`CHILD ${JSON.stringify(report)}`);
}

async function parent(): Promise<number> {
  const xenctl = process.env.XENCTL ?? 'xenctl';
  const domid = Number(execFileSync(xenctl, ['hvm', '2', '512'], { encoding: 'utf8' }).trim());
  const { counts, check, exitCode } = caseReport('launcher');
  try {
    // 1. A device open to the new uid would make the restriction moot: refused.
    const mode = fs.statSync(PRIVCMD_DEVICE).mode & 0o777;
    fs.chmodSync(PRIVCMD_DEVICE, 0o666);
    let refused: string;
    try {
      refused = errCode(() => launchDeviceModel({ domid, command: 'true', baseUid: BASE_UID }).child.kill());
    } finally {
      fs.chmodSync(PRIVCMD_DEVICE, mode);
    }
    check('a device the new uid could reopen is refused (EACCES), nothing runs', refused === 'EACCES', refused);

    // 2. The real hand-off.
    const { child: c, uid, fd, evtchnFd } = launchDeviceModel({
      domid, command: process.execPath, args: [__filename], baseUid: BASE_UID, stdio: 'pipe', evtchn: true,
    });
    let out = '';
    let err = '';
    c.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    const code = await new Promise<number | null>((resolve) => c.on('exit', resolve));
    const line = out.split('\n').find((l) => l.startsWith('CHILD '));
    check('the device model ran and reported', code === 0 && line !== undefined, { code, out, err });
    if (line === undefined) return 1;
    const r = JSON.parse(line.slice(6)) as Record<string, unknown>;
    check(`runs as uid ${uid} = ${BASE_UID} + domid with only its own group`, r.uid === uid && r.gid === uid && JSON.stringify(r.groups) === JSON.stringify([uid]), r);
    check('holds the handle at fd 3, restricted to its domain', fd === 3 && r.fd === '3' && r.restrictedTo === domid, r);
    // drivers/xen/evtchn.c: a restricted handle may not allocate an unbound port, nor bind another domain's (EACCES = -13).
    check('holds the event-channel handle at fd 4, restricted by the launcher (the kernel refuses both probes: EACCES)',
      evtchnFd === 4 && r.evtchnFd === '4' && r.evtchnRestrictedTo === domid &&
      JSON.stringify(r.evtchnProbe) === JSON.stringify({ unboundPort: -13, otherDomainBind: -13 }), r);
    check('the inherited fd 4 is closed once the handle took its duplicate', r.fd4 === 'ENOENT' || r.fd4 === 'ok', r);
    check(`cannot reopen ${EVTCHN_DEVICE} (EACCES)`, r.reopenEvtchn === 'EACCES', r);
    check('DMOPs for its domain work through the inherited handle', r.nrVcpus === 2, r);
    check('a DMOP for another domain and a raw hypercall are refused (EPERM)', r.otherDomain === 'EPERM' && r.hypercall === 'EPERM', r);
    check('the kernel itself refuses both (probe without the library)', (r.probe as { hypercall: number }).hypercall === -1 && (r.probe as { dmop: number }).dmop === -1, r);
    check('verifyRestricted() passes in the device model', r.verify === 'ok', r);
    check(`cannot reopen ${PRIVCMD_DEVICE} (EACCES), directly or through open()`, r.reopenFs === 'EACCES' && r.reopenLib === 'EACCES', r);
  } catch (e) {
    check('unexpected error', false, String((e as Error).stack ?? e));
  } finally {
    try { execFileSync(xenctl, ['destroy', String(domid)]); } catch { /* reported by the suite's cleanup if it matters */ }
  }
  console.log(`LAUNCHER pass=${counts.pass} fail=${counts.fail}`);
  return exitCode();
}

if (require.main === module) {
  if (process.env[ENV_FD] !== undefined) {
    child();
  } else {
    parent().then((rc) => { process.exitCode = rc; }, (e) => { console.error(e); process.exitCode = 1; });
  }
}

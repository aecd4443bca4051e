#!/usr/bin/env node
// privcmd-shim command line: `demo` (the default) runs a device model on a
// simulated Xen host; `selfcheck` checks the native core.
import { runDemo } from './demo';
import { runSelfCheck } from './selfcheck';
import { probe, type ProbeReport } from './probe';
import { open } from './privcmd';
import { relabelDomain } from './clients/flask';
import { launchDeviceModel, type LaunchOptions } from './deprivilege/launcher';

const USAGE = `usage: privcmd-shim [command]

commands:
  demo        a device model's life on a simulated Xen host: restrict, ioreq server,
              I/O ranges, IRQs, dirty VRAM, and what the restriction refuses (default)
  probe       what this machine's /dev/xen/privcmd offers (exits 1 where there is no Xen)
  launch --domid N [--user NAME | --base-uid U [--base-gid G]] [--chroot DIR] [--device PATH] [--kill-stale] -- CMD [ARGS...]
              run a device model deprivileged (libxl's dm_restrict): as xen-qemuuser-domid<N>
              (or U+N), optionally chrooted, holding a privcmd handle restricted to domain N
              (verified first) at fd 3 (PRIVCMD_SHIM_FD); fails loudly instead of running unprotected
  relabel --domid N --label CONTEXT [--device PATH]
              Flask relabel of a domain (e.g. one created paused under its build label) to
              CONTEXT, before it is unpaused; on a Xen without Flask says so and exits 1
  selfcheck   check the native core's address space, buffer validation and copy helpers
  help        this text
`;

function probeCommand(args: string[]): number {
  const r = probe(args.find((a) => !a.startsWith('--')));
  if (args.includes('--json')) {
    console.log(JSON.stringify(r, null, 2));
    return r.available ? 0 : 1;
  }
  if (!r.available) {
    console.log(`privcmd-shim probe: no usable ${r.device}\n  ${r.reason}`);
    return 1;
  }
  const x = r.xen && 'version' in r.xen ? `Xen ${r.xen.version}${r.xen.capabilities ? ` (${r.xen.capabilities})` : ''}` : `Xen unknown: ${(r.xen as { error: string }).error}`;
  console.log(`privcmd-shim probe: ${r.device}
  DM_OP ioctl:       ${r.dmOp ? 'yes' : 'no'}${r.restrictedByKernel ? ' (this handle starts restricted by the kernel: XSA-482 domU behaviour)' : ''}
  driver limits:     dm_op_max_nr_bufs = ${r.limits?.dmOpMaxNrBufs ?? 'unknown'}, dm_op_buf_max_size = ${r.limits?.dmOpBufMaxSize ?? 'unknown'}
  hypervisor:        ${x}
  restriction:       ${r.restrictedTo === null ? 'none (unrestricted handle)' : `domain ${r.restrictedTo}`}
  XSM:               ${flaskLine(r.flask)}`);
  return 0;
}

function flaskLine(f: ProbeReport['flask']): string {
  if (f === undefined) return 'unknown';
  if (typeof f === 'object') return `unknown: ${f.error}`;
  return f === 'absent' ? 'dummy module, no Flask (xsm_op ENOSYS: relabel-on-build is not available)' : `Flask, ${f}`;
}

function relabelCommand(argv: string[]): number {
  const o: { domid?: number; label?: string; device?: string } = {};
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--domid': o.domid = Number(v); break;
      case '--label': o.label = v; break;
      case '--device': o.device = v; break;
      default:
        process.stderr.write(`privcmd-shim relabel: unknown option '${argv[i]}'\n${USAGE}`);
        return 2;
    }
  }
  if (o.domid === undefined || o.label === undefined) {
    process.stderr.write(`privcmd-shim relabel: --domid and --label are required\n${USAGE}`);
    return 2;
  }
  try {
    const h = open(o.device !== undefined ? { device: o.device } : {});
    try {
      const { sid } = relabelDomain(h, o.domid, o.label);
      console.log(`privcmd-shim relabel: domain ${o.domid} now runs as ${o.label} (sid ${sid})`);
    } finally {
      h.close();
    }
  } catch (e) {
    process.stderr.write(`privcmd-shim relabel: ${(e as Error).message}\n`);
    return 1;
  }
  return 0;
}

async function demo(): Promise<number> {
  const { steps, summary } = await runDemo();
  console.log('privcmd-shim demo: a device model on a simulated Xen 4.17 host\n');
  steps.forEach((s, i) => console.log(`${s.ok ? ' ok ' : 'FAIL'} ${String(i + 1).padStart(2)}. ${s.what}\n        ${s.detail}`));
  const failed = steps.filter((s) => !s.ok).length;
  console.log('\nsummary:');
  for (const line of summary) console.log(`  ${line}`);
  console.log(failed === 0
    ? `  all ${steps.length} steps behaved as Xen and Linux do; the restricted handle refused what it must`
    : `  ${failed} of ${steps.length} steps FAILED`);
  return failed === 0 ? 0 : 1;
}

function selfcheck(): number {
  const { results, native } = runSelfCheck();
  console.log(`privcmd-shim self-check (native addon: ${native})`);
  for (const r of results) console.log(`${r.ok ? '  ok  ' : ' FAIL '} ${r.what}${r.ok ? '' : ` (got ${r.got})`}`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(failed === 0 ? `all ${results.length} checks passed` : `${failed} of ${results.length} checks FAILED`);
  return failed === 0 ? 0 : 1;
}

function launchCommand(argv: string[]): number | Promise<number> {
  const dash = argv.indexOf('--');
  const flags = dash < 0 ? argv : argv.slice(0, dash);
  const cmd = dash < 0 ? [] : argv.slice(dash + 1);
  const o: Partial<LaunchOptions> & { args: string[] } = { args: cmd.slice(1) };
  for (let i = 0; i < flags.length; i += 2) {
    if (flags[i] === '--kill-stale') {
      o.killStale = true;
      i -= 1; // a flag without a value
      continue;
    }
    const v = flags[i + 1];
    const num = Number(v);
    switch (flags[i]) {
      case '--domid': o.domid = num; break;
      case '--user': o.user = v; break;
      case '--base-uid': o.baseUid = num; break;
      case '--base-gid': o.baseGid = num; break;
      case '--chroot': o.chroot = v; break;
      case '--device': o.device = v; break;
      default:
        process.stderr.write(`privcmd-shim launch: unknown option '${flags[i]}'\n${USAGE}`);
        return 2;
    }
  }
  if (o.domid === undefined || cmd.length === 0) {
    process.stderr.write(`privcmd-shim launch: --domid and a command after -- are required\n${USAGE}`);
    return 2;
  }
  let launched;
  try {
    launched = launchDeviceModel({ ...o, command: cmd[0] as string } as LaunchOptions);
  } catch (e) {
    process.stderr.write(`privcmd-shim launch: ${(e as Error).message}\n`);
    return 1;
  }
  const { child, uid, gid, fd } = launched;
  process.stderr.write(`privcmd-shim launch: ${cmd[0]} as uid ${uid} gid ${gid}${o.chroot ? ` in ${o.chroot}` : ''}, privcmd restricted to domain ${o.domid} (verified) at fd ${fd}\n`);
  return new Promise((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`privcmd-shim launch: ${e.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export function main(argv: string[]): number | Promise<number> {
  const cmd = argv[0] ?? 'demo';
  switch (cmd) {
    case 'demo':
      return demo();
    case 'selfcheck':
      return selfcheck();
    case 'probe':
      return probeCommand(argv.slice(1));
    case 'launch':
      return launchCommand(argv.slice(1));
    case 'relabel':
      return relabelCommand(argv.slice(1));
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`privcmd-shim: unknown command '${cmd}'\n${USAGE}`);
      return 2;
  }
}

if (require.main === module) {
  void Promise.resolve(main(process.argv.slice(2))).then((code) => {
    process.exitCode = code;
  });
}

#!/usr/bin/env node
// privcmd-shim command line. `selfcheck` (the default for now) verifies the
// native core against the privcmd and Xen rules it implements.
import { runSelfCheck } from './selfcheck';

const USAGE = `usage: privcmd-shim [command]

commands:
  selfcheck   check the native core's address space, buffer validation and copy helpers (default)
  help        this text
`;

function selfcheck(): number {
  const { results, native } = runSelfCheck();
  console.log(`privcmd-shim self-check (native addon: ${native})`);
  for (const r of results) console.log(`${r.ok ? '  ok  ' : ' FAIL '} ${r.what}${r.ok ? '' : ` (got ${r.got})`}`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(failed === 0 ? `all ${results.length} checks passed` : `${failed} of ${results.length} checks FAILED`);
  return failed === 0 ? 0 : 1;
}

export function main(argv: string[]): number {
  const cmd = argv[0] ?? 'selfcheck';
  switch (cmd) {
    case 'selfcheck':
      return selfcheck();
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

if (require.main === module) process.exitCode = main(process.argv.slice(2));

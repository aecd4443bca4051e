// The DMOP side tables are keyed by the DMOP table's names (lib/abi/dmops.ts),
// so that forgetting an op in one of them does not compile. This checks that
// claim: each table, with one op's entry removed, must fail to type-check.
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '../..');
const TABLES: readonly (readonly [string, RegExp])[] = [
  ['lib/dmop/ops.ts', /^ {2}nr_vcpus: \{\},\n/m],
  ['lib/sim/dmops/index.ts', /^ {2}nr_vcpus: events\.nrVcpus,\n/m],
  ['lib/dmop/types.ts', /^ {2}nr_vcpus: Record<never, never>;\n/m],
];

/** Type-check `file` (and what it imports), with its text replaced by `text` if given. */
function diagnostics(file: string, text: string | null): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const host = ts.createCompilerHost(config.options);
  const read = host.readFile.bind(host);
  const abs = path.join(ROOT, file);
  host.readFile = (f) => (text !== null && path.resolve(f) === abs ? text : read(f));
  const program = ts.createProgram([abs, path.join(ROOT, 'lib/types/node-gyp-build.d.ts')], { ...config.options, noEmit: true }, host);
  return ts.getPreEmitDiagnostics(program).map((d) => `${d.file ? path.relative(ROOT, d.file.fileName) : '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
}

describe('the DMOP tables are kept in step by the compiler', () => {
  test.each(TABLES.map(([f, re]) => [f, re] as const))('%s compiles, and without nr_vcpus it does not', (file, entry) => {
    expect(diagnostics(file, null)).toEqual([]);
    const text = ts.sys.readFile(path.join(ROOT, file))!;
    expect(text).toMatch(entry);
    const errors = diagnostics(file, text.replace(entry, ''));
    expect(errors.filter((e) => e.startsWith(`${file}:`))).not.toEqual([]);
  }, 120_000);
});

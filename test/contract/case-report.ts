// What the real-host programs in dom0 share (launcher.device.ts,
// workers.device.ts, guest.device.ts): a check prints one
// `CASE PASS|FAIL <area> › <name>` line (the host greps them out of the
// serial log) and is counted; errCode names how a call ended.

/** 'ok', or the error's code (the error itself when it has none). */
export function errCode(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return String((e as { code?: unknown }).code ?? e);
  }
}

export interface CaseReport {
  readonly counts: { pass: number; fail: number };
  check(name: string, ok: boolean, detail?: unknown): void;
  /** 0 when at least one check ran and none failed, else 1. */
  exitCode(): number;
}

/** Checks printed under `area`; a failure's detail as JSON (bigints as strings). */
export function caseReport(area: string): CaseReport {
  const counts = { pass: 0, fail: 0 };
  return {
    counts,
    check(name, ok, detail) {
      counts[ok ? 'pass' : 'fail']++;
      console.log(`CASE ${ok ? 'PASS' : 'FAIL'} ${area} › ${name}${ok ? '' : ` :: ${JSON.stringify(detail, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`}`);
    },
    exitCode: () => (counts.fail === 0 && counts.pass > 0 ? 0 : 1),
  };
}

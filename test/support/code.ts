// What a call answered, for asserting on codes: 'ok', the error's `code`, or
// `uncoded <error>` when it threw something without one (itself a defect).
export function code(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? `uncoded ${String(e)}`;
  }
}

// Differences between the real Xen 4.17 host (the recorded fixture) and the
// simulated host that are accepted, each with the reason the simulator cannot
// or should not know the answer. Keep it short: anything else is a bug in
// lib/sim, or a line in docs/fidelity.md and a fix.

export interface Allowed {
  /** A case id, or a pattern over case ids. */
  readonly id: string | RegExp;
  readonly reason: string;
}

export const ALLOWED: readonly Allowed[] = [
  {
    id: 'relocate_memory/dst_gfn=9223372036854775808',
    reason: 'Xen 4.17.7 on AMD NPT accepts destination gfn 2^63 (0 and the source page vanishes from the '
      + 'gfns we can probe), while 2^36, 2^52, 2^63 - 1 and ~0 - 1 are ENOENT: a wrap in the p2m code, '
      + 'not traced; the simulator answers ENOENT for every gfn beyond the 4-level p2m rather than copy an '
      + 'address wrap it cannot explain',
  },
];

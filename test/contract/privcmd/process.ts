// restrictAll and verifyRestricted over the whole process: every handle,
// earlier and later, of both kinds. The process stays restricted afterwards,
// so these cases run in an environment of their own (a jest file of their own
// on the simulated host, last in the real-host run).
import type { Privcmd } from '../../../lib/privcmd';
import { createFilter } from '../../../lib/policy/filter';
import { restrictAll, verifyRestricted } from '../../../lib/deprivilege/restrict-all';
import { code, type ContractEnv, type ContractCapabilities, type Fixture } from './suite';

export function processCases(_caps: ContractCapabilities, f: Fixture): void {
  describe('restrictAll and verifyRestricted (the process stays restricted afterwards, so this runs last)', () => {
    let env: ContractEnv;
    let h: Privcmd;
    let g: number;
    beforeEach(() => ({ env, h, g } = f()));

    test('all handles, earlier and later, end up restricted, and verifyRestricted proves it; nothing half-done on refusal', () => {
      const g2 = env.freshGuest();
      const a = env.open();
      const b = env.open({ filter: createFilter({ role: 'dom0' }) });
      const c = env.open();
      c.restrict(g2);
      // Never restricted: verifyRestricted refuses to say otherwise.
      const ev = env.openEvtchn();
      const unrestricted = (() => { try { verifyRestricted(env.process); return null; } catch (e) { return e as { code?: string; report?: { handles: { ok: boolean; probes: Record<string, string> }[] } }; } })();
      expect(unrestricted?.code).toBe('ERR_PRIVCMD_NOT_RESTRICTED');
      expect(unrestricted?.report?.handles.some((x) => !x.ok && x.probes.hypercall === 'ok')).toBe(true);
      expect(unrestricted?.report?.handles.some((x) => !x.ok && x.probes.unboundPort === 'ok')).toBe(true);
      // A handle bound to another domain: EINVAL, and nothing changes.
      expect(code(() => restrictAll(g, env.process))).toBe('EINVAL');
      expect(a.restrictedTo).toBeNull();
      expect(ev.restrictedTo).toBeNull();
      expect(a.hypercall('xen_version', [0])).toBeGreaterThan(0n);
      c.close();
      expect(restrictAll(g, env.process).domid).toBe(g);
      expect(restrictAll(g, env.process).domid).toBe(g); // again: fine
      expect(code(() => restrictAll(g2, env.process))).toBe('EINVAL');
      for (const x of [a, b, h]) {
        expect(x.restrictedTo).toBe(g);
        expect(code(() => x.hypercall('xen_version', [0]))).toBe('EPERM');
        expect(x.dmop(g, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus);
      }
      // The event-channel handle too, with evtchn's rules.
      expect(ev.restrictedTo).toBe(g);
      expect(code(() => ev.bindUnboundPort(0))).toBe('EACCES');
      expect(code(() => ev.bindInterdomain(g2, 1))).toBe('EACCES');
      // A later open() cannot escape, of either kind.
      const d = env.open();
      expect(d.restrictedTo).toBe(g);
      expect(code(() => d.dmop(g2, { op: 'nr_vcpus' }))).toBe('EPERM');
      expect(code(() => d.restrict(g2))).toBe('EINVAL');
      const ev2 = env.openEvtchn();
      expect(ev2.restrictedTo).toBe(g);
      expect(code(() => ev2.bindUnboundPort(0))).toBe('EACCES');
      const report = verifyRestricted(env.process);
      expect(report.domid).toBe(g);
      expect(report.handles.filter((x) => x.handle === 'privcmd').length).toBeGreaterThanOrEqual(4);
      expect(report.handles.filter((x) => x.handle === 'evtchn').length).toBe(2);
      for (const x of report.handles) expect(x).toMatchObject({ restrictedTo: g, opened: false, ok: true });
      for (const x of report.handles) expect(Object.values(x.probes).every((v) => v === 'EPERM' || v === 'EACCES')).toBe(true);
      for (const x of [a, b, d, ev, ev2]) x.close();
    });
  });
}

// xsm_default_action with and without the XSM_HW_PRIV split, and the roles
// as XSM subjects.
import { XSM, xsmActionName, xsmDefaultAction, type HwPrivVariant, type XsmAction, type XsmSubject } from '../../lib/policy/xsm';
import { ROLES, describeRole, roleLabel, roleSubject } from '../../lib/policy/roles';

const code = (fn: () => unknown): string => {
  try { fn(); return 'ok'; } catch (e) { return (e as { code?: string }).code ?? String(e); }
};

const subj = (domid: number, flags: Partial<XsmSubject> = {}): XsmSubject =>
  ({ domid, isControl: false, isHardware: false, isXenstore: false, target: null, ...flags });

const control = subj(0, { isControl: true });
const hardware = subj(1, { isHardware: true });
const dom0 = subj(0, { isControl: true, isHardware: true });
const xenstore = subj(2, { isXenstore: true });
const guest = subj(5);
const other = subj(6);
const dm = subj(7, { target: 5 });

const ACTIONS: XsmAction[] = [XSM.HOOK, XSM.DM_PRIV, XSM.TARGET, XSM.PRIV, XSM.HW_PRIV, XSM.XS_PRIV];

/** allowed(action) over [src, target] pairs, as a compact table. */
function table(variant: HwPrivVariant, src: XsmSubject, target: XsmSubject | null): string {
  return ACTIONS.map((a) => `${xsmActionName(a).slice(4)}:${xsmDefaultAction(a, src, target, variant) === 0 ? 'y' : 'n'}`).join(' ');
}

describe('xsm_default_action: the fallthrough chain', () => {
  test('Xen 4.17 (variant none): HW_PRIV is PRIV; a hardware-only domain gets nothing privileged', () => {
    expect(table('none', control, guest)).toBe('HOOK:y DM_PRIV:y TARGET:y PRIV:y HW_PRIV:y XS_PRIV:y');
    expect(table('none', hardware, guest)).toBe('HOOK:y DM_PRIV:n TARGET:n PRIV:n HW_PRIV:n XS_PRIV:n');
    expect(table('none', xenstore, guest)).toBe('HOOK:y DM_PRIV:n TARGET:n PRIV:n HW_PRIV:n XS_PRIV:y');
    expect(table('none', dm, guest)).toBe('HOOK:y DM_PRIV:y TARGET:y PRIV:n HW_PRIV:n XS_PRIV:y');
    expect(table('none', dm, other)).toBe('HOOK:y DM_PRIV:n TARGET:n PRIV:n HW_PRIV:n XS_PRIV:n');
    expect(table('none', guest, guest)).toBe('HOOK:y DM_PRIV:n TARGET:y PRIV:n HW_PRIV:n XS_PRIV:n');
    expect(table('none', guest, other)).toBe('HOOK:y DM_PRIV:n TARGET:n PRIV:n HW_PRIV:n XS_PRIV:n');
  });

  test('exclusive split (v1): hardware gets HW_PRIV and DM_PRIV (any target); control keeps PRIV, loses HW_PRIV', () => {
    expect(table('exclusive', control, guest)).toBe('HOOK:y DM_PRIV:y TARGET:y PRIV:y HW_PRIV:n XS_PRIV:y');
    expect(table('exclusive', hardware, guest)).toBe('HOOK:y DM_PRIV:y TARGET:n PRIV:n HW_PRIV:y XS_PRIV:n');
    expect(table('exclusive', dom0, guest)).toBe('HOOK:y DM_PRIV:y TARGET:y PRIV:y HW_PRIV:y XS_PRIV:y');
    // Only the action asked for counts: TARGET and XS_PRIV falling through to the end do not give the hardware domain anything.
    expect(xsmDefaultAction(XSM.HW_PRIV, hardware, null, 'exclusive')).toBe(0);
    expect(xsmDefaultAction(XSM.HW_PRIV, control, null, 'exclusive')).toBe(-1);
  });

  test('non-exclusive split (2025-06): hardware gets HW_PRIV, control keeps it', () => {
    expect(table('non-exclusive', control, guest)).toBe('HOOK:y DM_PRIV:y TARGET:y PRIV:y HW_PRIV:y XS_PRIV:y');
    expect(table('non-exclusive', hardware, guest)).toBe('HOOK:y DM_PRIV:y TARGET:n PRIV:n HW_PRIV:y XS_PRIV:n');
  });

  test('the split changes nothing for the other roles', () => {
    for (const v of ['exclusive', 'non-exclusive'] as const) {
      for (const [s, t] of [[xenstore, guest], [dm, guest], [dm, other], [guest, guest], [guest, other]] as const) {
        expect({ v, s: s.domid, t: t.domid, r: table(v, s, t) }).toEqual({ v, s: s.domid, t: t.domid, r: table('none', s, t) });
      }
    }
  });

  test('DM_PRIV needs a target: with none (a NULL target) only the PRIV test is left', () => {
    expect(xsmDefaultAction(XSM.DM_PRIV, dm, null)).toBe(-1);
    expect(xsmDefaultAction(XSM.DM_PRIV, control, null)).toBe(0);
    expect(xsmDefaultAction(XSM.TARGET, guest, null)).toBe(-1);
  });

  test('OTHER (a hook that did not resolve its action) and unknown actions are refused', () => {
    expect(xsmDefaultAction(XSM.OTHER, dom0, guest)).toBe(-1);
    expect(xsmDefaultAction(99 as XsmAction, dom0, guest)).toBe(-1);
    expect(xsmActionName(XSM.HW_PRIV)).toBe('XSM_HW_PRIV');
  });
});

describe('roles', () => {
  test('each role as an XSM subject', () => {
    expect(roleSubject({ role: 'dom0' }, null)).toEqual({ domid: -1, isControl: true, isHardware: true, isXenstore: false, target: null });
    expect(roleSubject({ role: 'control' }, 0)).toMatchObject({ domid: 0, isControl: true, isHardware: false });
    expect(roleSubject({ role: 'hardware' }, null)).toMatchObject({ isControl: false, isHardware: true });
    expect(roleSubject({ role: 'xenstore' }, null)).toMatchObject({ isXenstore: true, isControl: false });
    expect(roleSubject({ role: 'device-model', target: 5 }, 7)).toEqual({ domid: 7, isControl: false, isHardware: false, isXenstore: false, target: 5 });
    expect(roleSubject({ role: 'guest' }, null)).toMatchObject({ isControl: false, isHardware: false, isXenstore: false, target: null });
    for (const r of ROLES) expect(describeRole(r).length).toBeGreaterThan(10);
    expect(roleLabel({ role: 'device-model', target: 5 })).toBe('device-model(target 5)');
  });

  test('bad roles are EINVAL: unknown role, device model without a target, a target on another role, bad domids', () => {
    expect(code(() => roleSubject({ role: 'root' as never }, null))).toBe('EINVAL');
    expect(code(() => roleSubject({ role: 'device-model' }, null))).toBe('EINVAL');
    expect(code(() => roleSubject({ role: 'device-model', target: 0x7ff0 }, null))).toBe('EINVAL');
    expect(code(() => roleSubject({ role: 'control', target: 3 }, null))).toBe('EINVAL');
    expect(code(() => roleSubject({ role: 'guest' }, -1))).toBe('EINVAL');
    expect(code(() => roleSubject(null as never, null))).toBe('EINVAL');
  });
});

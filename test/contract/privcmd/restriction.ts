// IOCTL_PRIVCMD_RESTRICT: one domain per handle, checked before anything else
// (drivers/xen/privcmd.c in Linux 6.1).
import type { Privcmd } from '../../../lib/privcmd';
import { code, type ContractEnv, type ContractCapabilities, type Fixture } from './suite';

export function restrictionCases(_caps: ContractCapabilities, f: Fixture): void {
  describe('restriction', () => {
    let env: ContractEnv;
    let h: Privcmd;
    let g: number;
    beforeEach(() => ({ env, h, g } = f()));

    test('restricting to the same domain twice is fine; another domain is EINVAL', () => {
      expect(h.restrictedTo).toBeNull();
      h.restrict(g);
      h.restrict(g);
      expect(h.restrictedTo).toBe(g);
      expect(code(() => h.restrict(env.freshGuest()))).toBe('EINVAL');
      expect(h.restrictedTo).toBe(g);
    });

    test('after restrict: DMOPs to the target pass, to any other domain EPERM, raw hypercalls EPERM', () => {
      h.restrict(g);
      expect(h.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: env.vcpus });
      expect(code(() => h.dmop(env.freshGuest(), { op: 'nr_vcpus' }))).toBe('EPERM');
      expect(code(() => h.dmop(env.missingDomain, { op: 'nr_vcpus' }))).toBe('EPERM');
      expect(code(() => h.hypercall('xen_version', [0]))).toBe('EPERM');
    });

    test('the restriction is checked before everything else, even a zero-buffer call', () => {
      h.restrict(g);
      expect(code(() => h.dmopRaw(env.missingDomain, []))).toBe('EPERM');
      expect(h.dmopRaw(g, [])).toBe(0);
    });

    test('restricting to DOMID_INVALID is refused client-side (it would be a silent no-op)', () => {
      expect(code(() => h.restrict(0x7ff4))).toBe('EINVAL');
      expect(h.restrictedTo).toBeNull();
    });

    test('restrictAsync', async () => {
      await h.restrictAsync(g);
      expect(h.restrictedTo).toBe(g);
      await expect(h.restrictAsync(g + 1)).rejects.toMatchObject({ code: 'EINVAL' });
    });
  });
}

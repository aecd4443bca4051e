// The target domain of a DMOP: missing, PV, self (xen/arch/x86/hvm/dm.c).
import type { Privcmd } from '../../../lib/privcmd';
import { code, when, type ContractEnv, type ContractCapabilities, type Fixture } from './suite';

export function targetCases(caps: ContractCapabilities, f: Fixture): void {
  describe('target domain', () => {
    let env: ContractEnv;
    let h: Privcmd;
    let g: number;
    beforeEach(() => ({ env, h, g } = f()));

    test('a missing domain is ESRCH; DOMID_SELF is not resolved (ESRCH)', () => {
      expect(code(() => h.dmop(env.missingDomain, { op: 'nr_vcpus' }))).toBe('ESRCH');
      expect(code(() => h.dmop(0x7ff0, { op: 'nr_vcpus' }))).toBe('ESRCH');
    });

    test('the caller\'s own domain is EPERM', () => {
      expect(code(() => h.dmop(env.selfDomain, { op: 'nr_vcpus' }))).toBe('EPERM');
    });

    when(caps.pvDomain, 'no PV domain on this platform')('a PV domain is EINVAL', () => {
      expect(code(() => h.dmop(env.pvDomain!, { op: 'nr_vcpus' }))).toBe('EINVAL');
    });

    test('nr_vcpus reports the domain\'s vCPUs; async too', async () => {
      expect(h.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: env.vcpus });
      await expect(h.dmopAsync(g, { op: 'nr_vcpus' })).resolves.toEqual({ vcpus: env.vcpus });
      await expect(h.dmopAsync(env.missingDomain, { op: 'nr_vcpus' })).rejects.toMatchObject({ code: 'ESRCH', syscall: 'ioctl' });
    });
  });
}

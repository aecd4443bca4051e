// Relabel-on-build on a Xen without Flask: the dummy XSM module answers every xsm_op ENOSYS.
import type { Privcmd } from '../../../lib/privcmd';
import { encodeFlaskRelabel, flaskContextToSid, flaskRelabelDomain, flaskStatus, relabelDomain } from '../../../lib/clients/flask';
import { buildDomain, type BuildToolstack } from '../../../lib/deprivilege/build';
import type { PrivcmdError } from '../../../lib/errors';
import { code, type ContractEnv, type ContractCapabilities, type Fixture } from './suite';

export function relabelCases(_caps: ContractCapabilities, f: Fixture): void {
  describe('relabel-on-build (xsm_op) on a Xen without Flask: the dummy XSM module', () => {
    let env: ContractEnv;
    let h: Privcmd;
    let g: number;
    beforeEach(() => ({ env, h, g } = f()));

    const LABEL = 'system_u:system_r:domU_t';
    const raw = (op: Uint8Array): string => {
      const buf = h.hypercallBuffer(op.length);
      try {
        buf.view.set(op);
        return code(() => h.hypercall('xsm_op', [buf.addr]));
      } finally {
        h.freeHypercallBuffer(buf);
      }
    };

    test('FLASK_CONTEXT_TO_SID and FLASK_RELABEL_DOMAIN: ENOSYS, reported as "no Flask"; the domain is untouched', () => {
      let e: PrivcmdError | null = null;
      try {
        flaskContextToSid(h, LABEL);
      } catch (x) {
        e = x as PrivcmdError;
      }
      expect(e).toMatchObject({ code: 'ENOSYS', errno: -38, syscall: 'ioctl' });
      expect(e?.message).toContain('without Flask');
      expect(code(() => flaskRelabelDomain(h, g, 1))).toBe('ENOSYS');
      expect(code(() => relabelDomain(h, g, LABEL))).toBe('ENOSYS');
      expect(h.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: env.vcpus });
    });

    test('flaskStatus: absent (FLASK_GETENFORCE is ENOSYS); a restricted handle is refused first (EPERM)', () => {
      expect(flaskStatus(h)).toBe('absent');
      h.restrict(g);
      expect(code(() => flaskStatus(h))).toBe('EPERM');
    });

    test('the dummy module reads nothing: a bad version, an unknown command and an unreadable op are ENOSYS alike', () => {
      const badVersion = encodeFlaskRelabel(g, 1);
      new DataView(badVersion.buffer).setUint32(4, 2, true);
      const unknown = encodeFlaskRelabel(g, 1);
      new DataView(unknown.buffer).setUint32(0, 99, true);
      expect([raw(encodeFlaskRelabel(g, 1)), raw(badVersion), raw(unknown)]).toEqual(['ENOSYS', 'ENOSYS', 'ENOSYS']);
      expect(code(() => h.hypercall('xsm_op', [0x10n]))).toBe('ENOSYS');
    });

    test('the build flow fails with ENOSYS before it creates anything', async () => {
      const calls: string[] = [];
      const toolstack: BuildToolstack = {
        create: () => { calls.push('create'); return g; },
        isPaused: () => { calls.push('isPaused'); return true; },
        unpause: () => { calls.push('unpause'); },
        destroy: () => { calls.push('destroy'); },
      };
      let e: PrivcmdError | null = null;
      try {
        await buildDomain({ toolstack, handle: h, buildLabel: 'system_u:system_r:vm_building_t', runLabel: 'system_u:system_r:vm_t', build: () => { calls.push('build'); } });
      } catch (x) {
        e = x as PrivcmdError;
      }
      expect(e?.code).toBe('ENOSYS');
      expect(calls).toEqual([]);
    });
  });
}

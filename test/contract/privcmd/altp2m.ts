// altp2m through hvm_op as Xen 4.17 answers it (xen/arch/x86/hvm/hvm.c).
import type { Privcmd } from '../../../lib/privcmd';
import { encodeAltp2mOp, ALTP2M_CMDS, type Altp2mRequest } from '../../../lib/policy/altp2m';
import { altp2mOp } from '../../../lib/clients/altp2m';
import { code, hvmParam, when, type ContractCapabilities, type Fixture } from './suite';

/**
 * altp2m as Xen 4.17 answers it on a domain without altp2m, and
 * HVM_PARAM_ALTP2M (do_altp2m_op and hvm_allow_set_param in
 * xen/arch/x86/hvm/hvm.c). Only the public API; which answers to expect
 * depends on whether this Xen supports altp2m at all (caps.altp2m).
 */
export function altp2mCases(caps: ContractCapabilities, get: Fixture): void {
  const supported = caps.altp2m === true;
  /** Without altp2m support every HVMOP_altp2m is EOPNOTSUPP, before anything else. */
  const ifSupported = (errno: string): string => (supported ? errno : 'EOPNOTSUPP');
  const altp2m = (h: Privcmd, request: Altp2mRequest, patch?: (v: DataView) => void): string => {
    const buf = h.hypercallBuffer(80);
    buf.view.set(encodeAltp2mOp(request));
    if (patch) patch(new DataView(buf.view.buffer, buf.view.byteOffset, 80));
    const r = code(() => h.hypercall('hvm_op', [25, buf.addr]));
    h.freeHypercallBuffer(buf);
    return r;
  };

  describe(`altp2m on a domain without altp2m (Xen 4.17; this Xen ${supported ? 'supports' : 'does not support'} altp2m)`, () => {
    test('HVM_PARAM_ALTP2M of a fresh guest reads 0 (disabled)', () => {
      const { h, g } = get();
      expect(hvmParam(h, 1, g, 35)).toEqual({ code: 'ok', value: 0n });
    });

    test('get_domain_state and set_domain_state: EINVAL (the mode is disabled), or EOPNOTSUPP without altp2m support', () => {
      const { h, g } = get();
      expect(altp2m(h, { cmd: 'get_domain_state', domain: g })).toBe(ifSupported('EINVAL'));
      expect(altp2m(h, { cmd: 'set_domain_state', domain: g, state: 1 })).toBe(ifSupported('EINVAL'));
    });

    test('every other sub-op: EOPNOTSUPP (altp2m is not active)', () => {
      const { h, g } = get();
      for (const c of ALTP2M_CMDS.filter((x) => x.cmd > 2)) {
        const b = new Uint8Array(80);
        new DataView(b.buffer).setUint32(0, 1, true);
        new DataView(b.buffer).setUint32(4, c.cmd, true);
        new DataView(b.buffer).setUint16(8, g, true);
        const buf = h.hypercallBuffer(80);
        buf.view.set(b);
        expect({ cmd: c.name, code: code(() => h.hypercall('hvm_op', [25, buf.addr])) }).toEqual({ cmd: c.name, code: 'EOPNOTSUPP' });
        h.freeHypercallBuffer(buf);
      }
    });

    test('check order: pads and version (EINVAL), then the command (unknown: EOPNOTSUPP), then the domain (ESRCH)', () => {
      const { env, h, g } = get();
      const req: Altp2mRequest = { cmd: 'get_domain_state', domain: g };
      expect(altp2m(h, req, (v) => v.setUint32(0, 2, true))).toBe(ifSupported('EINVAL'));
      expect(altp2m(h, req, (v) => v.setUint16(10, 1, true))).toBe(ifSupported('EINVAL'));
      expect(altp2m(h, req, (v) => { v.setUint32(12, 1, true); v.setUint32(4, 99, true); })).toBe(ifSupported('EINVAL'));
      expect(altp2m(h, req, (v) => { v.setUint32(4, 17, true); v.setUint16(8, env.missingDomain, true); })).toBe('EOPNOTSUPP');
      expect(altp2m(h, req, (v) => v.setUint32(4, 0, true))).toBe('EOPNOTSUPP');
      expect(altp2m(h, { cmd: 'get_domain_state', domain: env.missingDomain })).toBe(ifSupported('ESRCH'));
    });

    when(caps.pvDomain, 'no PV domain on this platform')('a PV domain: EOPNOTSUPP', () => {
      const { env, h } = get();
      expect(altp2m(h, { cmd: 'get_domain_state', domain: env.pvDomain! })).toBe('EOPNOTSUPP');
    });

    test('HVM_PARAM_ALTP2M (Xen 4.17; read-only since 4.19): the control domain sets it once, 0..3; altp2m stays off', () => {
      const { h, g } = get();
      expect(hvmParam(h, 0, g, 35, 4n).code).toBe('EINVAL');
      expect(hvmParam(h, 0, g, 35, 1n).code).toBe('ok');
      expect(hvmParam(h, 1, g, 35)).toEqual({ code: 'ok', value: 1n });
      expect(hvmParam(h, 0, g, 35, 1n).code).toBe('ok'); // the same value again
      expect(hvmParam(h, 0, g, 35, 2n).code).toBe('EEXIST');
      // A mode, but not active: get_domain_state answers 0 where altp2m is supported.
      if (supported) expect(altp2mOp(h, { cmd: 'get_domain_state', domain: g })).toEqual({ state: false });
      else expect(altp2m(h, { cmd: 'get_domain_state', domain: g })).toBe('EOPNOTSUPP');
      expect(altp2m(h, { cmd: 'switch_p2m', domain: g, view: 0 })).toBe('EOPNOTSUPP');
    });
  });
}

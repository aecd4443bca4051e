// Relabel and build under bad input: a coded error; options read once (issue 11, section 3).
import * as api from '../../lib';
import { type Privcmd, type SimulatedHost } from '../../lib';
import { code, NULL_PROTO, withSimulatedWorld } from '../support/hostile';

let host: SimulatedHost;
let h: Privcmd;
withSimulatedWorld((w) => ({ host, h } = w));

describe('relabel and build', () => {
  test('the xsm_op encoders check their arguments', () => {
    expect(code(() => api.encodeFlaskRelabel(NULL_PROTO, 1))).toBe('EINVAL');
    expect(code(() => api.encodeFlaskRelabel(1, Symbol('s') as never))).toBe('EINVAL');
    expect(code(() => api.encodeFlaskContextToSid(5 as never, 1))).toBe('EINVAL');
    expect(code(() => api.encodeFlaskContextToSid(0x10000n, 1.5))).toBe('EINVAL');
  });

  test('a label that is not a string, a bigint included: EINVAL', () => {
    expect(code(() => api.flaskContextToSid(h, 5n as never))).toBe('EINVAL');
  });

  test('DomainBuild.create reads each option once: a handle getter cannot pass the check and then answer null', async () => {
    let n = 0;
    const options = {
      toolstack: api.simulatedToolstack(host),
      get handle() { return n++ === 0 ? h : null; },
      buildLabel: 'system_u:system_r:vm_building_t',
      runLabel: 'system_u:system_r:vm_t',
    };
    const e = await api.DomainBuild.create(options as never).then(() => null, (x: unknown) => x);
    // No Flask on this host: the coded ENOSYS from the first xsm_op, not a TypeError.
    expect((e as { code?: unknown }).code).toBe('ENOSYS');
  });
});

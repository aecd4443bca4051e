// The filter and the policy helpers under bad input: a coded error, never a TypeError (issue 11, section 3).
import * as api from '../../lib';
import { code, detached, NULL_PROTO, HUGE_SPARSE } from '../support/hostile';

describe('filter and policy helpers', () => {
  const f = api.createFilter({ role: 'device-model', target: 5, hwPriv: 'none' });

  test('checkDmop / checkHypercall / verdict with hostile arguments: EINVAL, never a TypeError', () => {
    for (const bad of [NULL_PROTO, Symbol('s'), detached(), 1.5, '5']) {
      expect(code(() => f.checkDmop(bad as never, 1))).toBe('EINVAL');
      expect(code(() => f.checkDmop(5, bad as never))).toBe('EINVAL');
      expect(code(() => f.checkHypercall(34, [bad as never]))).toBe('EINVAL');
      expect(code(() => f.checkHypercall(bad as never, []))).toBe('EINVAL');
      expect(code(() => f.verdict(bad as never))).toBe('EINVAL');
    }
    expect(code(() => f.checkHypercall(34, [0n], { self: 0, read: 5 } as never))).toBe('EINVAL');
    expect(code(() => f.checkHypercall(34, HUGE_SPARSE))).toBe('EINVAL');
  });

  test('checkDmop takes a domid_t (domidArg) and checkHypercall u64 arguments: outside them EINVAL', () => {
    for (const bad of [-1, 65536, NaN, Infinity, 2 ** 53, -0.5]) expect(code(() => f.checkDmop(bad, 1))).toBe('EINVAL');
    expect(code(() => f.checkDmop(5, 1))).toBe('ok');
    expect(code(() => f.checkDmop(65535, 1))).toBe('EPERM'); // a domid_t: judged, and not the target
    for (const bad of [-1n, 1n << 64n, (1n << 64n) + 5n]) expect(code(() => f.checkHypercall(17, [0n, bad]))).toBe('EINVAL');
    expect(code(() => f.checkHypercall(17, [0n, (1n << 64n) - 1n]))).toBe('ok');
  });

  test('createFilter: prototype names and huge deny lists are refused', () => {
    expect(code(() => api.createFilter({ role: 'guest', altp2mMode: 'toString' as never }))).toBe('EINVAL');
    expect(code(() => api.createFilter({ role: 'guest', deny: HUGE_SPARSE }))).toBe('EINVAL');
  });

  test('lookups answer undefined for non-keys (not Object.prototype members); describeRole/roleLabel refuse', () => {
    expect(api.hypercallRule('constructor' as never)).toBeUndefined();
    expect(api.hypercallRule(NULL_PROTO)).toBeUndefined();
    expect(api.xsmRule(NULL_PROTO)).toBeUndefined();
    expect(api.altp2mModeName('constructor' as never)).toBeUndefined();
    expect(api.altp2mCmd(NULL_PROTO)).toBeUndefined();
    expect(api.xsmActionName(NULL_PROTO)).toBe('XSM_an object');
    expect(code(() => api.describeRole('toString' as never))).toBe('EINVAL');
    expect(code(() => api.roleLabel(null as never))).toBe('EINVAL');
    expect(code(() => api.readArg(null as never, [], () => true))).toBe('EINVAL');
    expect(code(() => api.readArg({ arg: 0, at: null, mask: 0xff }, [5 as never], () => true))).toBe('EINVAL');
  });

  test('decodeAltp2mOp takes a genuine Uint8Array', () => {
    expect(code(() => api.decodeAltp2mOp('get_domain_state', null as never))).toBe('EINVAL');
    expect(code(() => api.decodeAltp2mOp('get_domain_state', new Uint16Array(40) as never))).toBe('EINVAL');
  });
});

test('domainBuildRules takes type names (a Symbol or Object.create(null) threw a TypeError building `<run>_building`)', () => {
  expect(api.domainBuildRules('dom0_t', 'vm_t').at(-1)).toEqual({ source: 'vm_t_building', target: 'vm_t', class: 'domain', perms: ['transition'] });
  expect(code(() => api.domainBuildRules('dom0_t', Symbol('s') as never))).toBe('EINVAL');
  expect(code(() => api.domainBuildRules('dom0_t', NULL_PROTO))).toBe('EINVAL');
  expect(code(() => api.domainBuildRules(5 as never, 'vm_t', 'b_t'))).toBe('EINVAL');
});

test('ruleAction, altp2mRuleName, xsmDefaultAction, roleSubject and tePolicy refuse what they cannot use', () => {
  expect(code(() => api.ruleAction(null as never, 1))).toBe('EINVAL');
  expect(code(() => api.ruleAction({ action: 6 } as never, 1))).toBe('EINVAL');
  expect(api.ruleAction(api.xsmRule('hvm_op/altp2m/switch_p2m')!, 2)).toBe(api.XSM.DM_PRIV);
  expect(code(() => api.altp2mRuleName(NULL_PROTO))).toBe('EINVAL');
  expect(code(() => api.altp2mRuleName('nope' as never))).toBe('EINVAL');
  expect(code(() => api.xsmDefaultAction(api.XSM.TARGET, undefined as never, null))).toBe('EINVAL');
  expect(code(() => api.xsmDefaultAction(api.XSM.TARGET, { domid: 0, isControl: false, isHardware: false, isXenstore: false, target: null }, undefined as never))).toBe('EINVAL');
  let n = 0;
  const changing = { get role() { return n++ === 0 ? 'guest' : Symbol('s'); } };
  expect(code(() => api.roleSubject(changing as never, null))).toBe('ok');
  expect(code(() => api.tePolicy({ types: ['a_t'], allow: [{ source: 'a_t', target: 'a_t', class: 'domain', perms: [5n] }] } as never))).toBe('EINVAL');
  expect(code(() => api.tePolicy({ types: [Symbol('s')], allow: [] } as never))).toBe('EINVAL');
  expect(code(() => api.tePolicy({ types: ['a_t'], allow: [{ source: 'a_t', target: 'a_t', class: 'domain', perms: null }] } as never))).toBe('EINVAL');
});

test('classifyHypercall refuses more than five arguments before walking them (a 2^32-1 sparse array took minutes)', () => {
  expect(code(() => api.classifyHypercall(34, HUGE_SPARSE, () => true))).toBe('EINVAL');
  expect(code(() => api.classifyHypercall(34, [0n, 0n, 0n, 0n, 0n, 0n], () => true))).toBe('EINVAL');
  // eslint-disable-next-line no-sparse-arrays
  expect(code(() => api.classifyHypercall(34, [, 0n] as never, () => true))).toBe('EINVAL');
  expect(api.classifyHypercall(17, [0n], () => true)).toBe(api.xsmRule('xen_version/version'));
});

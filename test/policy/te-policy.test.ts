// The type-enforcement policy the simulated Flask enforces: text and object
// forms agree, and every malformed policy is EINVAL saying what and where.
import { TePolicy, domainBuildRules, tePolicy } from '../../lib/policy/te-policy';

const TEXT = `
# the toolstack builds vm_t domains under vm_building_t
type dom0_t; type vm_building_t;
type vm_t;
allow dom0_t vm_building_t : domain create;
allow dom0_t vm_building_t:mmu { map_read map_write };
allow dom0_t vm_building_t : domain2 relabelfrom;   # trailing comment
allow dom0_t vm_t : domain2 { relabelto };
allow vm_building_t vm_t : domain transition;
`;

const errOf = (f: () => unknown): { code?: string; message?: string } => {
  try {
    f();
  } catch (e) {
    return e as { code?: string; message?: string };
  }
  throw new Error('expected a throw');
};

describe('TePolicy', () => {
  test('text: types (security_t and unlabeled_t always declared) and allow rules, with or without braces', () => {
    const p = TePolicy.parse(TEXT);
    expect([...p.types].sort()).toEqual(['dom0_t', 'security_t', 'unlabeled_t', 'vm_building_t', 'vm_t']);
    expect(p.allows('dom0_t', 'vm_building_t', 'domain', 'create')).toBe(true);
    expect(p.allows('dom0_t', 'vm_building_t', 'mmu', 'map_write')).toBe(true);
    expect(p.allows('dom0_t', 'vm_t', 'mmu', 'map_read')).toBe(false);
    expect(p.allows('vm_building_t', 'vm_t', 'domain', 'transition')).toBe(true);
    // Rules are directional.
    expect(p.allows('vm_t', 'vm_building_t', 'domain', 'transition')).toBe(false);
  });

  test('domainBuildRules: the object form gives the same decisions as the text', () => {
    const fromText = TePolicy.parse(TEXT);
    const fromObj = tePolicy({ types: ['dom0_t', 'vm_building_t', 'vm_t'], allow: domainBuildRules('dom0_t', 'vm_t', 'vm_building_t') });
    for (const s of fromText.types) {
      for (const t of fromText.types) {
        for (const [cls, perm] of [['domain', 'create'], ['domain', 'transition'], ['mmu', 'map_read'], ['mmu', 'map_write'], ['domain2', 'relabelfrom'], ['domain2', 'relabelto'], ['domain2', 'relabelself']] as const) {
          expect({ s, t, cls, perm, allowed: fromObj.allows(s, t, cls, perm) }).toEqual({ s, t, cls, perm, allowed: fromText.allows(s, t, cls, perm) });
        }
      }
    }
  });

  test.each([
    ['an undeclared type', 'type a_t;\nallow a_t b_t : domain create;', /source|target type "b_t" is not declared/],
    ['an unknown class', 'type a_t;\nallow a_t a_t : file read;', /class "file" is not one the simulated Flask checks/],
    ['an unknown permission', 'type a_t;\nallow a_t a_t : domain destroyy;', /"destroyy" is not a permission of class domain/],
    ['a missing semicolon', 'type a_t;\ntype b_t', /policy line 2: statement without a closing ';'/],
    ['an unknown statement', 'type a_t;\n\nrole r;', /policy line 3: expected 'type NAME;'/],
    ['empty braces', 'type a_t;\nallow a_t a_t : domain { };', /policy line 2: no permissions/],
    ['a bad type name', 'type 9x;', /type "9x" is not a valid type name/],
    ['a class named after an Object.prototype key', 'type a_t;\nallow a_t a_t : constructor x;', /class "constructor" is not one the simulated Flask checks/],
    ['toString as a class', 'type a_t;\nallow a_t a_t : toString x;', /class "toString" is not one/],
  ])('%s: EINVAL', (_n, text, why) => {
    const e = errOf(() => TePolicy.parse(text));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(why);
  });

  test('bad object forms: EINVAL', () => {
    expect(errOf(() => TePolicy.from(null as never)).code).toBe('EINVAL');
    expect(errOf(() => TePolicy.from({ types: ['a_t'], allow: [{ source: 'a_t', target: 'a_t', class: 'domain', perms: [] }] })).code).toBe('EINVAL');
    expect(errOf(() => TePolicy.parse(42 as never)).code).toBe('EINVAL');
  });
});

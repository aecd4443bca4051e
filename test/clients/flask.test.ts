// Relabel-on-build on the simulated host running Flask: domain labels, the
// TE policy's checks on creation and mapping, xsm_op FLASK_CONTEXT_TO_SID and
// FLASK_RELABEL_DOMAIN in Xen's check order, and the build flow. (Without
// Flask, ENOSYS, is in the contract: it runs on the real Xen too.)
import { DOMID } from '../../lib/abi/domids';
import { FLASK_OP, XEN_FLASK_INTERFACE_VERSION } from '../../lib/abi/flask';
import { buildDomain, DomainBuild, simulatedToolstack, type BuildToolstack } from '../../lib/deprivilege/build';
import { encodeFlaskContextToSid, encodeFlaskRelabel, flaskContextToSid, flaskRelabelDomain, flaskStatus, relabelDomain } from '../../lib/clients/flask';
import { domainBuildRules, type TeAllow } from '../../lib/policy/te-policy';
import { open, type Privcmd } from '../../lib/privcmd';
import { createSimulatedHost, type SimulatedHost } from '../../lib/sim/host';

const BUILD = 'system_u:system_r:vm_building_t';
const RUN = 'system_u:system_r:vm_t';
const TYPES = ['dom0_t', 'domU_t', 'vm_building_t', 'vm_t'];
const TOOLSTACK: TeAllow[] = [
  ...domainBuildRules('dom0_t', 'vm_t', 'vm_building_t'),
  { source: 'dom0_t', target: 'security_t', class: 'security', perms: ['check_context'] },
];

const errOf = async (f: () => unknown): Promise<{ code?: string; errno?: number; syscall?: string; message?: string; cause?: unknown }> => {
  try {
    await f();
  } catch (e) {
    return e as { code?: string };
  }
  throw new Error('expected a throw');
};

function setup(allow: TeAllow[] = TOOLSTACK): { host: SimulatedHost; h: Privcmd } {
  const host = createSimulatedHost({ flask: { policy: { types: TYPES, allow } } });
  return { host, h: open({ host }) };
}

const without = (cls: string, perm: string): TeAllow[] =>
  TOOLSTACK.map((r) => (r.class === cls ? { ...r, perms: r.perms.filter((p) => p !== perm) } : r)).filter((r) => r.perms.length > 0);

/** A raw xsm_op with `op` in a hypercall buffer; returns Xen's result or the error code, and the op bytes after. */
function rawXsmOp(h: Privcmd, op: Uint8Array): { rc: string | bigint; after: Uint8Array } {
  const buf = h.hypercallBuffer(op.length);
  try {
    buf.view.set(op);
    let rc: string | bigint;
    try {
      rc = h.hypercall('xsm_op', [buf.addr]);
    } catch (e) {
      rc = String((e as { code?: string }).code);
    }
    return { rc, after: Uint8Array.from(buf.view) };
  } finally {
    h.freeHypercallBuffer(buf);
  }
}

describe('host with Flask', () => {
  test('domains carry labels: dom0 and unlabelled domains get the defaults', () => {
    const { host } = setup([...TOOLSTACK, { source: 'dom0_t', target: 'domU_t', class: 'domain', perms: ['create'] }]);
    expect(host.inspect(0).label).toBe('system_u:system_r:dom0_t');
    expect(host.inspect(host.createDomain()).label).toBe('system_u:system_r:domU_t');
    expect(host.inspect(host.createDomain({ label: BUILD })).label).toBe(BUILD);
  });

  test('a policy that does not declare dom0_t: EINVAL at host creation', async () => {
    expect((await errOf(() => createSimulatedHost({ flask: { policy: 'type vm_t;' } }))).code).toBe('EINVAL');
    expect((await errOf(() => createSimulatedHost({ flask: { policy: 'allow x;' } }))).code).toBe('EINVAL');
  });

  test('createdomain needs domain:create on the label (EACCES), and a valid label (EINVAL); nothing is created', async () => {
    const { host } = setup();
    const before = host.domains();
    expect(await errOf(() => host.createDomain({ label: RUN }))).toMatchObject({ code: 'EACCES', syscall: 'domctl' });
    expect((await errOf(() => host.createDomain({ label: RUN }))).message).toContain('denied { create }');
    expect((await errOf(() => host.createDomain({ label: 'system_u:system_r:nope_t' }))).code).toBe('EINVAL');
    expect((await errOf(() => host.createDomain({ label: 'vm_t' }))).code).toBe('EINVAL');
    expect((await errOf(() => host.createDomain({ label: '' }))).code).toBe('EINVAL');
    expect(host.domains()).toEqual(before);
  });

  test('mapping a domain\'s memory: mmu map_read / map_write on its label; holes are EINVAL', async () => {
    const { host } = setup();
    const d = host.createDomain({ label: BUILD, memoryPages: 16 });
    expect(host.mapForeignPages(d, { firstPfn: 0, count: 16 })).toBe(16);
    expect((await errOf(() => host.mapForeignPages(d, { firstPfn: 15, count: 2 }))).code).toBe('EINVAL');
    expect((await errOf(() => host.mapForeignPages(d, { firstPfn: 0, count: 0 }))).code).toBe('EINVAL');
    expect((await errOf(() => host.mapForeignPages(0x7000, { firstPfn: 0, count: 1 }))).code).toBe('ESRCH');
    expect((await errOf(() => host.mapForeignPages(d, { firstPfn: 0, count: 1, by: 0x7000 }))).code).toBe('ESRCH');
    expect((await errOf(() => host.mapForeignPages(d, null as never))).code).toBe('EINVAL');
    expect((await errOf(() => host.mapForeignPages(d, { firstPfn: -1, count: 1 }))).code).toBe('EINVAL');
    const { host: h2 } = setup(without('mmu', 'map_write'));
    const d2 = h2.createDomain({ label: BUILD });
    expect(h2.mapForeignPages(d2, { firstPfn: 0, count: 1, write: false })).toBe(1);
    const e = await errOf(() => h2.mapForeignPages(d2, { firstPfn: 0, count: 1 }));
    expect(e.code).toBe('EACCES');
    expect(e.message).toContain('denied { map_write }');
  });
});

describe('mapping without Flask: the default policy (XSM_TARGET)', () => {
  test('dom0 and a device model for the domain may; another guest may not (EPERM)', async () => {
    const host = createSimulatedHost();
    const g = host.createDomain();
    const other = host.createDomain();
    const stub = host.createDomain({ type: 'pvh', target: g });
    expect(host.mapForeignPages(g, { firstPfn: 0, count: 4 })).toBe(4);
    expect(host.mapForeignPages(g, { firstPfn: 0, count: 4, by: stub })).toBe(4);
    expect(await errOf(() => host.mapForeignPages(g, { firstPfn: 0, count: 4, by: other }))).toMatchObject({ code: 'EPERM', syscall: 'mmap' });
  });
});

describe('xsm_op on the simulated Flask', () => {
  test('FLASK_CONTEXT_TO_SID: a sid per context, stable; EINVAL for a context the policy does not know', async () => {
    const { h } = setup();
    const a = flaskContextToSid(h, RUN);
    expect(a).toBeGreaterThan(0);
    expect(flaskContextToSid(h, RUN)).toBe(a);
    expect(flaskContextToSid(h, BUILD)).not.toBe(a);
    expect(await errOf(() => flaskContextToSid(h, 'system_u:system_r:nope_t'))).toMatchObject({ code: 'EINVAL', syscall: 'ioctl' });
  });

  test('FLASK_CONTEXT_TO_SID needs security:check_context (EACCES), checked before the string is copied', async () => {
    const { h } = setup(TOOLSTACK.filter((r) => r.class !== 'security'));
    const e = await errOf(() => flaskContextToSid(h, RUN));
    expect(e.code).toBe('EACCES');
    expect(e.message).toContain('the Flask policy denies it');
    // Oversized and unreadable strings are EACCES too: the permission comes first.
    expect(rawXsmOp(h, encodeFlaskContextToSid(0x10n, 4097)).rc).toBe('EACCES');
    expect(rawXsmOp(h, encodeFlaskContextToSid(0x10n, 8)).rc).toBe('EACCES');
  });

  test('raw: the sid is copied back into the op; version, command, size and pointer checks in do_flask_op order', () => {
    const { h } = setup();
    const str = h.hypercallBuffer(64);
    try {
      const ctx = new TextEncoder().encode(RUN);
      str.view.set(ctx);
      const ok = rawXsmOp(h, encodeFlaskContextToSid(str.addr, ctx.length));
      expect(ok.rc).toBe(0n);
      expect(new DataView(ok.after.buffer).getUint32(8, true)).toBe(flaskContextToSid(h, RUN));
      // A NUL inside the size ends the string, as C does.
      str.view[ctx.length] = 0;
      expect(rawXsmOp(h, encodeFlaskContextToSid(str.addr, ctx.length + 1)).rc).toBe(0n);
      // Larger than a page: ENOBUFS; unreadable context: EFAULT; bytes after the NUL: EINVAL.
      expect(rawXsmOp(h, encodeFlaskContextToSid(str.addr, 4097)).rc).toBe('ENOBUFS');
      expect(rawXsmOp(h, encodeFlaskContextToSid(0x10n, 8)).rc).toBe('EFAULT');
      str.view.set(new TextEncoder().encode('junk'), ctx.length + 1);
      expect(rawXsmOp(h, encodeFlaskContextToSid(str.addr, ctx.length + 5)).rc).toBe('EINVAL');
      // Wrong interface version and unknown commands: ENOSYS; GETENFORCE: 1 (enforcing).
      const bad = encodeFlaskContextToSid(str.addr, ctx.length);
      new DataView(bad.buffer).setUint32(4, XEN_FLASK_INTERFACE_VERSION + 1, true);
      expect(rawXsmOp(h, bad).rc).toBe('ENOSYS');
      const unknown = encodeFlaskRelabel(1, 1);
      new DataView(unknown.buffer).setUint32(0, 99, true);
      expect(rawXsmOp(h, unknown).rc).toBe('ENOSYS');
      const enforce = encodeFlaskRelabel(0, 0);
      new DataView(enforce.buffer).setUint32(0, FLASK_OP.GETENFORCE, true);
      expect(rawXsmOp(h, enforce).rc).toBe(1n);
    } finally {
      h.freeHypercallBuffer(str);
    }
    // The op itself unreadable: EFAULT.
    expect(String((() => { try { return h.hypercall('xsm_op', [0x10n]); } catch (e) { return (e as { code: string }).code; } })())).toBe('EFAULT');
  });

  test('FLASK_RELABEL_DOMAIN: ESRCH, then relabelfrom, relabelto, transition (EACCES each); the label is unchanged on refusal', async () => {
    const cases: [string, TeAllow[], string][] = [
      ['relabelfrom', without('domain2', 'relabelfrom'), 'denied { relabelfrom }'],
      ['relabelto', without('domain2', 'relabelto'), 'denied { relabelto }'],
      ['transition', without('domain', 'transition'), 'denied { transition }'],
    ];
    for (const [name, allow, why] of cases) {
      const { host, h } = setup(allow);
      const d = host.createDomain({ label: BUILD });
      const e = await errOf(() => relabelDomain(h, d, RUN));
      expect({ name, code: e.code, why: e.message?.includes(why) }).toEqual({ name, code: 'EACCES', why: true });
      expect(host.inspect(d).label).toBe(BUILD);
    }
    // With several missing, the first check in Xen's order is the one reported.
    const order: [TeAllow[], string][] = [
      [without('domain2', 'relabelfrom').filter((r) => !r.perms.includes('relabelto')), 'relabelfrom'],
      [without('domain2', 'relabelto').filter((r) => r.class !== 'domain' || !r.perms.includes('transition')), 'relabelto'],
    ];
    for (const [allow, first] of order) {
      const { host: oh, h: o } = setup(allow);
      const d = oh.createDomain({ label: BUILD });
      expect((await errOf(() => relabelDomain(o, d, RUN))).message).toContain(`denied { ${first} }`);
      // The domain lookup comes before any permission: ESRCH.
      expect((await errOf(() => relabelDomain(o, 0x7000, RUN))).code).toBe('ESRCH');
    }
    const { host, h } = setup();
    const sid = flaskContextToSid(h, RUN);
    expect((await errOf(() => flaskRelabelDomain(h, 0x7000, sid))).code).toBe('ESRCH');
    // A sid the security server never issued reads as unlabeled_t (sidtab_search), which the policy does not allow: EACCES.
    const d = host.createDomain({ label: BUILD });
    const u = await errOf(() => flaskRelabelDomain(h, d, 0x7fffffff));
    expect(u.code).toBe('EACCES');
    expect(u.message).toContain('tcontext=system_u:object_r:unlabeled_t');
    expect(host.inspect(d).label).toBe(BUILD);
  });

  test('success: the label changes, with no paused-state check (as in Xen); the builder then loses the mapping', async () => {
    const { host, h } = setup();
    const d = host.createDomain({ label: BUILD });
    host.unpauseDomain(d);
    expect(relabelDomain(h, d, RUN).sid).toBe(flaskContextToSid(h, RUN));
    expect(host.inspect(d).label).toBe(RUN);
    expect((await errOf(() => host.mapForeignPages(d, { firstPfn: 0, count: 1 }))).code).toBe('EACCES');
  });

  test('a mapping made while building keeps working after relabel; a new one is checked against the new label', async () => {
    const { host, h } = setup();
    const d = host.createDomain({ label: BUILD });
    const m = h.mapForeign(d, [0]);
    relabelDomain(h, d, RUN);
    m.bytes![0] = 7; // Xen checks at map time only (flask_mmu_update): the old mapping stands
    expect(host.guestRead(d, 0)[0]).toBe(7);
    expect((await errOf(() => h.mapForeign(d, [0]))).code).toBe('EACCES');
    expect((await errOf(() => h.mapForeign(d, [0], { writable: false }))).code).toBe('EACCES');
    m.unmap();
  });

  test('DOMID_SELF needs relabelself (old -> new) and transition; the u32 domid is truncated to domid_t for the lookup only', async () => {
    const { host, h } = setup([...TOOLSTACK, { source: 'domU_t', target: 'vm_t', class: 'domain', perms: ['transition'] }, { source: 'dom0_t', target: 'domU_t', class: 'domain', perms: ['create'] }]);
    const g = host.createDomain();
    const sid = flaskContextToSid(h, RUN);
    const gh = open({ host, domain: g });
    // No relabelself rule: EACCES.
    expect(rawXsmOp(gh, encodeFlaskRelabel(DOMID.SELF, sid)).rc).toBe('EACCES');
    const { host: host2, h: h2 } = setup([...TOOLSTACK,
      { source: 'domU_t', target: 'vm_t', class: 'domain2', perms: ['relabelself'] },
      { source: 'domU_t', target: 'vm_t', class: 'domain', perms: ['transition'] },
      { source: 'dom0_t', target: 'domU_t', class: 'domain', perms: ['create'] }]);
    const g2 = host2.createDomain();
    const g2h = open({ host: host2, domain: g2 });
    const sid2 = flaskContextToSid(h2, RUN);
    // 0x17ff0 locks DOMID_SELF but is not == DOMID_SELF: the relabelfrom path, which domU_t lacks.
    expect(rawXsmOp(g2h, encodeFlaskRelabel(0x10000 + DOMID.SELF, sid2)).rc).toBe('EACCES');
    expect(rawXsmOp(g2h, encodeFlaskRelabel(DOMID.SELF, sid2)).rc).toBe(0n);
    expect(host2.inspect(g2).label).toBe(RUN);
  });

  test('bad arguments: EINVAL before anything reaches Xen', async () => {
    const { host, h } = setup();
    const d = host.createDomain({ label: BUILD });
    for (const ctx of ['', 'a\0b', 'x'.repeat(4097), 42]) expect((await errOf(() => flaskContextToSid(h, ctx as string))).code).toBe('EINVAL');
    for (const id of [-1, 1.5, DOMID.FIRST_RESERVED + 1, 0x10000, '1']) expect((await errOf(() => flaskRelabelDomain(h, id as number, 1))).code).toBe('EINVAL');
    for (const sid of [0, -1, 2 ** 32, 1.5]) expect((await errOf(() => flaskRelabelDomain(h, d, sid))).code).toBe('EINVAL');
    for (const bad of [null, {}, 1]) {
      expect((await errOf(() => flaskContextToSid(bad as never, RUN))).code).toBe('EINVAL');
      expect((await errOf(() => flaskRelabelDomain(bad as never, d, 1))).code).toBe('EINVAL');
      expect((await errOf(() => relabelDomain(bad as never, d, RUN))).code).toBe('EINVAL');
      expect((await errOf(() => flaskStatus(bad as never))).code).toBe('EINVAL');
    }
    expect((await errOf(() => relabelDomain(h, -1, RUN))).code).toBe('EINVAL');
    expect(host.inspect(d).label).toBe(BUILD);
  });
});

describe('the build flow', () => {
  test('create paused under the build label, build (map), relabel, unpause; afterwards the builder cannot map it', async () => {
    const { host, h } = setup();
    const seen: { label: string; paused: boolean; mapped: number }[] = [];
    const { domid, sid } = await buildDomain({
      toolstack: simulatedToolstack(host, { memoryPages: 64 }), handle: h, buildLabel: BUILD, runLabel: RUN,
      build: (d) => {
        const s = host.inspect(d);
        seen.push({ label: s.label, paused: s.paused, mapped: host.mapForeignPages(d, { firstPfn: 0, count: 64 }) });
      },
    });
    expect(seen).toEqual([{ label: BUILD, paused: true, mapped: 64 }]);
    expect(sid).toBe(flaskContextToSid(h, RUN));
    expect(host.inspect(domid)).toMatchObject({ label: RUN, paused: false });
    const e = await errOf(() => host.mapForeignPages(domid, { firstPfn: 0, count: 1, write: false }));
    expect(e.code).toBe('EACCES');
    expect(e.message).toContain('denied { map_read }');
  });

  test('a live mapping of the domain, on any handle of the process, blocks the relabel until it is unmapped', async () => {
    const { host, h } = setup();
    const b = await DomainBuild.create({ toolstack: simulatedToolstack(host, { memoryPages: 8 }), handle: h, buildLabel: BUILD, runLabel: RUN });
    const other = open({ host });
    const mine = h.mapForeign(b.domid, [0, 1]);
    const theirs = other.mapForeign(b.domid, [2]);
    expect(h.processMappingsOf(b.domid)).toBe(2);
    let e = await errOf(() => b.relabel());
    expect(e).toMatchObject({ code: 'ERR_PRIVCMD_BUILD_STATE', step: 'relabel' });
    expect(e.message).toContain('2 mapping(s)');
    expect(b.state).toBe('building');
    expect(host.inspect(b.domid)).toMatchObject({ paused: true, label: BUILD });
    mine.unmap();
    e = await errOf(() => b.relabel());
    expect(e.message).toContain('1 mapping(s)');
    other.close(); // closing a handle unmaps what it holds
    await b.relabel();
    expect(host.inspect(b.domid).label).toBe(RUN);
    expect(theirs.unmapped).toBe(true);
  });

  test('buildDomain: a build step that leaves its mapping behind gets the domain destroyed, saying why', async () => {
    const { host, h } = setup();
    let built = -1;
    const e = await errOf(() => buildDomain({
      toolstack: simulatedToolstack(host, { memoryPages: 8 }), handle: h, buildLabel: BUILD, runLabel: RUN,
      build: (d) => { built = d; h.mapForeign(d, [0]).bytes![0] = 1; },
    }));
    expect(e).toMatchObject({ code: 'ERR_PRIVCMD_BUILD_STATE', step: 'relabel' });
    expect(e.message).toContain(`domain ${built} destroyed`);
    expect(host.domains()).not.toContain(built);
  });

  test('a failed relabel destroys the domain, and the error says so', async () => {
    const { host, h } = setup(without('domain2', 'relabelto'));
    let built = -1;
    const e = await errOf(() => buildDomain({ toolstack: simulatedToolstack(host), handle: h, buildLabel: BUILD, runLabel: RUN, build: (d) => { built = d; } }));
    expect(e.code).toBe('EACCES');
    expect(e.message).toContain(`domain ${built} destroyed`);
    expect(host.domains()).not.toContain(built);
  });

  test('unpause before relabel: ERR_PRIVCMD_NOT_RELABELED, and the domain stays paused under its build label', async () => {
    const { host, h } = setup();
    const b = await DomainBuild.create({ toolstack: simulatedToolstack(host), handle: h, buildLabel: BUILD, runLabel: RUN });
    const e = await errOf(() => b.unpause());
    expect(e.code).toBe('ERR_PRIVCMD_NOT_RELABELED');
    expect(host.inspect(b.domid)).toMatchObject({ paused: true, label: BUILD });
    await b.relabel();
    expect((await errOf(() => b.relabel()))).toMatchObject({ code: 'ERR_PRIVCMD_BUILD_STATE', step: 'relabel' });
    await b.unpause();
    expect(b.state).toBe('running');
    expect(host.inspect(b.domid)).toMatchObject({ paused: false, label: RUN });
  });

  test('a domain unpaused behind the flow\'s back is not relabelled: destroyed, ERR_PRIVCMD_NOT_RELABELED', async () => {
    const { host, h } = setup();
    let built = -1;
    const e = await errOf(() => buildDomain({
      toolstack: simulatedToolstack(host), handle: h, buildLabel: BUILD, runLabel: RUN,
      build: (d) => { built = d; host.unpauseDomain(d); },
    }));
    expect(e.code).toBe('ERR_PRIVCMD_NOT_RELABELED');
    expect(e.message).toContain('unpaused under its build label');
    expect(host.domains()).not.toContain(built);
  });

  test('a build step that throws destroys the domain and rethrows', async () => {
    const { host, h } = setup();
    let built = -1;
    const e = await errOf(() => buildDomain({
      toolstack: simulatedToolstack(host), handle: h, buildLabel: BUILD, runLabel: RUN,
      build: (d) => { built = d; host.mapForeignPages(d, { firstPfn: 0x100000, count: 1 }); },
    }));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain(`domain ${built} destroyed`);
    expect(host.domains()).not.toContain(built);
  });

  test('labels the policy does not know fail before anything is created (EINVAL)', async () => {
    const { host, h } = setup();
    const before = host.domains();
    const e = await errOf(() => buildDomain({ toolstack: simulatedToolstack(host), handle: h, buildLabel: BUILD, runLabel: 'system_u:system_r:nope_t', build: () => undefined }));
    expect(e.code).toBe('EINVAL');
    expect(host.domains()).toEqual(before);
  });

  test('bad options: EINVAL, nothing created', async () => {
    const { host, h } = setup();
    const ts = simulatedToolstack(host);
    const before = host.domains();
    const bad: unknown[] = [
      null,
      { toolstack: ts, handle: h, buildLabel: BUILD, runLabel: BUILD, build: () => undefined },
      { toolstack: ts, handle: h, buildLabel: '', runLabel: RUN, build: () => undefined },
      { toolstack: { create: () => 1 } as unknown as BuildToolstack, handle: h, buildLabel: BUILD, runLabel: RUN, build: () => undefined },
      { toolstack: ts, handle: {}, buildLabel: BUILD, runLabel: RUN, build: () => undefined },
      { toolstack: ts, handle: h, buildLabel: BUILD, runLabel: RUN },
    ];
    for (const o of bad) expect((await errOf(() => buildDomain(o as never))).code).toBe('EINVAL');
    expect(host.domains()).toEqual(before);
  });
});

test('the README example runs as written (policy object, flow, and the refused map afterwards)', async () => {
  const host = createSimulatedHost({ flask: { policy: {
    types: ['dom0_t', 'vm_building_t', 'vm_t'],
    allow: [...domainBuildRules('dom0_t', 'vm_t', 'vm_building_t'),
      { source: 'dom0_t', target: 'security_t', class: 'security', perms: ['check_context'] }],
  } } });
  const { domid } = await buildDomain({
    toolstack: simulatedToolstack(host), handle: open({ host }),
    buildLabel: 'system_u:system_r:vm_building_t', runLabel: 'system_u:system_r:vm_t',
    build: (d) => { host.mapForeignPages(d, { firstPfn: 0, count: 256 }); },
  });
  const e = await errOf(() => host.mapForeignPages(domid, { firstPfn: 0, count: 1 }));
  expect(e.code).toBe('EACCES');
  expect(e.message).toMatch(/avc: denied \{ map_read \} .*vm_t/);
  host.close();
});

test('flaskStatus on a host running Flask: enforcing', () => {
  const { h } = setup();
  expect(flaskStatus(h)).toBe('enforcing');
});

test('a toolstack whose isPaused() fails: the domain is destroyed, not left behind', async () => {
  const { host, h } = setup();
  const base = simulatedToolstack(host);
  let made = -1;
  const ts: BuildToolstack = { ...base, create: (l) => (made = base.create(l) as number), isPaused: () => { throw new Error('toolstack down'); } };
  const e = await errOf(() => DomainBuild.create({ toolstack: ts, handle: h, buildLabel: BUILD, runLabel: RUN }));
  expect(e.message).toBe(`toolstack down; domain ${made} destroyed`);
  expect(host.domains()).not.toContain(made);
});

describe('the build flow: the toolstack misbehaves', () => {
  test('a domain not created paused is destroyed (ERR_PRIVCMD_NOT_RELABELED from create)', async () => {
    const { host, h } = setup();
    const base = simulatedToolstack(host);
    let made = -1;
    const ts: BuildToolstack = { ...base, create: (l) => { made = base.create(l) as number; host.unpauseDomain(made); return made; } };
    const e = await errOf(() => DomainBuild.create({ toolstack: ts, handle: h, buildLabel: BUILD, runLabel: RUN }));
    expect(e).toMatchObject({ code: 'ERR_PRIVCMD_NOT_RELABELED', step: 'create' });
    expect('errno' in (e as object)).toBe(false);
    expect(e.message).toContain(`domain ${made} destroyed`);
    expect(host.domains()).not.toContain(made);
  });

  test('a destroy that fails too is reported, with what to do', async () => {
    const { host, h } = setup(without('domain2', 'relabelto'));
    const ts: BuildToolstack = { ...simulatedToolstack(host), destroy: () => { throw new Error('toolstack down'); } };
    const e = await errOf(() => buildDomain({ toolstack: ts, handle: h, buildLabel: BUILD, runLabel: RUN, build: () => undefined }));
    expect(e.code).toBe('EACCES');
    expect(e.message).toMatch(/destroying domain \d+ failed too \(toolstack down\): destroy it by hand/);
  });

  test('an unpause that fails: buildDomain destroys the relabelled domain and says so', async () => {
    const { host, h } = setup();
    let made = -1;
    const ts: BuildToolstack = { ...simulatedToolstack(host), unpause: (d) => { made = d; throw Object.freeze(new Error('unpause failed')); } };
    const e = await errOf(() => buildDomain({ toolstack: ts, handle: h, buildLabel: BUILD, runLabel: RUN, build: () => undefined }));
    expect(e.message).toBe(`unpause failed; domain ${made} destroyed`);
    expect(host.domains()).not.toContain(made);
  });

  test('create returning something that is not a domid: EINVAL', async () => {
    const { host, h } = setup();
    for (const bad of [0, -1, 1.5, 'x', 0x7ff0]) {
      const ts: BuildToolstack = { ...simulatedToolstack(host), create: () => bad as number };
      expect((await errOf(() => DomainBuild.create({ toolstack: ts, handle: h, buildLabel: BUILD, runLabel: RUN }))).code).toBe('EINVAL');
    }
  });

  test('two relabel() calls at once: the second is refused, the domain is relabelled and kept', async () => {
    const { host, h } = setup();
    const b = await DomainBuild.create({ toolstack: simulatedToolstack(host), handle: h, buildLabel: BUILD, runLabel: RUN });
    const [first, second] = await Promise.allSettled([b.relabel(), b.relabel()]);
    expect(first.status).toBe('fulfilled');
    expect(second.status === 'rejected' && (second.reason as { code?: string }).code).toBe('ERR_PRIVCMD_BUILD_STATE');
    expect(b.state).toBe('relabeled');
    expect(host.inspect(b.domid)).toMatchObject({ label: RUN, paused: true });
    await b.destroy();
    expect((await errOf(() => b.unpause()))).toMatchObject({ code: 'ERR_PRIVCMD_BUILD_STATE', step: 'unpause' });
  });
});

// Privcmd handles under bad input: a coded error, validated before anything is staged or freed (issue 11, section 3).
import * as api from '../../lib';
import { open, type Privcmd, type SimulatedHost } from '../../lib';
import { code, detached, NULL_PROTO, HUGE_SPARSE, THROWS_ON_STRING, withSimulatedWorld } from '../support/hostile';

let host: SimulatedHost;
let h: Privcmd;
let g: number;
withSimulatedWorld((w) => ({ host, h, g } = w));

describe('messages never stringify the bad value unsafely (describe())', () => {
  test.each([
    ['Object.create(null)', NULL_PROTO],
    ['a symbol', Symbol('s') as never],
    ['a detached Uint8Array', detached() as never],
    ['a huge sparse array', HUGE_SPARSE],
    ['a toPrimitive that throws', THROWS_ON_STRING],
  ])('%s as a domid, a field, a hypercall argument, a role, a cmd', (_name, bad) => {
    expect(code(() => h.dmop(bad, { op: 'nr_vcpus' }))).toBe('EINVAL');
    expect(code(() => h.dmop(g, { op: 'set_mem_type', memType: 'ram_rw', firstPfn: bad, nr: 1 } as never))).toBe('EINVAL');
    expect(code(() => h.hypercall('xen_version', [bad]))).toBe('EINVAL');
    expect(code(() => h.hypercall(bad))).toBe('EINVAL');
    expect(code(() => api.createFilter({ role: bad }))).toBe('EINVAL');
    expect(code(() => api.encodeAltp2mOp({ cmd: bad, domain: 1 } as never))).toBe('EINVAL');
    expect(code(() => api.decodeDmop(bad, []))).toBe('EINVAL');
    expect(code(() => host.createDomain({ label: bad }))).toBe('EINVAL');
  });
});

describe('handles', () => {
  test('dmopRaw { addr, size: 1.5 | NaN | Infinity }: EINVAL before anything is staged', () => {
    const live = host.process(0).space.liveAllocations;
    for (const size of [1.5, NaN, Infinity, -1, NULL_PROTO]) {
      expect(code(() => h.dmopRaw(g, [api.encodeDmop({ op: 'nr_vcpus' })[0]!, { addr: 0x7f0000000000n, size: size as number }]))).toBe('EINVAL');
    }
    expect(host.process(0).space.liveAllocations).toBe(live);
  });

  test('freeHypercallBuffer of a forged { addr } (the handle\'s own memory): EINVAL, and the handle keeps working', () => {
    const before = host.inspect(g);
    const space = host.process(0).space;
    // Every live allocation of the process that is not a hypercall buffer of this handle.
    const buf = h.hypercallBuffer(64);
    for (let addr = space.base; addr < space.base + 0x10000n; addr += 0x1000n) {
      if (addr === buf.addr) continue;
      expect(code(() => h.freeHypercallBuffer({ addr, size: 4096, view: Buffer.alloc(0) }))).toBe('EINVAL');
    }
    h.freeHypercallBuffer(buf);
    expect(h.dmop(g, { op: 'nr_vcpus' })).toEqual({ vcpus: 1 });
    expect(code(() => h.close())).toBe('ok');
    expect(host.inspect(g)).toEqual(before);
  });

  test('open() reads each option once: a host getter cannot pass the check and then answer a fake', () => {
    let n = 0;
    const opts = { get host() { return n++ === 0 ? host : { process: 1 }; } };
    const r = code(() => open(opts as never).close());
    expect(r === 'ok' || r === 'EINVAL').toBe(true);
    expect(code(() => open({ host: Object.create(host) as SimulatedHost }))).toBe('EINVAL');
    expect(code(() => open({ host: { process: () => null } as never }))).toBe('EINVAL');
  });

  test('a sparse hypercall argument array: the hole is refused, not sent as 0', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(code(() => h.hypercall('xen_version', [, , 1n] as never))).toBe('EINVAL');
  });
});

describe('a request whose op getter changes after the first read', () => {
  const changingOp = (): { op: string } => {
    let n = 0;
    return { get op() { return n++ === 0 ? 'nr_vcpus' : (Object.create(null) as string); } } as { op: string };
  };

  test('dmop and dmopAsync use the op they encoded: for the call, the result and the message', async () => {
    expect(h.dmop(g, changingOp() as never)).toEqual({ vcpus: 1 });
    await expect(h.dmopAsync(g, changingOp() as never)).resolves.toEqual({ vcpus: 1 });
    // Refused (no such domain): the message names the op encoded, and the error is coded.
    const e = await h.dmopAsync(0x7000, changingOp() as never).then(() => null, (x: unknown) => x as { code?: unknown; message?: string });
    expect(e?.code).toBe('ESRCH');
    expect(e?.message).toMatch(/DM_OP nr_vcpus/);
  });
});

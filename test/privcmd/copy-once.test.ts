// Copy once on the simulated host: raw DMOP arguments are taken through
// views and objects of the handle's own, the count is checked before
// anything is staged, and a filtered call's snapshot is copied back with
// only what the call changed. The attacks themselves (rewritten after the
// check, a Proxy) are contract cases, run on both backends.
import { createSimulatedHost, type SimulatedHost } from '../../lib/sim/host';
import { open } from '../../lib/privcmd';
import { encodeDmop } from '../../lib/dmop/codec';
import { createFilter } from '../../lib/policy/filter';
import { code } from '../support/code';

describe('raw DMOP arguments', () => {
  let host: SimulatedHost;
  let g: number;
  beforeEach(() => {
    host = createSimulatedHost();
    g = host.createDomain({ type: 'hvm', vcpus: 2, memoryPages: 256 });
  });
  afterEach(() => host.close());

  test('3000 buffers: E2BIG as the driver says, nothing staged, later calls unaffected', () => {
    const space = host.process(0).space;
    const before = space.liveAllocations;
    const h = open({ host });
    const live = space.liveAllocations;
    const many = Array.from({ length: 3000 }, () => new Uint8Array(32));
    expect(code(() => h.dmopRaw(g, many))).toBe('E2BIG');
    expect(space.liveAllocations).toBe(live);
    const buf = h.hypercallBuffer(64);
    h.freeHypercallBuffer(buf);
    open({ host }).close();
    expect(h.dmop(g, { op: 'nr_vcpus' }).vcpus).toBe(2);
    h.restrict(g);
    expect(code(() => h.dmopRaw(g + 1, many))).toBe('EPERM'); // the restriction is checked first, as in the driver
    h.close();
    expect(space.liveAllocations).toBe(before); // the handle's own scratch and descriptors are gone
  });

  test('a full address space: too many buffers are still E2BIG, and the handle keeps working and closes', () => {
    const small = createSimulatedHost({ memory: { size: 64 * 4096 } });
    try {
      const d = small.createDomain({ type: 'hvm', vcpus: 1, memoryPages: 16 });
      const h = open({ host: small });
      const space = small.process(0).space;
      const hog: unknown[] = [];
      for (;;) {
        try {
          hog.push(space.alloc(4096));
        } catch (e) {
          expect((e as { code?: string }).code).toBe('ENOMEM');
          break;
        }
      }
      expect(code(() => h.dmopRaw(d, Array.from({ length: 3000 }, () => new Uint8Array(32))))).toBe('E2BIG');
      expect(h.dmop(d, { op: 'nr_vcpus' }).vcpus).toBe(1);
      expect(() => h.close()).not.toThrow();
    } finally {
      small.close();
    }
  });

  test('{ addr, size } is read once into an object of our own; bad shapes are EINVAL, never uncoded', () => {
    const h = open({ host });
    const b0 = h.hypercallBuffer(32);
    b0.view.set(encodeDmop({ op: 'nr_vcpus' })[0]!);
    let reads = 0;
    const flipping = {
      get addr() {
        reads++;
        return reads === 1 ? b0.addr : 0n;
      },
      size: 32,
    };
    expect(h.dmopRaw(g, [flipping])).toBe(0);
    expect(reads).toBe(1);
    expect(b0.view.readUInt32LE(8)).toBe(2);
    const bad: unknown[] = [
      { addr: b0.addr, size: 1.5 }, { addr: b0.addr, size: NaN }, { addr: b0.addr, size: Infinity }, { addr: b0.addr, size: -1 },
      { addr: -1n, size: 32 }, { addr: 1n << 64n, size: 32 }, { addr: 5, size: 32 }, Object.create(null), null, 'x', 7,
      { get addr(): bigint { throw new Error('boom'); }, size: 32 }, new Proxy({ addr: b0.addr, size: 32 }, {}), new Uint16Array(16),
    ];
    for (const x of bad) expect([x, code(() => h.dmopRaw(g, [x as never]))]).toEqual([x, 'EINVAL']);
    h.close();
  });

  test('a filtered dmopRaw sends a snapshot of buffer 0 and copies back only what Xen changed', () => {
    const f = open({ host, filter: createFilter({ role: 'device-model', target: g }) });
    const b0 = encodeDmop({ op: 'nr_vcpus' })[0]!;
    b0[31] = 0x5a; // a byte the op leaves alone keeps the caller's value
    expect(f.dmopRaw(g, [b0])).toBe(0);
    expect(new DataView(b0.buffer, b0.byteOffset).getUint32(8, true)).toBe(2);
    expect(b0[31]).toBe(0x5a);
    f.close();
  });

  test('a filtered hypercall whose argument struct cannot be read is refused by the filter (fail closed), not sent', () => {
    const f = open({ host, filter: createFilter({ role: 'device-model', target: g }) });
    const unmapped = 0x10000n; // below every allocation: never mapped
    let err: { code?: string; message?: string } = {};
    try {
      f.hypercall('hvm_op', [1, unmapped]);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe('EPERM');
    expect(err.message).toContain('filter');
    f.close();
  });
});

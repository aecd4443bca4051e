// An async call's error carries its own reason, taken when the call
// finished (issue 12, "one way to fail"): not whatever the backend said last,
// and not nothing because the handle was closed in the meantime.
import { createSimulatedHost, open, type SimulatedHost } from '../../lib';

let host: SimulatedHost;
beforeEach(() => { host = createSimulatedHost(); });
afterEach(() => host.close());

const MISSING = 0x7000;

test('closed while in flight: the DMOP\'s rejection still says why the hypervisor refused it', async () => {
  const h = open({ host });
  const p = h.dmopAsync(MISSING, { op: 'nr_vcpus' });
  h.close();
  const e = await p.then(() => null, (x: unknown) => x as Error & { code?: string });
  expect(e?.code).toBe('ESRCH');
  expect(e?.message).toMatch(/^ESRCH \(ioctl\): DM_OP nr_vcpus on domain 28672 refused: ./);
});

test('closed while in flight: the hypercall\'s rejection still says why', async () => {
  const h = open({ host });
  const p = h.hypercallAsync('sysctl', [0]);
  h.close();
  const e = await p.then(() => null, (x: unknown) => x as Error & { code?: string });
  expect(e?.code).toBe('EFAULT');
  expect(e?.message).toMatch(/^EFAULT \(ioctl\): HYPERCALL sysctl refused: ./);
});

// A guard, not a reproduction: the simulated kernel answers each async call on
// its own turn, so the old shared field happened to hold the right reason here.
test('each async call keeps its own reason when another call fails in between', async () => {
  const g = host.createDomain({ type: 'hvm' });
  const h = open({ host });
  const a = h.dmopAsync(MISSING, { op: 'nr_vcpus' });
  const b = h.dmopAsync(g, { op: 'set_isa_irq_level', isaIrq: 16, level: 1 });
  const [ea, eb] = await Promise.all([a, b].map((p) => p.then(() => null, (x: unknown) => x as Error & { code?: string })));
  expect(ea?.code).toBe('ESRCH');
  expect(eb?.code).toBe('EINVAL');
  expect(ea?.message).toMatch(/refused: no domain 28672$/);
  expect(eb?.message).toMatch(/refused: set_isa_irq_level: ISA IRQ 16 is not 0\.\.15$/);
  h.close();
});

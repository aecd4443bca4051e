// A synchronous call's error carries the reason from its own outcome, as an
// async call's does (issue 12, "one way to fail"): the backends keep no
// mutable `why` for the handle to read after the call.
import { createSimulatedBackend, createSimulatedHost, encodeDmop, open, openEventChannels, type SimulatedHost } from '../../lib';

let host: SimulatedHost;
beforeEach(() => { host = createSimulatedHost(); });
afterEach(() => host.close());

const MISSING = 0x7000;

function refusal(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('the call was not refused');
}

test('a backend answers each call with its outcome, the reason included, and keeps none of its own', () => {
  const b = createSimulatedBackend(host, 0);
  expect('why' in b).toBe(false);
  const [buf0] = encodeDmop({ op: 'nr_vcpus' });
  expect(b.dmOp(MISSING, [buf0 as Uint8Array])).toEqual({ result: -3, why: expect.stringMatching(/no domain 28672$/) });
  expect(b.restrict(1)).toEqual({ result: 0, why: '' });
  expect(b.restrict(2)).toEqual({ result: -22, why: 'the handle is already restricted to domain 1' });
  expect(b.hypercall(17, [0n, 0n, 0n, 0n, 0n])).toEqual({ result: -1n, why: expect.stringMatching(/raw hypercalls are refused$/) });
  b.close();
});

test('each refused sync privcmd call says its own reason, whatever failed before it', () => {
  const g = host.createDomain({ type: 'hvm' });
  const h = open({ host });
  expect(refusal(() => h.dmop(MISSING, { op: 'nr_vcpus' })).message).toMatch(/^ESRCH \(ioctl\): DM_OP nr_vcpus on domain 28672 refused: no domain 28672$/);
  expect(refusal(() => h.dmop(g, { op: 'set_isa_irq_level', isaIrq: 16, level: 1 })).message).toMatch(/refused: set_isa_irq_level: ISA IRQ 16 is not 0\.\.15$/);
  h.restrict(g);
  expect(refusal(() => h.restrict(g + 1)).message).toMatch(new RegExp(`refused: the handle is already restricted to domain ${g}$`));
  expect(refusal(() => h.dmop(g + 1, { op: 'nr_vcpus' })).message).toMatch(new RegExp(`refused: the handle is restricted to domain ${g}$`));
  expect(refusal(() => h.hypercall('xen_version', [0])).message).toMatch(/refused: the handle is restricted to domain \d+: raw hypercalls are refused$/);
  h.close();
});

test('each refused event-channel call says its own reason', () => {
  const e = openEventChannels({ host });
  expect(refusal(() => e.notify(5)).message).toMatch(/^ENOTCONN \(ioctl\): IOCTL_EVTCHN_NOTIFY on port 5 refused: port 5 is not bound by this handle$/);
  expect(refusal(() => e.bindInterdomain(MISSING, 1)).message).toMatch(/refused: EVTCHNOP_bind_interdomain: no domain 28672$/);
  expect(refusal(() => e.unbind(7)).message).toMatch(/refused: port 7 is not bound by this handle$/);
  e.close();
});

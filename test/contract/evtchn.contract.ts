// The event-channel contract: what /dev/xen/evtchn must do, observed only
// through the public API, so the same cases run on the simulated host and on
// the real device in the real-host harness. The kernel's rules are Linux
// 6.1's drivers/xen/evtchn.c; Xen's are xen/common/event_channel.c (4.17).
// Registered before the privcmd contract: that one restricts the process last.
import type { EventChannels } from '../../lib/evtchn';
import type { Privcmd } from '../../lib/privcmd';
import { code } from '../support/code';

export interface EvtchnContractEnv {
  /** A fresh, unrestricted event-channel handle in dom0. */
  openEvtchn(): EventChannels;
  /** A fresh, unrestricted privcmd handle in dom0. */
  open(): Privcmd;
  /** A fresh paused HVM domain. */
  freshGuest(): number;
  readonly missingDomain: number;
  readonly selfDomain: number;
  cleanup(): void;
}

export function evtchnContract(name: string, makeEnv: () => EvtchnContractEnv): void {
  describe(`event-channel contract: ${name}`, () => {
    let env: EvtchnContractEnv;
    let e: EventChannels;
    let h: Privcmd;
    let g: number;
    beforeAll(() => { env = makeEnv(); });
    afterAll(() => env.cleanup());
    beforeEach(() => {
      e = env.openEvtchn();
      h = env.open();
      g = env.freshGuest();
    });
    afterEach(() => {
      e.close();
      h.close();
    });

    /** An ioreq server with a buffered ring: its bufioreq port is offered to dom0. */
    const bufioreqPort = (): number => {
      const { id } = h.dmop(g, { op: 'create_ioreq_server', handleBufioreq: 'atomic' });
      return h.dmop(g, { op: 'get_ioreq_server_info', id }).bufioreqPort;
    };

    test('an ioreq server\'s port binds; the fresh local port arrives pending once, then only after unmask and a new event', () => {
      const local = e.bindInterdomain(g, bufioreqPort());
      expect(local).toBeGreaterThan(0);
      expect(e.pending()).toEqual([local]); // Xen sets the new local port pending
      expect(e.pending()).toEqual([]);
      e.unmask(local);
      expect(e.pending()).toEqual([]); // nothing new since
      expect(code(() => e.bindInterdomain(g, bufioreqPort() + 1000))).toBe('EINVAL'); // not an unbound port
    });

    test('a loopback channel in dom0: notify on one end fires the other; masked until unmasked', async () => {
      const a = e.bindUnboundPort(env.selfDomain);
      const b = e.bindInterdomain(env.selfDomain, a);
      expect(b).not.toBe(a);
      expect(e.pending()).toEqual([b]);
      e.unmask(b);
      e.notify(a);
      expect(await e.wait()).toEqual([b]);
      e.notify(a); // b is masked: held by Xen, not delivered
      expect(e.pending()).toEqual([]);
      e.unmask(b); // still pending in Xen: delivered now
      expect(e.pending()).toEqual([b]);
      e.unmask(b);
      e.notify(b);
      expect(e.pending()).toEqual([a]);
      e.unbind(a);
      e.unbind(b);
      expect(code(() => e.notify(a))).toBe('ENOTCONN');
    });

    test('unbind and notify: a port this handle did not bind is ENOTCONN; past the port space EINVAL', () => {
      const other = env.openEvtchn();
      try {
        const p = other.bindUnboundPort(g);
        expect(code(() => e.unbind(p))).toBe('ENOTCONN');
        expect(code(() => e.notify(p))).toBe('ENOTCONN');
        expect(code(() => e.unbind(4096))).toBe('EINVAL');
        expect(code(() => e.unbind(0xffffffff))).toBe('EINVAL');
        other.unbind(p);
        expect(code(() => other.unbind(p))).toBe('ENOTCONN');
      } finally {
        other.close();
      }
    });

    test('Xen\'s answers: a missing domain ESRCH, a VIRQ past NR_VIRQS EINVAL', () => {
      expect(code(() => e.bindInterdomain(env.missingDomain, 1))).toBe('ESRCH');
      expect(code(() => e.bindVirq(24))).toBe('EINVAL');
    });

    test('restrict: once only (again is EACCES, even to the same domain); 0 and reserved domids EINVAL', () => {
      expect(code(() => e.restrict(0))).toBe('EINVAL');
      expect(code(() => e.restrict(0x7ff0))).toBe('EINVAL');
      expect(e.restrictedTo).toBeNull();
      e.restrict(g);
      expect(e.restrictedTo).toBe(g);
      expect(code(() => e.restrict(g))).toBe('EACCES');
      expect(code(() => e.restrict(g + 1))).toBe('EACCES');
    });

    test('a restricted handle binds its domain\'s ports only: VIRQs, unbound ports and other domains are EACCES; earlier ports keep working', () => {
      const g2 = env.freshGuest();
      const a = e.bindUnboundPort(env.selfDomain);
      const b = e.bindInterdomain(env.selfDomain, a);
      e.pending();
      e.unmask(b);
      e.restrict(g);
      expect(code(() => e.bindVirq(24))).toBe('EACCES'); // refused before Xen sees the number
      expect(code(() => e.bindUnboundPort(g))).toBe('EACCES');
      expect(code(() => e.bindInterdomain(env.selfDomain, a))).toBe('EACCES');
      const { id } = h.dmop(g2, { op: 'create_ioreq_server', handleBufioreq: 'atomic' });
      const p2 = h.dmop(g2, { op: 'get_ioreq_server_info', id }).bufioreqPort;
      expect(code(() => e.bindInterdomain(g2, p2))).toBe('EACCES');
      expect(e.bindInterdomain(g, bufioreqPort())).toBeGreaterThan(0);
      e.notify(a); // bound before the restriction: still works
      expect(e.pending()).toContain(b);
    });

    test('wait() resolves with the ports that fired; close() while waiting rejects it with EBADF', async () => {
      const a = e.bindUnboundPort(env.selfDomain);
      const b = e.bindInterdomain(env.selfDomain, a);
      expect(await e.wait()).toEqual([b]); // the bind's own event
      e.unmask(b);
      const w = e.wait();
      e.notify(a);
      expect(await w).toEqual([b]);
      const other = env.openEvtchn();
      const stuck = other.wait();
      other.close();
      await expect(stuck).rejects.toMatchObject({ code: 'EBADF' });
    });

    test('bad arguments are EINVAL before the kernel; a closed handle is EBADF; closing twice is harmless', () => {
      const bad: unknown[] = [-1, 1.5, NaN, Infinity, 2 ** 32, '1', 1n, null, undefined, Object.create(null), {}];
      for (const x of bad) {
        expect([x, code(() => e.notify(x as number))]).toEqual([x, 'EINVAL']);
        expect([x, code(() => e.bindVirq(x as number))]).toEqual([x, 'EINVAL']);
        expect([x, code(() => e.bindUnboundPort(x as number))]).toEqual([x, 'EINVAL']);
        expect([x, code(() => e.bindInterdomain(g, x as number))]).toEqual([x, 'EINVAL']);
        expect([x, code(() => e.unmask(x as number))]).toEqual([x, 'EINVAL']);
      }
      expect(code(() => e.bindInterdomain(0x10000, 1))).toBe('EINVAL');
      expect(code(() => e.restrict(0x10000))).toBe('EINVAL');
      expect(e.restrictedTo).toBeNull();
      const c = env.openEvtchn();
      c.close();
      c.close();
      for (const fn of [() => c.bindUnboundPort(g), () => c.notify(1), () => c.pending(), () => c.unmask(1), () => c.restrict(g)]) {
        expect(code(fn)).toBe('EBADF');
      }
    });
  });
}

// The hypercall filter: decided on the bytes that are sent, before the kernel sees the call.
import type { Privcmd } from '../../../lib/privcmd';
import { createFilter } from '../../../lib/policy/filter';
import { code, hvmParam, raw, type ContractEnv, type ContractCapabilities, type Fixture } from './suite';

export function filterCases(_caps: ContractCapabilities, f: Fixture): void {
  describe('hypercall filter (decided before the kernel sees the call)', () => {
    let env: ContractEnv;
    let h: Privcmd;
    let g: number;
    beforeEach(() => ({ env, h, g } = f()));

    test('device-model role: its target passes; another domain is refused by the filter, not by Xen', () => {
      const g2 = env.freshGuest();
      const f = env.open({ filter: createFilter({ role: 'device-model', target: g }) });
      try {
        expect(f.dmop(g, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus);
        let err: { code?: string; message?: string } = {};
        try {
          f.dmop(g2, { op: 'nr_vcpus' });
        } catch (e) {
          err = e as typeof err;
        }
        expect(err.code).toBe('EPERM');
        expect(err.message).toContain(`filter: rule dm_op/nr_vcpus [XSM_DM_PRIV, dummy.h xsm_dm_op] refuses role device-model(target ${g}) on domain ${g2}`);
        expect(h.dmop(g2, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus); // the same call unfiltered: Xen allows dom0
        // hvm_op get_param: the filter reads the domid from the argument struct.
        expect(hvmParam(f, 1, g, 33).code).toBe('ok'); // HVM_PARAM_NR_IOREQ_SERVER_PAGES
        expect(hvmParam(f, 1, g2, 33).code).toBe('EPERM');
      } finally {
        f.close();
      }
    });

    // Copy once (Xen's copy_from_guest discipline): the filter decides on a
    // snapshot the handle owns, and the snapshot is what is sent.
    test('copy once: buffer 0 of a dmopRawAsync rewritten after the check: the checked op runs, never the rewritten one', async () => {
      const f = env.open({ filter: createFilter({ role: 'device-model', target: g, deny: ['dm_op/remote_shutdown'] }) });
      try {
        const denied = raw({ op: 'remote_shutdown', reason: 'poweroff' })[0]!;
        expect(code(() => f.dmopRaw(g, [denied]))).toBe('EPERM'); // the deny rule holds when it is seen
        const bufs = raw({ op: 'nr_vcpus' });
        const b0 = bufs[0]!;
        expect(b0.length).toBe(denied.length);
        const p = f.dmopRawAsync(g, bufs);
        b0.set(denied); // after the check, before the call runs
        await expect(p).resolves.toBe(0);
        const dv = new DataView(b0.buffer, b0.byteOffset, b0.byteLength);
        // nr_vcpus ran: Xen's vCPU count landed where remote_shutdown's
        // reason (0, poweroff) sits; the op word is still the caller's.
        expect(dv.getUint32(0, true)).toBe(new DataView(denied.buffer, denied.byteOffset).getUint32(0, true));
        expect(dv.getUint32(8, true)).toBe(env.vcpus);
        expect(h.dmop(g, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus);
      } finally {
        f.close();
      }
    });

    test('copy once: an hvm_op struct rewritten to another domain after a hypercallAsync check still reaches the checked domain only', async () => {
      const g2 = env.freshGuest();
      const TIMER_MODE = 10; // HVM_PARAM_TIMER_MODE: 0..3, settable by the device model
      const before2 = hvmParam(h, 1, g2, TIMER_MODE).value;
      expect(before2).not.toBe(2n);
      const f = env.open({ filter: createFilter({ role: 'device-model', target: g }) });
      const buf = f.hypercallBuffer(16);
      try {
        const dv = new DataView(buf.view.buffer, buf.view.byteOffset, 16);
        dv.setUint16(0, g2, true);
        dv.setUint32(4, TIMER_MODE, true);
        dv.setBigUint64(8, 2n, true);
        expect(code(() => f.hypercall('hvm_op', [0, buf.addr]))).toBe('EPERM'); // g2 is refused when it is seen
        dv.setUint16(0, g, true);
        const p = f.hypercallAsync('hvm_op', [0, buf.addr]);
        dv.setUint16(0, g2, true); // after the check, before the call runs
        await expect(p).resolves.toBe(0n);
        expect(hvmParam(h, 1, g2, TIMER_MODE).value).toBe(before2);
        expect(hvmParam(h, 1, g, TIMER_MODE).value).toBe(2n);
        expect(dv.getUint16(0, true)).toBe(g2); // only what Xen changed is copied back: the caller's domid stays
      } finally {
        f.freeHypercallBuffer(buf);
        f.close();
      }
    });

    test('copy once: only genuine Uint8Arrays: a Proxy, a look-alike or a detached buffer is EINVAL before anything is sent', () => {
      const f = env.open({ filter: createFilter({ role: 'device-model', target: g, deny: ['dm_op/remote_shutdown'] }) });
      try {
        const allowed = raw({ op: 'nr_vcpus' })[0]!;
        const denied = raw({ op: 'remote_shutdown', reason: 'poweroff' })[0]!;
        let reads = 0;
        // Answers the filter's first reads with the allowed op, later ones with the denied one.
        const proxy = new Proxy(allowed, {
          get(t, k, r) {
            if (typeof k === 'string' && /^\d+$/.test(k)) return (reads++ < 4 ? t : denied)[Number(k)];
            const v = Reflect.get(t, k, r) as unknown;
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
          },
        });
        expect(proxy instanceof Uint8Array).toBe(true);
        expect(code(() => f.dmopRaw(g, [proxy]))).toBe('EINVAL');
        expect(code(() => h.dmopRaw(g, [proxy]))).toBe('EINVAL');
        const lookAlike = Object.create(Uint8Array.prototype, { length: { value: 32 }, 0: { value: 0 } }) as Uint8Array;
        expect(code(() => f.dmopRaw(g, [lookAlike]))).toBe('EINVAL');
        const gone = raw({ op: 'nr_vcpus' })[0]!;
        structuredClone(gone.buffer, { transfer: [gone.buffer as ArrayBuffer] });
        expect(code(() => h.dmopRaw(g, [gone]))).toBe('EINVAL');
        expect(reads).toBe(0); // refused before anything read the proxy's bytes
        expect(h.dmop(g, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus);
      } finally {
        f.close();
      }
    });

    test('control role (XSM_HW_PRIV split): platform_op and the physdev PCI ops are refused; composes with restrict', () => {
      const f = env.open({ filter: createFilter({ role: 'control', hwPriv: 'exclusive' }) });
      try {
        expect(f.hypercall('xen_version', [0, 0])).toBeGreaterThan(0n);
        const e = (() => { try { f.hypercall('platform_op', [0]); return {}; } catch (x) { return x as { code?: string; message?: string }; } })();
        expect(e.code).toBe('EPERM');
        expect(e.message).toContain('XSM_HW_PRIV');
        expect(f.dmop(g, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus);
        f.restrict(g);
        expect(f.dmop(g, { op: 'nr_vcpus' }).vcpus).toBe(env.vcpus);
        expect(code(() => f.hypercall('xen_version', [0, 0]))).toBe('EPERM'); // the driver's restriction
      } finally {
        f.close();
      }
    });
  });
}

// The contract's environment on a simulated host, shared by the suites that
// run the contract there (simulated.test.ts; the altp2m suite, with host
// options of its own).
import { open } from '../../lib/privcmd';
import { openEventChannels } from '../../lib/evtchn';
import { createSimulatedHost, type SimulatedHostOptions } from '../../lib/sim/host';
import { KERNEL_BASE } from '../../lib/sim/address-space';
import type { ContractEnv } from './privcmd.contract';

/** A fresh simulated host with a PV domain, as the contract expects it. */
export function simulatedEnv(options: SimulatedHostOptions = {}): ContractEnv {
  const host = createSimulatedHost(options);
  const pv = host.createDomain({ type: 'pv' });
  return {
    open: (o) => open({ host, domain: 0, ...o }),
    openEvtchn: () => openEventChannels({ host, domain: 0 }),
    freshGuest: () => host.createDomain({ type: 'hvm', vcpus: 2, memoryPages: 512 }),
    vcpus: 2,
    memoryPages: 512,
    pvDomain: pv,
    missingDomain: 0x7000,
    selfDomain: 0,
    rawPointers: { kernel: KERNEL_BASE, unmapped: 0x20000n },
    enableLogDirty: (domid) => host.setLogDirty(domid, true),
    process: { host, domain: 0 },
    cleanup: () => host.close(),
  };
}

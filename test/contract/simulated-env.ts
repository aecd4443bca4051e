// The simulated-host environment as a module of its own, so both jest
// (simulated.test.ts) and the standalone runner (runner.ts) can load it.
import { open } from '../../lib/privcmd';
import { createSimulatedHost } from '../../lib/sim/host';
import { KERNEL_BASE } from '../../lib/sim/address-space';
import { privcmdContract, type ContractEnv } from './privcmd.contract';

privcmdContract('simulated host (Xen 4.17 + Linux 6.1)', { pvDomain: true, rawPointers: true }, (): ContractEnv => {
  const host = createSimulatedHost();
  const pv = host.createDomain({ type: 'pv' });
  return {
    open: (o) => open({ host, domain: 0, ...o }),
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
});

// The contract's altp2m cases on a simulated Xen that supports altp2m
// (booted with altp2m=1 on VMX): the main contract run (test/contract) uses
// a host without, as Xen 4.17 boots by default and as the real-host VM (AMD)
// is.
import { open } from '../../lib/privcmd';
import { createSimulatedHost } from '../../lib/sim/host';
import { altp2mContract, type ContractEnv } from '../contract/privcmd.contract';

altp2mContract('simulated host with altp2m=1', { pvDomain: true, rawPointers: true, altp2m: true }, (): ContractEnv => {
  const host = createSimulatedHost({ altp2m: true });
  const pv = host.createDomain({ type: 'pv' });
  return {
    open: (o) => open({ host, domain: 0, ...o }),
    freshGuest: () => host.createDomain({ type: 'hvm', vcpus: 2, memoryPages: 512 }),
    vcpus: 2,
    memoryPages: 512,
    pvDomain: pv,
    missingDomain: 0x7000,
    selfDomain: 0,
    enableLogDirty: (domid) => host.setLogDirty(domid, true),
    process: { host, domain: 0 },
    cleanup: () => host.close(),
  };
});

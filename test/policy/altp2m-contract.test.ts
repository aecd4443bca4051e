// The contract's altp2m cases on a simulated Xen that supports altp2m
// (booted with altp2m=1 on VMX): the main contract run (test/contract) uses
// a host without, as Xen 4.17 boots by default and as the real-host VM (AMD)
// is.
import { altp2mContract } from '../contract/privcmd.contract';
import { simulatedEnv } from '../contract/simulated-env';

altp2mContract('simulated host with altp2m=1', { pvDomain: true, rawPointers: true, altp2m: true }, () => simulatedEnv({ altp2m: true }));

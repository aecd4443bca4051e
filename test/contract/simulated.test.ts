// The privcmd contract on the simulated host, under jest.
import { privcmdContract } from './privcmd.contract';
import { simulatedEnv } from './simulated-env';

privcmdContract('simulated host (Xen 4.17 + Linux 6.1)', { pvDomain: true, rawPointers: true }, () => simulatedEnv());

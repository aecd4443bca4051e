// The privcmd and event-channel contracts on the simulated host, under jest.
// The process-wide cases run in a jest file of their own
// (process.simulated.test.ts).
import { privcmdContract } from './privcmd.contract';
import { simulatedEnv } from './simulated-env';
import { evtchnContract } from './evtchn.contract';
import { mappingContract } from './mapping.contract';

evtchnContract('simulated host (Xen 4.17 + Linux 6.1)', () => simulatedEnv());
mappingContract('simulated host (Xen 4.17 + Linux 6.1)', () => simulatedEnv());

privcmdContract('simulated host (Xen 4.17 + Linux 6.1)', { pvDomain: true, rawPointers: true }, () => simulatedEnv());

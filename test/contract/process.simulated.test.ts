// The process-wide privcmd contract (restrictAll, verifyRestricted) on the
// simulated host, in a jest file of its own: it leaves the process it
// selects restricted.
import { processContract } from './privcmd.contract';
import { simulatedEnv } from './simulated-env';

processContract('simulated host (Xen 4.17 + Linux 6.1)', { pvDomain: true, rawPointers: true }, () => simulatedEnv());

// The privcmd contract on the real /dev/xen/privcmd, run by the real-host
// harness inside dom0 of a Xen 4.17 VM (scripts/real-host). Domains come from
// the xenctl helper (libxenctrl), created as libxl would create them.
import { execFileSync } from 'child_process';
import { open } from '../../lib/privcmd';
import { openEventChannels } from '../../lib/evtchn';
import { privcmdContract, processContract, type ContractEnv } from './privcmd.contract';
import { evtchnContract } from './evtchn.contract';
import { mappingContract } from './mapping.contract';

const XENCTL = process.env.XENCTL ?? 'xenctl';
const VCPUS = 2;
const PAGES = 512;

function xenctl(...args: string[]): string {
  return execFileSync(XENCTL, args, { encoding: 'utf8' }).trim();
}

function deviceEnv(): ContractEnv {
  const made: string[] = [];
  const pv = xenctl('pv');
  made.push(pv);
  return {
    open: (o) => open({ testOnlyRawPointers: true, ...o }),
    openEvtchn: () => openEventChannels(),
    freshGuest: () => {
      const d = xenctl('hvm', String(VCPUS), String(PAGES));
      made.push(d);
      return Number(d);
    },
    vcpus: VCPUS,
    memoryPages: PAGES,
    pvDomain: Number(pv),
    missingDomain: 0x7000,
    selfDomain: 0,
    // The kernel half, and a user address nothing in a Node process maps.
    rawPointers: { kernel: 0xffff800000000000n, unmapped: 0x20000n },
    enableLogDirty: (domid) => { xenctl('logdirty', String(domid)); },
    process: {},
    cleanup: () => {
      if (made.length) xenctl('destroy', ...made);
    },
  };
}

evtchnContract('real /dev/xen/evtchn (Xen 4.17, Linux 6.1 dom0)', deviceEnv);
mappingContract('real /dev/xen/privcmd mappings (Xen 4.17, Linux 6.1 dom0)', deviceEnv);
privcmdContract('real /dev/xen/privcmd (Xen 4.17, Linux 6.1 dom0)', { pvDomain: true, rawPointers: true }, deviceEnv);
// Last: it leaves dom0's harness process restricted.
processContract('real /dev/xen/privcmd (Xen 4.17, Linux 6.1 dom0)', { pvDomain: true, rawPointers: true }, deviceEnv);

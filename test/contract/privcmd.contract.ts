// The privcmd contract: what any backend must do, observed only through the
// public API (return values, error codes, and state that hypercalls expose),
// so the same cases run on the simulated host here and against the real
// /dev/xen/privcmd in the real-host harness. Where Xen 4.17 and newer Xen
// differ, the case says which behaviour it expects and why.
//
// One module per area under privcmd/, registered from the table below the
// way abstract-level registers its compliance tests. Every case starts from
// its own fresh handle and guest, so any subset runs alone (jest -t, or
// REAL_HOST_FILTER in the VM). The process-wide cases (restrictAll) leave the
// process restricted: they are a suite of their own, processContract, which
// an environment runs by itself or last.
import { contractSuite, type Area, type ContractCapabilities, type ContractEnv } from './privcmd/suite';
import { restrictionCases } from './privcmd/restriction';
import { bufferCases } from './privcmd/buffers';
import { targetCases } from './privcmd/target';
import { ioreqCases } from './privcmd/ioreq';
import { interruptCases } from './privcmd/interrupts';
import { memoryCases } from './privcmd/memory';
import { hypercallCases } from './privcmd/hypercalls';
import { filterCases } from './privcmd/filter';
import { relabelCases } from './privcmd/relabel';
import { altp2mCases } from './privcmd/altp2m';
import { lifecycleCases } from './privcmd/lifecycle';
import { processCases } from './privcmd/process';

export type { ContractCapabilities, ContractEnv } from './privcmd/suite';

/** The areas of the per-handle contract, in the order they are reported. */
export const PRIVCMD_AREAS: readonly Area[] = [
  restrictionCases, bufferCases, targetCases, ioreqCases, interruptCases, memoryCases,
  hypercallCases, filterCases, relabelCases, altp2mCases, lifecycleCases,
];

/** Register `areas` under one describe, with a fresh dom0 handle and guest per case. */
function suite(title: string, areas: readonly Area[], caps: ContractCapabilities, makeEnv: () => ContractEnv): void {
  contractSuite(title, makeEnv, (fixture) => {
    for (const area of areas) area(caps, fixture);
  });
}

export function privcmdContract(name: string, caps: ContractCapabilities, makeEnv: () => ContractEnv): void {
  suite(`privcmd contract: ${name}`, PRIVCMD_AREAS, caps, makeEnv);
}

/** The altp2m cases alone, for an environment that differs from the main suite's only in altp2m support. */
export function altp2mContract(name: string, caps: ContractCapabilities, makeEnv: () => ContractEnv): void {
  suite(`privcmd contract (altp2m): ${name}`, [altp2mCases], caps, makeEnv);
}

/** The process-wide cases: restrictAll and verifyRestricted. The process stays restricted afterwards. */
export function processContract(name: string, caps: ContractCapabilities, makeEnv: () => ContractEnv): void {
  suite(`privcmd contract (the whole process): ${name}`, [processCases], caps, makeEnv);
}

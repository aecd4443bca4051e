// TypeScript shapes of DMOP requests and results. Keys are the camelCase of
// Xen's field names (lib/abi/layouts.ts); numbers as in Xen's header are
// always accepted, and the names in lib/dmop/ops.ts where the header has
// them. u64 fields take a bigint (or a safe integer).
import type { DmopName } from '../abi/dmops';
import type { DMOP_EVENT, HVMMEM, IOREQ_BUFIOREQ, IO_RANGE, MEM_CACHEATTR, SHUTDOWN } from './ops';

export type { DmopName };

type Named<T> = number | keyof T;
type U64 = bigint | number;
type Level = number | boolean;

export interface DmopRequests {
  create_ioreq_server: { handleBufioreq?: Named<typeof IOREQ_BUFIOREQ> };
  get_ioreq_server_info: { id: number; flags?: number };
  map_io_range_to_ioreq_server: { id: number; type: Named<typeof IO_RANGE>; start: U64; end: U64 };
  unmap_io_range_from_ioreq_server: { id: number; type: Named<typeof IO_RANGE>; start: U64; end: U64 };
  set_ioreq_server_state: { id: number; enabled: Level };
  destroy_ioreq_server: { id: number };
  track_dirty_vram: { firstPfn: U64; nr: number };
  set_pci_intx_level: { domain: number; bus: number; device: number; intx: number; level: Level };
  set_isa_irq_level: { isaIrq: number; level: Level };
  set_pci_link_route: { link: number; isaIrq: number };
  modified_memory: { extents: readonly { firstPfn: U64; nr: number }[] };
  set_mem_type: { memType: Named<typeof HVMMEM>; firstPfn: U64; nr: number };
  inject_event: { vcpuid: number; vector: number; type: Named<typeof DMOP_EVENT>; insnLen?: number; errorCode?: number; cr2?: U64 };
  inject_msi: { addr: U64; data: number };
  map_mem_type_to_ioreq_server: { id: number; type: Named<typeof HVMMEM>; flags: number };
  remote_shutdown: { reason: Named<typeof SHUTDOWN> };
  relocate_memory: { size: number; srcGfn: U64; dstGfn: U64 };
  pin_memory_cacheattr: { start: U64; end: U64; type: Named<typeof MEM_CACHEATTR> };
  set_irq_level: { irq: number; level: Level };
  nr_vcpus: Record<never, never>;
}

export interface DmopResults {
  create_ioreq_server: { id: number };
  get_ioreq_server_info: { bufioreqPort: number; ioreqGfn: bigint; bufioreqGfn: bigint };
  track_dirty_vram: { bitmap: Uint8Array };
  nr_vcpus: { vcpus: number };
}

// The compiler keeps these shapes in step with the DMOP table (lib/abi/dmops.ts):
// a request shape for every op and none other, results only for real ops.
type Assert<T extends true> = T;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type RequestsCoverTheTable = Assert<Same<keyof DmopRequests, DmopName>>;
export type ResultsAreOps = Assert<Same<keyof DmopResults & DmopName, keyof DmopResults>>;

/** A request: `{ op: 'create_ioreq_server', handleBufioreq: 1 }`. */
export type DmopRequest = { [K in DmopName]: { op: K } & DmopRequests[K] }[DmopName];

/** The decoded OUT fields of a request's op (an empty object for ops without any). */
export type DmopResult<R extends { op: DmopName }> = R['op'] extends keyof DmopResults
  ? DmopResults[R['op']]
  : Record<string, never>;

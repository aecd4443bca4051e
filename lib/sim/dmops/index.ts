// Each DMOP's simulated handler (x86, Xen 4.17), keyed by the DMOP table's
// names so that the compiler refuses an op without an entry. null: x86 Xen
// has no handler (set_irq_level is Arm-only), so the op is EOPNOTSUPP, as
// it is when x86 Xen falls through to ioreq_server_dm_op's default. Op 0
// and numbers past the table have no name and are EOPNOTSUPP too.
import { DMOPS, type DmopName } from '../../abi/dmops';
import type { DmopHandler } from './context';
import * as ioreq from './ioreq';
import * as irq from './irq';
import * as memory from './memory';
import * as events from './events';

const BY_NAME: Readonly<Record<DmopName, DmopHandler | null>> = {
  create_ioreq_server: ioreq.createIoreqServer,
  get_ioreq_server_info: ioreq.getIoreqServerInfo,
  map_io_range_to_ioreq_server: ioreq.mapIoRange,
  unmap_io_range_from_ioreq_server: ioreq.unmapIoRange,
  set_ioreq_server_state: ioreq.setIoreqServerState,
  destroy_ioreq_server: ioreq.destroyIoreqServer,
  track_dirty_vram: memory.trackDirtyVram,
  set_pci_intx_level: irq.setPciIntxLevel,
  set_isa_irq_level: irq.setIsaIrqLevel,
  set_pci_link_route: irq.setPciLinkRoute,
  modified_memory: memory.modifiedMemory,
  set_mem_type: memory.setMemType,
  inject_event: events.injectEvent,
  inject_msi: events.injectMsi,
  map_mem_type_to_ioreq_server: ioreq.mapMemTypeToIoreqServer,
  remote_shutdown: events.remoteShutdown,
  relocate_memory: memory.relocateMemory,
  pin_memory_cacheattr: memory.pinMemoryCacheattr,
  set_irq_level: null,
  nr_vcpus: events.nrVcpus,
};

/** XEN_DMOP_* number -> handler, for the hypervisor's dispatch. */
export const DMOP_HANDLERS: ReadonlyMap<number, DmopHandler> = new Map(
  DMOPS.flatMap((d) => {
    const h = BY_NAME[d.name];
    return h === null ? [] : [[d.op, h] as const];
  }),
);

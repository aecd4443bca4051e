// XEN_DMOP_* number -> the simulated handler (x86, Xen 4.17). Ops without an
// entry (0, and 19 set_irq_level, which is Arm-only) are EOPNOTSUPP, as they
// are when x86 Xen falls through to ioreq_server_dm_op's default.
import type { DmopHandler } from './context';
import * as ioreq from './ioreq';
import * as irq from './irq';
import * as memory from './memory';
import * as events from './events';

export const DMOP_HANDLERS: ReadonlyMap<number, DmopHandler> = new Map<number, DmopHandler>([
  [1, ioreq.createIoreqServer],
  [2, ioreq.getIoreqServerInfo],
  [3, ioreq.mapIoRange],
  [4, ioreq.unmapIoRange],
  [5, ioreq.setIoreqServerState],
  [6, ioreq.destroyIoreqServer],
  [7, memory.trackDirtyVram],
  [8, irq.setPciIntxLevel],
  [9, irq.setIsaIrqLevel],
  [10, irq.setPciLinkRoute],
  [11, memory.modifiedMemory],
  [12, memory.setMemType],
  [13, events.injectEvent],
  [14, events.injectMsi],
  [15, ioreq.mapMemTypeToIoreqServer],
  [16, events.remoteShutdown],
  [17, memory.relocateMemory],
  [18, memory.pinMemoryCacheattr],
  [20, events.nrVcpus],
]);

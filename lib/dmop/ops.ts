// How each XEN_DMOP_* op looks to a caller, beyond its layout (lib/abi):
// named values for its fields, defaults, fields the encoder fills itself, and
// its extra buffers. One table; the codec reads it.

import type { DmopName } from '../abi/dmops';
import { describe, invalidArgument } from '../errors';

/** Named values accepted wherever Xen's header defines them (numbers are always accepted). */
export const HVMMEM = { ram_rw: 0, ram_ro: 1, mmio_dm: 2, unused: 3, ioreq_server: 4 } as const;
export const IOREQ_BUFIOREQ = { off: 0, legacy: 1, atomic: 2 } as const;
export const IO_RANGE = { port: 0, memory: 1, pci: 2 } as const;
export const DMOP_EVENT = { ext_int: 0, nmi: 2, hw_exc: 3, sw_int: 4, pri_sw_exc: 5, sw_exc: 6 } as const;
export const SHUTDOWN = { poweroff: 0, reboot: 1, suspend: 2, crash: 3, watchdog: 4, soft_reset: 5 } as const;
export const MEM_CACHEATTR = { uc: 0, wc: 1, wt: 4, wp: 5, wb: 6, ucm: 7, delete: 0xffffffff } as const;
export const IOREQ_MEM_ACCESS = { read: 1, write: 2 } as const;
/** get_ioreq_server_info flags: don't map (or return) the ioreq pages' gfns. */
export const XEN_DMOP_NO_GFNS = 1;

/** PCI SBDF as XEN_DMOP_PCI_SBDF packs it for PCI ranges. */
export function pciSbdf(segment: number, bus: number, device: number, fn: number): number {
  const parts = [['segment', segment, 0xffff], ['bus', bus, 0xff], ['device', device, 0x1f], ['function', fn, 0x07]] as const;
  for (const [name, v, max] of parts) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw invalidArgument('dm_op', `pciSbdf: ${name} must be an integer in [0, ${max}], got ${describe(v)}`);
  }
  return (((segment & 0xffff) << 16) | ((bus & 0xff) << 8) | ((device & 0x1f) << 3) | (fn & 0x07)) >>> 0;
}

export interface OpInterface {
  /** camelCase field -> its named values (a field that takes a boolean says 'boolean'). */
  readonly names?: Readonly<Record<string, Readonly<Record<string, number>> | 'boolean'>>;
  /** camelCase field -> value used when the request omits it. */
  readonly defaults?: Readonly<Record<string, number | bigint>>;
  /** C fields the encoder fills itself (continuation state, counts): never taken from a request. */
  readonly internal?: readonly string[];
  /** The op's second buffer. */
  readonly extra?: 'dirty-bitmap' | 'extents';
}

// Typed by DmopName: an op missing here, or a name not in the table, does not compile.
export const OP_INTERFACE: Readonly<Record<DmopName, OpInterface>> = {
  create_ioreq_server: { names: { handleBufioreq: IOREQ_BUFIOREQ }, defaults: { handleBufioreq: 0 } },
  get_ioreq_server_info: { defaults: { flags: 0 } },
  map_io_range_to_ioreq_server: { names: { type: IO_RANGE } },
  unmap_io_range_from_ioreq_server: { names: { type: IO_RANGE } },
  set_ioreq_server_state: { names: { enabled: 'boolean' } },
  destroy_ioreq_server: {},
  track_dirty_vram: { extra: 'dirty-bitmap' },
  set_pci_intx_level: { names: { level: 'boolean' } },
  set_isa_irq_level: { names: { level: 'boolean' } },
  set_pci_link_route: {},
  modified_memory: { internal: ['nr_extents', 'opaque'], extra: 'extents' },
  set_mem_type: { names: { memType: HVMMEM } },
  inject_event: { names: { type: DMOP_EVENT }, defaults: { insnLen: 0, errorCode: 0xffffffff, cr2: 0n } },
  inject_msi: {},
  map_mem_type_to_ioreq_server: { names: { type: HVMMEM }, internal: ['opaque'] },
  remote_shutdown: { names: { reason: SHUTDOWN } },
  relocate_memory: {},
  pin_memory_cacheattr: { names: { type: MEM_CACHEATTR } },
  set_irq_level: { names: { level: 'boolean' } },
  nr_vcpus: {},
};

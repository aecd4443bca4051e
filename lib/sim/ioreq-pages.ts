// An ioreq server's shared pages on the simulated host, as Xen 4.17 keeps
// them (xen/common/ioreq.c): allocated on the first XENMEM_acquire_resource
// (ioreq_server_alloc_pages: the synchronous page, plus the buffered page
// when the server has a buffered ring), laid out as xen/include/public/hvm/
// ioreq.h says, and filled with each vCPU's event channel in
// vcpu_ioreq[v].vp_eport by ioreq_update_evtchn, which Xen calls when the
// server is enabled (and when a vCPU is added to a server whose page exists).
import { IOREQ_AT, IOREQ_STRUCT } from '../abi/ioreq';
import type { IoreqServer } from './domain';
import type { GuestMemory } from './memory';

const VP_EPORT = IOREQ_AT.vpEport;

/** ioreq_server_max_frames: the buffered page, and the ioreq pages for max_vcpus ioreq_t's. */
export function ioreqServerMaxFrames(vcpus: number): number {
  return 1 + Math.ceil((vcpus * IOREQ_STRUCT.size) / 4096);
}

/** ioreq_server_alloc_pages: idempotent; the pages are zeroed when first allocated. */
export function allocIoreqPages(mem: GuestMemory, s: IoreqServer): { ioreq: number; buf: number | null } {
  if (s.pages === null) {
    s.pages = { ioreq: mem.allocPage(), buf: s.bufioreq ? mem.allocPage() : null };
    if (s.enabled) updateEvtchns(mem, s);
  }
  return s.pages;
}

/** ioreq_update_evtchn for every vCPU: vcpu_ioreq[v].vp_eport = its port (only once the page exists). */
export function updateEvtchns(mem: GuestMemory, s: IoreqServer): void {
  if (s.pages === null) return;
  const word = new Uint8Array(4);
  s.vcpuPorts.forEach((port, v) => {
    new DataView(word.buffer).setUint32(0, port, true);
    mem.write(s.pages!.ioreq, v * IOREQ_STRUCT.size + VP_EPORT, word);
  });
}

/** ioreq_server_free_pages (destroy): the server lets go; mappings keep the pages until unmapped. */
export function freeIoreqPages(mem: GuestMemory, s: IoreqServer): void {
  if (s.pages === null) return;
  mem.unref(s.pages.ioreq);
  if (s.pages.buf !== null) mem.unref(s.pages.buf);
  s.pages = null;
}

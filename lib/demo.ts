// The main job: a device model's life on a simulated Xen host, through the
// public API. Builds an HVM guest, opens privcmd as dom0, restricts the
// handle to the guest, runs an ioreq-server lifecycle with I/O ranges, IRQ
// lines and dirty-VRAM tracking, then shows what the restriction refuses.
// Then a guest that runs: it prints a line through a 16550 UART served by a
// restricted Node device model, while a second guest stays untouched. Then
// relabel-on-build on a host running Flask: a domain built under one label
// and run under another, so the builder loses access to its memory.
// Every step checks what it got; any surprise makes the demo fail.
import { isDeepStrictEqual } from 'util';
import { open } from './privcmd';
import { openEventChannels } from './evtchn';
import { createSimulatedHost } from './sim/host';
import { uartPrintProgram } from './sim/guest-runner';
import { restrictAll, verifyRestricted } from './deprivilege/restrict-all';
import { createIoreqServer, type IoreqServer } from './ioreq/server';
import { Uart16550 } from './devices/uart16550';
import { pciSbdf } from './dmop/ops';
import { buildDomain, simulatedToolstack } from './deprivilege/build';
import { relabelDomain } from './clients/flask';

/** The demo's Flask policy, in the policy language: dom0 builds vm_t domains under vm_building_t. */
const DEMO_POLICY = `
type dom0_t; type vm_building_t; type vm_t;
allow dom0_t security_t : security check_context;
allow dom0_t vm_building_t : domain create;
allow dom0_t vm_building_t : mmu { map_read map_write };
allow dom0_t vm_building_t : domain2 relabelfrom;
allow dom0_t vm_t : domain2 relabelto;
allow vm_building_t vm_t : domain transition;
`;

export interface DemoStep {
  readonly what: string;
  readonly ok: boolean;
  readonly detail: string;
}

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

export async function runDemo(): Promise<{ steps: DemoStep[]; summary: string[] }> {
  const steps: DemoStep[] = [];
  const step = (what: string, fn: () => string | { ok: boolean; detail: string }) => {
    try {
      const r = fn();
      steps.push(typeof r === 'string' ? { what, ok: true, detail: r } : { what, ...r });
    } catch (e) {
      const err = e as { code?: string; message?: string };
      steps.push({ what, ok: false, detail: `unexpected ${err.code ?? 'error'}: ${err.message ?? String(e)}` });
    }
  };
  const refused = (what: string, expectCode: string, fn: () => unknown) => {
    try {
      fn();
      steps.push({ what, ok: false, detail: `was NOT refused (expected ${expectCode})` });
    } catch (e) {
      const err = e as { code?: string; message?: string };
      steps.push({ what, ok: err.code === expectCode, detail: err.message ?? String(e) });
    }
  };

  const host = createSimulatedHost();
  const VRAM_PFN = 0xf00n;
  const VRAM_PAGES = 64;
  const guest = host.createDomain({ type: 'hvm', vcpus: 2, memoryPages: 8192 });
  const bystander = host.createDomain({ type: 'hvm', vcpus: 1, memoryPages: 256 });
  const dm = open({ host, domain: 0 });
  let id = -1;
  try {
    step(`built HVM guest d${guest} (2 vCPUs, 32 MiB) and a bystander d${bystander}; opened privcmd as dom0`, () =>
      `Xen ${dm.hypercall('xen_version', [0]) >> 16n}.${dm.hypercall('xen_version', [0]) & 0xffffn} (simulated)`);
    step(`restrict the handle to d${guest}`, () => {
      dm.restrict(guest);
      return `restrictedTo = ${dm.restrictedTo}`;
    });
    step('nr_vcpus', () => {
      const { vcpus } = dm.dmop(guest, { op: 'nr_vcpus' });
      return { ok: vcpus === 2, detail: `${vcpus} vCPUs` };
    });
    step('create an ioreq server (atomic buffered ioreqs)', () => {
      id = dm.dmop(guest, { op: 'create_ioreq_server', handleBufioreq: 'atomic' }).id;
      return `server ${id}`;
    });
    step('get its ioreq pages and event channel', () => {
      const info = dm.dmop(guest, { op: 'get_ioreq_server_info', id });
      return `ioreq gfn ${hex(info.ioreqGfn)}, buffered gfn ${hex(info.bufioreqGfn)}, port ${info.bufioreqPort}`;
    });
    step('claim a UART (ports 0x3f8-0x3ff), the VGA window and PCI device 00:03.0', () => {
      dm.dmop(guest, { op: 'map_io_range_to_ioreq_server', id, type: 'port', start: 0x3f8n, end: 0x3ffn });
      dm.dmop(guest, { op: 'map_io_range_to_ioreq_server', id, type: 'memory', start: 0xa0000n, end: 0xbffffn });
      const sbdf = BigInt(pciSbdf(0, 0, 3, 0));
      dm.dmop(guest, { op: 'map_io_range_to_ioreq_server', id, type: 'pci', start: sbdf, end: sbdf });
      return '3 ranges';
    });
    step('enable the server', () => {
      dm.dmop(guest, { op: 'set_ioreq_server_state', id, enabled: true });
      return 'enabled';
    });
    step('raise and lower ISA IRQ 4; assert INTA of 00:03.0; route PCI link A to IRQ 11', () => {
      dm.dmop(guest, { op: 'set_isa_irq_level', isaIrq: 4, level: 1 });
      dm.dmop(guest, { op: 'set_isa_irq_level', isaIrq: 4, level: 0 });
      dm.dmop(guest, { op: 'set_pci_intx_level', domain: 0, bus: 0, device: 3, intx: 0, level: 1 });
      dm.dmop(guest, { op: 'set_pci_link_route', link: 0, isaIrq: 11 });
      const s = host.inspect(guest);
      return { ok: s.pciIntxLevels['3:0'] === 1 && s.isaIrqLevels[4] === 0 && s.pciLinkRoutes[0] === 11, detail: 'IRQ 4 low, INTA high, link A -> IRQ 11' };
    });
    step(`track dirty VRAM (${VRAM_PAGES} pages at pfn ${hex(VRAM_PFN)}): a new range reads all dirty`, () => {
      const { bitmap } = dm.dmop(guest, { op: 'track_dirty_vram', firstPfn: VRAM_PFN, nr: VRAM_PAGES });
      const dirty = bitmap.reduce((n, b) => n + popcount(b), 0);
      return { ok: dirty === VRAM_PAGES, detail: `${dirty} of ${VRAM_PAGES} pages dirty` };
    });
    step('unpause the guest; it draws to 3 framebuffer pages; read the dirty bitmap again', () => {
      host.unpauseDomain(guest);
      for (const p of [2, 3, 40]) host.guestWrite(guest, Number(VRAM_PFN) + p);
      const { bitmap } = dm.dmop(guest, { op: 'track_dirty_vram', firstPfn: VRAM_PFN, nr: VRAM_PAGES });
      const pages: number[] = [];
      bitmap.forEach((b, i) => { for (let k = 0; k < 8; k++) if (b & (1 << k)) pages.push(i * 8 + k); });
      return { ok: pages.join() === '2,3,40', detail: `dirty pages ${pages.join(', ')}` };
    });
    refused(`DMOP to the bystander d${bystander} is refused`, 'EPERM', () => dm.dmop(bystander, { op: 'nr_vcpus' }));
    refused('a raw hypercall is refused', 'EPERM', () => dm.hypercall('xen_version', [0]));
    refused(`re-restricting to d${bystander} is refused`, 'EINVAL', () => dm.restrict(bystander));
    step('tear down: disable, release the ranges, destroy the server', () => {
      dm.dmop(guest, { op: 'set_ioreq_server_state', id, enabled: false });
      dm.dmop(guest, { op: 'unmap_io_range_from_ioreq_server', id, type: 'port', start: 0x3f8n, end: 0x3ffn });
      dm.dmop(guest, { op: 'destroy_ioreq_server', id });
      return { ok: host.inspect(guest).ioreqServers.length === 0, detail: 'no ioreq servers left' };
    });
  } finally {
    dm.close();
  }
  const s = host.inspect(guest);
  const summary = [
    `guest d${guest}: ${s.paused ? 'paused' : 'running'}, ${s.vcpus} vCPUs, log-dirty ${s.logDirty ? 'on' : 'off'}, ` +
      `dirty VRAM ${s.dirtyVram ? `${s.dirtyVram.nr} pages at ${hex(s.dirtyVram.firstPfn)}` : 'off'}, INTx asserted: ${Object.keys(s.pciIntxLevels).filter((k) => s.pciIntxLevels[k]).join(', ') || 'none'}`,
    `bystander d${bystander}: untouched (${host.inspect(bystander).ioreqServers.length} ioreq servers)`,
  ];
  host.close();
  await guestServedByNodeDm(steps, summary, refused);
  await relabelOnBuild(steps, summary, refused);
  return { steps, summary };
}

/** The line the demo's guest prints. */
export const DEMO_GUEST_LINE = 'Hello from a guest, served by a restricted Node device model';

/**
 * A guest program runs on a vCPU; its UART accesses reach a device model
 * holding only handles restricted to that guest (restrictAll, checked by
 * verifyRestricted), which serves them with createIoreqServer + Uart16550.
 */
async function guestServedByNodeDm(steps: DemoStep[], summary: string[], refused: (what: string, code: string, fn: () => unknown) => void): Promise<void> {
  const host = createSimulatedHost();
  const guest = host.createDomain({ type: 'hvm', vcpus: 1, memoryPages: 256 });
  const bystander = host.createDomain({ type: 'hvm', vcpus: 1, memoryPages: 256 });
  host.unpauseDomain(bystander);
  const privcmd = open({ host, domain: 0 });
  const evtchn = openEventChannels({ host, domain: 0 });
  const lines: string[] = [];
  let server: IoreqServer | null = null;
  let serving: Promise<void> | null = null;
  const attempt = async (what: string, fn: () => Promise<{ ok: boolean; detail: string }> | { ok: boolean; detail: string }) => {
    try {
      steps.push({ what, ...(await fn()) });
    } catch (e) {
      const err = e as { code?: string; message?: string };
      steps.push({ what, ok: false, detail: `unexpected ${err.code ?? 'error'}: ${err.message ?? String(e)}` });
    }
  };
  const before = host.inspect(bystander);
  try {
    await attempt(`guest: a Node device model restricts all its handles to d${guest} and verifies it`, () => {
      restrictAll(guest, { host, domain: 0 });
      const report = verifyRestricted({ host, domain: 0 });
      const probes = report.handles.reduce((n, h) => n + Object.keys(h.probes).length, 0);
      return { ok: report.domid === guest, detail: `${probes} calls refused on ${report.handles.map((h) => h.handle).join(' and ')}` };
    });
    await attempt('it creates an ioreq server, claims a 16550 UART at 0x3f8-0x3ff and serves', () => {
      server = createIoreqServer({ privcmd, evtchn, domid: guest });
      const uart = new Uart16550();
      uart.on('line', (text: string) => lines.push(text));
      server.claimPorts(0x3f8, 0x3ff, uart);
      serving = server.serve();
      return { ok: true, detail: `server ${server.id}, ${server.ports().length} port(s) bound` };
    });
    await attempt(`unpause d${guest}: its program prints a line, polling LSR before each byte`, async () => {
      host.unpauseDomain(guest);
      // Meanwhile the bystander writes to its own COM1, which nobody serves (Xen's null handler).
      await Promise.all([
        host.runGuest(guest, 0, uartPrintProgram(`${DEMO_GUEST_LINE}\n`)),
        host.runGuest(bystander, 0, uartPrintProgram('nobody serves my COM1\n')),
      ]);
      const served = server?.engine.stats.served ?? 0;
      return { ok: lines.length === 1 && lines[0] === DEMO_GUEST_LINE, detail: `guest d${guest} says: "${lines.join(' / ')}" (${served} ioreqs served)` };
    });
    refused(`the device model maps the bystander d${bystander}'s memory`, 'EPERM', () => privcmd.mapForeign(bystander, [0]));
    refused('it sends the bystander a DMOP', 'EPERM', () => privcmd.dmop(bystander, { op: 'nr_vcpus' }));
    refused('it binds a port of the bystander', 'EACCES', () => evtchn.bindInterdomain(bystander, 1));
    refused('it makes a raw hypercall', 'EPERM', () => privcmd.hypercall('xen_version', [0]));
    refused('it reopens privcmd: the new handle starts restricted', 'EPERM', () => {
      const again = open({ host, domain: 0 });
      try {
        return again.dmop(bystander, { op: 'nr_vcpus' });
      } finally {
        again.close();
      }
    });
    await attempt('close the server: nothing of it is left in the guest', () => {
      (server as IoreqServer | null)?.close();
      const s = host.inspect(guest);
      return { ok: s.ioreqServers.length === 0 && s.eventChannels.length === 0, detail: `${s.ioreqServers.length} ioreq servers, ${s.eventChannels.length} event channels` };
    });
  } finally {
    (server as IoreqServer | null)?.close();
    evtchn.close();
    await (serving as Promise<void> | null)?.catch(() => undefined);
    privcmd.close();
  }
  const untouched = isDeepStrictEqual(host.inspect(bystander), before);
  steps.push({ what: `the bystander d${bystander} ran a program meanwhile and is untouched`, ok: untouched, detail: untouched ? 'its state is what it was before' : 'its state CHANGED' });
  summary.push(`guest d${guest} printed "${lines[0] ?? ''}" through a UART served by a Node device model restricted to it; bystander d${bystander} untouched`);
  host.close();
}

async function relabelOnBuild(steps: DemoStep[], summary: string[], refused: (what: string, code: string, fn: () => unknown) => void): Promise<void> {
  const BUILD = 'system_u:system_r:vm_building_t';
  const RUN = 'system_u:system_r:vm_t';
  const host = createSimulatedHost({ flask: { policy: DEMO_POLICY } });
  const builder = open({ host });
  let domid = -1;
  try {
    let mapped = 0;
    const r = await buildDomain({
      toolstack: simulatedToolstack(host, { type: 'hvm', memoryPages: 1024 }), handle: builder, buildLabel: BUILD, runLabel: RUN,
      build: (d) => {
        mapped = host.mapForeignPages(d, { firstPfn: 0, count: 1024 });
      },
    });
    domid = r.domid;
    const s = host.inspect(domid);
    steps.push({
      what: `relabel-on-build (Flask host): built d${domid} under vm_building_t, relabelled, unpaused`,
      ok: mapped === 1024 && s.label === RUN && !s.paused,
      detail: `builder mapped ${mapped} pages while building; now ${s.label}, ${s.paused ? 'paused' : 'running'} (sid ${r.sid})`,
    });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    steps.push({ what: 'relabel-on-build (Flask host)', ok: false, detail: `unexpected ${err.code ?? 'error'}: ${err.message ?? String(e)}` });
  }
  if (domid > 0) refused(`the builder maps the running d${domid}: refused by the policy`, 'EACCES', () => host.mapForeignPages(domid, { firstPfn: 0, count: 1 }));
  builder.close();
  summary.push(`Flask host: d${domid} runs as vm_t; dom0 may build vm_building_t domains but not map vm_t ones`);
  host.close();
  // Xen as Debian ships it has no Flask: the relabel says so rather than doing nothing.
  const plain = createSimulatedHost();
  const h = open({ host: plain });
  refused('relabel on a host without Flask: ENOSYS, said as such', 'ENOSYS', () => relabelDomain(h, plain.createDomain(), RUN));
  h.close();
  plain.close();
}

function popcount(b: number): number {
  let n = 0;
  for (let x = b; x; x &= x - 1) n++;
  return n;
}

// `privcmd-shim probe`: what this machine's privcmd offers. Opens the device
// (with libxendevicemodel's DM_OP probe), reads the driver's limits, asks Xen
// its version, and reports the handle's restriction. Without Xen it says so.
import { PRIVCMD_DEVICE, privcmdParameters, DeviceBackend } from './backends/device';
import { open } from './privcmd';
import { flaskStatus } from './clients/flask';

export interface ProbeReport {
  device: string;
  available: boolean;
  reason?: string;
  dmOp?: boolean;
  restrictedByKernel?: boolean;
  limits?: { dmOpMaxNrBufs?: number; dmOpBufMaxSize?: number };
  xen?: { version: string; capabilities?: string } | { error: string };
  restrictedTo?: number | null;
  /** XSM: Flask's mode, or 'absent' (the dummy module: relabel-on-build is not available). */
  flask?: 'enforcing' | 'permissive' | 'absent' | { error: string };
}

export function probe(device = PRIVCMD_DEVICE): ProbeReport {
  let backend: DeviceBackend;
  try {
    backend = new DeviceBackend({ path: device });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { device, available: false, reason: err.message ?? String(e) };
  }
  // Through open(), as every handle is made (a backend it did not claim is refused).
  const h = open({ backend });
  const report: ProbeReport = {
    device, available: true, dmOp: backend.probe.dmOp, restrictedByKernel: backend.probe.restrictedByKernel,
    limits: privcmdParameters(), restrictedTo: h.restrictedTo,
  };
  try {
    const v = h.hypercall('xen_version', [0]);
    const buf = h.hypercallBuffer(1024);
    let extra = '';
    let caps: string | undefined;
    try {
      h.hypercall('xen_version', [1, buf.addr]);
      extra = buf.view.toString('latin1', 0, Math.max(0, buf.view.indexOf(0)));
      h.hypercall('xen_version', [3, buf.addr]);
      caps = buf.view.toString('latin1', 0, Math.max(0, buf.view.indexOf(0)));
    } finally {
      h.freeHypercallBuffer(buf);
    }
    report.xen = { version: `${v >> 16n}.${v & 0xffffn}${extra}`, ...(caps !== undefined ? { capabilities: caps } : {}) };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    report.xen = { error: `${err.code ?? ''} ${err.message ?? String(e)}`.trim() };
  }
  try {
    report.flask = flaskStatus(h);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    report.flask = { error: `${err.code ?? ''} ${err.message ?? String(e)}`.trim() };
  } finally {
    h.close();
  }
  return report;
}

// The simulated Linux privcmd driver (drivers/xen/privcmd.c, Linux 6.1): one
// SimPrivcmdFile per open /dev/xen/privcmd, each ioctl one method with the
// driver's checks in the driver's order. Buffer validation and the copy of
// buffer 0 run natively over the process's simulated address space.
import { DOMID } from '../abi/domids';
import { ERRNO } from '../abi/errno';
import type { SimProcess, SimulatedHost } from './host';

const STEP_WHY: Record<number, (i: number, max: number, maxSize: number, num: number) => string> = {
  1: (_i, max, _s, num) => `${num} buffers exceed dm_op_max_nr_bufs (${max})`,
  2: (_i, _m, _s, num) => `the array of ${num} buffer descriptors is not readable user memory`,
  3: (i, _m, maxSize) => `buffer ${i} is larger than dm_op_buf_max_size (${maxSize} bytes)`,
  4: (i) => `buffer ${i} is not wholly in the user address range (access_ok)`,
  5: (i) => `buffer ${i} cannot be pinned for writing (pin_user_pages: a page is unmapped or read-only, or the buffer is zero-size at a page-aligned address, which pins nothing)`,
};

export class SimPrivcmdFile {
  /** privcmd_data.domid: DOMID_INVALID while unrestricted. */
  domid: number = DOMID.INVALID;
  /** Why the last ioctl failed, for error messages. */
  why = '';

  constructor(readonly host: SimulatedHost, readonly process: SimProcess) {}

  /** IOCTL_PRIVCMD_RESTRICT: one-way; the same domid again is fine. */
  restrict(domid: number): number {
    if (this.domid === DOMID.INVALID) {
      this.domid = domid;
      return 0;
    }
    if (this.domid === domid) return 0;
    this.why = `the handle is already restricted to domain ${this.domid}`;
    return -ERRNO.EINVAL;
  }

  /** IOCTL_PRIVCMD_DM_OP with privcmd_dm_op { dom, num, ubufs }. */
  dmOp(dom: number, num: number, ubufs: number | bigint): number {
    // 2. The restriction.
    if (this.domid !== DOMID.INVALID && this.domid !== dom) {
      this.why = `the handle is restricted to domain ${this.domid}`;
      return -ERRNO.EPERM;
    }
    // 3. Nothing to do: no hypercall at all.
    if (num === 0) return 0;
    // 4-8. Count, descriptor copy, sizes, access_ok, page pins; then buffer 0's header.
    const { space } = this.process;
    const { dmOpMaxNrBufs: maxNum, dmOpBufMaxSize: maxSize } = this.host.privcmdParams;
    const mb = space.mailbox;
    mb.setValidation(ubufs, num, maxNum, maxSize);
    const rc = mb.prologue();
    if (rc < 0) {
      this.why = `IOCTL_PRIVCMD_DM_OP: ${STEP_WHY[mb.failedStep]?.(mb.failedIndex, maxNum, maxSize, num) ?? 'buffers refused'}`;
      return rc;
    }
    // 9. HYPERVISOR_dm_op(dom, num, xbufs); its result is the ioctl's.
    const hv = this.host.hypervisor;
    const r = hv.dmOpFromDriver(this.process.domain, space, dom, num);
    if (r !== 0) this.why = hv.why;
    return r;
  }

  /** IOCTL_PRIVCMD_HYPERCALL: refused outright on a restricted handle. */
  hypercall(op: number, args: readonly bigint[]): bigint {
    if (this.domid !== DOMID.INVALID) {
      this.why = `the handle is restricted to domain ${this.domid}: raw hypercalls are refused`;
      return BigInt(-ERRNO.EPERM);
    }
    const hv = this.host.hypervisor;
    const r = hv.hypercall(this.process.domain, this.process.space, op, args);
    if (r < 0n) this.why = hv.why;
    return r;
  }
}

// The simulated Linux privcmd driver (drivers/xen/privcmd.c, Linux 6.1): one
// SimPrivcmdFile per open /dev/xen/privcmd, each ioctl one method with the
// driver's checks in the driver's order. Buffer validation and the copy of
// buffer 0 run natively over the process's simulated address space.
import { DOMID } from '../abi/domids';
import { ERRNO } from '../abi/errno';
import type { SimProcess, SimulatedHost } from './host';
import type { NativeMapping } from '../native';

/** kcalloc(num, sizeof(xen_pfn_t)) fails above KMALLOC_MAX_SIZE (4 MiB with 4 KiB pages): ENOMEM. */
const KCALLOC_MAX_FRAMES = (4 << 20) / 8;

/** A mapping the simulated driver made, and how to let its pages go. */
export interface SimMapping {
  readonly native: NativeMapping;
  readonly release: () => void;
}

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

  /**
   * IOCTL_PRIVCMD_MMAP_RESOURCE (privcmd_ioctl_mmap_resource), after the
   * caller's mmap of the fd. num 0 (with addr 0) is the size query: the
   * frame count. Otherwise the mapping of frames [idx, idx + num).
   */
  mmapResource(dom: number, type: number, id: number, idx: number, num: number, writable: boolean): number | SimMapping {
    // 1. copy_from_user of the struct: the backend passed it whole.
    // 2. The restriction.
    if (this.domid !== DOMID.INVALID && this.domid !== dom) {
      this.why = `the handle is restricted to domain ${this.domid}`;
      return -ERRNO.EPERM;
    }
    // 3. "Both fields must be set or unset": addr is set exactly when num is (the mmap'd VMA).
    const hv = this.host.hypervisor;
    const caller = this.process.domain;
    // 4. The size query: HYPERVISOR_memory_op(XENMEM_acquire_resource) with no frame list.
    if (num === 0) {
      const r = hv.acquireResource(caller, dom, type, id, 0, null);
      if (typeof r === 'number' && r < 0) this.why = hv.why;
      return r as number;
    }
    // 5. find_vma: the VMA is the one the backend mmap'd. 6. kcalloc of the frame list.
    if (num > KCALLOC_MAX_FRAMES) {
      this.why = `kcalloc of ${num} frames fails (over KMALLOC_MAX_SIZE)`;
      return -ERRNO.ENOMEM;
    }
    // 7. HYPERVISOR_memory_op(XENMEM_acquire_resource), then remap the frames.
    const r = hv.acquireResource(caller, dom, type, id, idx, num);
    if (typeof r === 'number') {
      this.why = hv.why;
      return r;
    }
    const m = this.host.memory.map(r, writable);
    if (typeof m === 'number') this.why = 'mmap of the pages failed';
    return m;
  }

  /**
   * IOCTL_PRIVCMD_MMAPBATCH_V2 (privcmd_ioctl_mmap_batch, version 2), after
   * the caller's mmap of the fd. errs gets each page's errno (0 or
   * negative); the result is 0, or -ENOENT when a page was paged out (with
   * errs filled), or -errno for the whole call.
   */
  mmapBatchV2(dom: number, gfns: readonly bigint[], errs: Int32Array, writable: boolean): number | SimMapping {
    // 1. copy_from_user, access_ok of err[]: the backend passed both whole.
    // 2. The restriction.
    if (this.domid !== DOMID.INVALID && this.domid !== dom) {
      this.why = `the handle is restricted to domain ${this.domid}`;
      return -ERRNO.EPERM;
    }
    // 3. num == 0 (or more pages than a long can count) is EINVAL.
    if (gfns.length === 0) {
      this.why = 'privcmd_mmapbatch_v2.num is 0';
      return -ERRNO.EINVAL;
    }
    // 4. gather_array, clear_user(err). 5. find_vma: the backend's VMA, whole.
    errs.fill(0);
    // 6. mmap_batch_fn: each frame through Xen; errors per frame.
    const pages = this.host.hypervisor.foreignMap(this.process.domain, dom, gfns, writable);
    const offsets: (number | null)[] = [];
    const whys: string[] = [];
    pages.forEach((p, i) => {
      if (p === null) {
        offsets.push(this.host.memory.ramPage(dom, Number(gfns[i])));
      } else {
        offsets.push(null);
        errs[i] = p.err;
        whys.push(`page ${i}: ${p.why}`);
      }
    });
    this.why = whys.slice(0, 4).join('; ') + (whys.length > 4 ? `; and ${whys.length - 4} more` : '');
    const m = this.host.memory.map(offsets, writable);
    if (typeof m === 'number') this.why = 'mmap of the pages failed';
    return m;
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

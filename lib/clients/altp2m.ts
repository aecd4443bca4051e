// The altp2m client: one sub-op through a privcmd handle, as libxc's
// xc_altp2m_* functions send it (tools/libs/ctrl/xc_altp2m.c): hvm_op
// (HVMOP_altp2m) with the 80-byte struct xen_hvm_altp2m_op in hypercall
// memory. The encoding and the gating live in lib/policy/altp2m.ts.
import { ALTP2M_OP_SIZE, HVMOP_ALTP2M } from '../abi/altp2m';
import { decodeAltp2mOp, encodeAltp2mOp, type Altp2mRequest, type Altp2mResult } from '../policy/altp2m';
import type { Privcmd } from '../privcmd';

/**
 * Issue one altp2m sub-op through a handle: hvm_op(HVMOP_altp2m, arg) with
 * the struct in hypercall memory; returns the OUT fields. Errors are the
 * handle's (coded, with Xen's errno).
 */
export function altp2mOp<R extends Altp2mRequest>(h: Privcmd, request: R): Altp2mResult<R> {
  const bytes = encodeAltp2mOp(request);
  const buf = h.hypercallBuffer(ALTP2M_OP_SIZE);
  try {
    buf.view.set(bytes);
    h.hypercall('hvm_op', [HVMOP_ALTP2M, buf.addr]);
    return decodeAltp2mOp<R>(request.cmd, buf.view);
  } finally {
    h.freeHypercallBuffer(buf);
  }
}

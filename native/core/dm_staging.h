// Staging of an async DM_OP's buffers in native memory. The caller's
// ArrayBuffers can be detached (postMessage with a transfer list,
// ArrayBuffer.prototype.transfer) or resized while the ioctl runs on the
// thread pool, and a reference does not prevent that, so the ioctl must never
// see JS memory: the bytes are copied in here when the call is made, the
// kernel and Xen read and write this copy, and it is copied back on
// completion. Pure C++ (no Node-API) so that it can be fuzzed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "layout.h"
#include "privcmd_device.h"

namespace pcs {

// The driver's default limits (dm_op_max_nr_bufs, dm_op_buf_max_size in
// drivers/xen/privcmd.c, Linux 6.1): at most 16 buffers of 4 KiB, 64 KiB in
// all. Xen itself takes at most 2 (xen/arch/x86/hvm/dm.c), so a host whose
// module parameters are raised loses nothing by these caps.
constexpr size_t kStageMaxBufs = kDefaultDmOpMaxNrBufs;
constexpr uint64_t kStageMaxSize = kDefaultDmOpBufMaxSize;

// One buffer as the caller gave it: bytes to stage, or (raw) a descriptor
// passed through unchanged, for the test-only raw-pointer path.
struct DmStageSource {
  const uint8_t* data = nullptr;  // may be null only when len == 0
  uint64_t len = 0;
  bool raw = false;
  uint64_t addr = 0;  // raw only
};

class DmOpStaging {
 public:
  // Refuses as privcmd_ioctl_dm_op does, in its order: more than 16 buffers
  // is kE2BIG before any byte is read; then per buffer: over 4096 bytes
  // kE2BIG, a raw range failing access_ok kEFAULT. Only then copies every
  // non-raw buffer into memory owned here. kOk, kE2BIG, kEFAULT or kENOMEM;
  // after a failure nothing is staged (num() == 0). Call once.
  int Stage(const DmStageSource* src, size_t num);

  size_t num() const { return num_; }
  // The descriptors to hand to the ioctl: staged buffers point into this
  // object's memory; an empty one points one byte into it, so the driver
  // pins a page (Linux 6.1 fails a zero-size buffer at an aligned address
  // or NULL with EFAULT, as it pins nothing there).
  const PrivcmdDmOpBuf* descs() const { return descs_; }
  bool staged(size_t i) const { return i < num_ && !raw_[i]; }

  // Copies buffer i's staged bytes (Xen's writes included) to dst, only if i
  // is a staged buffer and dst_len is exactly its staged length. false, and
  // nothing written, otherwise.
  bool CopyBack(size_t i, uint8_t* dst, uint64_t dst_len) const;

 private:
  size_t num_ = 0;
  PrivcmdDmOpBuf descs_[kStageMaxBufs] = {};
  uint64_t offset_[kStageMaxBufs] = {};
  bool raw_[kStageMaxBufs] = {};
  std::unique_ptr<uint8_t[]> bytes_;
};

}  // namespace pcs

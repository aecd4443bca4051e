// The real /dev/xen/privcmd and /dev/xen/hypercall, mechanically: open, the
// three ioctls the library uses, and hypercall-safe memory. RAII for the fd
// and the mappings; every failure is a negative errno, never an exception.
// Struct layouts are the Linux uAPI's (x86-64), defined here and checked
// against xen/sys/privcmd.h by the native tests.
#pragma once

#include <cstddef>
#include <atomic>
#include <cstdint>
#include <memory>

#include "mapping.h"

namespace pcs {

// include/uapi/xen/privcmd.h (x86-64).
struct PrivcmdHypercall {
  uint64_t op;
  uint64_t arg[5];
};
struct PrivcmdDmOpBuf {
  uint64_t uptr;  // void __user *
  uint64_t size;  // size_t
};
struct PrivcmdDmOp {
  uint16_t dom;
  uint16_t num;
  uint32_t pad_;   // alignment padding of the uAPI struct, always zero here
  uint64_t ubufs;  // const struct privcmd_dm_op_buf __user *
};
struct PrivcmdMmapBatchV2 {
  uint32_t num;
  uint16_t dom;
  uint16_t pad_;
  uint64_t addr;
  uint64_t arr;  // const xen_pfn_t __user *
  uint64_t err;  // int __user *
};
struct PrivcmdMmapResource {
  uint16_t dom;
  uint16_t pad_;
  uint32_t type;
  uint32_t id;
  uint32_t idx;
  uint64_t num;
  uint64_t addr;
};
static_assert(sizeof(PrivcmdMmapBatchV2) == 32, "privcmd_mmapbatch_v2 is 32 bytes");
static_assert(sizeof(PrivcmdMmapResource) == 32, "privcmd_mmap_resource is 32 bytes");
static_assert(sizeof(PrivcmdHypercall) == 48, "privcmd_hypercall is 48 bytes");
static_assert(sizeof(PrivcmdDmOpBuf) == 16, "privcmd_dm_op_buf is 16 bytes");
static_assert(sizeof(PrivcmdDmOp) == 16, "privcmd_dm_op is 16 bytes");

// _IOC(_IOC_NONE, 'P', nr, size) as the uAPI defines them (lib/abi/ioctls.ts
// holds the same numbers; both are checked against the header).
constexpr unsigned long kIoctlHypercall = 0x00305000;
constexpr unsigned long kIoctlDmOp = 0x00105005;
constexpr unsigned long kIoctlRestrict = 0x00025006;
constexpr unsigned long kIoctlMmapBatchV2 = 0x00205004;
constexpr unsigned long kIoctlMmapResource = 0x00205007;

class PrivcmdDevice {
 public:
  // open(path, O_RDWR | O_CLOEXEC). 0 or -errno.
  static int Open(const char* path, std::unique_ptr<PrivcmdDevice>* out);
  // A duplicate (F_DUPFD_CLOEXEC) of an inherited fd, e.g. one a launcher
  // passed down already restricted. 0 or -errno.
  static int FromFd(int fd, std::unique_ptr<PrivcmdDevice>* out);
  PrivcmdDevice(const PrivcmdDevice&) = delete;
  PrivcmdDevice& operator=(const PrivcmdDevice&) = delete;
  ~PrivcmdDevice();

  // IOCTL_PRIVCMD_RESTRICT. 0 or -errno. Counted process-wide (process_handles.h).
  int Restrict(uint16_t domid) const;
  // IOCTL_PRIVCMD_DM_OP over num descriptors. The ioctl's result or -errno.
  long DmOp(uint16_t dom, uint16_t num, const PrivcmdDmOpBuf* bufs) const;
  // IOCTL_PRIVCMD_HYPERCALL. Xen's (non-negative) result or -errno.
  long Hypercall(uint64_t op, const uint64_t args[5]) const;

  // IOCTL_PRIVCMD_MMAP_RESOURCE with addr = num = 0: the resource's frame
  // count in *frames. 0 or -errno.
  int ResourceSize(uint16_t dom, uint32_t type, uint32_t id, uint64_t* frames) const;
  // mmap the fd (MAP_SHARED, `num` pages), then IOCTL_PRIVCMD_MMAP_RESOURCE
  // fills it, Linux's order. 0 or -errno (nothing stays mapped on failure).
  int MapResource(uint16_t dom, uint32_t type, uint32_t id, uint32_t idx, uint64_t num, bool writable,
                  std::unique_ptr<Mapping>* out) const;
  // mmap the fd, then IOCTL_PRIVCMD_MMAPBATCH_V2 over gfns[0..n). errs[i]
  // gets page i's errno (0 or negative); a failed page is a private zero
  // page, so touching it cannot raise SIGBUS. 0 when the call mapped what it
  // could (including -ENOENT, paged-out frames, as Linux reports them), or
  // -errno for the whole call (-EAGAIN: a page failed only on the second
  // pass that arranges the zero pages).
  int MapForeign(uint16_t dom, const uint64_t* gfns, uint32_t n, bool writable, int* errs,
                 std::unique_ptr<Mapping>* out) const;

  // The descriptor, for handing to a child process (it stays owned here).
  int fd() const { return fd_; }

 private:
  explicit PrivcmdDevice(int fd);
  int fd_;
  mutable std::atomic<bool> restricted_{false};
};

// Memory a hypercall may dereference: mmap'd from /dev/xen/hypercall, or, on
// kernels without it, anonymous memory locked in RAM and kept out of forks
// (what libxencall does). Unmapped in the destructor.
class HypercallBuffer {
 public:
  // size is rounded up to whole pages. 0 or -errno.
  static int Allocate(size_t size, std::unique_ptr<HypercallBuffer>* out);
  HypercallBuffer(const HypercallBuffer&) = delete;
  HypercallBuffer& operator=(const HypercallBuffer&) = delete;
  ~HypercallBuffer();
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool from_device() const { return from_device_; }

 private:
  HypercallBuffer(uint8_t* data, size_t size, bool from_device) : data_(data), size_(size), from_device_(from_device) {}
  uint8_t* data_;
  size_t size_;
  bool from_device_;
};

}  // namespace pcs

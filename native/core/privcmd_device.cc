#include "privcmd_device.h"
#include "process_handles.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <new>

namespace pcs {

int PrivcmdDevice::Open(const char* path, std::unique_ptr<PrivcmdDevice>* out) {
  int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return -errno;
  out->reset(new (std::nothrow) PrivcmdDevice(fd));
  if (!*out) {
    ::close(fd);
    return -ENOMEM;
  }
  return 0;
}

int PrivcmdDevice::FromFd(int fd, std::unique_ptr<PrivcmdDevice>* out) {
  if (fd < 0) return -EBADF;
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) return -errno;
  out->reset(new (std::nothrow) PrivcmdDevice(copy));
  if (!*out) {
    ::close(copy);
    return -ENOMEM;
  }
  return 0;
}

PrivcmdDevice::PrivcmdDevice(int fd) : fd_(fd) { ProcessHandles::Opened(); }

PrivcmdDevice::~PrivcmdDevice() {
  ProcessHandles::Closed(restricted_.load());
  if (fd_ >= 0) ::close(fd_);
}

int PrivcmdDevice::Restrict(uint16_t domid) const {
  uint16_t d = domid;
  if (::ioctl(fd_, kIoctlRestrict, &d) < 0) return -errno;
  if (!restricted_.exchange(true)) ProcessHandles::Restricted();
  return 0;
}

long PrivcmdDevice::DmOp(uint16_t dom, uint16_t num, const PrivcmdDmOpBuf* bufs) const {
  PrivcmdDmOp op{dom, num, 0, reinterpret_cast<uint64_t>(bufs)};
  long rc = ::ioctl(fd_, kIoctlDmOp, &op);
  if (rc < 0) return -errno;
  return rc;
}

long PrivcmdDevice::Hypercall(uint64_t op, const uint64_t args[5]) const {
  PrivcmdHypercall call{op, {args[0], args[1], args[2], args[3], args[4]}};
  long rc = ::ioctl(fd_, kIoctlHypercall, &call);
  if (rc < 0) return -errno;
  return rc;
}

int HypercallBuffer::Allocate(size_t size, std::unique_ptr<HypercallBuffer>* out) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (size == 0) size = 1;
  if (size > (size_t{1} << 30)) return -EINVAL;
  size_t bytes = (size + page - 1) / page * page;
  int fd = ::open("/dev/xen/hypercall", O_RDWR | O_CLOEXEC);
  void* p = MAP_FAILED;
  bool from_device = false;
  if (fd >= 0) {
    p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    from_device = p != MAP_FAILED;
  }
  if (p == MAP_FAILED) {
    p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
    if (p == MAP_FAILED) return -errno;
    ::madvise(p, bytes, MADV_DONTFORK);
  }
  out->reset(new (std::nothrow) HypercallBuffer(static_cast<uint8_t*>(p), bytes, from_device));
  if (!*out) {
    ::munmap(p, bytes);
    return -ENOMEM;
  }
  return 0;
}

HypercallBuffer::~HypercallBuffer() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace pcs

#include "privcmd_device.h"
#include "process_handles.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <new>
#include <vector>

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

int PrivcmdDevice::ResourceSize(uint16_t dom, uint32_t type, uint32_t id, uint64_t* frames) const {
  PrivcmdMmapResource r{dom, 0, type, id, 0, 0, 0};
  if (::ioctl(fd_, kIoctlMmapResource, &r) < 0) return -errno;
  *frames = r.num;
  return 0;
}

namespace {
// The privcmd VMA: the driver's mmap only marks it (drivers/xen/privcmd.c,
// privcmd_mmap); the ioctl that follows fills it. MAP_FAILED on overflow.
void* MapFd(int fd, uint64_t pages, bool writable, size_t* len) {
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  if (pages == 0 || pages > SIZE_MAX / page) {
    errno = EINVAL;
    return MAP_FAILED;
  }
  *len = static_cast<size_t>(pages * page);
  return ::mmap(nullptr, *len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
}
}  // namespace

int PrivcmdDevice::MapResource(uint16_t dom, uint32_t type, uint32_t id, uint32_t idx, uint64_t num, bool writable,
                               std::unique_ptr<Mapping>* out) const {
  size_t len = 0;
  void* p = MapFd(fd_, num, writable, &len);
  if (p == MAP_FAILED) return -errno;
  std::unique_ptr<Mapping> m(new (std::nothrow) Mapping(static_cast<uint8_t*>(p), len));
  if (!m) {
    ::munmap(p, len);
    return -ENOMEM;
  }
  PrivcmdMmapResource r{dom, 0, type, id, idx, num, reinterpret_cast<uint64_t>(p)};
  if (::ioctl(fd_, kIoctlMmapResource, &r) < 0) return -errno;  // m unmaps
  *out = std::move(m);
  return 0;
}

int PrivcmdDevice::MapForeign(uint16_t dom, const uint64_t* gfns, uint32_t n, bool writable, int* errs,
                              std::unique_ptr<Mapping>* out) const {
  size_t len = 0;
  void* p = MapFd(fd_, n, writable, &len);
  if (p == MAP_FAILED) return -errno;
  std::unique_ptr<Mapping> m(new (std::nothrow) Mapping(static_cast<uint8_t*>(p), len));
  if (!m) {
    ::munmap(p, len);
    return -ENOMEM;
  }
  PrivcmdMmapBatchV2 b{
      n, dom, 0, reinterpret_cast<uint64_t>(p), reinterpret_cast<uint64_t>(gfns), reinterpret_cast<uint64_t>(errs)};
  if (::ioctl(fd_, kIoctlMmapBatchV2, &b) < 0 && errno != ENOENT) return -errno;
  uint32_t failed = 0;
  for (uint32_t i = 0; i < n; ++i) failed += errs[i] != 0;
  if (failed == 0) {
    *out = std::move(m);
    return 0;
  }
  // A page that failed is a hole in the privcmd VMA, and touching it is
  // SIGBUS (privcmd_fault). The VMA cannot be split to plug it (an mmap
  // MAP_FIXED over one page of it fails with ENOMEM on Linux 6.1), so map
  // again: a private zero region, and over it one privcmd VMA per run of
  // pages that mapped, each filled by its own MMAPBATCH_V2.
  m.reset();
  p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return -errno;
  m.reset(new (std::nothrow) Mapping(static_cast<uint8_t*>(p), len));
  if (!m) {
    ::munmap(p, len);
    return -ENOMEM;
  }
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  for (uint32_t i = 0; i < n;) {
    if (errs[i] != 0) {
      ++i;
      continue;
    }
    uint32_t j = i + 1;
    while (j < n && errs[j] == 0) ++j;
    uint8_t* at = static_cast<uint8_t*>(p) + size_t{i} * page;
    if (::mmap(at, size_t{j - i} * page, prot, MAP_SHARED | MAP_FIXED, fd_, 0) == MAP_FAILED) return -errno;
    std::vector<int> again(j - i, 0);
    PrivcmdMmapBatchV2 run{j - i,
                           dom,
                           0,
                           reinterpret_cast<uint64_t>(at),
                           reinterpret_cast<uint64_t>(gfns + i),
                           reinterpret_cast<uint64_t>(again.data())};
    if (::ioctl(fd_, kIoctlMmapBatchV2, &run) < 0 && errno != ENOENT) return -errno;
    // A page that mapped a moment ago and fails now (paged out, given up
    // meanwhile) would be a hole again: refuse the whole call.
    for (int e : again) {
      if (e != 0) return -EAGAIN;
    }
    i = j;
  }
  *out = std::move(m);
  return 0;
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

#include "evtchn_device.h"
#include "process_handles.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <new>

namespace pcs {

namespace {
// include/uapi/xen/evtchn.h: every argument is unsigned ints, but the restrict one.
struct BindVirqArg {
  uint32_t virq;
};
struct BindInterdomainArg {
  uint32_t remote_domain, remote_port;
};
struct BindUnboundArg {
  uint32_t remote_domain;
};
struct PortArg {
  uint32_t port;
};
struct RestrictArg {
  uint16_t domid;
};
static_assert(sizeof(BindInterdomainArg) == 8, "ioctl_evtchn_bind_interdomain is 8 bytes");
static_assert(sizeof(RestrictArg) == 2, "ioctl_evtchn_restrict_domid is 2 bytes");
}  // namespace

int EvtchnDevice::Adopt(int fd, std::unique_ptr<EvtchnDevice>* out) {
  int cancel = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (cancel < 0) {
    int e = errno;
    ::close(fd);
    return -e;
  }
  out->reset(new (std::nothrow) EvtchnDevice(fd, cancel));
  if (!*out) {
    ::close(fd);
    ::close(cancel);
    return -ENOMEM;
  }
  return 0;
}

int EvtchnDevice::Open(const char* path, std::unique_ptr<EvtchnDevice>* out) {
  int fd = ::open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -errno;
  return Adopt(fd, out);
}

int EvtchnDevice::FromFd(int fd, std::unique_ptr<EvtchnDevice>* out) {
  if (fd < 0) return -EBADF;
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) return -errno;
  // Non-blocking as Open's: read() must never stall the event loop, whoever
  // opened the file (the flag belongs to the open file, shared with `fd`).
  int flags = ::fcntl(copy, F_GETFL);
  if (flags < 0 || ::fcntl(copy, F_SETFL, flags | O_NONBLOCK) < 0) {
    int e = errno;
    ::close(copy);
    return -e;
  }
  return Adopt(copy, out);
}

EvtchnDevice::EvtchnDevice(int fd, int cancel_fd) : fd_(fd), cancel_fd_(cancel_fd) { ProcessHandles::Opened(); }

EvtchnDevice::~EvtchnDevice() {
  ProcessHandles::Closed(restricted_.load());
  ::close(fd_);
  ::close(cancel_fd_);
}

long EvtchnDevice::Ioctl(unsigned long request, void* arg) const {
  long rc = ::ioctl(fd_, request, arg);
  if (rc < 0) return -errno;
  return rc;
}

long EvtchnDevice::BindVirq(uint32_t virq) const {
  BindVirqArg a{virq};
  return Ioctl(kIoctlEvtchnBindVirq, &a);
}

long EvtchnDevice::BindInterdomain(uint32_t remote_domain, uint32_t remote_port) const {
  BindInterdomainArg a{remote_domain, remote_port};
  return Ioctl(kIoctlEvtchnBindInterdomain, &a);
}

long EvtchnDevice::BindUnboundPort(uint32_t remote_domain) const {
  BindUnboundArg a{remote_domain};
  return Ioctl(kIoctlEvtchnBindUnboundPort, &a);
}

long EvtchnDevice::Unbind(uint32_t port) const {
  PortArg a{port};
  return Ioctl(kIoctlEvtchnUnbind, &a);
}

long EvtchnDevice::Notify(uint32_t port) const {
  PortArg a{port};
  return Ioctl(kIoctlEvtchnNotify, &a);
}

long EvtchnDevice::Reset() const { return Ioctl(kIoctlEvtchnReset, nullptr); }

long EvtchnDevice::Restrict(uint16_t domid) const {
  RestrictArg a{domid};
  long rc = Ioctl(kIoctlEvtchnRestrictDomid, &a);
  if (rc == 0 && !restricted_.exchange(true)) ProcessHandles::Restricted();
  return rc;
}

long EvtchnDevice::AdoptRestriction(uint16_t domid) const {
  long rc = Restrict(domid);
  if (rc != -EACCES) return rc;
  // drivers/xen/evtchn.c (Linux 6.1), evtchn_ioctl: RESTRICT_DOMID on a
  // restricted handle is EACCES, whatever the domain; BIND_INTERDOMAIN to a
  // domain other than the restricted one is EACCES before Xen is asked. Port
  // 0 is reserved (xen/common/event_channel.c), never unbound, so Xen
  // refuses the bind and nothing is bound.
  long bind = BindInterdomain(domid, 0);
  if (bind == -EACCES) return -EACCES;
  if (bind >= 0) {
    Unbind(static_cast<uint32_t>(bind));
    return -EIO;
  }
  if (!restricted_.exchange(true)) ProcessHandles::Restricted();
  return 0;
}

long EvtchnDevice::Read(uint32_t* out, size_t max) const {
  if (max == 0) return 0;
  ssize_t n = ::read(fd_, out, max * sizeof(uint32_t));
  if (n < 0) return -errno;
  return static_cast<long>(static_cast<size_t>(n) / sizeof(uint32_t));
}

long EvtchnDevice::Write(const uint32_t* ports, size_t n) const {
  if (n == 0) return 0;
  ssize_t w = ::write(fd_, ports, n * sizeof(uint32_t));
  if (w < 0) return -errno;
  return static_cast<long>(w);
}

int EvtchnDevice::WaitReadable() const { return WaitReadableFor(-1); }

int EvtchnDevice::WaitReadableFor(int timeout_ms) const {
  struct pollfd fds[2] = {{fd_, POLLIN, 0}, {cancel_fd_, POLLIN, 0}};
  for (;;) {
    // An EINTR restarts the full timeout: a bound, not a deadline.
    int rc = ::poll(fds, 2, timeout_ms);
    if (rc == 0) return 0;
    if (rc < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (fds[1].revents != 0) return 0;
    if (fds[0].revents & (POLLERR | POLLNVAL)) return -EIO;
    if (fds[0].revents & POLLIN) return 1;
  }
}

void EvtchnDevice::Cancel() const {
  uint64_t one = 1;
  // The counter only grows; a full counter (EAGAIN) is already readable.
  ssize_t rc = ::write(cancel_fd_, &one, sizeof one);
  (void)rc;
}

}  // namespace pcs

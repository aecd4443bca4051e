// The real /dev/xen/evtchn, mechanically: open, one method per ioctl, read()
// and write() of port numbers, and a poll for readability that close() can
// cancel. RAII for both descriptors; every failure is a negative errno.
// Struct layouts and ioctl numbers are the Linux uAPI's
// (include/uapi/xen/evtchn.h; lib/abi/evtchn.ts holds the same numbers and
// test/abi checks them against xen/sys/evtchn.h).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace pcs {

constexpr unsigned long kIoctlEvtchnBindVirq = 0x00044500;
constexpr unsigned long kIoctlEvtchnBindInterdomain = 0x00084501;
constexpr unsigned long kIoctlEvtchnBindUnboundPort = 0x00044502;
constexpr unsigned long kIoctlEvtchnUnbind = 0x00044503;
constexpr unsigned long kIoctlEvtchnNotify = 0x00044504;
constexpr unsigned long kIoctlEvtchnReset = 0x00004505;
constexpr unsigned long kIoctlEvtchnRestrictDomid = 0x00024506;

class EvtchnDevice {
 public:
  // open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK), plus an eventfd to cancel waits. 0 or -errno.
  static int Open(const char* path, std::unique_ptr<EvtchnDevice>* out);
  // A duplicate (F_DUPFD_CLOEXEC) of an inherited fd, e.g. one a launcher
  // passed down, plus its own cancel eventfd. 0 or -errno.
  static int FromFd(int fd, std::unique_ptr<EvtchnDevice>* out);
  EvtchnDevice(const EvtchnDevice&) = delete;
  EvtchnDevice& operator=(const EvtchnDevice&) = delete;
  ~EvtchnDevice();

  // The bind ioctls return the local port (>= 0) or -errno.
  long BindVirq(uint32_t virq) const;
  long BindInterdomain(uint32_t remote_domain, uint32_t remote_port) const;
  long BindUnboundPort(uint32_t remote_domain) const;
  long Unbind(uint32_t port) const;
  long Notify(uint32_t port) const;
  long Reset() const;
  // IOCTL_EVTCHN_RESTRICT_DOMID. Counted process-wide (process_handles.h).
  long Restrict(uint16_t domid) const;
  // Restrict to `domid`, or confirm that the kernel already holds this
  // handle restricted to it (an inherited fd the launcher restricted): 0,
  // -EACCES if restricted to another domain, or -errno.
  long AdoptRestriction(uint16_t domid) const;
  // read() without blocking: ports copied into out (at most max), their count, or -errno (-EAGAIN: none).
  long Read(uint32_t* out, size_t max) const;
  // write(): unmask ports. Bytes written or -errno.
  long Write(const uint32_t* ports, size_t n) const;
  // Block until the device is readable (1) or Cancel() was called (0); -errno.
  int WaitReadable() const;
  // The same, on the calling thread, for at most timeout_ms: 1 readable, 0
  // timed out or cancelled, -errno.
  int WaitReadableFor(int timeout_ms) const;
  // Wake every WaitReadable() now and later (close() calls it).
  void Cancel() const;
  int fd() const { return fd_; }

 private:
  EvtchnDevice(int fd, int cancel_fd);
  // Takes ownership of `fd` (closed on failure) and adds the cancel eventfd.
  static int Adopt(int fd, std::unique_ptr<EvtchnDevice>* out);
  long Ioctl(unsigned long request, void* arg) const;
  int fd_;
  int cancel_fd_;
  mutable std::atomic<bool> restricted_{false};
};

}  // namespace pcs

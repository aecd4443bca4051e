// What the whole process holds of the Xen devices, across Node environments:
// worker threads each load the addon's module instance, but these counters
// are static, so they see every device handle opened in the process. The
// library restricts a process (restrictAll) through one module instance; this
// lets it find handles it cannot reach (opened in another worker) and refuse
// loudly, and lets every later open, in any worker, start restricted.
// (Two copies of the addon loaded from different paths would not share it.)
#pragma once

#include <cstdint>

namespace pcs {

class ProcessHandles {
 public:
  // A device handle was opened (unrestricted) / closed.
  static void Opened();
  static void Closed(bool restricted);
  // A handle's restriction ioctl succeeded for the first time.
  static void Restricted();
  static uint64_t Open();
  static uint64_t Unrestricted();
  // The domain later opens are restricted to, or -1.
  static int32_t Domid();
  // Set it: 0, or -EINVAL if the process is already restricted to another.
  static int SetDomid(uint16_t domid);
};

}  // namespace pcs

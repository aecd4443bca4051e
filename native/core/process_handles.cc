#include "process_handles.h"

#include <errno.h>

#include <mutex>

namespace pcs {

namespace {
std::mutex mutex;
uint64_t open_count = 0;
uint64_t unrestricted_count = 0;
int32_t domid = -1;
}  // namespace

void ProcessHandles::Opened() {
  std::lock_guard<std::mutex> lock(mutex);
  ++open_count;
  ++unrestricted_count;
}

void ProcessHandles::Closed(bool restricted) {
  std::lock_guard<std::mutex> lock(mutex);
  if (open_count > 0) --open_count;
  if (!restricted && unrestricted_count > 0) --unrestricted_count;
}

void ProcessHandles::Restricted() {
  std::lock_guard<std::mutex> lock(mutex);
  if (unrestricted_count > 0) --unrestricted_count;
}

uint64_t ProcessHandles::Open() {
  std::lock_guard<std::mutex> lock(mutex);
  return open_count;
}

uint64_t ProcessHandles::Unrestricted() {
  std::lock_guard<std::mutex> lock(mutex);
  return unrestricted_count;
}

int32_t ProcessHandles::Domid() {
  std::lock_guard<std::mutex> lock(mutex);
  return domid;
}

int ProcessHandles::SetDomid(uint16_t d) {
  std::lock_guard<std::mutex> lock(mutex);
  if (domid >= 0 && domid != d) return -EINVAL;
  domid = d;
  return 0;
}

}  // namespace pcs

#include "ordered_access.h"

#include "layout.h"

namespace pcs {
namespace {

int Check(const uint8_t* base, size_t len, uint64_t offset, size_t width) {
  if (base == nullptr || len < width || offset > len - width) return kERANGE;
  if ((reinterpret_cast<uintptr_t>(base) + offset) % width != 0) return kEINVAL;
  return kOk;
}

}  // namespace

int LoadAcquire8(const uint8_t* base, size_t len, uint64_t offset, uint32_t* out) {
  int rc = Check(base, len, offset, 1);
  if (rc != kOk) return rc;
  *out = __atomic_load_n(base + offset, __ATOMIC_ACQUIRE);
  return kOk;
}

int LoadAcquire32(const uint8_t* base, size_t len, uint64_t offset, uint32_t* out) {
  int rc = Check(base, len, offset, 4);
  if (rc != kOk) return rc;
  *out = __atomic_load_n(reinterpret_cast<const uint32_t*>(base + offset), __ATOMIC_ACQUIRE);
  return kOk;
}

int StoreRelease8(uint8_t* base, size_t len, uint64_t offset, uint8_t value) {
  int rc = Check(base, len, offset, 1);
  if (rc != kOk) return rc;
  __atomic_store_n(base + offset, value, __ATOMIC_RELEASE);
  return kOk;
}

int StoreRelease32(uint8_t* base, size_t len, uint64_t offset, uint32_t value) {
  int rc = Check(base, len, offset, 4);
  if (rc != kOk) return rc;
  __atomic_store_n(reinterpret_cast<uint32_t*>(base + offset), value, __ATOMIC_RELEASE);
  return kOk;
}

int FetchAdd32(uint8_t* base, size_t len, uint64_t offset, uint32_t delta, uint32_t* old) {
  int rc = Check(base, len, offset, 4);
  if (rc != kOk) return rc;
  *old = __atomic_fetch_add(reinterpret_cast<uint32_t*>(base + offset), delta, __ATOMIC_ACQ_REL);
  return kOk;
}

}  // namespace pcs

#include "dm_staging.h"

#include <cstring>
#include <new>

namespace pcs {

int DmOpStaging::Stage(const DmStageSource* src, size_t num) {
  num_ = 0;
  if (num > kStageMaxBufs) return kE2BIG;
  uint64_t total = 0;
  for (size_t i = 0; i < num; ++i) {
    if (src[i].len > kStageMaxSize) return kE2BIG;
    if (src[i].raw) {
      if (!AccessOk(src[i].addr, src[i].len)) return kEFAULT;
    } else {
      if (src[i].data == nullptr && src[i].len != 0) return kEFAULT;
      total += src[i].len;  // <= 16 * 4096: no overflow
    }
  }
  // 16 bytes of slack: empty buffers point at bytes_[1], inside the block.
  bytes_.reset(new (std::nothrow) uint8_t[total + 16]());
  if (!bytes_) return kENOMEM;
  uint64_t at = 16;
  for (size_t i = 0; i < num; ++i) {
    raw_[i] = src[i].raw;
    if (src[i].raw) {
      descs_[i] = {src[i].addr, src[i].len};
      continue;
    }
    offset_[i] = src[i].len == 0 ? 1 : at;
    if (src[i].len != 0) std::memcpy(bytes_.get() + at, src[i].data, static_cast<size_t>(src[i].len));
    descs_[i] = {reinterpret_cast<uint64_t>(bytes_.get() + offset_[i]), src[i].len};
    at += src[i].len;
  }
  num_ = num;
  return kOk;
}

bool DmOpStaging::CopyBack(size_t i, uint8_t* dst, uint64_t dst_len) const {
  if (!staged(i) || dst_len != descs_[i].size) return false;
  if (dst_len != 0) {
    if (dst == nullptr) return false;
    std::memcpy(dst, bytes_.get() + offset_[i], static_cast<size_t>(dst_len));
  }
  return true;
}

}  // namespace pcs

// The simulated space's mailbox and the binding's byte-level argument
// unpacking, as plain functions over bytes: no Node-API here, so the libFuzzer
// targets (native/fuzz/) and the sanitizer build exercise exactly the code the
// addon runs. native/binding.cc only moves values between JS and these.
//
// The mailbox is a small native-owned buffer that JS views, through which the
// simulator's hot calls take their arguments and leave their results, so a
// call carries nothing (each argument costs ~13-25 ns to unpack). Layout
// (little-endian), mirrored in lib/sim/mailbox.ts from the addon's constants.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "address_space.h"
#include "dm_buffers.h"
#include "layout.h"

namespace pcs {
namespace mb {
constexpr size_t kUbufs = 0;     // u64 in: descriptor array address
constexpr size_t kNum = 8;       // u32 in: number of descriptors (also nr for copies)
constexpr size_t kMaxNum = 12;   // u32 in: dm_op_max_nr_bufs
constexpr size_t kMaxSize = 16;  // u32 in: dm_op_buf_max_size
constexpr size_t kStep = 20;     // u32 out: failing validation step
constexpr size_t kIndex = 24;    // u32 out: failing buffer
constexpr size_t kMode = 28;     // u32 in: copy mode
constexpr size_t kIdx = 32;      // u64 in: buffer index for copies
constexpr size_t kOffset = 40;   // u64 in: offset into the buffer
constexpr size_t kLen = 48;      // u64 in: bytes to copy (<= kDataSize)
constexpr size_t kDescs = 64;    // descriptors: out of validation, in for copies
constexpr size_t kMaxDescs = 16;
constexpr size_t kData = kDescs + kMaxDescs * kDmBufDescSize;  // 320
constexpr size_t kDataSize = 4096;
constexpr size_t kSize = kData + kDataSize;
constexpr uint64_t kHeaderCopy = 32;  // bytes of buffer 0 the prologue reads (sizeof(xen_dm_op))
}  // namespace mb

// Each takes a mailbox of exactly mb::kSize bytes.
// prologue: the driver's validation with ubufs/num/maxNum/maxSize from the
// mailbox (maxNum <= 16, else kEINVAL). On failure the step and index go to
// the mailbox; on success the descriptors do and, if num > 0, the first
// min(size, 32) bytes of buffer 0 go to the data area. Returns pages (capped
// at INT32_MAX) or a negative status.
int MbDmOpPrologue(const AddressSpace& as, uint8_t* box);
// copyFrom: buffer idx -> data[0..len). copyTo: data[0..len) -> buffer idx.
// nr = num (<= 16), len <= kDataSize, mode 0 or 1, else kEINVAL untouched.
int MbCopyFromGuest(const AddressSpace& as, uint8_t* box);
int MbCopyToGuest(AddressSpace& as, uint8_t* box);

// ---- argument unpacking shared with the binding's non-mailbox calls ---------

// A JS number as an integer in [0, 2^53]: beyond that a double no longer names
// one value. NaN, negatives and fractions are refused.
inline bool DoubleToU64(double d, uint64_t* out) {
  if (!(d >= 0) || d > 9007199254740992.0 || std::floor(d) != d) return false;
  *out = static_cast<uint64_t>(d);
  return true;
}

// nr descriptors (16 bytes each, little-endian {addr, size}) read from a byte
// array of raw_len bytes. Stack storage for the common case; Xen itself never
// takes more than 2. Load refuses nr beyond raw_len / 16 (or beyond what the
// heap can hold) and then leaves data() at an empty array.
class DescriptorArray {
 public:
  DescriptorArray() = default;
  DescriptorArray(const DescriptorArray&) = delete;
  DescriptorArray& operator=(const DescriptorArray&) = delete;
  ~DescriptorArray() { delete[] big_; }
  bool Load(const uint8_t* raw, size_t raw_len, uint64_t nr);
  const DmBuf* data() const { return data_; }

 private:
  static constexpr uint64_t kSmall = 16;
  DmBuf small_[kSmall] = {};
  DmBuf* big_ = nullptr;
  const DmBuf* data_ = small_;
};

// The binding's validateDmBuffers over bytes: out (out_len bytes) receives the
// num validated descriptors, so it must hold min(num, max_num) of them and at
// least 8 bytes, and max_num <= 4096 (the driver never holds more): else
// kEINVAL with nothing written. On a validation failure out[0..8) receives the
// failing step and buffer index (two u32, native order). Returns pages or a
// negative status; *pages is set on kOk.
int ValidateDmBuffersInto(const AddressSpace& as, uint64_t ubufs, uint32_t num, uint32_t max_num, uint32_t max_size,
                          uint8_t* out, size_t out_len, uint64_t* pages);

// copyDmBufferFromGuest / copyDmBufferToGuest over bytes: the descriptor array
// is raw[0..raw_len), nr = raw_len / 16, and the copy moves exactly dst_len /
// src_len bytes.
int CopyFromGuestBytes(const AddressSpace& as, uint8_t* dst, size_t dst_len, const uint8_t* raw, size_t raw_len,
                       uint64_t idx, uint64_t offset, CopyMode mode);
int CopyToGuestBytes(AddressSpace& as, const uint8_t* raw, size_t raw_len, uint64_t idx, uint64_t offset,
                     const uint8_t* src, size_t src_len, CopyMode mode);

}  // namespace pcs

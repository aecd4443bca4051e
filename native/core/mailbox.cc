#include "mailbox.h"

#include <new>
#include <vector>

namespace pcs {

namespace {

template <typename T>
T MbLoad(const uint8_t* box, size_t at) {
  T v;
  std::memcpy(&v, box + at, sizeof v);
  return v;
}

template <typename T>
void MbStore(uint8_t* box, size_t at, T v) {
  std::memcpy(box + at, &v, sizeof v);
}

void MbLoadDescs(const uint8_t* box, uint64_t nr, DmBuf* out) {
  for (uint64_t i = 0; i < nr; ++i) {
    out[i].addr = MbLoad<uint64_t>(box, mb::kDescs + i * kDmBufDescSize);
    out[i].size = MbLoad<uint64_t>(box, mb::kDescs + i * kDmBufDescSize + 8);
  }
}

// Shared unpacking of a mailbox copy: descriptors (nr = num), idx, offset, len, mode.
struct MbCopy {
  DmBuf bufs[mb::kMaxDescs];
  uint64_t nr, idx, offset, len;
  CopyMode mode;
};

bool MbLoadCopy(const uint8_t* box, MbCopy* c) {
  c->nr = MbLoad<uint32_t>(box, mb::kNum);
  c->idx = MbLoad<uint64_t>(box, mb::kIdx);
  c->offset = MbLoad<uint64_t>(box, mb::kOffset);
  c->len = MbLoad<uint64_t>(box, mb::kLen);
  uint32_t mode = MbLoad<uint32_t>(box, mb::kMode);
  if (c->nr > mb::kMaxDescs || c->len > mb::kDataSize || mode > static_cast<uint32_t>(CopyMode::kStrict)) return false;
  c->mode = static_cast<CopyMode>(mode);
  MbLoadDescs(box, c->nr, c->bufs);
  return true;
}

void StoreDescs(uint8_t* out, const DmBuf* bufs, uint32_t num) {
  for (uint32_t i = 0; i < num; ++i) {
    std::memcpy(out + uint64_t{i} * kDmBufDescSize, &bufs[i].addr, 8);
    std::memcpy(out + uint64_t{i} * kDmBufDescSize + 8, &bufs[i].size, 8);
  }
}

}  // namespace

// The pages were just checked, so the header read is the one the hypervisor
// would make and cannot fault.
int MbDmOpPrologue(const AddressSpace& as, uint8_t* box) {
  uint32_t num = MbLoad<uint32_t>(box, mb::kNum);
  uint32_t max_num = MbLoad<uint32_t>(box, mb::kMaxNum);
  if (max_num > mb::kMaxDescs) return kEINVAL;
  DmBuf bufs[mb::kMaxDescs];
  DmValidation v;
  int rc = ValidateDmBuffers(as, MbLoad<uint64_t>(box, mb::kUbufs), num, max_num, MbLoad<uint32_t>(box, mb::kMaxSize),
                             bufs, &v);
  if (rc != kOk) {
    MbStore<uint32_t>(box, mb::kStep, static_cast<uint32_t>(v.failed_step));
    MbStore<uint32_t>(box, mb::kIndex, v.failed_index);
    return rc;
  }
  StoreDescs(box + mb::kDescs, bufs, num);
  if (num > 0) {
    uint64_t n = bufs[0].size < mb::kHeaderCopy ? bufs[0].size : mb::kHeaderCopy;
    rc = CopyDmBufferFromGuest(as, box + mb::kData, n, bufs, num, 0, 0, CopyMode::kStrict);
    if (rc != kOk) return rc;
  }
  return static_cast<int>(v.pages < INT32_MAX ? v.pages : INT32_MAX);
}

int MbCopyFromGuest(const AddressSpace& as, uint8_t* box) {
  MbCopy c;
  if (!MbLoadCopy(box, &c)) return kEINVAL;
  return CopyDmBufferFromGuest(as, box + mb::kData, c.len, c.bufs, c.nr, c.idx, c.offset, c.mode);
}

int MbCopyToGuest(AddressSpace& as, uint8_t* box) {
  MbCopy c;
  if (!MbLoadCopy(box, &c)) return kEINVAL;
  return CopyDmBufferToGuest(as, c.bufs, c.nr, c.idx, c.offset, box + mb::kData, c.len, c.mode);
}

bool DescriptorArray::Load(const uint8_t* raw, size_t raw_len, uint64_t nr) {
  data_ = small_;
  if (nr > raw_len / kDmBufDescSize) return false;
  DmBuf* dst = small_;
  if (nr > kSmall) {
    delete[] big_;
    big_ = new (std::nothrow) DmBuf[static_cast<size_t>(nr)];
    if (big_ == nullptr) return false;
    dst = big_;
  }
  for (uint64_t i = 0; i < nr; ++i) {
    std::memcpy(&dst[i].addr, raw + i * kDmBufDescSize, 8);
    std::memcpy(&dst[i].size, raw + i * kDmBufDescSize + 8, 8);
  }
  data_ = dst;
  return true;
}

int ValidateDmBuffersInto(const AddressSpace& as, uint64_t ubufs, uint32_t num, uint32_t max_num, uint32_t max_size,
                          uint8_t* out, size_t out_len, uint64_t* pages) {
  if (max_num > 4096 || out_len < 8 || out_len < uint64_t{max_num < num ? max_num : num} * kDmBufDescSize)
    return kEINVAL;
  DmBuf small[16];
  std::vector<DmBuf> big;
  DmBuf* bufs = small;
  if (max_num > 16) {
    big.resize(max_num);
    bufs = big.data();
  }
  DmValidation v;
  int rc = ValidateDmBuffers(as, ubufs, num, max_num, max_size, bufs, &v);
  if (rc != kOk) {
    uint32_t detail[2] = {static_cast<uint32_t>(v.failed_step), v.failed_index};
    std::memcpy(out, detail, sizeof detail);
    return rc;
  }
  StoreDescs(out, bufs, num);
  *pages = v.pages;
  return kOk;
}

int CopyFromGuestBytes(const AddressSpace& as, uint8_t* dst, size_t dst_len, const uint8_t* raw, size_t raw_len,
                       uint64_t idx, uint64_t offset, CopyMode mode) {
  uint64_t nr = raw_len / kDmBufDescSize;
  DescriptorArray bufs;
  if (!bufs.Load(raw, raw_len, nr)) return kEINVAL;
  return CopyDmBufferFromGuest(as, dst, dst_len, bufs.data(), nr, idx, offset, mode);
}

int CopyToGuestBytes(AddressSpace& as, const uint8_t* raw, size_t raw_len, uint64_t idx, uint64_t offset,
                     const uint8_t* src, size_t src_len, CopyMode mode) {
  uint64_t nr = raw_len / kDmBufDescSize;
  DescriptorArray bufs;
  if (!bufs.Load(raw, raw_len, nr)) return kEINVAL;
  return CopyDmBufferToGuest(as, bufs.data(), nr, idx, offset, src, src_len, mode);
}

}  // namespace pcs

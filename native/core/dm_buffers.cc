#include "dm_buffers.h"

#include <cstring>

namespace pcs {

namespace {

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);  // x86-64 is little-endian, as is the ABI here
  return v;
}

// Resolve which bytes of buffer idx a copy touches; kOk and *addr/*n set, or
// an error status. Shared by both directions so they cannot disagree.
int Span(const DmBuf* bufs, uint64_t nr, uint64_t idx, uint64_t offset, uint64_t len, CopyMode mode, uint64_t* addr,
         uint64_t* n) {
  if (idx >= nr) return kEFAULT;
  const DmBuf& b = bufs[idx];
  if (mode == CopyMode::kSeed) {
    if (offset != 0) return kEINVAL;
    *addr = b.addr;
    *n = len < b.size ? len : b.size;
    return kOk;
  }
  if (mode != CopyMode::kStrict) return kEINVAL;
  if (offset > UINT64_MAX - len) return kEFAULT;  // offset + len overflows
  if (offset + len > b.size) return kEFAULT;
  if (offset > UINT64_MAX - b.addr) return kEFAULT;  // buffer address + offset wraps
  *addr = b.addr + offset;
  *n = len;
  return kOk;
}

}  // namespace

int ValidateDmBuffers(const AddressSpace& as, uint64_t ubufs, uint32_t num, uint32_t max_num, uint32_t max_size,
                      DmBuf* out, DmValidation* result) {
  *result = DmValidation{};
  auto fail = [result](DmStep step, uint32_t index, int status) {
    result->failed_step = step;
    result->failed_index = index;
    return status;
  };
  // 3. Nothing to do (libxendevicemodel's probe).
  if (num == 0) return kOk;
  // 4. Too many buffers.
  if (num > max_num) return fail(DmStep::kCount, 0, kE2BIG);
  // 5. Copy the descriptor array from the caller's memory.
  uint8_t raw[kDmBufDescSize];
  const uint64_t array_len = uint64_t{num} * kDmBufDescSize;
  if (!AccessOk(ubufs, array_len)) return fail(DmStep::kDescriptors, 0, kEFAULT);
  int rc = as.CheckPages(ubufs, array_len, false);
  if (rc != kOk) return fail(DmStep::kDescriptors, 0, rc);
  for (uint32_t i = 0; i < num; ++i) {
    std::memcpy(raw, as.Host(ubufs + uint64_t{i} * kDmBufDescSize), kDmBufDescSize);
    out[i].addr = LoadLe64(raw);
    out[i].size = LoadLe64(raw + 8);
  }
  // 6. Per buffer: size cap, then access_ok; count the pages to pin.
  uint64_t pages = 0;
  for (uint32_t i = 0; i < num; ++i) {
    if (out[i].size > max_size) return fail(DmStep::kSize, i, kE2BIG);
    if (!AccessOk(out[i].addr, out[i].size)) return fail(DmStep::kAccess, i, kEFAULT);
    pages += PagesSpanned(out[i].addr, out[i].size);
  }
  // 8. Pin each buffer's pages for writing, buffer by buffer, page by page.
  //    A zero-size buffer at an unaligned address pins its page; one at an
  //    aligned address (or NULL) asks for 0 pages, gets 0, and Linux 6.1's
  //    lock_pages turns "pinned nothing" into EFAULT (seen on the real host).
  for (uint32_t i = 0; i < num; ++i) {
    uint64_t span = PagesSpanned(out[i].addr, out[i].size);
    if (span == 0) return fail(DmStep::kPin, i, kEFAULT);
    uint64_t first = out[i].addr & kPageMask;
    // access_ok above bounds first + span pages below TASK_SIZE_MAX + 1 page.
    rc = as.CheckPages(first, span << kPageShift, true);
    if (rc != kOk) return fail(DmStep::kPin, i, rc);
  }
  result->pages = pages;
  return kOk;
}

int CopyDmBufferFromGuest(const AddressSpace& as, uint8_t* dst, uint64_t len, const DmBuf* bufs, uint64_t nr,
                          uint64_t idx, uint64_t offset, CopyMode mode) {
  // The seed's copy_dm_buffer_from_guest clears the destination before any
  // check, so a failed copy leaves zeros, never stale bytes.
  if (mode == CopyMode::kSeed && len != 0) std::memset(dst, 0, static_cast<size_t>(len));
  uint64_t addr = 0, n = 0;
  int rc = Span(bufs, nr, idx, offset, len, mode, &addr, &n);
  if (rc != kOk) return rc;
  rc = as.CheckPages(addr, n, false);
  if (rc != kOk) return rc;
  if (n != 0) std::memcpy(dst, as.Host(addr), static_cast<size_t>(n));
  return kOk;
}

int CopyDmBufferToGuest(AddressSpace& as, const DmBuf* bufs, uint64_t nr, uint64_t idx, uint64_t offset,
                        const uint8_t* src, uint64_t len, CopyMode mode) {
  uint64_t addr = 0, n = 0;
  int rc = Span(bufs, nr, idx, offset, len, mode, &addr, &n);
  if (rc != kOk) return rc;
  rc = as.CheckPages(addr, n, true);
  if (rc != kOk) return rc;
  if (n != 0) std::memcpy(as.Host(addr), src, static_cast<size_t>(n));
  return kOk;
}

}  // namespace pcs

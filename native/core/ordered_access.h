// Ordered loads and stores on memory that another agent writes at the same
// time: the pages an ioreq server shares with Xen (xen/hvm/ioreq.h). JS has
// no fences for such memory (Atomics needs a SharedArrayBuffer), so these few
// accesses live here. Mechanical: no knowledge of what the bytes mean.
//
// Each checks that [offset, offset + width) lies inside [base, base + len)
// (kERANGE otherwise, computed without overflow) and that base + offset is
// width-aligned, as atomic accesses need (kEINVAL otherwise).
#pragma once

#include <cstddef>
#include <cstdint>

namespace pcs {

// The load happens before every later load or store (acquire).
int LoadAcquire8(const uint8_t* base, size_t len, uint64_t offset, uint32_t* out);
int LoadAcquire32(const uint8_t* base, size_t len, uint64_t offset, uint32_t* out);
// Every earlier load or store happens before the store (release).
int StoreRelease8(uint8_t* base, size_t len, uint64_t offset, uint8_t value);
int StoreRelease32(uint8_t* base, size_t len, uint64_t offset, uint32_t value);
// An atomic add (acquire and release), *old = the value before; wraps modulo 2^32.
int FetchAdd32(uint8_t* base, size_t len, uint64_t offset, uint32_t delta, uint32_t* old);

}  // namespace pcs

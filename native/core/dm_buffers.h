// The two halves of a DM_OP's buffer handling, over a simulated address space:
//  - ValidateDmBuffers: what Linux privcmd_ioctl_dm_op does with the buffer
//    array before it calls Xen (count, per-buffer size, access_ok, page pins),
//    in the driver's order;
//  - CopyDmBufferFromGuest / CopyDmBufferToGuest: how the hypervisor reads and
//    writes buffer idx, with either the seed proposal's or Xen's strict rules.
// The restriction check that precedes validation is policy and lives in
// TypeScript; so does every decision about what an op means.
#pragma once

#include <cstdint>

#include "address_space.h"

namespace pcs {

struct DmBuf {
  uint64_t addr;
  uint64_t size;
};

// Which step refused a buffer array, so callers can say why.
enum class DmStep : uint32_t {
  kNone = 0,
  kCount = 1,        // num > max_num
  kDescriptors = 2,  // the descriptor array itself could not be read
  kSize = 3,         // a buffer is larger than max_size
  kAccess = 4,       // a buffer fails access_ok
  kPin = 5,          // a page of a buffer is not present and writable
};

struct DmValidation {
  uint64_t pages = 0;  // pages the driver pins (zero-size aligned buffers pin none)
  DmStep failed_step = DmStep::kNone;
  uint32_t failed_index = 0;  // the buffer that failed, for kSize/kAccess/kPin
};

// Steps 3-8 of privcmd_ioctl_dm_op on x86-64 Linux 6.1:
//   num == 0                       -> kOk, nothing copied (the caller must not call Xen)
//   num > max_num                  -> kE2BIG
//   copy num descriptors at ubufs  -> kEFAULT
//   per buffer, in order: size > max_size -> kE2BIG; !access_ok -> kEFAULT
//   then per buffer, per page (pin_user_pages_fast FOLL_WRITE): not present or
//   not writable -> kEFAULT
// On kOk the descriptors are in out[0..num). out must hold max_num entries.
int ValidateDmBuffers(const AddressSpace& as, uint64_t ubufs, uint32_t num, uint32_t max_num, uint32_t max_size,
                      DmBuf* out, DmValidation* result);

enum class CopyMode : uint32_t {
  // Seed proposal (Xen 524a98c2ac): the destination is zero-filled first,
  // before any check (so it holds zeros after a failure too); idx >= nr ->
  // kEFAULT; min(len, buf.size) bytes copied from the buffer's start; the
  // rest of the buffer ignored. offset must be 0 (kEINVAL otherwise).
  kSeed = 0,
  // Xen since 4.9 (COPY_*_GUEST_BUF_OFFSET): idx >= nr, or offset + len
  // overflowing or exceeding buf.size -> kEFAULT; exactly len bytes copied.
  kStrict = 1,
};

// Read buffer idx into dst[0..len). A fault anywhere (guard page, unmapped or
// read-protected page, address wrap) is kEFAULT; every page is checked before
// the first byte moves, so strict mode leaves dst untouched and seed mode
// leaves it zero-filled.
int CopyDmBufferFromGuest(const AddressSpace& as, uint8_t* dst, uint64_t len, const DmBuf* bufs, uint64_t nr,
                          uint64_t idx, uint64_t offset, CopyMode mode);

// Write src[0..len) into buffer idx (seed: min(len, buf.size) bytes). Same
// fault rules; the simulated pages must be writable.
int CopyDmBufferToGuest(AddressSpace& as, const DmBuf* bufs, uint64_t nr, uint64_t idx, uint64_t offset,
                        const uint8_t* src, uint64_t len, CopyMode mode);

}  // namespace pcs

// Both copy helpers (CopyDmBufferFromGuest / CopyDmBufferToGuest) in both
// modes against a model of Xen's rules: the seed proposal's (idx >= nr is
// EFAULT, offset must be 0, min(len, size) bytes, the rest of the destination
// zero-filled) and Xen 4.9+'s copy_{from,to}_guest_buf_offset in
// xen/arch/x86/hvm/dm.c (offset + len within the buffer, exactly len bytes).
// A success moves exactly the model's bytes; a refusal writes nothing, neither
// into the destination nor anywhere in the simulated space (the read side
// takes the space by const reference, so only writes are snapshotted).
#include <cstring>
#include <vector>

#include "core/dm_buffers.h"
#include "fuzz_util.h"

using pcs::CopyMode;
using pcs::DmBuf;
using pcs::PageState;

namespace {

// Status and the bytes [addr, addr + n) the model says the copy touches.
int Model(const pcs::AddressSpace& as, const std::vector<DmBuf>& bufs, uint64_t idx, uint64_t offset, uint64_t len,
          uint32_t mode, bool write, uint64_t* addr, uint64_t* n) {
  if (idx >= bufs.size()) return pcs::kEFAULT;
  const DmBuf& b = bufs[idx];
  if (mode == 0) {
    if (offset != 0) return pcs::kEINVAL;
    *addr = b.addr;
    *n = len < b.size ? len : b.size;
  } else if (mode == 1) {
    if (offset > UINT64_MAX - len || offset + len > b.size || offset > UINT64_MAX - b.addr) return pcs::kEFAULT;
    *addr = b.addr + offset;
    *n = len;
  } else {
    return pcs::kEINVAL;
  }
  // No access_ok here: the hypervisor's copy faults on the page tables alone.
  return pcs_fuzz::PagesAtLeast(as, *addr, *n, write ? PageState::kReadWrite : PageState::kReadOnly) ? pcs::kOk
                                                                                                     : pcs::kEFAULT;
}

// Every accessible page of the space, to prove a copy wrote nothing else.
// Static storage: fresh 96 KiB blocks per call would be page faults, which
// cost ~100 us each on this machine.
constexpr size_t kSpace = 24 * 4096;
void Snapshot(const pcs::AddressSpace& as, uint8_t* s) {
  if (as.size() > kSpace) std::abort();
  for (uint64_t off = 0; off < as.size(); off += pcs::kPageSize)
    if (as.StateOf(as.base() + off) >= PageState::kReadOnly)
      std::memcpy(s + off, as.Host(as.base() + off), pcs::kPageSize);
}

bool Unchanged(const pcs::AddressSpace& as, const uint8_t* before) {
  static uint8_t now[kSpace];
  std::memset(now, 0, sizeof now);
  Snapshot(as, now);
  return std::memcmp(now, before, static_cast<size_t>(as.size())) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  pcs_fuzz::Ground& g = pcs_fuzz::PickGround(in);
  std::vector<DmBuf> bufs(in.ConsumeIntegralInRange<size_t>(0, 17));
  for (DmBuf& b : bufs) {
    b.addr = pcs_fuzz::PickAddr(in, g);
    b.size = pcs_fuzz::PickLen(in, 4200);
  }
  for (int call = 0; call < 4 && in.remaining_bytes() > 0; ++call) {
    uint64_t idx = in.ConsumeIntegralInRange<int>(0, 9) == 0 ? in.ConsumeIntegral<uint64_t>()
                                                             : in.ConsumeIntegralInRange<uint64_t>(0, bufs.size() + 1);
    uint64_t offset = 0;
    switch (in.ConsumeIntegralInRange<int>(0, 4)) {
      case 0:
        offset = in.ConsumeIntegral<uint64_t>();
        break;
      case 1:
      case 2:
        offset = in.ConsumeIntegralInRange<uint64_t>(0, 4200);
        break;
      default:
        break;
    }
    // len is how much the caller's side holds, so it stays small.
    uint64_t len = in.ConsumeIntegralInRange<uint64_t>(0, 9000);
    uint32_t mode = in.ConsumeIntegralInRange<int>(0, 15) == 0 ? in.ConsumeIntegral<uint32_t>()
                                                               : in.ConsumeIntegralInRange<uint32_t>(0, 1);
    bool write = in.ConsumeBool();
    uint64_t addr = 0, n = 0;
    int want = Model(*g.as, bufs, idx, offset, len, mode, write, &addr, &n);
    if (!write) {
      std::vector<uint8_t> dst(static_cast<size_t>(len), 0xa5);
      int rc = pcs::CopyDmBufferFromGuest(*g.as, dst.data(), len, bufs.data(), bufs.size(), idx, offset,
                                          static_cast<CopyMode>(mode));
      FUZZ_CHECK(rc == want);
      if (rc == pcs::kOk) {
        FUZZ_CHECK(n == 0 || std::memcmp(dst.data(), g.as->Host(addr), static_cast<size_t>(n)) == 0);
        for (uint64_t i = n; i < len; ++i) FUZZ_CHECK(dst[i] == 0);  // seed mode's zero fill
      } else {
        // Seed mode zero-fills before any check; strict mode leaves dst alone.
        const uint8_t want_byte = mode == static_cast<uint32_t>(CopyMode::kSeed) ? 0 : 0xa5;
        for (uint8_t b : dst) FUZZ_CHECK(b == want_byte);
      }
    } else {
      static uint8_t before[kSpace];
      std::memset(before, 0, sizeof before);
      Snapshot(*g.as, before);
      std::vector<uint8_t> src = in.ConsumeBytes<uint8_t>(static_cast<size_t>(len));
      src.resize(static_cast<size_t>(len), 0x3c);
      int rc = pcs::CopyDmBufferToGuest(*g.as, bufs.data(), bufs.size(), idx, offset, src.data(), len,
                                        static_cast<CopyMode>(mode));
      FUZZ_CHECK(rc == want);
      if (rc == pcs::kOk && n != 0) std::memcpy(before + (addr - g.as->base()), src.data(), static_cast<size_t>(n));
      FUZZ_CHECK(Unchanged(*g.as, before));
    }
  }
  return 0;
}

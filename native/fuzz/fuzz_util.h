// Shared by the libFuzzer targets in this directory (each target is one .cc
// defining LLVMFuzzerTestOneInput; scripts/fuzz.js builds every one with all of
// native/core). An invariant that does not hold aborts, which libFuzzer reports
// as a crash and keeps the input.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/address_space.h"
#include "core/layout.h"

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "invariant failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace pcs_fuzz {

// The ground the buffer-validation, copy and mailbox targets run on: two
// spaces (one low, one flush against the canonical boundary, whose top page is
// a permanent guard and where access_ok's limit falls inside the region), each
// with the same mix of allocations: page-aligned and end-aligned, read-write
// and read-only, empty, multi-page, a freed hole, and one ending at the top.
// Built once per process: on this machine every page fault and madvise costs
// ~100 us, which would cap the run at a few thousand inputs a second. Each
// input starts from zeroed contents (Reset), so an input's outcome never
// depends on the inputs before it.
struct Ground {
  pcs::AddressSpace* as;
  std::vector<pcs::Allocation> allocs;

  void Reset(FuzzedDataProvider& in) {
    for (const pcs::Allocation& a : allocs) {
      uint64_t page = a.addr & pcs::kPageMask;
      uint64_t pages = (a.addr + (a.len == 0 ? 1 : a.len) - page + pcs::kPageSize - 1) >> pcs::kPageShift;
      std::memset(as->Host(page), 0, static_cast<size_t>(pages << pcs::kPageShift));
    }
    // Input bytes into a few allocations, at an offset.
    for (int n = in.ConsumeIntegralInRange<int>(0, 3); n > 0; --n) {
      const pcs::Allocation& a = allocs[in.ConsumeIntegralInRange<size_t>(0, allocs.size() - 1)];
      if (a.len == 0) continue;
      uint64_t off = in.ConsumeIntegralInRange<uint64_t>(0, a.len - 1);
      std::vector<uint8_t> bytes = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, a.len - off));
      if (!bytes.empty()) std::memcpy(a.host + off, bytes.data(), bytes.size());
    }
  }
};

inline Ground BuildGround(uint64_t base) {
  constexpr uint64_t kPages = 24;
  Ground g;
  std::unique_ptr<pcs::AddressSpace> as;
  if (pcs::AddressSpace::Create(base, kPages << pcs::kPageShift, &as) != pcs::kOk) std::abort();
  g.as = as.release();  // lives as long as the process
  struct Spec {
    uint64_t len;
    uint32_t flags;
  };
  const Spec specs[] = {
      {4096, 0},
      {100, pcs::kAllocAlignEnd},
      {4096, pcs::kAllocReadOnly},
      {2 * 4096 + 17, pcs::kAllocAlignEnd},
      {0, 0},
      {64, pcs::kAllocReadOnly | pcs::kAllocAlignEnd},
      {4096, 0},  // freed below: a hole between two guard pages
      {8192, 0},
  };
  uint64_t hole = 0;
  for (const Spec& s : specs) {
    pcs::Allocation a;
    if (g.as->Allocate(s.len, s.flags, &a) != pcs::kOk) std::abort();
    if (&s == &specs[6]) {
      hole = a.addr;
    } else {
      g.allocs.push_back(a);
    }
  }
  if (g.as->Free(hole) != pcs::kOk) std::abort();
  // The rest of the region in one end-aligned block: in the top space it ends
  // flush against the permanent guard page.
  for (uint64_t len = 4 * 4096 - 5; len > 0; len -= 4096) {
    pcs::Allocation a;
    if (g.as->Allocate(len, pcs::kAllocAlignEnd, &a) == pcs::kOk) {
      g.allocs.push_back(a);
      break;
    }
    if (len <= 4096) break;
  }
  return g;
}

inline Ground& PickGround(FuzzedDataProvider& in) {
  static Ground low = BuildGround(0x10000000);
  static Ground top = BuildGround(pcs::kUserTop - (uint64_t{24} << pcs::kPageShift));
  Ground& g = in.ConsumeBool() ? top : low;
  g.Reset(in);
  return g;
}

// An address the targets aim at: mostly inside or at the edges of the ground's
// allocations and region, sometimes anywhere in the 64-bit space.
inline uint64_t PickAddr(FuzzedDataProvider& in, const Ground& g) {
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
    case 1: {
      if (g.allocs.empty()) return g.as->base() + in.ConsumeIntegralInRange<uint64_t>(0, g.as->size());
      const pcs::Allocation& a = g.allocs[in.ConsumeIntegralInRange<size_t>(0, g.allocs.size() - 1)];
      int64_t delta = in.ConsumeIntegralInRange<int64_t>(-64, static_cast<int64_t>(a.len) + 64);
      return a.addr + static_cast<uint64_t>(delta);
    }
    case 2:
      return g.as->base() + in.ConsumeIntegralInRange<uint64_t>(0, g.as->size() + pcs::kPageSize);
    case 3:
      return pcs::kTaskSizeMax + in.ConsumeIntegralInRange<uint64_t>(0, 2 * pcs::kPageSize) - pcs::kPageSize;
    case 4:
      return pcs::kKernelBase + in.ConsumeIntegral<uint16_t>();
    default:
      return in.ConsumeIntegral<uint64_t>();
  }
}

// A length: mostly small, sometimes a boundary or anything.
inline uint64_t PickLen(FuzzedDataProvider& in, uint64_t small_max) {
  switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0:
      return UINT64_MAX - in.ConsumeIntegral<uint8_t>();
    case 1:
      return in.ConsumeIntegral<uint64_t>();
    case 2:
      return pcs::kTaskSizeMax - in.ConsumeIntegral<uint16_t>();
    default:
      return in.ConsumeIntegralInRange<uint64_t>(0, small_max);
  }
}

// Independent model of "every page of [addr, addr+len) is at least `need`",
// from StateOf alone (checked against the model in the address_space target).
// Bounded: it stops at the first page outside the region.
inline bool PagesAtLeast(const pcs::AddressSpace& as, uint64_t addr, uint64_t len, pcs::PageState need) {
  if (len == 0) return true;
  if (len - 1 > UINT64_MAX - addr) return false;
  uint64_t last = addr + (len - 1);
  for (uint64_t p = addr & pcs::kPageMask;; p += pcs::kPageSize) {
    if (as.StateOf(p) < need) return false;
    if (p >= (last & pcs::kPageMask)) return true;
  }
}

}  // namespace pcs_fuzz

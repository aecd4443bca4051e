// The simulated address space against an independent model: the input is a
// region and a sequence of operations (allocate with flags, free, read, write,
// page state, page checks, writes through the host view). Every result must be
// the model's: a read after a write of live read-write bytes returns them,
// freed pages read back as zero once reallocated, out-of-range is an error and
// never a crash, placement is first fit with a guard page after each block.
#include <cstring>
#include <map>

#include "core/address_space.h"
#include "fuzz_util.h"

using pcs::AddressSpace;
using pcs::PageState;
using pcs_fuzz::PickLen;

namespace {

constexpr uint64_t kMaxPages = 48;

struct ModelAlloc {
  uint64_t first, data_pages, pages, len;
};

struct Model {
  uint64_t base, size, pages;
  uint64_t guard_top = UINT64_MAX;
  // Static storage: a fresh 192 KiB heap block per input would cost more in
  // page faults than the whole run.
  PageState st[kMaxPages];
  uint8_t* mem;
  std::map<uint64_t, ModelAlloc> allocs;

  PageState StateOf(uint64_t addr) const {
    if (addr < base || addr - base >= size) return PageState::kUnmapped;
    return st[(addr - base) >> pcs::kPageShift];
  }
  bool Check(uint64_t addr, uint64_t len, PageState need) const {
    if (len == 0) return true;
    if (len - 1 > UINT64_MAX - addr) return false;
    uint64_t last = addr + (len - 1);
    if (addr < base || last >= base + size) return false;
    for (uint64_t p = (addr - base) >> pcs::kPageShift; p <= (last - base) >> pcs::kPageShift; ++p)
      if (st[p] < need) return false;
    return true;
  }
};

bool CreateValid(uint64_t base, uint64_t size) {
  if ((base | size) & (pcs::kPageSize - 1)) return false;
  if (size < 2 * pcs::kPageSize || base < pcs::kMmapMinAddr) return false;
  if (size > pcs::kUserTop || base > pcs::kUserTop - size || size > (uint64_t{1} << 40)) return false;
  uint64_t usable = (size >> pcs::kPageShift) - 1 - (base + size == pcs::kUserTop ? 1 : 0);
  return usable > 0;
}

uint64_t Addr(FuzzedDataProvider& in, const Model& m) {
  switch (in.ConsumeIntegralInRange<int>(0, 6)) {
    case 0:
    case 1:
    case 2: {
      if (m.allocs.empty()) break;
      auto it = m.allocs.begin();
      std::advance(it, in.ConsumeIntegralInRange<size_t>(0, m.allocs.size() - 1));
      return it->first +
             static_cast<uint64_t>(in.ConsumeIntegralInRange<int64_t>(-40, static_cast<int64_t>(it->second.len) + 40));
    }
    case 3:
      return pcs::kTaskSizeMax + in.ConsumeIntegralInRange<uint64_t>(0, 2 * pcs::kPageSize) - pcs::kPageSize;
    case 4:
      return in.ConsumeIntegral<uint64_t>();
    default:
      break;
  }
  return m.base - pcs::kPageSize + in.ConsumeIntegralInRange<uint64_t>(0, m.size + 2 * pcs::kPageSize);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Model m;
  // The region: small and valid in most inputs; anything at all sometimes, to
  // check Create's own validation (large valid regions are not created).
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      m.size = in.ConsumeIntegralInRange<uint64_t>(2, kMaxPages) << pcs::kPageShift;
      m.base = pcs::kUserTop - m.size;
      break;
    case 1:
      m.base = in.ConsumeIntegral<uint64_t>();
      m.size = in.ConsumeIntegral<uint64_t>();
      break;
    default:
      m.size = in.ConsumeIntegralInRange<uint64_t>(2, kMaxPages) << pcs::kPageShift;
      m.base = in.ConsumeIntegralInRange<uint64_t>(pcs::kMmapMinAddr >> pcs::kPageShift, 1u << 20) << pcs::kPageShift;
      break;
  }
  bool valid = CreateValid(m.base, m.size);
  if (valid && m.size > kMaxPages * pcs::kPageSize) return 0;
  std::unique_ptr<AddressSpace> as;
  int rc = AddressSpace::Create(m.base, m.size, &as);
  FUZZ_CHECK((rc == pcs::kOk) == valid);
  if (!valid) {
    FUZZ_CHECK(rc == pcs::kEINVAL && !as);
    return 0;
  }
  FUZZ_CHECK(as->base() == m.base && as->size() == m.size);
  m.pages = m.size >> pcs::kPageShift;
  static uint8_t mem[kMaxPages << pcs::kPageShift];
  m.mem = mem;
  std::memset(m.st, 0, sizeof m.st);
  std::memset(m.mem, 0, static_cast<size_t>(m.size));
  m.st[0] = PageState::kGuard;
  if (m.base + m.size == pcs::kUserTop) {
    m.guard_top = m.pages - 1;
    m.st[m.guard_top] = PageState::kGuard;
  }

  for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
      case 0:
      case 1: {  // allocate
        uint64_t len = PickLen(in, 3 * pcs::kPageSize + 1);
        uint32_t flags = in.ConsumeIntegralInRange<int>(0, 7) == 0 ? in.ConsumeIntegral<uint32_t>()
                                                                   : in.ConsumeIntegralInRange<uint32_t>(0, 3);
        int want = pcs::kOk;
        uint64_t first = 0, dp = 0, need = 0;
        if ((flags & ~3u) != 0 || len > m.size) {
          want = pcs::kEINVAL;
        } else {
          dp = len == 0 ? 1 : (len + pcs::kPageSize - 1) >> pcs::kPageShift;
          want = pcs::kENOMEM;
          // First fit over the maximal runs of unmapped pages.
          for (uint64_t p = 0; p < m.pages;) {
            if (m.st[p] != PageState::kUnmapped) {
              ++p;
              continue;
            }
            uint64_t q = p;
            while (q < m.pages && m.st[q] == PageState::kUnmapped) ++q;
            need = p + dp == m.guard_top ? dp : dp + 1;
            if (q - p >= need) {
              first = p;
              want = pcs::kOk;
              break;
            }
            p = q;
          }
        }
        pcs::Allocation a;
        rc = as->Allocate(len, flags, &a);
        FUZZ_CHECK(rc == want);
        if (rc != pcs::kOk) break;
        uint64_t page_addr = m.base + (first << pcs::kPageShift);
        uint64_t off = (flags & pcs::kAllocAlignEnd) && len != 0 ? (dp << pcs::kPageShift) - len : 0;
        FUZZ_CHECK(a.addr == page_addr + off && a.len == len && a.host == as->Host(a.addr));
        for (uint64_t i = 0; i < dp; ++i) FUZZ_CHECK(m.st[first + i] == PageState::kUnmapped);
        // Fresh pages are zero, whatever was there before.
        for (uint64_t i = 0; i < len; ++i) FUZZ_CHECK(a.host[i] == 0);
        for (uint64_t i = 0; i < dp; ++i)
          m.st[first + i] = (flags & pcs::kAllocReadOnly) ? PageState::kReadOnly : PageState::kReadWrite;
        if (need > dp) m.st[first + dp] = PageState::kGuard;
        m.allocs[a.addr] = ModelAlloc{first, dp, need, len};
        break;
      }
      case 2: {  // free: a live address, or near one, or anything
        uint64_t addr = Addr(in, m);
        if (!m.allocs.empty() && in.ConsumeBool()) {
          auto it = m.allocs.begin();
          std::advance(it, in.ConsumeIntegralInRange<size_t>(0, m.allocs.size() - 1));
          addr = it->first;
        }
        auto it = m.allocs.find(addr);
        rc = as->Free(addr);
        FUZZ_CHECK(rc == (it == m.allocs.end() ? pcs::kEINVAL : pcs::kOk));
        if (it == m.allocs.end()) break;
        const ModelAlloc& b = it->second;
        for (uint64_t i = 0; i < b.pages; ++i) m.st[b.first + i] = PageState::kUnmapped;
        std::memset(m.mem + (b.first << pcs::kPageShift), 0, b.data_pages << pcs::kPageShift);
        m.allocs.erase(it);
        break;
      }
      case 3: {  // copy_to_user
        uint64_t addr = Addr(in, m);
        uint64_t len = PickLen(in, 2 * pcs::kPageSize + 3);
        bool ok = pcs::AccessOk(addr, len) && m.Check(addr, len, PageState::kReadWrite);
        // On a refusal the source is deliberately short: a copy that went
        // ahead anyway would read past it, which ASan reports.
        std::vector<uint8_t> src = in.ConsumeBytes<uint8_t>(ok ? static_cast<size_t>(len) : 16);
        src.resize(ok ? static_cast<size_t>(len) : 16, 0x5a);
        rc = as->CopyToUser(addr, src.data(), len);
        FUZZ_CHECK(rc == (ok ? pcs::kOk : pcs::kEFAULT));
        if (ok && len != 0) std::memcpy(m.mem + (addr - m.base), src.data(), static_cast<size_t>(len));
        break;
      }
      case 4: {  // copy_from_user
        uint64_t addr = Addr(in, m);
        uint64_t len = PickLen(in, 2 * pcs::kPageSize + 3);
        bool ok = pcs::AccessOk(addr, len) && m.Check(addr, len, PageState::kReadOnly);
        std::vector<uint8_t> dst(ok ? static_cast<size_t>(len) : 16, 0xa5);
        rc = as->CopyFromUser(dst.data(), addr, len);
        FUZZ_CHECK(rc == (ok ? pcs::kOk : pcs::kEFAULT));
        if (ok) {
          FUZZ_CHECK(len == 0 || std::memcmp(dst.data(), m.mem + (addr - m.base), static_cast<size_t>(len)) == 0);
        } else {
          for (uint8_t b : dst) FUZZ_CHECK(b == 0xa5);
        }
        break;
      }
      case 5: {  // page state and the raw page check (no access_ok)
        uint64_t addr = Addr(in, m);
        FUZZ_CHECK(as->StateOf(addr) == m.StateOf(addr));
        uint64_t len = PickLen(in, 3 * pcs::kPageSize);
        bool write = in.ConsumeBool();
        bool ok = m.Check(addr, len, write ? PageState::kReadWrite : PageState::kReadOnly);
        FUZZ_CHECK(as->CheckPages(addr, len, write) == (ok ? pcs::kOk : pcs::kEFAULT));
        break;
      }
      default: {  // a write through the host view JS holds (read-only pages too)
        if (m.allocs.empty()) break;
        auto it = m.allocs.begin();
        std::advance(it, in.ConsumeIntegralInRange<size_t>(0, m.allocs.size() - 1));
        uint64_t len = it->second.len;
        if (len == 0) break;
        uint64_t off = in.ConsumeIntegralInRange<uint64_t>(0, len - 1);
        uint64_t n = in.ConsumeIntegralInRange<uint64_t>(1, len - off);
        uint8_t v = in.ConsumeIntegral<uint8_t>();
        std::memset(as->Host(it->first + off), v, static_cast<size_t>(n));
        std::memset(m.mem + (it->first + off - m.base), v, static_cast<size_t>(n));
        break;
      }
    }
    FUZZ_CHECK(as->live_allocations() == m.allocs.size());
  }
  // Every page's state, and every accessible page's bytes, are the model's.
  for (uint64_t p = 0; p < m.pages; ++p) {
    uint64_t addr = m.base + (p << pcs::kPageShift);
    FUZZ_CHECK(as->StateOf(addr) == m.st[p]);
    if (m.st[p] >= PageState::kReadOnly)
      FUZZ_CHECK(std::memcmp(as->Host(addr), m.mem + (p << pcs::kPageShift), pcs::kPageSize) == 0);
  }
  return 0;
}

#include "address_space.h"

#include <sys/mman.h>

#include <cstring>
#include <new>

namespace pcs {

HostMapping::~HostMapping() { Unmap(); }

void HostMapping::Unmap() {
  if (data_ != nullptr) munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

int HostMapping::Map(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return kENOMEM;
  data_ = static_cast<uint8_t*>(p);
  size_ = bytes;
  return kOk;
}

int HostMapping::Protect(size_t offset, size_t bytes, bool readwrite) {
  if (bytes == 0) return kOk;
  return mprotect(data_ + offset, bytes, readwrite ? PROT_READ | PROT_WRITE : PROT_NONE) == 0 ? kOk : kENOMEM;
}

int HostMapping::Discard(size_t offset, size_t bytes) {
  if (bytes == 0) return kOk;
  return madvise(data_ + offset, bytes, MADV_DONTNEED) == 0 ? kOk : kENOMEM;
}

int AddressSpace::Create(uint64_t base, uint64_t size, std::unique_ptr<AddressSpace>* out) {
  if ((base & ~kPageMask) != 0 || (size & ~kPageMask) != 0) return kEINVAL;
  // A guard page and at least one usable page.
  if (size < 2 * kPageSize) return kEINVAL;
  if (base < kMmapMinAddr) return kEINVAL;
  // The region may reach the canonical boundary 2^47; its top page (at
  // TASK_SIZE_MAX) is then a permanent guard, as it is never mappable.
  if (size > kUserTop || base > kUserTop - size) return kEINVAL;
  if (size > (uint64_t{1} << 40)) return kEINVAL;  // 1 TiB of reservation is plenty

  std::unique_ptr<AddressSpace> as(new (std::nothrow) AddressSpace());
  if (!as) return kENOMEM;
  as->base_ = base;
  as->size_ = size;
  as->pages_ = size >> kPageShift;
  as->state_.reset(new (std::nothrow) PageState[as->pages_]);
  if (!as->state_) return kENOMEM;
  std::memset(as->state_.get(), 0, as->pages_);
  int rc = as->mapping_.Map(static_cast<size_t>(size));
  if (rc != kOk) return rc;
  as->state_[0] = PageState::kGuard;
  uint64_t usable = as->pages_ - 1;
  as->guard_top_ = UINT64_MAX;  // no permanent top guard: never matches a run end
  if (base + size == kUserTop) {
    as->state_[as->pages_ - 1] = PageState::kGuard;
    as->guard_top_ = as->pages_ - 1;
    --usable;
  }
  if (usable == 0) return kEINVAL;
  as->free_.emplace(1, usable);
  *out = std::move(as);
  return kOk;
}

void AddressSpace::Release() {
  mapping_.Unmap();
  state_.reset();
  free_.clear();
  allocations_.clear();
  // size_ 0 makes every range check fail (StateOf, CheckPages), so state_ and
  // the mapping are never reached again; no free run means Allocate says kENOMEM.
  size_ = 0;
  pages_ = 0;
}

void AddressSpace::SetPages(uint64_t first_page, uint64_t count, PageState state) {
  std::memset(state_.get() + first_page, static_cast<int>(state), count);
}

int AddressSpace::Allocate(uint64_t len, uint32_t flags, Allocation* out) {
  if ((flags & ~(kAllocAlignEnd | kAllocReadOnly)) != 0) return kEINVAL;
  if (len > size_) return kEINVAL;
  uint64_t data_pages = len == 0 ? 1 : (len + kPageSize - 1) >> kPageShift;
  // Each allocation takes a trailing guard page of its own, except at the
  // very top where the region's permanent guard page serves.
  auto need_in = [&](uint64_t first, uint64_t) {
    return first + data_pages == guard_top_ ? data_pages : data_pages + 1;
  };
  auto it = free_.begin();  // first fit
  while (it != free_.end() && it->second < need_in(it->first, it->second)) ++it;
  if (it == free_.end()) return kENOMEM;
  uint64_t first = it->first;
  uint64_t run = it->second;
  uint64_t need = need_in(first, run);
  size_t host_off = static_cast<size_t>(first << kPageShift);
  size_t host_len = static_cast<size_t>(data_pages << kPageShift);
  // Make the host pages usable before touching any bookkeeping, so a failure
  // leaves the allocator exactly as it was.
  if (mapping_.Protect(host_off, host_len, true) != kOk) return kENOMEM;
  free_.erase(it);
  if (run > need) free_.emplace(first + need, run - need);
  SetPages(first, data_pages, (flags & kAllocReadOnly) ? PageState::kReadOnly : PageState::kReadWrite);
  if (need > data_pages) SetPages(first + data_pages, 1, PageState::kGuard);

  uint64_t page_addr = base_ + (first << kPageShift);
  uint64_t offset = 0;
  if ((flags & kAllocAlignEnd) && len != 0) offset = (data_pages << kPageShift) - len;
  out->addr = page_addr + offset;
  out->len = len;
  out->host = mapping_.data() + host_off + offset;
  allocations_.emplace(out->addr, Block{first, need, data_pages});
  return kOk;
}

int AddressSpace::Free(uint64_t addr) {
  auto it = allocations_.find(addr);
  if (it == allocations_.end()) return kEINVAL;
  Block b = it->second;
  allocations_.erase(it);
  size_t host_off = static_cast<size_t>(b.first_page << kPageShift);
  // Data pages only: a trailing guard page was never made accessible.
  size_t host_len = static_cast<size_t>(b.data_pages << kPageShift);
  // Zero and revoke host access so stale bytes can never be read back.
  mapping_.Discard(host_off, host_len);
  mapping_.Protect(host_off, host_len, false);
  SetPages(b.first_page, b.pages, PageState::kUnmapped);

  // Return the run to the free list, merging with neighbours.
  uint64_t first = b.first_page;
  uint64_t count = b.pages;
  auto next = free_.lower_bound(first);
  if (next != free_.end() && next->first == first + count) {
    count += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == first) {
      prev->second += count;
      return kOk;
    }
  }
  free_.emplace(first, count);
  return kOk;
}

PageState AddressSpace::StateOf(uint64_t addr) const {
  if (addr < base_ || addr - base_ >= size_) return PageState::kUnmapped;
  return state_[(addr - base_) >> kPageShift];
}

int AddressSpace::CheckPages(uint64_t addr, uint64_t len, bool write) const {
  if (len == 0) return kOk;
  if (len - 1 > UINT64_MAX - addr) return kEFAULT;  // last byte would wrap
  uint64_t last = addr + (len - 1);
  // The whole range must be inside the region; outside it nothing is mapped.
  if (addr < base_ || last - base_ >= size_) return kEFAULT;
  uint64_t p = (addr - base_) >> kPageShift;
  uint64_t end = (last - base_) >> kPageShift;
  const PageState need = write ? PageState::kReadWrite : PageState::kReadOnly;
  for (; p <= end; ++p) {
    if (state_[p] < need) return kEFAULT;
  }
  return kOk;
}

int AddressSpace::CopyFromUser(uint8_t* dst, uint64_t src, uint64_t len) const {
  if (!AccessOk(src, len)) return kEFAULT;
  int rc = CheckPages(src, len, false);
  if (rc != kOk) return rc;
  if (len != 0) std::memcpy(dst, Host(src), static_cast<size_t>(len));
  return kOk;
}

int AddressSpace::CopyToUser(uint64_t dst, const uint8_t* src, uint64_t len) {
  if (!AccessOk(dst, len)) return kEFAULT;
  int rc = CheckPages(dst, len, true);
  if (rc != kOk) return rc;
  if (len != 0) std::memcpy(Host(dst), src, static_cast<size_t>(len));
  return kOk;
}

}  // namespace pcs

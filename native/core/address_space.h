// A simulated x86-64 Linux process address space backed by one real mapping.
//
// The simulated process sees addresses; the host holds them in one mmap'd
// region at [base, base + size) of the simulated space. Everything outside the
// region is unmapped (and kernel-range addresses fail access_ok). Inside it,
// each page is unmapped, a guard page (PROT_NONE on the host too, so a native
// bug that touches it faults instead of reading stale memory), read-only in the
// simulated process's view, or read-write.
//
// This layer is mechanical: it answers "may the kernel touch these bytes" and
// copies them. It never decides policy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

#include "layout.h"

namespace pcs {

enum class PageState : uint8_t {
  kUnmapped = 0,
  kGuard = 1,
  kReadOnly = 2,  // simulated protection only: the host page stays writable
  kReadWrite = 3,
};

// Owns the host mapping (RAII: munmap in the destructor).
class HostMapping {
 public:
  HostMapping() = default;
  HostMapping(const HostMapping&) = delete;
  HostMapping& operator=(const HostMapping&) = delete;
  ~HostMapping();
  int Map(size_t bytes);  // PROT_NONE reservation; kOk or kENOMEM
  int Protect(size_t offset, size_t bytes, bool readwrite);
  int Discard(size_t offset, size_t bytes);  // back to zero-filled pages
  void Unmap();                              // munmap now (idempotent); the destructor then has nothing to do
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

struct Allocation {
  uint64_t addr = 0;        // simulated address of the first usable byte
  uint64_t len = 0;         // bytes requested
  uint8_t* host = nullptr;  // host pointer for addr
};

enum AllocFlags : uint32_t {
  kAllocAlignEnd = 1u << 0,  // place the bytes flush against the trailing guard page
  kAllocReadOnly = 1u << 1,  // simulated process sees the pages read-only
};

class AddressSpace {
 public:
  // base and size must be page-aligned, base >= mmap_min_addr and the region
  // must end at or below 2^47 (a region ending there keeps its top page, the
  // one at TASK_SIZE_MAX, as a permanent guard). Returns kOk, kEINVAL or kENOMEM.
  static int Create(uint64_t base, uint64_t size, std::unique_ptr<AddressSpace>* out);

  uint64_t base() const { return base_; }
  uint64_t size() const { return size_; }

  // Hands out user-range memory: whole pages, each allocation followed by a
  // guard page (the region's first page is a guard too, so every allocation
  // has one on both sides). len == 0 still takes one page, so the address is
  // unique. kOk, kEINVAL (len too large) or kENOMEM.
  int Allocate(uint64_t len, uint32_t flags, Allocation* out);
  // addr must be the exact address Allocate returned. kOk or kEINVAL.
  int Free(uint64_t addr);

  PageState StateOf(uint64_t addr) const;
  // Every page overlapping [addr, addr + len) is present (and, if write, the
  // simulated process may write it). len == 0 touches no page. Overflow-safe:
  // a range that wraps past 2^64 is kEFAULT. No access_ok: callers choose.
  int CheckPages(uint64_t addr, uint64_t len, bool write) const;
  // Host pointer for a simulated address inside the region. Only valid for
  // addresses CheckPages accepted.
  uint8_t* Host(uint64_t addr) const { return mapping_.data() + (addr - base_); }

  // copy_from_user / copy_to_user as the kernel does them for this process:
  // access_ok, then the pages. On failure nothing is written.
  int CopyFromUser(uint8_t* dst, uint64_t src, uint64_t len) const;
  int CopyToUser(uint64_t dst, const uint8_t* src, uint64_t len);

  size_t live_allocations() const { return allocations_.size(); }

  // Give back the host mapping, the page-state array (one byte per page:
  // 16 MiB for a 64 GiB space) and the bookkeeping now, instead of when the
  // object is destroyed. The caller guarantees nothing will use the memory
  // again (every view detached); afterwards the space is empty and refuses
  // everything (Allocate and Free fail, copies kEFAULT, StateOf kUnmapped).
  void Release();

 private:
  AddressSpace() = default;
  void SetPages(uint64_t first_page, uint64_t count, PageState state);

  uint64_t base_ = 0;
  uint64_t size_ = 0;
  uint64_t pages_ = 0;
  HostMapping mapping_;
  std::unique_ptr<PageState[]> state_;
  // free page runs: first page index -> page count (coalesced)
  std::map<uint64_t, uint64_t> free_;
  // allocations: user address -> {first page index, pages incl. trailing guard}
  struct Block {
    uint64_t first_page;
    uint64_t pages;  // taken from the free list (data + own guard, if any)
    uint64_t data_pages;
  };
  // Index of the permanent guard page at TASK_SIZE_MAX (regions reaching
  // 2^47), or UINT64_MAX when there is none.
  uint64_t guard_top_ = 0;
  std::map<uint64_t, Block> allocations_;
};

}  // namespace pcs

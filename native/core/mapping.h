// Guest pages mapped into this process, owned by exactly one object. Unmap()
// munmaps once and records it; the destructor munmaps only what is still
// mapped, so a late owner (a GC finalizer) can never unmap a range that a
// later mmap has reused. Every failure is a negative errno.
//
// Two sources: the real /dev/xen/privcmd (mmap of the fd, then an ioctl
// fills the VMA; privcmd_device.h), and a PageStore, the simulated host's
// guest RAM: one sparse memfd per host, a page materialised (given an
// offset) only when first touched, and a mapping maps each page's offset
// MAP_SHARED|MAP_FIXED into one reserved range, so every mapping of a page
// and the store's own reads and writes see the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace pcs {

class Mapping {
 public:
  // Takes ownership of [addr, addr + len), which must be mmap'd.
  Mapping(uint8_t* addr, size_t len) : addr_(addr), len_(len) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();
  // 0, or -EBADF when already unmapped.
  int Unmap();
  bool mapped() const;
  uint8_t* data() const { return addr_; }
  size_t size() const { return len_; }

 private:
  uint8_t* const addr_;
  const size_t len_;
  mutable std::mutex mu_;
  bool unmapped_ = false;
};

class PageStore {
 public:
  static int Create(std::unique_ptr<PageStore>* out);
  PageStore(const PageStore&) = delete;
  PageStore& operator=(const PageStore&) = delete;
  ~PageStore();

  // A zeroed page: its byte offset in the store, or -errno.
  int64_t Alloc();
  // Return a page (its bytes are dropped at once). -EINVAL for an offset the
  // store did not hand out or already took back.
  int Free(uint64_t offset);
  // Bytes within one page. 0 or -errno (-EINVAL outside a live page).
  int Read(uint64_t offset, uint8_t* dst, size_t len) const;
  int Write(uint64_t offset, const uint8_t* src, size_t len);
  // One mapping of `n` pages; offsets[i] < 0 leaves page i a private zero
  // page (a page that failed to map). 0 or -errno.
  int Map(const int64_t* offsets, size_t n, bool writable, std::unique_ptr<Mapping>* out) const;
  // Pages handed out and not taken back.
  size_t live() const { return live_; }

 private:
  explicit PageStore(int fd) : fd_(fd) {}
  bool IsLive(uint64_t offset, size_t len) const;
  int fd_;
  uint64_t end_ = 0;  // the file's length in bytes
  std::vector<uint64_t> free_;
  std::vector<bool> used_;  // by page index
  size_t live_ = 0;
};

}  // namespace pcs

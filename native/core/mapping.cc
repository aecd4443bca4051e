#include "mapping.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <new>

namespace pcs {

namespace {
size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }
}  // namespace

Mapping::~Mapping() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!unmapped_) ::munmap(addr_, len_);
}

int Mapping::Unmap() {
  std::lock_guard<std::mutex> lock(mu_);
  if (unmapped_) return -EBADF;
  ::munmap(addr_, len_);
  unmapped_ = true;
  return 0;
}

bool Mapping::mapped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !unmapped_;
}

int PageStore::Create(std::unique_ptr<PageStore>* out) {
  int fd = static_cast<int>(::syscall(SYS_memfd_create, "privcmd-shim-guest-ram", MFD_CLOEXEC));
  if (fd < 0) return -errno;
  out->reset(new (std::nothrow) PageStore(fd));
  if (!*out) {
    ::close(fd);
    return -ENOMEM;
  }
  return 0;
}

PageStore::~PageStore() { ::close(fd_); }

int64_t PageStore::Alloc() {
  const uint64_t page = PageSize();
  uint64_t off;
  if (!free_.empty()) {
    off = free_.back();
    free_.pop_back();
  } else {
    // The file grows a page at a time; it is sparse, so length costs nothing
    // until a page is written.
    if (end_ > (uint64_t{1} << 46)) return -ENOSPC;
    if (::ftruncate(fd_, static_cast<off_t>(end_ + page)) < 0) return -errno;
    off = end_;
    end_ += page;
    used_.push_back(false);
  }
  used_[off / page] = true;
  ++live_;
  return static_cast<int64_t>(off);
}

bool PageStore::IsLive(uint64_t offset, size_t len) const {
  const uint64_t page = PageSize();
  if (offset >= end_ || !used_[offset / page]) return false;
  return len <= page - offset % page;
}

int PageStore::Free(uint64_t offset) {
  const uint64_t page = PageSize();
  if (offset % page != 0 || !IsLive(offset, page)) return -EINVAL;
  // Drop the bytes now: the next owner of this offset gets a zero page.
  if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                  static_cast<off_t>(page)) < 0) {
    return -errno;
  }
  used_[offset / page] = false;
  free_.push_back(offset);
  --live_;
  return 0;
}

int PageStore::Read(uint64_t offset, uint8_t* dst, size_t len) const {
  if (!IsLive(offset, len)) return -EINVAL;
  ssize_t r = ::pread(fd_, dst, len, static_cast<off_t>(offset));
  if (r < 0) return -errno;
  return static_cast<size_t>(r) == len ? 0 : -EIO;
}

int PageStore::Write(uint64_t offset, const uint8_t* src, size_t len) {
  if (!IsLive(offset, len)) return -EINVAL;
  ssize_t r = ::pwrite(fd_, src, len, static_cast<off_t>(offset));
  if (r < 0) return -errno;
  return static_cast<size_t>(r) == len ? 0 : -EIO;
}

int PageStore::Map(const int64_t* offsets, size_t n, bool writable, std::unique_ptr<Mapping>* out) const {
  const size_t page = PageSize();
  if (n == 0 || n > (SIZE_MAX / page)) return -EINVAL;
  for (size_t i = 0; i < n; ++i) {
    if (offsets[i] >= 0 &&
        (static_cast<uint64_t>(offsets[i]) % page != 0 || !IsLive(static_cast<uint64_t>(offsets[i]), page)))
      return -EINVAL;
  }
  const size_t len = n * page;
  // The reservation is private zero pages: what a page without an offset shows.
  void* base = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return -errno;
  std::unique_ptr<Mapping> m(new (std::nothrow) Mapping(static_cast<uint8_t*>(base), len));
  if (!m) {
    ::munmap(base, len);
    return -ENOMEM;
  }
  const int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  for (size_t i = 0; i < n;) {
    if (offsets[i] < 0) {
      ++i;
      continue;
    }
    // One mmap per run of consecutive offsets.
    size_t j = i + 1;
    while (j < n && offsets[j] >= 0 &&
           static_cast<uint64_t>(offsets[j]) == static_cast<uint64_t>(offsets[j - 1]) + page)
      ++j;
    void* p = ::mmap(static_cast<uint8_t*>(base) + i * page, (j - i) * page, prot, MAP_SHARED | MAP_FIXED, fd_,
                     static_cast<off_t>(offsets[i]));
    if (p == MAP_FAILED) return -errno;  // m unmaps the whole range
    i = j;
  }
  if (!writable) {
    // Zero pages of a read-only mapping are read-only too.
    for (size_t i = 0; i < n; ++i) {
      if (offsets[i] < 0 && ::mprotect(static_cast<uint8_t*>(base) + i * page, page, PROT_READ) < 0) return -errno;
    }
  }
  *out = std::move(m);
  return 0;
}

}  // namespace pcs

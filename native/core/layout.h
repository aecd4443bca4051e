// x86-64 Linux facts the simulated process address space reproduces, and the
// binary layout of the descriptor the driver and Xen share. Kept in one place;
// lib/abi/ holds the same facts for TypeScript and test/abi checks both against
// the real headers.
#pragma once

#include <cstdint>

namespace pcs {

constexpr uint64_t kPageShift = 12;
constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;
constexpr uint64_t kPageMask = ~(kPageSize - 1);

// vm.mmap_min_addr default: nothing can be mapped below 64 KiB.
constexpr uint64_t kMmapMinAddr = 0x10000;
// TASK_SIZE_MAX with 4-level paging: (1 << 47) - PAGE_SIZE. The top page below
// the canonical boundary is never mappable, and access_ok() uses this limit.
constexpr uint64_t kTaskSizeMax = (uint64_t{1} << 47) - kPageSize;
// The canonical boundary: first non-canonical address above user space.
constexpr uint64_t kUserTop = uint64_t{1} << 47;
// Start of the kernel half of the canonical address space.
constexpr uint64_t kKernelBase = 0xffff800000000000ull;

// struct privcmd_dm_op_buf (Linux) == struct xen_dm_op_buf (Xen) on x86-64:
// 0: u64 address, 8: u64 size.
constexpr uint64_t kDmBufDescSize = 16;

// Linux privcmd module parameter defaults.
constexpr uint32_t kDefaultDmOpMaxNrBufs = 16;     // dm_op_max_nr_bufs
constexpr uint32_t kDefaultDmOpBufMaxSize = 4096;  // dm_op_buf_max_size

// access_ok() on x86-64 Linux 6.1 (asm-generic/access_ok.h with TASK_SIZE_MAX):
// the whole range [addr, addr + size) lies at or below the limit. Written so
// that addr + size is never computed and so cannot wrap.
constexpr bool AccessOk(uint64_t addr, uint64_t size) { return size <= kTaskSizeMax && addr <= kTaskSizeMax - size; }

// DIV_ROUND_UP(offset_in_page(addr) + size, PAGE_SIZE), as the driver counts the
// pages it pins. size is bounded by the caller (<= 4 GiB), so no wrap.
constexpr uint64_t PagesSpanned(uint64_t addr, uint64_t size) {
  return ((addr & (kPageSize - 1)) + size + kPageSize - 1) >> kPageShift;
}

// Status codes returned by the core: 0 or a negative Linux errno. Expected
// failures are values, never C++ exceptions.
enum Status : int {
  kOk = 0,
  kEPERM = -1,
  kENOENT = -2,
  kEBADF = -9,
  kENOMEM = -12,
  kEFAULT = -14,
  kEBUSY = -16,
  kEINVAL = -22,
  kE2BIG = -7,
  kENOSPC = -28,
  kERANGE = -34,
};

}  // namespace pcs

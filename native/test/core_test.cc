// Native tests of the core, built with ASan + UBSan by scripts/sanitize.js
// (npm run test:sanitize). They exercise every rule of the address space, the
// buffer validation and the copy helpers, then hammer them with random inputs
// while canaries around every destination prove nothing outside it changes.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "../core/address_space.h"
#include "../core/dm_buffers.h"
#include "../core/ordered_access.h"
#include "../core/privcmd_device.h"
#include "../core/mapping.h"

#if __has_include(<xen/sys/privcmd.h>)
#include <sys/ioctl.h>

#include <cstddef>
#include <xen/xen.h>
#include <xen/sys/privcmd.h>
#define HAVE_XEN_SYS_PRIVCMD 1
#endif

using namespace pcs;

static int failures = 0;
static int checks = 0;

#define EXPECT_EQ(a, b)                                                                                   \
  do {                                                                                                    \
    ++checks;                                                                                             \
    long long _a = static_cast<long long>(a), _b = static_cast<long long>(b);                             \
    if (_a != _b) {                                                                                       \
      std::fprintf(stderr, "%s:%d: %s == %s failed: %lld vs %lld\n", __FILE__, __LINE__, #a, #b, _a, _b); \
      ++failures;                                                                                         \
    }                                                                                                     \
  } while (0)

constexpr uint64_t kBase = 0x10000000;
constexpr uint64_t kSize = 64 * kPageSize;

static std::unique_ptr<AddressSpace> NewSpace() {
  std::unique_ptr<AddressSpace> as;
  int rc = AddressSpace::Create(kBase, kSize, &as);
  if (rc != kOk) {
    std::fprintf(stderr, "AddressSpace::Create failed: %d\n", rc);
    std::exit(2);
  }
  return as;
}

static void StoreDesc(uint8_t* p, uint64_t addr, uint64_t size) {
  std::memcpy(p, &addr, 8);
  std::memcpy(p + 8, &size, 8);
}

static void TestCreate() {
  std::unique_ptr<AddressSpace> as;
  EXPECT_EQ(AddressSpace::Create(kBase + 1, kSize, &as), kEINVAL);                         // unaligned base
  EXPECT_EQ(AddressSpace::Create(kBase, kSize + 7, &as), kEINVAL);                         // unaligned size
  EXPECT_EQ(AddressSpace::Create(0, kSize, &as), kEINVAL);                                 // below mmap_min_addr
  EXPECT_EQ(AddressSpace::Create(kBase, kPageSize, &as), kEINVAL);                         // no room past the guard
  EXPECT_EQ(AddressSpace::Create(kUserTop - kPageSize, 2 * kPageSize, &as), kEINVAL);      // past user range
  EXPECT_EQ(AddressSpace::Create(kUserTop - 2 * kPageSize, 2 * kPageSize, &as), kEINVAL);  // guards only
  EXPECT_EQ(AddressSpace::Create(kUserTop - 5 * kPageSize, 5 * kPageSize, &as), kOk);      // reaches 2^47
  Allocation low, top;
  EXPECT_EQ(as->Allocate(1, 0, &low), kOk);  // takes its own guard, not the top one
  EXPECT_EQ(as->StateOf(low.addr + kPageSize), static_cast<int>(PageState::kGuard));
  EXPECT_EQ(as->Allocate(kPageSize, 0, &top), kOk);
  EXPECT_EQ(top.addr + kPageSize, kTaskSizeMax);  // data ends at TASK_SIZE_MAX
  EXPECT_EQ(as->StateOf(kTaskSizeMax), static_cast<int>(PageState::kGuard));
  DmBuf last{top.addr, kPageSize};
  uint8_t byte = 0;
  EXPECT_EQ(CopyDmBufferFromGuest(*as, &byte, 1, &last, 1, 0, kPageSize - 1, CopyMode::kStrict), kOk);
  EXPECT_EQ(as->CopyFromUser(&byte, kTaskSizeMax - 1, 1), kOk);
  EXPECT_EQ(as->CopyFromUser(&byte, kTaskSizeMax - 1, 2), kEFAULT);
}

static void TestAllocator() {
  auto as = NewSpace();
  Allocation a, b, c;
  EXPECT_EQ(as->StateOf(kBase), static_cast<int>(PageState::kGuard));
  EXPECT_EQ(as->Allocate(100, 0, &a), kOk);
  EXPECT_EQ(a.addr, kBase + kPageSize);
  EXPECT_EQ(as->StateOf(a.addr), static_cast<int>(PageState::kReadWrite));
  EXPECT_EQ(as->StateOf(a.addr + kPageSize), static_cast<int>(PageState::kGuard));
  EXPECT_EQ(as->Allocate(100, kAllocAlignEnd, &b), kOk);
  EXPECT_EQ(b.addr + 100, kBase + 4 * kPageSize);  // flush against its guard page
  EXPECT_EQ(as->Allocate(kPageSize + 1, kAllocReadOnly, &c), kOk);
  EXPECT_EQ(as->StateOf(c.addr + kPageSize), static_cast<int>(PageState::kReadOnly));
  EXPECT_EQ(as->Allocate(kSize, 0, &c), kENOMEM);
  EXPECT_EQ(as->Allocate(kSize + 1, 0, &c), kEINVAL);
  EXPECT_EQ(as->Allocate(1, 1u << 9, &c), kEINVAL);  // unknown flag
  EXPECT_EQ(as->Free(a.addr + 1), kEINVAL);
  EXPECT_EQ(as->Free(a.addr), kOk);
  EXPECT_EQ(as->Free(a.addr), kEINVAL);  // double free refused
  EXPECT_EQ(as->StateOf(a.addr), static_cast<int>(PageState::kUnmapped));
  // Freed runs coalesce: after freeing everything one allocation can take it all.
  EXPECT_EQ(as->Free(b.addr), kOk);
  EXPECT_EQ(as->Free(c.addr), kOk);
  EXPECT_EQ(as->live_allocations(), 0);
  Allocation all;
  EXPECT_EQ(as->Allocate(kSize - 2 * kPageSize, 0, &all), kOk);
  // Fresh pages are zero even when they were used before.
  bool zero = true;
  for (uint64_t i = 0; i < all.len; ++i) zero = zero && all.host[i] == 0;
  EXPECT_EQ(zero, true);
}

static void TestUserCopies() {
  auto as = NewSpace();
  Allocation a;
  as->Allocate(16, kAllocAlignEnd, &a);
  uint8_t buf[32] = {1, 2, 3};
  EXPECT_EQ(as->CopyToUser(a.addr, buf, 16), kOk);
  EXPECT_EQ(as->CopyToUser(a.addr, buf, 17), kEFAULT);  // one byte into the guard page
  EXPECT_EQ(as->CopyFromUser(buf, a.addr + 8, 9), kEFAULT);
  EXPECT_EQ(as->CopyFromUser(buf, kKernelBase, 1), kEFAULT);       // access_ok
  EXPECT_EQ(as->CopyFromUser(buf, UINT64_MAX, 2), kEFAULT);        // wrap
  EXPECT_EQ(as->CopyFromUser(buf, 0x1000, 1), kEFAULT);            // below mmap_min_addr
  EXPECT_EQ(as->CopyFromUser(buf, kTaskSizeMax - 1, 1), kEFAULT);  // user, unmapped
  EXPECT_EQ(as->CopyFromUser(buf, kTaskSizeMax, 1), kEFAULT);      // past TASK_SIZE_MAX
  EXPECT_EQ(as->CopyFromUser(buf, kKernelBase, 0), kEFAULT);       // access_ok fails even for 0
  EXPECT_EQ(as->CopyFromUser(buf, 0x1000, 0), kOk);                // 0 bytes touch nothing
  Allocation ro;
  as->Allocate(8, kAllocReadOnly, &ro);
  EXPECT_EQ(as->CopyFromUser(buf, ro.addr, 8), kOk);
  EXPECT_EQ(as->CopyToUser(ro.addr, buf, 8), kEFAULT);
}

static void TestValidate() {
  auto as = NewSpace();
  Allocation arr, data, ro, edge;
  as->Allocate(16 * 17, 0, &arr);
  as->Allocate(2 * kPageSize, 0, &data);
  as->Allocate(64, kAllocReadOnly, &ro);
  as->Allocate(64, kAllocAlignEnd, &edge);
  DmBuf out[32];
  DmValidation v;
  auto set = [&](int i, uint64_t addr, uint64_t size) { StoreDesc(arr.host + 16 * i, addr, size); };

  EXPECT_EQ(ValidateDmBuffers(*as, 0, 0, 16, 4096, out, &v), kOk);  // num 0: nothing, even at NULL
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 17, 16, 4096, out, &v), kE2BIG);
  EXPECT_EQ(ValidateDmBuffers(*as, kKernelBase, 1, 16, 4096, out, &v), kEFAULT);
  EXPECT_EQ(ValidateDmBuffers(*as, edge.addr + 56, 1, 16, 4096, out, &v), kEFAULT);  // array runs into guard

  set(0, data.addr, 4096);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 1, 16, 4096, out, &v), kOk);
  EXPECT_EQ(v.pages, 1);
  EXPECT_EQ(out[0].addr, data.addr);
  set(0, data.addr + 1, 4096);  // unaligned: spans two pages
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 1, 16, 4096, out, &v), kOk);
  EXPECT_EQ(v.pages, 2);
  set(0, data.addr, 4097);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 1, 16, 4096, out, &v), kE2BIG);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 1, 16, 8192, out, &v), kOk);  // the limit is a parameter
  // Order: the size check of a later buffer beats the page fault of an earlier one.
  set(0, 0x20000, 8);  // user range, unmapped
  set(1, data.addr, 5000);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kE2BIG);
  // ...and access_ok of a later buffer beats it too.
  set(1, kKernelBase, 8);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kEFAULT);
  set(1, data.addr, 8);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kEFAULT);  // unmapped page 0
  set(0, data.addr, 8);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kOk);
  // Wrap and user/kernel straddle.
  set(1, UINT64_MAX - 3, 8);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kEFAULT);
  set(1, kTaskSizeMax - 4, 8);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kEFAULT);
  // Guard page, read-only page (pinned FOLL_WRITE).
  set(1, edge.addr, 65);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kEFAULT);
  set(1, ro.addr, 8);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kEFAULT);
  // Zero-size buffers: aligned or NULL pins nothing, which lock_pages
  // reports as EFAULT; unaligned pins its page.
  set(1, 0, 0);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kEFAULT);
  EXPECT_EQ(static_cast<int>(v.failed_step), static_cast<int>(DmStep::kPin));
  EXPECT_EQ(v.failed_index, 1u);
  set(1, 0x20000, 0);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kEFAULT);
  set(1, data.addr, 0);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kEFAULT);
  set(1, 0x20001, 0);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kEFAULT);
  set(1, data.addr + 5, 0);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kOk);
  EXPECT_EQ(v.pages, 2);
  set(1, kKernelBase + 1, 0);
  EXPECT_EQ(ValidateDmBuffers(*as, arr.addr, 2, 16, 4096, out, &v), kEFAULT);
}

static void TestCopies() {
  auto as = NewSpace();
  Allocation a, edge, ro;
  as->Allocate(64, 0, &a);
  as->Allocate(40, kAllocAlignEnd, &edge);
  as->Allocate(64, kAllocReadOnly, &ro);
  for (int i = 0; i < 64; ++i) a.host[i] = static_cast<uint8_t>(i + 1);
  DmBuf bufs[3] = {{a.addr, 64}, {edge.addr, 48}, {ro.addr, 64}};
  uint8_t dst[80];

  // Seed semantics.
  std::memset(dst, 0xAA, sizeof dst);
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 80, bufs, 3, 0, 0, CopyMode::kSeed), kOk);
  EXPECT_EQ(dst[63], 64);
  EXPECT_EQ(dst[64], 0);  // zero-filled past the buffer
  EXPECT_EQ(dst[79], 0);
  std::memset(dst, 0xAA, sizeof dst);
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 8, bufs, 3, 0, 0, CopyMode::kSeed), kOk);
  EXPECT_EQ(dst[7], 8);
  EXPECT_EQ(dst[8], 0xAA);  // nothing past len
  // Seed: zero-filled before any check, so failures leave zeros (len bytes only).
  std::memset(dst, 0xAA, sizeof dst);
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 8, bufs, 3, 3, 0, CopyMode::kSeed), kEFAULT);
  EXPECT_EQ(dst[0], 0);
  EXPECT_EQ(dst[7], 0);
  EXPECT_EQ(dst[8], 0xAA);
  std::memset(dst, 0xAA, sizeof dst);
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 8, bufs, 3, 0, 1, CopyMode::kSeed), kEINVAL);
  EXPECT_EQ(dst[0], 0);
  // buffer 1 claims 48 bytes but only 40 are mapped before the guard page
  std::memset(dst, 0xAA, sizeof dst);
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 80, bufs, 3, 1, 0, CopyMode::kSeed), kEFAULT);
  EXPECT_EQ(dst[0], 0);  // zero-filled, nothing copied
  EXPECT_EQ(dst[79], 0);
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 40, bufs, 3, 1, 0, CopyMode::kSeed), kOk);

  // Strict semantics.
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 16, bufs, 3, 0, 48, CopyMode::kStrict), kOk);
  EXPECT_EQ(dst[0], 49);
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 16, bufs, 3, 0, 49, CopyMode::kStrict), kEFAULT);
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 16, bufs, 3, 0, UINT64_MAX - 3, CopyMode::kStrict), kEFAULT);
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 16, bufs, 1, 1, 0, CopyMode::kStrict), kEFAULT);
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 0, bufs, 3, 0, 64, CopyMode::kStrict), kOk);
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 8, bufs, 3, 1, 36, CopyMode::kStrict), kEFAULT);  // guard
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 8, bufs, 3, 2, 0, CopyMode::kStrict), kOk);       // RO readable
  EXPECT_EQ(CopyDmBufferFromGuest(*as, dst, 8, bufs, 3, 0, 0, static_cast<CopyMode>(7)), kEINVAL);

  // To guest.
  uint8_t src[80];
  for (int i = 0; i < 80; ++i) src[i] = static_cast<uint8_t>(200 - i);
  EXPECT_EQ(CopyDmBufferToGuest(*as, bufs, 3, 0, 0, src, 80, CopyMode::kSeed), kOk);  // min(64, 80)
  EXPECT_EQ(a.host[63], 200 - 63);
  EXPECT_EQ(CopyDmBufferToGuest(*as, bufs, 3, 0, 60, src, 8, CopyMode::kStrict), kEFAULT);
  EXPECT_EQ(CopyDmBufferToGuest(*as, bufs, 3, 0, 56, src, 8, CopyMode::kStrict), kOk);
  EXPECT_EQ(CopyDmBufferToGuest(*as, bufs, 3, 2, 0, src, 8, CopyMode::kStrict), kEFAULT);  // read-only
  EXPECT_EQ(CopyDmBufferToGuest(*as, bufs, 3, 1, 0, src, 48, CopyMode::kSeed), kEFAULT);   // guard
  bool untouched = true;
  for (int i = 0; i < 40; ++i) untouched = untouched && edge.host[i] == 0;
  EXPECT_EQ(untouched, true);
}

// Random buffers and copies. Under ASan any stray access into a guard page,
// freed page or past a host array is fatal; the canaries catch writes that
// land in bounds of the host but outside the destination.
static void TestRandom(unsigned seed, int rounds) {
  std::mt19937_64 rng(seed);
  auto as = NewSpace();
  std::vector<Allocation> allocs;
  for (int i = 0; i < 12; ++i) {
    Allocation a;
    uint64_t len = rng() % (3 * kPageSize);
    if (as->Allocate(len, static_cast<uint32_t>(rng() % 4), &a) == kOk) allocs.push_back(a);
  }
  auto pick_addr = [&]() -> uint64_t {
    switch (rng() % 6) {
      case 0:
        return kKernelBase + rng() % (1u << 20);
      case 1:
        return UINT64_MAX - rng() % 64;
      case 2:
        return kTaskSizeMax - rng() % 64;
      case 3:
        return rng() % (kSize + 2 * kPageSize) + kBase - kPageSize;
      default: {
        const Allocation& a = allocs[rng() % allocs.size()];
        return a.addr + rng() % (a.len + 16);
      }
    }
  };
  constexpr size_t kCanary = 32;
  for (int r = 0; r < rounds; ++r) {
    DmBuf bufs[4];
    uint64_t nr = rng() % 5;
    for (uint64_t i = 0; i < nr; ++i) bufs[i] = {pick_addr(), rng() % 6000};
    uint64_t len = rng() % 5000;
    uint64_t idx = rng() % 5;
    uint64_t offset = (rng() % 8 == 0) ? UINT64_MAX - rng() % 16 : rng() % 6000;
    CopyMode mode = static_cast<CopyMode>(rng() % 2);
    std::vector<uint8_t> dst(len + 2 * kCanary, 0x5C);
    CopyDmBufferFromGuest(*as, dst.data() + kCanary, len, bufs, nr, idx, offset, mode);
    bool intact = true;
    for (size_t i = 0; i < kCanary; ++i) {
      intact = intact && dst[i] == 0x5C && dst[dst.size() - 1 - i] == 0x5C;
    }
    EXPECT_EQ(intact, true);
    std::vector<uint8_t> src(len + 1, 0x33);
    CopyDmBufferToGuest(*as, bufs, nr, idx, offset, src.data(), len, mode);

    // Validation over a descriptor array written into guest memory.
    const Allocation& arr = allocs[rng() % allocs.size()];
    uint32_t num = static_cast<uint32_t>(rng() % 20);
    for (uint32_t i = 0; i < num && (i + 1) * 16 <= arr.len; ++i) {
      StoreDesc(arr.host + 16 * i, pick_addr(), rng() % 5000);
    }
    DmBuf out[16];
    DmValidation v;
    ValidateDmBuffers(*as, arr.addr + rng() % 32, num, 16, 4096, out, &v);
  }
}

// The device structs and ioctl numbers against Xen's copy of the Linux uAPI.
static void TestDeviceAbi() {
#ifdef HAVE_XEN_SYS_PRIVCMD
  EXPECT_EQ(sizeof(PrivcmdHypercall), sizeof(privcmd_hypercall_t));
  EXPECT_EQ(offsetof(PrivcmdHypercall, arg), offsetof(privcmd_hypercall_t, arg));
  EXPECT_EQ(sizeof(PrivcmdDmOpBuf), sizeof(privcmd_dm_op_buf_t));
  EXPECT_EQ(offsetof(PrivcmdDmOpBuf, size), offsetof(privcmd_dm_op_buf_t, size));
  EXPECT_EQ(sizeof(PrivcmdDmOp), sizeof(privcmd_dm_op_t));
  EXPECT_EQ(offsetof(PrivcmdDmOp, num), offsetof(privcmd_dm_op_t, num));
  EXPECT_EQ(offsetof(PrivcmdDmOp, ubufs), offsetof(privcmd_dm_op_t, ubufs));
  EXPECT_EQ(sizeof(PrivcmdMmapBatchV2), sizeof(privcmd_mmapbatch_v2_t));
  EXPECT_EQ(offsetof(PrivcmdMmapBatchV2, dom), offsetof(privcmd_mmapbatch_v2_t, dom));
  EXPECT_EQ(offsetof(PrivcmdMmapBatchV2, addr), offsetof(privcmd_mmapbatch_v2_t, addr));
  EXPECT_EQ(offsetof(PrivcmdMmapBatchV2, arr), offsetof(privcmd_mmapbatch_v2_t, arr));
  EXPECT_EQ(offsetof(PrivcmdMmapBatchV2, err), offsetof(privcmd_mmapbatch_v2_t, err));
  EXPECT_EQ(sizeof(PrivcmdMmapResource), sizeof(privcmd_mmap_resource_t));
  EXPECT_EQ(offsetof(PrivcmdMmapResource, type), offsetof(privcmd_mmap_resource_t, type));
  EXPECT_EQ(offsetof(PrivcmdMmapResource, id), offsetof(privcmd_mmap_resource_t, id));
  EXPECT_EQ(offsetof(PrivcmdMmapResource, idx), offsetof(privcmd_mmap_resource_t, idx));
  EXPECT_EQ(offsetof(PrivcmdMmapResource, num), offsetof(privcmd_mmap_resource_t, num));
  EXPECT_EQ(offsetof(PrivcmdMmapResource, addr), offsetof(privcmd_mmap_resource_t, addr));
  EXPECT_EQ(kIoctlMmapBatchV2, IOCTL_PRIVCMD_MMAPBATCH_V2);
  EXPECT_EQ(kIoctlMmapResource, IOCTL_PRIVCMD_MMAP_RESOURCE);
  EXPECT_EQ(kIoctlHypercall, IOCTL_PRIVCMD_HYPERCALL);
  EXPECT_EQ(kIoctlDmOp, IOCTL_PRIVCMD_DM_OP);
  EXPECT_EQ(kIoctlRestrict, IOCTL_PRIVCMD_RESTRICT);
#else
  std::printf("native core: xen/sys/privcmd.h not found; device ABI checked by static_assert sizes only\n");
#endif
  // Opening something that is not privcmd: the probe ioctls say ENOTTY.
  std::unique_ptr<PrivcmdDevice> dev;
  EXPECT_EQ(PrivcmdDevice::Open("/nonexistent/privcmd", &dev), -ENOENT);
  EXPECT_EQ(PrivcmdDevice::Open("/dev/null", &dev), 0);
  EXPECT_EQ(dev->DmOp(0x7ff4, 0, nullptr), -ENOTTY);
  EXPECT_EQ(dev->Restrict(1), -ENOTTY);
  uint64_t args[5] = {0, 0, 0, 0, 0};
  EXPECT_EQ(dev->Hypercall(17, args), -ENOTTY);
  std::unique_ptr<HypercallBuffer> hb;
  EXPECT_EQ(HypercallBuffer::Allocate(10, &hb), 0);
  hb->data()[4095] = 1;  // a whole page, writable
  EXPECT_EQ(hb->size(), 4096);
}

// Bounds (no overflow at the top of the range), alignment, and the values:
// canaries on both sides prove a store touches only its own bytes.
static void TestOrderedAccess() {
  alignas(8) uint8_t mem[16 + 8];
  std::memset(mem, 0xa5, sizeof mem);
  uint8_t* page = mem + 8;
  const size_t len = 8;
  uint32_t v = 0;
  EXPECT_EQ(StoreRelease8(page, len, 7, 0x3c), kOk);
  EXPECT_EQ(LoadAcquire8(page, len, 7, &v), kOk);
  EXPECT_EQ(v, 0x3c);
  EXPECT_EQ(mem[7], 0xa5);
  EXPECT_EQ(mem[16], 0xa5);
  EXPECT_EQ(StoreRelease32(page, len, 4, 0x11223344u), kOk);
  EXPECT_EQ(page[4], 0x44);  // little-endian, as the JS views read it
  EXPECT_EQ(page[7], 0x11);
  EXPECT_EQ(LoadAcquire32(page, len, 4, &v), kOk);
  EXPECT_EQ(v, 0x11223344u);
  EXPECT_EQ(StoreRelease32(page, len, 0, 0xfffffffeu), kOk);
  EXPECT_EQ(FetchAdd32(page, len, 0, 3, &v), kOk);
  EXPECT_EQ(v, 0xfffffffeu);
  EXPECT_EQ(LoadAcquire32(page, len, 0, &v), kOk);
  EXPECT_EQ(v, 1);  // wraps modulo 2^32
  EXPECT_EQ(mem[8 + 16 - 1], 0xa5);
  // Out of bounds, including offsets that would wrap if added to the width.
  EXPECT_EQ(LoadAcquire8(page, len, 8, &v), kERANGE);
  EXPECT_EQ(StoreRelease8(page, len, UINT64_MAX, 1), kERANGE);
  EXPECT_EQ(LoadAcquire32(page, len, 5, &v), kERANGE);
  EXPECT_EQ(StoreRelease32(page, len, UINT64_MAX - 2, 1), kERANGE);
  EXPECT_EQ(FetchAdd32(page, len, 8, 1, &v), kERANGE);
  EXPECT_EQ(LoadAcquire32(page, 3, 0, &v), kERANGE);
  EXPECT_EQ(LoadAcquire8(nullptr, 0, 0, &v), kERANGE);
  EXPECT_EQ(LoadAcquire8(page, 0, 0, &v), kERANGE);
  // Misaligned 32-bit accesses, by offset or by the view's own start.
  EXPECT_EQ(LoadAcquire32(page, len, 2, &v), kEINVAL);
  EXPECT_EQ(StoreRelease32(page + 1, 7, 0, 1), kEINVAL);
  EXPECT_EQ(FetchAdd32(page, len, 1, 1, &v), kEINVAL);
  EXPECT_EQ(mem[7], 0xa5);
  EXPECT_EQ(mem[16], 0xa5);
}

// The page store: pages materialise on demand, every mapping of a page and
// the store's own reads and writes see one set of bytes, a freed page comes
// back zeroed, a page without an offset is a private zero page, and a
// mapping unmaps exactly once.
static void TestPageStore() {
  std::unique_ptr<PageStore> s;
  EXPECT_EQ(PageStore::Create(&s), 0);
  int64_t a = s->Alloc(), b = s->Alloc();
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 4096);
  EXPECT_EQ(s->live(), 2);
  const uint8_t hello[5] = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_EQ(s->Write(static_cast<uint64_t>(b) + 10, hello, 5), 0);
  EXPECT_EQ(s->Write(static_cast<uint64_t>(b) + 4092, hello, 5), -EINVAL);  // crosses the page
  EXPECT_EQ(s->Write(8192, hello, 1), -EINVAL);                             // never handed out
  int64_t offs[3] = {b, -1, a};
  std::unique_ptr<Mapping> m1, m2;
  EXPECT_EQ(s->Map(offs, 3, true, &m1), 0);
  EXPECT_EQ(s->Map(&b, 1, true, &m2), 0);
  EXPECT_EQ(m1->size(), 3 * 4096);
  EXPECT_EQ(std::memcmp(m1->data() + 10, hello, 5), 0);
  m1->data()[4096] = 7;  // the private zero page
  m2->data()[11] = 'E';
  EXPECT_EQ(m1->data()[11], 'E');
  uint8_t back[2] = {0, 0};
  EXPECT_EQ(s->Read(static_cast<uint64_t>(b) + 10, back, 2), 0);
  EXPECT_EQ(back[1], 'E');
  int64_t bad = 4095;
  std::unique_ptr<Mapping> m3;
  EXPECT_EQ(s->Map(&bad, 1, true, &m3), -EINVAL);
  EXPECT_EQ(s->Map(offs, 0, true, &m3), -EINVAL);
  EXPECT_EQ(m2->Unmap(), 0);
  EXPECT_EQ(m2->Unmap(), -EBADF);
  EXPECT_EQ(m2->mapped(), false);
  EXPECT_EQ(s->Free(static_cast<uint64_t>(a)), 0);
  EXPECT_EQ(s->Free(static_cast<uint64_t>(a)), -EINVAL);
  EXPECT_EQ(s->live(), 1);
  int64_t again = s->Alloc();
  EXPECT_EQ(again, a);
  EXPECT_EQ(s->Read(static_cast<uint64_t>(again), back, 1), 0);
  EXPECT_EQ(back[0], 0);
}

int main() {
  TestOrderedAccess();
  TestDeviceAbi();
  TestPageStore();
  TestCreate();
  TestAllocator();
  TestUserCopies();
  TestValidate();
  TestCopies();
  for (unsigned seed = 1; seed <= 20; ++seed) TestRandom(seed, 2000);
  std::printf("native core: %d checks, %d failures\n", checks, failures);
  return failures == 0 ? 0 : 1;
}

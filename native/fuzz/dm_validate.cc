// privcmd's DM_OP buffer validation (ValidateDmBuffers) against a model of
// privcmd_ioctl_dm_op in Linux 6.1 (drivers/xen/privcmd.c) written from the
// page states alone: descriptor arrays and buffers aimed at allocation edges,
// guard pages, read-only pages, the access_ok limit and the 64-bit wrap, with
// num/max_num/max_size at and around their bounds. The status, the failing
// step and index, the descriptors and the page count must be the model's, and
// nothing may be written past out[min(num, max_num)).
#include <cstring>
#include <vector>

#include "core/dm_buffers.h"
#include "fuzz_util.h"

using pcs::DmBuf;
using pcs::DmStep;
using pcs::PageState;
using pcs_fuzz::PagesAtLeast;

namespace {

struct Expect {
  int rc;
  DmStep step;
  uint32_t index;
  uint64_t pages;
};

uint64_t Le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

Expect Model(const pcs::AddressSpace& as, uint64_t ubufs, uint32_t num, uint32_t max_num, uint32_t max_size,
             std::vector<DmBuf>* descs) {
  if (num == 0) return {pcs::kOk, DmStep::kNone, 0, 0};
  if (num > max_num) return {pcs::kE2BIG, DmStep::kCount, 0, 0};
  uint64_t array_len = uint64_t{num} * 16;
  if (!pcs::AccessOk(ubufs, array_len) || !PagesAtLeast(as, ubufs, array_len, PageState::kReadOnly))
    return {pcs::kEFAULT, DmStep::kDescriptors, 0, 0};
  descs->resize(num);
  for (uint32_t i = 0; i < num; ++i) {
    const uint8_t* p = as.Host(ubufs + uint64_t{i} * 16);
    (*descs)[i] = DmBuf{Le64(p), Le64(p + 8)};
  }
  uint64_t pages = 0;
  for (uint32_t i = 0; i < num; ++i) {
    const DmBuf& b = (*descs)[i];
    if (b.size > max_size) return {pcs::kE2BIG, DmStep::kSize, i, 0};
    if (!pcs::AccessOk(b.addr, b.size)) return {pcs::kEFAULT, DmStep::kAccess, i, 0};
    pages += ((b.addr % 4096) + b.size + 4095) / 4096;
  }
  for (uint32_t i = 0; i < num; ++i) {
    const DmBuf& b = (*descs)[i];
    uint64_t span = ((b.addr % 4096) + b.size + 4095) / 4096;
    // Pinning nothing is EFAULT in 6.1's lock_pages; otherwise every spanned
    // page must be present and writable (FOLL_WRITE).
    if (span == 0 || !PagesAtLeast(as, b.addr - b.addr % 4096, span * 4096, PageState::kReadWrite))
      return {pcs::kEFAULT, DmStep::kPin, i, 0};
  }
  return {pcs::kOk, DmStep::kNone, 0, pages};
}

uint32_t PickCount(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      return in.ConsumeIntegral<uint32_t>();
    case 1:
      return UINT32_MAX - in.ConsumeIntegral<uint8_t>();
    default:
      return in.ConsumeIntegralInRange<uint32_t>(0, 20);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  pcs_fuzz::Ground& g = pcs_fuzz::PickGround(in);
  for (int call = 0; call < 4 && in.remaining_bytes() > 0; ++call) {
    // Descriptors written into an allocation (as far as it reaches), then the
    // array's address: that spot, or anywhere.
    const pcs::Allocation& at = g.allocs[in.ConsumeIntegralInRange<size_t>(0, g.allocs.size() - 1)];
    uint64_t off = at.len == 0 ? 0 : in.ConsumeIntegralInRange<uint64_t>(0, at.len - 1);
    uint32_t written = in.ConsumeIntegralInRange<uint32_t>(0, 18);
    for (uint32_t i = 0; i < written && off + uint64_t{i + 1} * 16 <= at.len; ++i) {
      uint64_t d[2] = {pcs_fuzz::PickAddr(in, g), pcs_fuzz::PickLen(in, 5000)};
      if (in.ConsumeIntegralInRange<int>(0, 3) == 0)
        d[1] = 4096 - (d[0] & 4095) + in.ConsumeIntegralInRange<int>(-2, 2);
      std::memcpy(at.host + off + uint64_t{i} * 16, d, 16);
    }
    uint64_t ubufs = in.ConsumeIntegralInRange<int>(0, 7) == 0 ? pcs_fuzz::PickAddr(in, g) : at.addr + off;
    uint32_t num = PickCount(in);
    uint32_t max_num = in.ConsumeBool() ? pcs::kDefaultDmOpMaxNrBufs : PickCount(in);
    uint32_t max_size = in.ConsumeBool() ? pcs::kDefaultDmOpBufMaxSize : in.ConsumeIntegral<uint32_t>();

    std::vector<DmBuf> want_descs;
    Expect want = Model(*g.as, ubufs, num, max_num, max_size, &want_descs);
    // Exactly min(num, max_num) entries: ASan reports any write beyond. A
    // larger array could never have been read from a 96 KiB region, so the
    // model refuses it and out may be empty (a write would then fault).
    uint32_t n_out = num < max_num ? num : max_num;
    std::vector<DmBuf> out(n_out <= 8192 ? n_out : 0);
    pcs::DmValidation v;
    v.pages = 12345;
    v.failed_step = DmStep::kPin;
    int rc = pcs::ValidateDmBuffers(*g.as, ubufs, num, max_num, max_size, out.data(), &v);
    FUZZ_CHECK(rc == want.rc);
    FUZZ_CHECK(v.failed_step == want.step && v.failed_index == want.index);
    FUZZ_CHECK(v.pages == want.pages);
    if (rc == pcs::kOk) {
      for (uint32_t i = 0; i < num; ++i)
        FUZZ_CHECK(out[i].addr == want_descs[i].addr && out[i].size == want_descs[i].size);
    }
  }
  return 0;
}

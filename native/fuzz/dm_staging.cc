// libFuzzer target for the async DM_OP staging (native/core/dm_staging.cc):
// a buffer list decoded from the input is staged, "Xen" writes into the
// staged copies, and the result is copied back into destinations whose length
// may have changed (as a detached or resized ArrayBuffer's would). Checks the
// limits and the errno order, that every descriptor points into the staging
// block with the source's bytes, and that copy-back writes exactly the
// buffers whose length still matches. Build (with every native/core/*.cc):
//   clang++ -std=c++17 -fsanitize=fuzzer,address,undefined -Inative \
//     native/fuzz/dm_staging.cc native/core/*.cc -D__XEN_TOOLS__
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/dm_staging.h"

namespace {

struct Reader {
  const uint8_t* p;
  size_t n;
  uint8_t U8() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  uint16_t U16() { return static_cast<uint16_t>(U8() | (U8() << 8)); }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{U8()} << (8 * i);
    return v;
  }
};

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader r{data, size};
  size_t num = r.U8() % 20;  // up to 19: past the 16-buffer limit
  std::vector<std::vector<uint8_t>> bytes(num);
  std::vector<pcs::DmStageSource> src(num);
  int expect = pcs::kOk;
  for (size_t i = 0; i < num; ++i) {
    uint8_t kind = r.U8();
    if (kind % 8 == 0) {  // a raw descriptor: any address, any size
      src[i].raw = true;
      src[i].addr = r.U64();
      src[i].len = (kind & 0x80) ? r.U64() : r.U16() % 4200;
    } else {
      // Mostly short; near the 4096-byte limit, or anywhere below 4200.
      uint64_t len = (kind & 0x80) ? 4090 + r.U8() % 12 : (kind & 0x40) ? r.U16() % 4200 : r.U8();
      bytes[i].resize(static_cast<size_t>(len));
      size_t have = r.n < bytes[i].size() ? r.n : bytes[i].size();
      if (have != 0) std::memcpy(bytes[i].data(), r.p, have);  // the rest stays zero
      r.p += have;
      r.n -= have;
      src[i].data = bytes[i].empty() ? nullptr : bytes[i].data();
      src[i].len = len;
    }
    if (expect == pcs::kOk && src[i].len > pcs::kStageMaxSize) expect = pcs::kE2BIG;
    if (expect == pcs::kOk && src[i].raw && !pcs::AccessOk(src[i].addr, src[i].len)) expect = pcs::kEFAULT;
  }
  if (num > pcs::kStageMaxBufs) expect = pcs::kE2BIG;

  pcs::DmOpStaging st;
  int rc = st.Stage(src.data(), num);
  Check(rc == expect);
  if (rc != pcs::kOk) {
    Check(st.num() == 0);
    for (size_t i = 0; i < num; ++i) Check(!st.staged(i) && !st.CopyBack(i, nullptr, 0));
    return 0;
  }
  Check(st.num() == num);
  const pcs::PrivcmdDmOpBuf* d = st.descs();
  for (size_t i = 0; i < num; ++i) {
    Check(d[i].size == src[i].len);
    if (src[i].raw) {
      Check(!st.staged(i) && d[i].uptr == src[i].addr);
      continue;
    }
    Check(st.staged(i));
    auto* p = reinterpret_cast<uint8_t*>(d[i].uptr);
    Check(p != src[i].data);
    if (src[i].len == 0) {
      Check(d[i].uptr % 16 != 0);  // unaligned: the driver pins its page
      continue;
    }
    Check(std::memcmp(p, src[i].data, static_cast<size_t>(src[i].len)) == 0);
    // Xen writes the whole staged buffer (ASan catches a short block).
    for (uint64_t k = 0; k < src[i].len; ++k) p[k] = static_cast<uint8_t>(p[k] ^ 0xa5 ^ i);
  }
  for (size_t i = 0; i < num + 2; ++i) {
    // The destination as it is on completion: same length, or changed.
    uint8_t how = r.U8() % 3;
    uint64_t want = i < num ? src[i].len : 0;
    std::vector<uint8_t> dst(static_cast<size_t>(how == 0   ? want
                                                 : how == 1 ? want + 1 + r.U8()
                                                            : (want > 0 ? want - 1 : 0)));
    std::vector<uint8_t> before = dst;
    bool copied = st.CopyBack(i, dst.empty() ? nullptr : dst.data(), dst.size());
    bool should = i < num && !src[i].raw && dst.size() == want;
    Check(copied == should);
    if (!copied) {
      Check(dst == before);
    } else {
      for (uint64_t k = 0; k < want; ++k) Check(dst[k] == static_cast<uint8_t>(src[i].data[k] ^ 0xa5 ^ i));
    }
  }
  return 0;
}

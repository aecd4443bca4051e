// The addon's argument unpacking and mailbox logic (native/core/mailbox.*),
// which native/binding.cc calls with bytes straight from JS: a mailbox of
// arbitrary bytes (prologue, copyFrom, copyTo), descriptor arrays of any
// length, output arrays of any size, any double as an integer argument. Each
// must agree with the core function it unpacks for (checked against their own
// models by dm_validate and dm_copy), refuse what it cannot unpack with
// kEINVAL and no write, and never touch a byte outside the mailbox or the
// caller's arrays (every array here is heap-allocated at its exact size, so
// ASan sees any overrun).
#include <cmath>
#include <cstring>
#include <vector>

#include "core/dm_buffers.h"
#include "core/mailbox.h"
#include "fuzz_util.h"

namespace mb = pcs::mb;
using pcs::CopyMode;
using pcs::DmBuf;

namespace {

template <typename T>
T Get(const uint8_t* box, size_t at) {
  T v;
  std::memcpy(&v, box + at, sizeof v);
  return v;
}

template <typename T>
void Put(uint8_t* box, size_t at, T v) {
  std::memcpy(box + at, &v, sizeof v);
}

std::vector<DmBuf> Descs(const uint8_t* raw, uint64_t nr) {
  std::vector<DmBuf> d(static_cast<size_t>(nr));
  for (uint64_t i = 0; i < nr; ++i) {
    d[i].addr = Get<uint64_t>(raw, i * 16);
    d[i].size = Get<uint64_t>(raw, i * 16 + 8);
  }
  return d;
}

// A mailbox: input bytes, with the fields the calls read mostly set to
// meaningful values (in range, aimed at the ground), sometimes left as noise.
void FillMailbox(FuzzedDataProvider& in, const pcs_fuzz::Ground& g, uint8_t* box) {
  std::vector<uint8_t> noise = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, mb::kSize));
  if (!noise.empty()) std::memcpy(box, noise.data(), noise.size());
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0) return;
  Put<uint64_t>(box, mb::kUbufs, pcs_fuzz::PickAddr(in, g));
  Put<uint32_t>(box, mb::kNum, in.ConsumeIntegralInRange<uint32_t>(0, 18));
  Put<uint32_t>(box, mb::kMaxNum, in.ConsumeBool() ? 16 : in.ConsumeIntegralInRange<uint32_t>(0, 18));
  Put<uint32_t>(box, mb::kMaxSize, in.ConsumeBool() ? 4096 : in.ConsumeIntegral<uint32_t>());
  Put<uint32_t>(box, mb::kMode, in.ConsumeIntegralInRange<uint32_t>(0, 2));
  Put<uint64_t>(box, mb::kIdx, in.ConsumeIntegralInRange<uint64_t>(0, 17));
  Put<uint64_t>(box, mb::kOffset, in.ConsumeBool() ? 0 : in.ConsumeIntegralInRange<uint64_t>(0, 4200));
  Put<uint64_t>(box, mb::kLen, in.ConsumeIntegralInRange<uint64_t>(0, mb::kDataSize + 1));
  for (size_t i = 0; i < mb::kMaxDescs; ++i) {
    if (in.ConsumeBool()) continue;
    Put<uint64_t>(box, mb::kDescs + i * 16, pcs_fuzz::PickAddr(in, g));
    Put<uint64_t>(box, mb::kDescs + i * 16 + 8, pcs_fuzz::PickLen(in, 4200));
  }
}

void Prologue(const pcs_fuzz::Ground& g, uint8_t* box) {
  std::vector<uint8_t> before(box, box + mb::kSize);
  uint32_t num = Get<uint32_t>(box, mb::kNum);
  uint32_t max_num = Get<uint32_t>(box, mb::kMaxNum);
  int rc = pcs::MbDmOpPrologue(*g.as, box);
  std::vector<uint8_t> want = before;
  if (max_num > mb::kMaxDescs) {
    FUZZ_CHECK(rc == pcs::kEINVAL);
  } else {
    DmBuf bufs[mb::kMaxDescs];
    pcs::DmValidation v;
    int vrc = pcs::ValidateDmBuffers(*g.as, Get<uint64_t>(box, mb::kUbufs), num, max_num,
                                     Get<uint32_t>(box, mb::kMaxSize), bufs, &v);
    if (vrc != pcs::kOk) {
      FUZZ_CHECK(rc == vrc);
      Put<uint32_t>(want.data(), mb::kStep, static_cast<uint32_t>(v.failed_step));
      Put<uint32_t>(want.data(), mb::kIndex, v.failed_index);
    } else {
      FUZZ_CHECK(rc == static_cast<int>(v.pages < INT32_MAX ? v.pages : INT32_MAX));
      for (uint32_t i = 0; i < num; ++i) {
        Put<uint64_t>(want.data(), mb::kDescs + i * 16, bufs[i].addr);
        Put<uint64_t>(want.data(), mb::kDescs + i * 16 + 8, bufs[i].size);
      }
      // Validation pinned buffer 0's pages, so its header reads cleanly.
      if (num > 0) {
        uint64_t n = bufs[0].size < mb::kHeaderCopy ? bufs[0].size : mb::kHeaderCopy;
        FUZZ_CHECK(g.as->CopyFromUser(want.data() + mb::kData, bufs[0].addr, n) == pcs::kOk);
      }
    }
  }
  FUZZ_CHECK(std::memcmp(box, want.data(), mb::kSize) == 0);
}

void Copy(pcs_fuzz::Ground& g, uint8_t* box, bool to_guest) {
  std::vector<uint8_t> before(box, box + mb::kSize);
  uint32_t nr = Get<uint32_t>(box, mb::kNum);
  uint64_t idx = Get<uint64_t>(box, mb::kIdx), offset = Get<uint64_t>(box, mb::kOffset);
  uint64_t len = Get<uint64_t>(box, mb::kLen);
  uint32_t mode = Get<uint32_t>(box, mb::kMode);
  bool unpacks = nr <= mb::kMaxDescs && len <= mb::kDataSize && mode <= 1;
  if (!unpacks) {
    int rc = to_guest ? pcs::MbCopyToGuest(*g.as, box) : pcs::MbCopyFromGuest(*g.as, box);
    FUZZ_CHECK(rc == pcs::kEINVAL);
    FUZZ_CHECK(std::memcmp(box, before.data(), mb::kSize) == 0);
    return;
  }
  std::vector<DmBuf> bufs = Descs(box + mb::kDescs, nr);
  if (to_guest) {
    // The same copy made again directly must give the same status (the bytes
    // it moves are dm_copy's concern); the mailbox itself must not change.
    std::vector<uint8_t> src(box + mb::kData, box + mb::kData + len);
    int rc = pcs::MbCopyToGuest(*g.as, box);
    FUZZ_CHECK(rc == pcs::CopyDmBufferToGuest(*g.as, bufs.data(), nr, idx, offset, src.data(), len,
                                              static_cast<CopyMode>(mode)));
    FUZZ_CHECK(std::memcmp(box, before.data(), mb::kSize) == 0);
  } else {
    std::vector<uint8_t> want = before;
    int wrc = pcs::CopyDmBufferFromGuest(*g.as, want.data() + mb::kData, len, bufs.data(), nr, idx, offset,
                                         static_cast<CopyMode>(mode));
    FUZZ_CHECK(pcs::MbCopyFromGuest(*g.as, box) == wrc);
    FUZZ_CHECK(std::memcmp(box, want.data(), mb::kSize) == 0);
  }
}

// validateDmBuffers with an output array of any size.
void ValidateInto(FuzzedDataProvider& in, const pcs_fuzz::Ground& g) {
  uint64_t ubufs = pcs_fuzz::PickAddr(in, g);
  uint32_t num = in.ConsumeIntegralInRange<int>(0, 5) == 0 ? in.ConsumeIntegral<uint32_t>()
                                                           : in.ConsumeIntegralInRange<uint32_t>(0, 20);
  uint32_t max_num = in.ConsumeIntegralInRange<int>(0, 5) == 0 ? in.ConsumeIntegral<uint32_t>()
                                                               : in.ConsumeIntegralInRange<uint32_t>(0, 4100);
  uint32_t max_size = in.ConsumeIntegral<uint32_t>();
  size_t out_len = in.ConsumeIntegralInRange<size_t>(0, 17 * 16);
  std::vector<uint8_t> out = in.ConsumeBytes<uint8_t>(out_len);
  out.resize(out_len, 0x77);
  out.shrink_to_fit();
  std::vector<uint8_t> before = out;
  uint64_t pages = 0xdead;
  int rc = pcs::ValidateDmBuffersInto(*g.as, ubufs, num, max_num, max_size, out.data(), out.size(), &pages);
  uint32_t n = num < max_num ? num : max_num;
  if (max_num > 4096 || out_len < 8 || out_len < uint64_t{n} * 16) {
    FUZZ_CHECK(rc == pcs::kEINVAL && out == before && pages == 0xdead);
    return;
  }
  std::vector<DmBuf> bufs(max_num > 0 ? max_num : 1);
  pcs::DmValidation v;
  int vrc = pcs::ValidateDmBuffers(*g.as, ubufs, num, max_num, max_size, bufs.data(), &v);
  FUZZ_CHECK(rc == vrc);
  std::vector<uint8_t> want = before;
  if (vrc != pcs::kOk) {
    Put<uint32_t>(want.data(), 0, static_cast<uint32_t>(v.failed_step));
    Put<uint32_t>(want.data(), 4, v.failed_index);
    FUZZ_CHECK(pages == 0xdead);
  } else {
    for (uint32_t i = 0; i < num; ++i) {
      Put<uint64_t>(want.data(), i * 16, bufs[i].addr);
      Put<uint64_t>(want.data(), i * 16 + 8, bufs[i].size);
    }
    FUZZ_CHECK(pages == v.pages);
  }
  FUZZ_CHECK(out == want);
}

// copyDmBufferFromGuest / ToGuest with a descriptor array of any byte length.
void CopyBytes(FuzzedDataProvider& in, pcs_fuzz::Ground& g) {
  size_t raw_len = in.ConsumeIntegralInRange<size_t>(0, 18 * 16 + 15);
  std::vector<uint8_t> raw(raw_len);
  for (size_t i = 0; i + 16 <= raw_len; i += 16) {
    Put<uint64_t>(raw.data(), i, pcs_fuzz::PickAddr(in, g));
    Put<uint64_t>(raw.data(), i + 8, pcs_fuzz::PickLen(in, 4200));
  }
  uint64_t nr = raw_len / 16;
  std::vector<DmBuf> bufs = Descs(raw.data(), nr);
  uint64_t idx = in.ConsumeIntegralInRange<uint64_t>(0, nr + 1);
  uint64_t offset = in.ConsumeBool() ? 0 : in.ConsumeIntegral<uint64_t>() % 5000;
  CopyMode mode = static_cast<CopyMode>(in.ConsumeIntegralInRange<uint32_t>(0, 1));
  size_t len = in.ConsumeIntegralInRange<size_t>(0, 5000);
  std::vector<uint8_t> buf = in.ConsumeBytes<uint8_t>(len);
  buf.resize(len, 0x42);
  buf.shrink_to_fit();
  if (in.ConsumeBool()) {
    std::vector<uint8_t> want = buf;
    int wrc = pcs::CopyDmBufferFromGuest(*g.as, want.data(), len, bufs.data(), nr, idx, offset, mode);
    FUZZ_CHECK(pcs::CopyFromGuestBytes(*g.as, buf.data(), len, raw.data(), raw_len, idx, offset, mode) == wrc);
    FUZZ_CHECK(buf == want);
  } else {
    int rc = pcs::CopyToGuestBytes(*g.as, raw.data(), raw_len, idx, offset, buf.data(), len, mode);
    FUZZ_CHECK(rc == pcs::CopyDmBufferToGuest(*g.as, bufs.data(), nr, idx, offset, buf.data(), len, mode));
  }
}

// A JS number as an integer argument, and descriptor loading on its own.
void Scalars(FuzzedDataProvider& in) {
  double d;
  uint64_t bits = in.ConsumeIntegral<uint64_t>();
  std::memcpy(&d, &bits, sizeof d);
  if (in.ConsumeBool()) d = static_cast<double>(in.ConsumeIntegral<int64_t>()) + (in.ConsumeBool() ? 0.5 : 0.0);
  uint64_t v = 7;
  bool ok = pcs::DoubleToU64(d, &v);
  bool want = d >= 0 && d <= 9007199254740992.0 && std::trunc(d) == d;
  FUZZ_CHECK(ok == want);
  FUZZ_CHECK(ok ? static_cast<double>(v) == d : v == 7);

  size_t raw_len = in.ConsumeIntegralInRange<size_t>(0, 40 * 16 + 15);
  std::vector<uint8_t> raw = in.ConsumeBytes<uint8_t>(raw_len);
  raw.resize(raw_len, 0x11);
  raw.shrink_to_fit();
  uint64_t nr = in.ConsumeBool() ? in.ConsumeIntegral<uint64_t>() : in.ConsumeIntegralInRange<uint64_t>(0, 42);
  pcs::DescriptorArray arr;
  bool loaded = arr.Load(raw.data(), raw_len, nr);
  FUZZ_CHECK(loaded == (nr <= raw_len / 16));
  if (loaded) {
    std::vector<DmBuf> want = Descs(raw.data(), nr);
    for (uint64_t i = 0; i < nr; ++i)
      FUZZ_CHECK(arr.data()[i].addr == want[i].addr && arr.data()[i].size == want[i].size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  pcs_fuzz::Ground& g = pcs_fuzz::PickGround(in);
  // Exactly the mailbox's size on the heap, as the addon allocates it.
  std::unique_ptr<uint8_t[]> box(new uint8_t[mb::kSize]());
  FillMailbox(in, g, box.get());
  for (int call = 0; call < 4 && in.remaining_bytes() > 0; ++call) {
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
      case 0:
        Prologue(g, box.get());
        break;
      case 1:
        Copy(g, box.get(), false);
        break;
      case 2:
        Copy(g, box.get(), true);
        break;
      case 3:
        ValidateInto(in, g);
        break;
      case 4:
        CopyBytes(in, g);
        break;
      default:
        Scalars(in);
        break;
    }
  }
  return 0;
}

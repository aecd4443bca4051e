// Benchmark of the native core without Node-API in the way: the copy helper
// against a plain memcpy of the same bytes, and validation cost per buffer
// descriptor. Run by scripts/bench.mjs, which builds it with the addon's -O2.
// Prints one JSON object of nanoseconds per call.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "../core/address_space.h"
#include "../core/dm_buffers.h"

using namespace pcs;
using Clock = std::chrono::steady_clock;

// Keep the compiler from eliding the work.
static inline void Clobber() { asm volatile("" ::: "memory"); }

template <typename F>
static double NsPerCall(F&& f) {
  // Calibrate to ~50 ms per sample, take the best of 7 samples.
  uint64_t iters = 1;
  for (;;) {
    auto t0 = Clock::now();
    for (uint64_t i = 0; i < iters; ++i) f();
    auto dt = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    if (dt > 5e7) break;
    iters *= 2;
  }
  double best = 1e300;
  for (int s = 0; s < 7; ++s) {
    auto t0 = Clock::now();
    for (uint64_t i = 0; i < iters; ++i) f();
    double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / static_cast<double>(iters);
    if (ns < best) best = ns;
  }
  return best;
}

int main() {
  std::unique_ptr<AddressSpace> as;
  if (AddressSpace::Create(0x10000000, 1u << 22, &as) != kOk) return 2;
  std::printf("{");
  const uint64_t sizes[] = {64, 4096, 65536};
  for (uint64_t size : sizes) {
    Allocation a;
    if (as->Allocate(size, 0, &a) != kOk) return 2;
    std::memset(a.host, 0x5a, size);
    std::vector<uint8_t> dst(size);
    DmBuf buf{a.addr, size};
    double helper = NsPerCall([&] {
      CopyDmBufferFromGuest(*as, dst.data(), size, &buf, 1, 0, 0, CopyMode::kStrict);
      Clobber();
    });
    double plain = NsPerCall([&] {
      std::memcpy(dst.data(), a.host, size);
      Clobber();
    });
    std::printf("\"copy_%llu\":{\"helper_ns\":%.2f,\"memcpy_ns\":%.2f},", static_cast<unsigned long long>(size), helper,
                plain);
  }
  Allocation arr, data;
  as->Allocate(16 * 16, 0, &arr);
  as->Allocate(16 * 64, 0, &data);
  for (int i = 0; i < 16; ++i) {
    uint64_t addr = data.addr + 64 * i, size = 64;
    std::memcpy(arr.host + 16 * i, &addr, 8);
    std::memcpy(arr.host + 16 * i + 8, &size, 8);
  }
  DmBuf out[16];
  DmValidation v;
  double one = NsPerCall([&] {
    ValidateDmBuffers(*as, arr.addr, 1, 16, 4096, out, &v);
    Clobber();
  });
  double sixteen = NsPerCall([&] {
    ValidateDmBuffers(*as, arr.addr, 16, 16, 4096, out, &v);
    Clobber();
  });
  std::printf("\"validate\":{\"one_ns\":%.2f,\"sixteen_ns\":%.2f}}\n", one, sixteen);
  return 0;
}

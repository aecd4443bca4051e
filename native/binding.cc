// Node-API surface of the native core. Mechanical: unpack arguments, call the
// core, return its status. Expected failures (including arguments of the wrong
// type or size, which the TypeScript layer already rejects) come back as
// negative errno numbers, never as thrown C++ or JS exceptions: a throw across
// Node-API costs microseconds, a return costs nanoseconds.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "core/address_space.h"
#include "core/dm_buffers.h"
#include "core/layout.h"

namespace {

using pcs::AddressSpace;
using pcs::CopyMode;
using pcs::DmBuf;

// ---- argument helpers: false on anything that is not exactly right --------

bool ToU64(const Napi::Value& v, uint64_t* out) {
  if (v.IsBigInt()) {
    bool lossless = false;
    *out = v.As<Napi::BigInt>().Uint64Value(&lossless);
    return lossless;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    // Integers in [0, 2^53] only: beyond that a double no longer names one value.
    if (!(d >= 0) || d > 9007199254740992.0 || std::floor(d) != d) return false;
    *out = static_cast<uint64_t>(d);
    return true;
  }
  return false;
}

bool ToU32(const Napi::Value& v, uint32_t* out) {
  uint64_t x;
  if (!ToU64(v, &x) || x > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(x);
  return true;
}

struct Bytes {
  uint8_t* data = nullptr;
  size_t len = 0;
};

bool ToBytes(const Napi::Value& v, Bytes* out) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array u8 = v.As<Napi::Uint8Array>();
  out->data = u8.Data();
  out->len = u8.ByteLength();
  return true;
}

// Read nr descriptors (16 bytes each, little-endian {addr, size}) from a byte
// array. Stack storage for the common case; Xen itself never takes more than 2.
class DescriptorArray {
 public:
  bool Load(const Bytes& raw, uint64_t nr) {
    if (nr > raw.len / pcs::kDmBufDescSize) return false;
    DmBuf* dst = small_;
    if (nr > kSmall) {
      big_.resize(static_cast<size_t>(nr));
      dst = big_.data();
    }
    for (uint64_t i = 0; i < nr; ++i) {
      std::memcpy(&dst[i].addr, raw.data + i * pcs::kDmBufDescSize, 8);
      std::memcpy(&dst[i].size, raw.data + i * pcs::kDmBufDescSize + 8, 8);
    }
    data_ = dst;
    return true;
  }
  const DmBuf* data() const { return data_; }

 private:
  static constexpr uint64_t kSmall = 16;
  DmBuf small_[kSmall];
  std::vector<DmBuf> big_;
  const DmBuf* data_ = small_;
};

bool ToMode(const Napi::Value& v, CopyMode* out) {
  uint32_t m;
  if (!ToU32(v, &m) || m > static_cast<uint32_t>(CopyMode::kStrict)) return false;
  *out = static_cast<CopyMode>(m);
  return true;
}

Napi::Value Status(Napi::Env env, int status) { return Napi::Number::New(env, status); }

// ---- AddressSpace ---------------------------------------------------------

// The core is shared with every external ArrayBuffer handed to JS: a view's
// finalizer holds a reference, so the host mapping outlives every view into it
// (no JS-reachable use-after-free even if the AddressSpace object is collected
// first). Free and close detach the views before the pages go away.
using CoreRef = std::shared_ptr<AddressSpace>;

class AddressSpaceWrap : public Napi::ObjectWrap<AddressSpaceWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "AddressSpace",
                       {
                           StaticMethod<&AddressSpaceWrap::Create>("create"),
                           InstanceMethod<&AddressSpaceWrap::Alloc>("alloc"),
                           InstanceMethod<&AddressSpaceWrap::Free>("free"),
                           InstanceMethod<&AddressSpaceWrap::Read>("read"),
                           InstanceMethod<&AddressSpaceWrap::Write>("write"),
                           InstanceMethod<&AddressSpaceWrap::PageState>("pageState"),
                           InstanceMethod<&AddressSpaceWrap::Validate>("validateDmBuffers"),
                           InstanceMethod<&AddressSpaceWrap::CopyFrom>("copyDmBufferFromGuest"),
                           InstanceMethod<&AddressSpaceWrap::CopyTo>("copyDmBufferToGuest"),
                           InstanceMethod<&AddressSpaceWrap::LiveAllocations>("liveAllocations"),
                           InstanceMethod<&AddressSpaceWrap::Close>("close"),
                       });
  }

  explicit AddressSpaceWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AddressSpaceWrap>(info) {
    // Only create() constructs instances; it passes the core as an External.
    if (info.Length() == 1 && info[0].IsExternal()) {
      CoreRef* core = info[0].As<Napi::External<CoreRef>>().Data();
      core_ = *core;
    }
  }

 private:
  // create(base, size) -> AddressSpace | -errno
  static Napi::Value Create(const Napi::CallbackInfo& info);

  // alloc(len, flags) -> { addr: bigint, buffer: ArrayBuffer } | -errno
  Napi::Value Alloc(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t len;
    uint32_t flags;
    if (!core_) return Status(env, pcs::kEBADF);
    if (info.Length() < 2 || !ToU64(info[0], &len) || !ToU32(info[1], &flags)) return Status(env, pcs::kEINVAL);
    pcs::Allocation a;
    int rc = core_->Allocate(len, flags, &a);
    if (rc != pcs::kOk) return Status(env, rc);
    auto* hint = new CoreRef(core_);
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
        env, a.host, static_cast<size_t>(len), [](Napi::Env, void*, CoreRef* h) { delete h; }, hint);
    views_.emplace(a.addr, Napi::Reference<Napi::ArrayBuffer>::New(ab, 0));
    Napi::Object result = Napi::Object::New(env);
    result.Set("addr", Napi::BigInt::New(env, a.addr));
    result.Set("buffer", ab);
    return result;
  }

  // free(addr) -> 0 | -errno. Detaches the allocation's views first.
  Napi::Value Free(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t addr;
    if (!core_) return Status(env, pcs::kEBADF);
    if (info.Length() < 1 || !ToU64(info[0], &addr)) return Status(env, pcs::kEINVAL);
    auto it = views_.find(addr);
    if (it == views_.end()) return Status(env, pcs::kEINVAL);
    if (!DetachView(it->second)) return Status(env, pcs::kEBUSY);
    views_.erase(it);
    return Status(env, core_->Free(addr));
  }

  // read(addr, dst) -> 0 | -errno: copy_from_user of dst.length bytes.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t addr;
    Bytes dst;
    if (!core_) return Status(env, pcs::kEBADF);
    if (info.Length() < 2 || !ToU64(info[0], &addr) || !ToBytes(info[1], &dst)) return Status(env, pcs::kEINVAL);
    return Status(env, core_->CopyFromUser(dst.data, addr, dst.len));
  }

  // write(addr, src) -> 0 | -errno: copy_to_user of src.length bytes.
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t addr;
    Bytes src;
    if (!core_) return Status(env, pcs::kEBADF);
    if (info.Length() < 2 || !ToU64(info[0], &addr) || !ToBytes(info[1], &src)) return Status(env, pcs::kEINVAL);
    return Status(env, core_->CopyToUser(addr, src.data, src.len));
  }

  Napi::Value PageState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t addr;
    if (!core_) return Status(env, pcs::kEBADF);
    if (info.Length() < 1 || !ToU64(info[0], &addr)) return Status(env, pcs::kEINVAL);
    return Status(env, static_cast<int>(core_->StateOf(addr)));
  }

  // validateDmBuffers(ubufs, num, maxNum, maxSize, out, detail?) -> pages | -errno.
  // out receives the num validated descriptors (16 bytes each); on failure an
  // optional Uint32Array detail receives [step, buffer index].
  Napi::Value Validate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t ubufs;
    uint32_t num, max_num, max_size;
    Bytes out;
    if (!core_) return Status(env, pcs::kEBADF);
    if (info.Length() < 5 || !ToU64(info[0], &ubufs) || !ToU32(info[1], &num) || !ToU32(info[2], &max_num) ||
        !ToU32(info[3], &max_size) || !ToBytes(info[4], &out))
      return Status(env, pcs::kEINVAL);
    // The driver never holds more than max_num descriptors; neither do we.
    if (max_num > 4096 || out.len < uint64_t{max_num < num ? max_num : num} * pcs::kDmBufDescSize)
      return Status(env, pcs::kEINVAL);
    DmBuf small[16];
    std::vector<DmBuf> big;
    DmBuf* bufs = small;
    if (max_num > 16) {
      big.resize(max_num);
      bufs = big.data();
    }
    pcs::DmValidation v;
    int rc = pcs::ValidateDmBuffers(*core_, ubufs, num, max_num, max_size, bufs, &v);
    if (rc != pcs::kOk) {
      if (info.Length() > 5 && info[5].IsTypedArray() &&
          info[5].As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array) {
        Napi::Uint32Array detail = info[5].As<Napi::Uint32Array>();
        if (detail.ElementLength() >= 2) {
          detail[0] = static_cast<uint32_t>(v.failed_step);
          detail[1] = v.failed_index;
        }
      }
      return Status(env, rc);
    }
    for (uint32_t i = 0; i < num; ++i) {
      std::memcpy(out.data + i * pcs::kDmBufDescSize, &bufs[i].addr, 8);
      std::memcpy(out.data + i * pcs::kDmBufDescSize + 8, &bufs[i].size, 8);
    }
    return Napi::Number::New(env, static_cast<double>(v.pages));
  }

  // copyDmBufferFromGuest(dst, len, bufs, nr, idx, offset, mode) -> 0 | -errno
  Napi::Value CopyFrom(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Bytes dst, raw;
    uint64_t len, nr, idx, offset;
    CopyMode mode;
    if (!core_) return Status(env, pcs::kEBADF);
    if (info.Length() < 7 || !ToBytes(info[0], &dst) || !ToU64(info[1], &len) || !ToBytes(info[2], &raw) ||
        !ToU64(info[3], &nr) || !ToU64(info[4], &idx) || !ToU64(info[5], &offset) || !ToMode(info[6], &mode))
      return Status(env, pcs::kEINVAL);
    if (len > dst.len) return Status(env, pcs::kEINVAL);  // never write past dst
    DescriptorArray bufs;
    if (!bufs.Load(raw, nr)) return Status(env, pcs::kEINVAL);
    return Status(env, pcs::CopyDmBufferFromGuest(*core_, dst.data, len, bufs.data(), nr, idx, offset, mode));
  }

  // copyDmBufferToGuest(bufs, nr, idx, offset, src, len, mode) -> 0 | -errno
  Napi::Value CopyTo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Bytes src, raw;
    uint64_t len, nr, idx, offset;
    CopyMode mode;
    if (!core_) return Status(env, pcs::kEBADF);
    if (info.Length() < 7 || !ToBytes(info[0], &raw) || !ToU64(info[1], &nr) || !ToU64(info[2], &idx) ||
        !ToU64(info[3], &offset) || !ToBytes(info[4], &src) || !ToU64(info[5], &len) || !ToMode(info[6], &mode))
      return Status(env, pcs::kEINVAL);
    if (len > src.len) return Status(env, pcs::kEINVAL);  // never read past src
    DescriptorArray bufs;
    if (!bufs.Load(raw, nr)) return Status(env, pcs::kEINVAL);
    return Status(env, pcs::CopyDmBufferToGuest(*core_, bufs.data(), nr, idx, offset, src.data, len, mode));
  }

  Napi::Value LiveAllocations(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!core_) return Status(env, pcs::kEBADF);
    return Napi::Number::New(env, static_cast<double>(core_->live_allocations()));
  }

  // close() -> 0 | -errno. Detaches every view; the mapping goes when the last
  // finalizer drops its reference.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!core_) return Status(env, pcs::kEBADF);
    for (auto& entry : views_) {
      if (!DetachView(entry.second)) return Status(env, pcs::kEBUSY);
    }
    views_.clear();
    core_.reset();
    return Status(env, pcs::kOk);
  }

  static bool DetachView(Napi::Reference<Napi::ArrayBuffer>& ref) {
    Napi::ArrayBuffer ab = ref.Value();
    if (ab.IsEmpty()) return true;  // collected: nothing can reach the memory
    if (ab.IsDetached()) return true;
    ab.Detach();
    return ab.IsDetached();
  }

  CoreRef core_;
  std::map<uint64_t, Napi::Reference<Napi::ArrayBuffer>> views_;
};

struct AddonData {
  Napi::FunctionReference address_space_ctor;
};

Napi::Value AddressSpaceWrap::Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t base, size;
  if (info.Length() < 2 || !ToU64(info[0], &base) || !ToU64(info[1], &size)) return Status(env, pcs::kEINVAL);
  std::unique_ptr<AddressSpace> core;
  int rc = AddressSpace::Create(base, size, &core);
  if (rc != pcs::kOk) return Status(env, rc);
  CoreRef shared(std::move(core));
  AddonData* data = env.GetInstanceData<AddonData>();
  return data->address_space_ctor.New({Napi::External<CoreRef>::New(env, &shared)});
}

// An empty call: the floor every benchmark ratio is measured against.
Napi::Value Noop(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Function ctor = AddressSpaceWrap::Define(env);
  data->address_space_ctor = Napi::Persistent(ctor);
  env.SetInstanceData<AddonData>(data);

  exports.Set("AddressSpace", ctor);
  exports.Set("noop", Napi::Function::New(env, Noop, "noop"));

  Napi::Object c = Napi::Object::New(env);
  c.Set("pageSize", Napi::Number::New(env, static_cast<double>(pcs::kPageSize)));
  c.Set("mmapMinAddr", Napi::BigInt::New(env, pcs::kMmapMinAddr));
  c.Set("taskSizeMax", Napi::BigInt::New(env, pcs::kTaskSizeMax));
  c.Set("kernelBase", Napi::BigInt::New(env, pcs::kKernelBase));
  c.Set("dmBufDescSize", Napi::Number::New(env, static_cast<double>(pcs::kDmBufDescSize)));
  exports.Set("constants", c);
  return exports;
}

}  // namespace

NODE_API_MODULE(privcmd_shim, Init)

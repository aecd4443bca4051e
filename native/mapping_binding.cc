#include "mapping_binding.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <new>
#include <vector>

#include "external_buffer.h"

namespace {

using MappingRef = std::shared_ptr<pcs::Mapping>;

Napi::Value Errno(Napi::Env env, long rc) { return Napi::Number::New(env, static_cast<double>(rc)); }

// An integer in [0, max], or false.
bool ToIndex(const Napi::Value& v, double max, uint64_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > max || std::floor(d) != d) return false;
  *out = static_cast<uint64_t>(d);
  return true;
}

MappingRef MappingOf(const Napi::CallbackInfo& info) {
  auto* ref = static_cast<MappingRef*>(info.Data());
  return ref ? *ref : nullptr;
}

// copy(offset, length) -> Uint8Array (a copy) | -errno
Napi::Value Copy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingRef m = MappingOf(info);
  if (!m || !m->mapped()) return Errno(env, -EBADF);
  uint64_t off, len;
  if (info.Length() < 2 || !ToIndex(info[0], 9007199254740991.0, &off) || !ToIndex(info[1], 9007199254740991.0, &len))
    return Errno(env, -EINVAL);
  if (off > m->size() || len > m->size() - off) return Errno(env, -EINVAL);
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(len));
  if (len) std::memcpy(out.Data(), m->data() + off, static_cast<size_t>(len));
  return out;
}

// unmap(buffer | null) -> 0 | -errno
Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MappingRef m = MappingOf(info);
  if (!m) return Errno(env, -EINVAL);
  if (!m->mapped()) return Errno(env, -EBADF);
  if (info.Length() >= 1 && info[0].IsArrayBuffer()) {
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    if (ab.IsDetached() || ab.Data() != m->data()) return Errno(env, -EBUSY);
    ab.Detach();
    if (!ab.IsDetached()) return Errno(env, -EBUSY);
  } else if (info.Length() < 1 || !info[0].IsNull()) {
    return Errno(env, -EINVAL);
  }
  return Errno(env, m->Unmap());
}

// The simulated host's page store, bound like a device: methods carry a
// shared reference to it.
using StoreRef = std::shared_ptr<pcs::PageStore>;

StoreRef StoreOf(const Napi::CallbackInfo& info) {
  auto* ref = static_cast<StoreRef*>(info.Data());
  return ref ? *ref : nullptr;
}

constexpr double kMaxOffset = 70368744177664.0;  // 2^46, the store's cap

// alloc() -> offset | -errno
Napi::Value StoreAlloc(const Napi::CallbackInfo& info) {
  return Errno(info.Env(), static_cast<long>(StoreOf(info)->Alloc()));
}

// free(offset) -> 0 | -errno
Napi::Value StoreFree(const Napi::CallbackInfo& info) {
  uint64_t off;
  if (info.Length() < 1 || !ToIndex(info[0], kMaxOffset, &off)) return Errno(info.Env(), -EINVAL);
  return Errno(info.Env(), StoreOf(info)->Free(off));
}

bool Bytes(Napi::Env env, const Napi::Value& v, uint8_t** data, size_t* len) {
  napi_typedarray_type t;
  void* p = nullptr;
  if (!v.IsTypedArray() || napi_get_typedarray_info(env, v, &t, len, &p, nullptr, nullptr) != napi_ok ||
      t != napi_uint8_array)
    return false;
  *data = static_cast<uint8_t*>(p);
  return true;
}

// read(offset, Uint8Array) / write(offset, Uint8Array) -> 0 | -errno, within one page
Napi::Value StoreRead(const Napi::CallbackInfo& info) {
  uint64_t off;
  uint8_t* data;
  size_t len;
  if (info.Length() < 2 || !ToIndex(info[0], kMaxOffset, &off) || !Bytes(info.Env(), info[1], &data, &len))
    return Errno(info.Env(), -EINVAL);
  return Errno(info.Env(), StoreOf(info)->Read(off, data, len));
}

Napi::Value StoreWrite(const Napi::CallbackInfo& info) {
  uint64_t off;
  uint8_t* data;
  size_t len;
  if (info.Length() < 2 || !ToIndex(info[0], kMaxOffset, &off) || !Bytes(info.Env(), info[1], &data, &len))
    return Errno(info.Env(), -EINVAL);
  return Errno(info.Env(), StoreOf(info)->Write(off, data, len));
}

// map(offsets: Float64Array (-1: a zero page), writable) -> mapping | -errno
Napi::Value StoreMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_typedarray_type t;
  size_t n = 0;
  void* p = nullptr;
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsBoolean() ||
      napi_get_typedarray_info(env, info[0], &t, &n, &p, nullptr, nullptr) != napi_ok || t != napi_float64_array) {
    return Errno(env, -EINVAL);
  }
  const size_t page = 4096;
  if (n == 0) return Errno(env, -EINVAL);
  if (n > kMaxExternalBufferLength / page) return Errno(env, -ENOMEM);
  std::vector<int64_t> offsets(n);
  const double* src = static_cast<const double*>(p);
  for (size_t i = 0; i < n; ++i) {
    double d = src[i];
    if (d == -1) {
      offsets[i] = -1;
    } else if (d >= 0 && d <= kMaxOffset && std::floor(d) == d) {
      offsets[i] = static_cast<int64_t>(d);
    } else {
      return Errno(env, -EINVAL);
    }
  }
  std::unique_ptr<pcs::Mapping> m;
  bool writable = info[1].As<Napi::Boolean>().Value();
  int rc = StoreOf(info)->Map(offsets.data(), n, writable, &m);
  if (rc < 0) return Errno(env, rc);
  return MappingToJs(env, MappingRef(std::move(m)), writable);
}

// live() -> pages handed out and not taken back
Napi::Value StoreLive(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(StoreOf(info)->live()));
}

// pageStoreCreate() -> { alloc, free, read, write, map, live } | -errno
Napi::Value PageStoreCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::unique_ptr<pcs::PageStore> store;
  int rc = pcs::PageStore::Create(&store);
  if (rc < 0) return Errno(env, rc);
  StoreRef shared(std::move(store));
  Napi::Object calls = Napi::Object::New(env);
  auto bind = [&](const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
    auto* ref = new StoreRef(shared);
    Napi::Function f = Napi::Function::New(env, fn, name, ref);
    f.AddFinalizer([](Napi::Env, StoreRef* r) { delete r; }, ref);
    calls.Set(name, f);
  };
  bind("alloc", StoreAlloc);
  bind("free", StoreFree);
  bind("read", StoreRead);
  bind("write", StoreWrite);
  bind("map", StoreMap);
  bind("live", StoreLive);
  return calls;
}

}  // namespace

Napi::Value MappingToJs(Napi::Env env, std::shared_ptr<pcs::Mapping> m, bool writable) {
  Napi::Object r = Napi::Object::New(env);
  if (writable) {
    // Checked by the callers: no mapping is longer than kMaxExternalBufferLength.
    r.Set("buffer",
          Napi::ArrayBuffer::New(
              env, m->data(), m->size(), [](Napi::Env, void*, MappingRef* ref) { delete ref; }, new MappingRef(m)));
  } else {
    r.Set("buffer", env.Null());
  }
  auto bind = [&](const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
    auto* ref = new MappingRef(m);
    Napi::Function f = Napi::Function::New(env, fn, name, ref);
    f.AddFinalizer([](Napi::Env, MappingRef* x) { delete x; }, ref);
    r.Set(name, f);
  };
  bind("copy", Copy);
  bind("unmap", Unmap);
  r.Set("size", Napi::Number::New(env, static_cast<double>(m->size())));
  return r;
}

void InitPageStore(Napi::Env env, Napi::Object exports) {
  exports.Set("pageStoreCreate", Napi::Function::New(env, PageStoreCreate, "pageStoreCreate"));
}

// Node-API surface of the real privcmd device. deviceOpen returns an object
// whose methods are bound to that one open file (the function's data is a
// shared reference to it), so calls carry no handle to look up or forge.
// Failures are negative errno numbers; the TypeScript layer makes errors.
// Async variants run the ioctl on the libuv thread pool. The device stays
// referenced until the ioctl returns; a DM_OP's buffers are staged in native
// memory (native/core/dm_staging.h) and hypercall buffers are pinned, so the
// ioctl never touches JS memory or a buffer unmapped meanwhile.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/dm_staging.h"
#include "core/privcmd_device.h"
#include "core/process_handles.h"
#include "device_binding.h"
#include "external_buffer.h"
#include "mapping_binding.h"

namespace {

using pcs::PrivcmdDevice;
using pcs::PrivcmdDmOpBuf;

// The single-buffer fast path: a small native-owned mailbox that JS views.
// Bytes [0, kMailboxData) are buffer 0 of a DM_OP; the tail holds the target
// domain (u16 at kMailboxDom) and buffer 0's size (u32 at kMailboxLen), so
// dmOpMailbox() takes no arguments to unpack. Shared by the holder and the
// ArrayBuffer, so a view that outlives close() still points at live memory.
constexpr size_t kMailboxSize = 256;
constexpr size_t kMailboxData = 248;
constexpr size_t kMailboxDom = 248;
constexpr size_t kMailboxLen = 252;
struct alignas(64) Mailbox {
  uint8_t bytes[kMailboxSize] = {};
};
using MailboxRef = std::shared_ptr<Mailbox>;

struct DeviceHolder {
  std::shared_ptr<PrivcmdDevice> dev;  // null once closed
  MailboxRef mailbox;
};
using HolderRef = std::shared_ptr<DeviceHolder>;

// ---- hypercall buffer table -------------------------------------------------

// Live buffers by a generation id, not by address: an address can be mapped
// again after a free, and a late finalizer of the old ArrayBuffer must not
// unmap the new buffer. Entries are references: the munmap happens when the
// last one goes, which may be an async call's pin (PinLiveBuffers) after the
// buffer was freed or its handle closed.
using BufferRef = std::shared_ptr<pcs::HypercallBuffer>;
std::mutex buffers_mutex;
uint64_t next_buffer_id = 1;
std::map<uint64_t, BufferRef> buffers;

// The pins an async call holds until it returns: every hypercall buffer live
// when the call is made. Its arguments may point into any of them, directly
// or through pointers inside the structs they point at (dm_op's buffer array,
// GUEST_HANDLEs in hvm_op, xsm_op or multicall arguments), which this layer
// cannot follow; so it pins them all. That is the simplest sound rule, and
// costs one reference per live buffer. A buffer freed meanwhile is detached
// from JS at once but stays mapped until the last call pinning it returns, so
// no new buffer can be mapped at its address while Xen may still write it.
std::vector<BufferRef> PinLiveBuffers() {
  std::vector<BufferRef> pins;
  std::lock_guard<std::mutex> lock(buffers_mutex);
  pins.reserve(buffers.size());
  for (auto& entry : buffers) pins.push_back(entry.second);
  return pins;
}

Napi::Value Errno(Napi::Env env, long rc) { return Napi::Number::New(env, static_cast<double>(rc)); }

std::shared_ptr<PrivcmdDevice> DeviceOf(const Napi::CallbackInfo& info) {
  auto* ref = static_cast<HolderRef*>(info.Data());
  return ref ? (*ref)->dev : nullptr;
}

bool ToU16(const Napi::Value& v, uint16_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 65535 || d != static_cast<double>(static_cast<uint16_t>(d))) return false;
  *out = static_cast<uint16_t>(d);
  return true;
}

// Writable, 16-byte aligned: &kEmptyBuffer[1] is never page-aligned.
alignas(16) uint8_t kEmptyBuffer[16];

// A Uint8Array as a DM_OP buffer descriptor; false if `v` is not one. Runs
// no JS.
bool DescribeBuffer(napi_env env, napi_value v, PrivcmdDmOpBuf* out) {
  bool is = false;
  napi_typedarray_type t;
  size_t len;
  void* data;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &t, &len, &data, nullptr, nullptr) != napi_ok || t != napi_uint8_array)
    return false;
  // An empty array points one byte into writable memory of ours. V8's
  // pointer for it may be NULL or a read-only sentinel, and Linux 6.1
  // fails a zero-size buffer at an aligned address (or NULL) with EFAULT
  // because it pins no page; an unaligned one pins its page and passes.
  *out = {len == 0 ? reinterpret_cast<uint64_t>(&kEmptyBuffer[1]) : reinterpret_cast<uint64_t>(data), len};
  return true;
}

// The buffers of a DM_OP: an array whose entries are Uint8Arrays (the
// caller's memory, used in place) or null, in which case `raw` (a
// BigUint64Array of [addr, size] pairs; the test-only raw-pointer path) gives
// the descriptor. Fills descs, for the synchronous call only: the caller's
// memory cannot change while it runs. Every entry is read before any is
// described: reading one may run JS (an index getter), which could detach a
// buffer, or `raw`, that was already described.
bool UnpackBuffers(Napi::Env env, const Napi::Value& list, const Napi::Value& raw, std::vector<PrivcmdDmOpBuf>* descs) {
  if (!list.IsArray()) return false;
  Napi::Array arr = list.As<Napi::Array>();
  uint32_t n = arr.Length();
  if (n > 0xffff) return false;
  std::vector<napi_value> items(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (napi_get_element(env, arr, i, &items[i]) != napi_ok) return false;
  }
  uint64_t* pairs = nullptr;
  size_t npairs = 0;
  if (raw.IsTypedArray()) {
    napi_typedarray_type t;
    size_t len;
    void* data;
    if (napi_get_typedarray_info(env, raw, &t, &len, &data, nullptr, nullptr) != napi_ok || t != napi_biguint64_array)
      return false;
    pairs = static_cast<uint64_t*>(data);
    npairs = len / 2;
  }
  descs->resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (DescribeBuffer(env, items[i], &(*descs)[i])) continue;
    napi_valuetype type;
    if (napi_typeof(env, items[i], &type) != napi_ok || type != napi_null || i >= npairs) return false;
    (*descs)[i] = {pairs[2 * i], pairs[2 * i + 1]};
  }
  return true;
}

// dmOp(dom, buffers, raw|null) -> ioctl result | -errno. `buffers` is an
// array (see UnpackBuffers) or, for the common single buffer, the Uint8Array
// itself: no array to build in JS, no element to look up here, nothing to
// allocate.
// The device is used through the holder, without a reference of its own
// (an atomic count up and down cost more than the rest of the call): nothing
// can close it while no JS runs, and it is looked at again after the only
// step that runs JS.
Napi::Value DmOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto* ref = static_cast<const HolderRef*>(info.Data());
  if (!ref || !(*ref)->dev) return Errno(env, -EBADF);
  const DeviceHolder& holder = **ref;
  uint16_t dom;
  if (info.Length() < 3 || !ToU16(info[0], &dom)) return Errno(env, -EINVAL);
  PrivcmdDmOpBuf one;
  if (DescribeBuffer(env, info[1], &one)) return Errno(env, holder.dev->DmOp(dom, 1, &one));
  std::vector<PrivcmdDmOpBuf> descs;
  if (!UnpackBuffers(env, info[1], info[2], &descs)) return Errno(env, -EINVAL);
  if (!holder.dev) return Errno(env, -EBADF);  // closed by an index getter
  return Errno(env, holder.dev->DmOp(dom, static_cast<uint16_t>(descs.size()), descs.data()));
}

// The async DM_OP. The caller's bytes are staged when the call is made
// (native/core/dm_staging.h); the thread pool sees only the staging. On
// completion each staged buffer is copied back into the caller's Uint8Array
// if it still has the length it had at the call. A Uint8Array whose buffer
// was detached (transferred) or resized meanwhile has nowhere to take Xen's
// writes: it is left as it is and what Xen wrote for it is dropped; the
// call's result is still reported. Raw descriptors (test-only) pass through
// as given, with every hypercall buffer pinned in case they point into one.
class DmOpWorker : public Napi::AsyncWorker {
 public:
  DmOpWorker(Napi::Env env, std::shared_ptr<PrivcmdDevice> dev, uint16_t dom, std::unique_ptr<pcs::DmOpStaging> staging,
             std::vector<Napi::ObjectReference> targets, std::vector<BufferRef> pins)
      : Napi::AsyncWorker(env, "privcmd:dm_op"),
        deferred_(Napi::Promise::Deferred::New(env)),
        dev_(std::move(dev)),
        dom_(dom),
        staging_(std::move(staging)),
        targets_(std::move(targets)),
        pins_(std::move(pins)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { rc_ = dev_->DmOp(dom_, static_cast<uint16_t>(staging_->num()), staging_->descs()); }
  void OnOK() override {
    Napi::Env env = Env();
    for (size_t i = 0; i < targets_.size(); ++i) {
      if (targets_[i].IsEmpty() || !staging_->staged(i)) continue;
      napi_typedarray_type t;
      size_t len;
      void* data = nullptr;
      if (napi_get_typedarray_info(env, targets_[i].Value(), &t, &len, &data, nullptr, nullptr) != napi_ok ||
          t != napi_uint8_array)
        continue;
      staging_->CopyBack(i, static_cast<uint8_t*>(data), len);
    }
    deferred_.Resolve(Napi::Number::New(env, static_cast<double>(rc_)));
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<PrivcmdDevice> dev_;
  uint16_t dom_;
  std::unique_ptr<pcs::DmOpStaging> staging_;
  std::vector<Napi::ObjectReference> targets_;  // the caller's Uint8Arrays (empty for raw), for the copy back
  std::vector<BufferRef> pins_;
  long rc_ = 0;
};

// dmOpAsync(dom, buffers, raw|null) -> Promise<ioctl result | -errno>. Refusals
// by the staging (more than 16 buffers, or one over 4 KiB: E2BIG, the
// driver's errno for both) settle at once and stage nothing; note the driver
// would say EPERM first on a handle restricted to another domain.
Napi::Value DmOpAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  auto settle = [&](long rc) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(Errno(env, rc));
    return d.Promise();
  };
  uint16_t dom = 0;
  if (!dev) return settle(-EBADF);
  if (info.Length() < 3 || !ToU16(info[0], &dom) || !info[1].IsArray()) return settle(-EINVAL);
  Napi::Array arr = info[1].As<Napi::Array>();
  uint32_t n = arr.Length();
  if (n > pcs::kStageMaxBufs) return settle(pcs::kE2BIG);  // before anything is read
  // Every entry is read before `raw` or any buffer is described: reading one
  // may run JS (an index getter) that detaches a buffer or closes the device.
  napi_value items[pcs::kStageMaxBufs];
  for (uint32_t i = 0; i < n; ++i) {
    if (napi_get_element(env, arr, i, &items[i]) != napi_ok) return settle(-EINVAL);
  }
  if (!DeviceOf(info)) return settle(-EBADF);  // closed by an index getter
  uint64_t* pairs = nullptr;
  size_t npairs = 0;
  if (info[2].IsTypedArray()) {
    napi_typedarray_type t;
    size_t len;
    void* data;
    if (napi_get_typedarray_info(env, info[2], &t, &len, &data, nullptr, nullptr) != napi_ok ||
        t != napi_biguint64_array)
      return settle(-EINVAL);
    pairs = static_cast<uint64_t*>(data);
    npairs = len / 2;
  }
  pcs::DmStageSource src[pcs::kStageMaxBufs];
  std::vector<Napi::ObjectReference> targets(n);
  bool any_raw = false;
  for (uint32_t i = 0; i < n; ++i) {
    Napi::Value v(env, items[i]);
    napi_typedarray_type t;
    size_t len;
    void* data;
    if (v.IsTypedArray()) {
      if (napi_get_typedarray_info(env, v, &t, &len, &data, nullptr, nullptr) != napi_ok || t != napi_uint8_array)
        return settle(-EINVAL);
      src[i].data = static_cast<const uint8_t*>(data);
      src[i].len = len;
      targets[i] = Napi::Persistent(v.As<Napi::Object>());
    } else if (v.IsNull() && i < npairs) {
      src[i].raw = true;
      src[i].addr = pairs[2 * i];
      src[i].len = pairs[2 * i + 1];
      any_raw = true;
    } else {
      return settle(-EINVAL);
    }
  }
  std::unique_ptr<pcs::DmOpStaging> staging(new (std::nothrow) pcs::DmOpStaging());
  if (!staging) return settle(-ENOMEM);
  int rc = staging->Stage(src, n);
  if (rc != pcs::kOk) return settle(rc);
  auto* w = new DmOpWorker(env, std::move(dev), dom, std::move(staging), std::move(targets),
                           any_raw ? PinLiveBuffers() : std::vector<BufferRef>());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

bool UnpackHypercall(const Napi::CallbackInfo& info, uint64_t* op, uint64_t args[5]) {
  if (info.Length() < 2) return false;
  if (!info[0].IsNumber()) return false;
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 4294967295.0 || d != static_cast<double>(static_cast<uint32_t>(d))) return false;
  *op = static_cast<uint64_t>(d);
  napi_typedarray_type t;
  size_t len;
  void* data;
  if (napi_get_typedarray_info(info.Env(), info[1], &t, &len, &data, nullptr, nullptr) != napi_ok ||
      t != napi_biguint64_array || len != 5)
    return false;
  std::memcpy(args, data, 5 * sizeof(uint64_t));
  return true;
}

Napi::Value HypercallResult(Napi::Env env, long rc) {
  if (rc < 0) return Errno(env, rc);
  return Napi::BigInt::New(env, static_cast<uint64_t>(rc));
}

// hypercall(op, args: BigUint64Array(5)) -> bigint result | -errno
Napi::Value Hypercall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  if (!dev) return Errno(env, -EBADF);
  uint64_t op, args[5];
  if (!UnpackHypercall(info, &op, args)) return Errno(env, -EINVAL);
  return HypercallResult(env, dev->Hypercall(op, args));
}

class HypercallWorker : public Napi::AsyncWorker {
 public:
  HypercallWorker(Napi::Env env, std::shared_ptr<PrivcmdDevice> dev, uint64_t op, const uint64_t args[5])
      : Napi::AsyncWorker(env, "privcmd:hypercall"),
        deferred_(Napi::Promise::Deferred::New(env)),
        dev_(std::move(dev)),
        pins_(PinLiveBuffers()),
        op_(op) {
    std::memcpy(args_, args, sizeof args_);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { rc_ = dev_->Hypercall(op_, args_); }
  void OnOK() override { deferred_.Resolve(HypercallResult(Env(), rc_)); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<PrivcmdDevice> dev_;
  std::vector<BufferRef> pins_;  // unmapped only after the ioctl returned (PinLiveBuffers)
  uint64_t op_;
  uint64_t args_[5];
  long rc_ = 0;
};

// hypercallAsync(op, args) -> Promise<bigint | -errno>. Pointer arguments must
// point at hypercall buffers, not at JS memory; the call pins them all.
Napi::Value HypercallAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  uint64_t op = 0, args[5] = {0, 0, 0, 0, 0};
  long early = !dev ? -EBADF : (!UnpackHypercall(info, &op, args) ? -EINVAL : 0);
  if (early) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(Errno(env, early));
    return d.Promise();
  }
  auto* w = new HypercallWorker(env, std::move(dev), op, args);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

long MailboxDmOp(const HolderRef* ref) {
  if (!ref || !(*ref)->dev) return -EBADF;
  Mailbox& m = *(*ref)->mailbox;
  uint16_t dom;
  uint32_t len;
  std::memcpy(&dom, m.bytes + kMailboxDom, sizeof dom);
  std::memcpy(&len, m.bytes + kMailboxLen, sizeof len);
  if (len == 0 || len > kMailboxData) return -EINVAL;
  PrivcmdDmOpBuf buf{reinterpret_cast<uint64_t>(m.bytes), len};
  return (*ref)->dev->DmOp(dom, 1, &buf);
}

// dmOpMailbox() -> ioctl result | -errno: one buffer, the mailbox's first
// `len` bytes, for the domain in its tail. Every typed DMOP comes through
// here, so it is a bare napi_callback: node-addon-api's wrapper fetches six
// arguments and `this` (it takes none) and sets up a C++ exception guard
// (nothing here throws), together more than the rest of the call costs.
napi_value DmOpMailbox(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  napi_value result = nullptr;
  long rc = napi_get_cb_info(env, info, nullptr, nullptr, nullptr, &data) == napi_ok
                ? MailboxDmOp(static_cast<const HolderRef*>(data))
                : -EINVAL;
  // An ioctl answers an int, so rc fits.
  napi_create_int32(env, static_cast<int32_t>(rc), &result);
  return result;
}

// restrict(domid) -> 0 | -errno
Napi::Value Restrict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  if (!dev) return Errno(env, -EBADF);
  uint16_t domid;
  if (info.Length() < 1 || !ToU16(info[0], &domid)) return Errno(env, -EINVAL);
  return Errno(env, dev->Restrict(domid));
}

bool ToU32(const Napi::Value& v, uint32_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 4294967295.0 || d != static_cast<double>(static_cast<uint32_t>(d))) return false;
  *out = static_cast<uint32_t>(d);
  return true;
}

// The most pages one mapping may have: its ArrayBuffer must be creatable.
constexpr uint64_t kMaxMapPages = kMaxExternalBufferLength / 4096;

// resourceSize(dom, type, id) -> frames | -errno
Napi::Value ResourceSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  if (!dev) return Errno(env, -EBADF);
  uint16_t dom;
  uint32_t type, id;
  if (info.Length() < 3 || !ToU16(info[0], &dom) || !ToU32(info[1], &type) || !ToU32(info[2], &id))
    return Errno(env, -EINVAL);
  uint64_t frames = 0;
  int rc = dev->ResourceSize(dom, type, id, &frames);
  if (rc < 0) return Errno(env, rc);
  return Napi::Number::New(env, static_cast<double>(frames));
}

// mapResource(dom, type, id, frame, count, writable) -> mapping | -errno
Napi::Value MapResource(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  if (!dev) return Errno(env, -EBADF);
  uint16_t dom;
  uint32_t type, id, frame, count;
  if (info.Length() < 6 || !ToU16(info[0], &dom) || !ToU32(info[1], &type) || !ToU32(info[2], &id) ||
      !ToU32(info[3], &frame) || !ToU32(info[4], &count) || !info[5].IsBoolean() || count == 0) {
    return Errno(env, -EINVAL);
  }
  if (count > kMaxMapPages) return Errno(env, -ENOMEM);
  bool writable = info[5].As<Napi::Boolean>().Value();
  std::unique_ptr<pcs::Mapping> m;
  int rc = dev->MapResource(dom, type, id, frame, count, writable, &m);
  if (rc < 0) return Errno(env, rc);
  return MappingToJs(env, std::shared_ptr<pcs::Mapping>(std::move(m)), writable);
}

// mapForeign(dom, gfns: BigUint64Array, errs: Int32Array, writable) -> mapping | -errno.
// The gfns and the per-page errors pass through native copies: the kernel
// never sees JS memory.
Napi::Value MapForeign(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  if (!dev) return Errno(env, -EBADF);
  uint16_t dom;
  napi_typedarray_type t1, t2;
  size_t n = 0, nerr = 0;
  void* gp = nullptr;
  void* ep = nullptr;
  if (info.Length() < 4 || !ToU16(info[0], &dom) || !info[1].IsTypedArray() || !info[2].IsTypedArray() ||
      !info[3].IsBoolean() || napi_get_typedarray_info(env, info[1], &t1, &n, &gp, nullptr, nullptr) != napi_ok ||
      t1 != napi_biguint64_array ||
      napi_get_typedarray_info(env, info[2], &t2, &nerr, &ep, nullptr, nullptr) != napi_ok || t2 != napi_int32_array ||
      nerr != n || n == 0) {
    return Errno(env, -EINVAL);
  }
  if (n > kMaxMapPages) return Errno(env, -ENOMEM);
  std::vector<uint64_t> gfns(static_cast<const uint64_t*>(gp), static_cast<const uint64_t*>(gp) + n);
  std::vector<int> errs(n, 0);
  bool writable = info[3].As<Napi::Boolean>().Value();
  std::unique_ptr<pcs::Mapping> m;
  int rc = dev->MapForeign(dom, gfns.data(), static_cast<uint32_t>(n), writable, errs.data(), &m);
  if (rc < 0) return Errno(env, rc);
  std::memcpy(ep, errs.data(), n * sizeof(int));
  return MappingToJs(env, std::shared_ptr<pcs::Mapping>(std::move(m)), writable);
}

// close() -> 0 | -EBADF. The fd closes once no async call still uses it.
Napi::Value Close(const Napi::CallbackInfo& info) {
  auto* ref = static_cast<HolderRef*>(info.Data());
  if (!ref || !(*ref)->dev) return Errno(info.Env(), -EBADF);
  (*ref)->dev.reset();
  return Errno(info.Env(), 0);
}

// fd() -> the descriptor (still owned by the handle) | -EBADF
Napi::Value Fd(const Napi::CallbackInfo& info) {
  auto* ref = static_cast<HolderRef*>(info.Data());
  if (!ref || !(*ref)->dev) return Errno(info.Env(), -EBADF);
  return Errno(info.Env(), (*ref)->dev->fd());
}

// deviceOpen(path | fd) -> { mailbox, restrict, dmOp, dmOpAsync, dmOpMailbox, hypercall, hypercallAsync, close } |
// -errno
Napi::Value DeviceOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !(info[0].IsString() || info[0].IsNumber())) return Errno(env, -EINVAL);
  std::unique_ptr<PrivcmdDevice> dev;
  int rc;
  if (info[0].IsNumber()) {
    double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d > 2147483647.0 || d != static_cast<double>(static_cast<int>(d))) return Errno(env, -EBADF);
    rc = PrivcmdDevice::FromFd(static_cast<int>(d), &dev);
  } else {
    std::string path = info[0].As<Napi::String>().Utf8Value();
    rc = PrivcmdDevice::Open(path.c_str(), &dev);
  }
  if (rc < 0) return Errno(env, rc);
  // A process restricted by restrictAll (in any worker): every later handle
  // starts restricted, or does not open at all.
  int32_t restricted = pcs::ProcessHandles::Domid();
  if (restricted >= 0) {
    rc = dev->Restrict(static_cast<uint16_t>(restricted));
    if (rc < 0) return Errno(env, rc);
  }
  MailboxRef mailbox(new (std::nothrow) Mailbox());
  if (!mailbox) return Errno(env, -ENOMEM);
  auto holder = std::make_shared<DeviceHolder>(DeviceHolder{std::shared_ptr<PrivcmdDevice>(std::move(dev)), mailbox});
  Napi::Object calls = Napi::Object::New(env);
  static_assert(kMailboxSize <= kMaxExternalBufferLength, "the mailbox fits an ArrayBuffer");
  calls.Set("mailbox", Napi::ArrayBuffer::New(
                           env, mailbox->bytes, kMailboxSize, [](Napi::Env, void*, MailboxRef* r) { delete r; },
                           new MailboxRef(mailbox)));
  auto bind = [&](const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
    auto* ref = new HolderRef(holder);
    Napi::Function f = Napi::Function::New(env, fn, name, ref);
    f.AddFinalizer([](Napi::Env, HolderRef* r) { delete r; }, ref);
    calls.Set(name, f);
  };
  calls.Set("restrictedAtOpen", Napi::Number::New(env, restricted));
  {
    auto* ref = new HolderRef(holder);
    napi_value fn;
    if (napi_create_function(env, "dmOpMailbox", NAPI_AUTO_LENGTH, DmOpMailbox, ref, &fn) != napi_ok) {
      delete ref;
      return Errno(env, -ENOMEM);
    }
    Napi::Function f(env, fn);
    f.AddFinalizer([](Napi::Env, HolderRef* r) { delete r; }, ref);
    calls.Set("dmOpMailbox", f);
  }
  bind("restrict", Restrict);
  bind("dmOp", DmOp);
  bind("dmOpAsync", DmOpAsync);
  bind("hypercall", Hypercall);
  bind("hypercallAsync", HypercallAsync);
  bind("fd", Fd);
  bind("resourceSize", ResourceSize);
  bind("mapResource", MapResource);
  bind("mapForeign", MapForeign);
  bind("close", Close);
  return calls;
}

// ---- hypercall buffers ------------------------------------------------------

// hypercallBufferAlloc(size) -> { addr: bigint, buffer: ArrayBuffer, fromDevice } | -errno
Napi::Value HypercallBufferAlloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return Errno(env, -EINVAL);
  double d = info[0].As<Napi::Number>().DoubleValue();
  // At most 1 GiB (HypercallBuffer::Allocate's cap), well under kMaxExternalBufferLength.
  if (!(d >= 0) || d > 1073741824.0 || d != static_cast<double>(static_cast<size_t>(d))) return Errno(env, -EINVAL);
  size_t size = static_cast<size_t>(d);
  std::unique_ptr<pcs::HypercallBuffer> buf;
  int rc = pcs::HypercallBuffer::Allocate(size, &buf);
  if (rc < 0) return Errno(env, rc);
  uint8_t* data = buf->data();
  bool from_device = buf->from_device();
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(buffers_mutex);
    id = next_buffer_id++;
    buffers[id] = BufferRef(std::move(buf));
  }
  // Collected without free(): unmap then.
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
      env, data, size,
      [](Napi::Env, void*, uint64_t* gen) {
        {
          std::lock_guard<std::mutex> lock(buffers_mutex);
          buffers.erase(*gen);
        }
        delete gen;
      },
      new uint64_t(id));
  Napi::Object r = Napi::Object::New(env);
  r.Set("addr", Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data))));
  r.Set("buffer", ab);
  r.Set("fromDevice", Napi::Boolean::New(env, from_device));
  return r;
}

// hypercallBufferFree(arrayBuffer) -> 0 | -errno: detach every view, then
// unmap, or, while an async call pins the buffer, when the last one returns.
Napi::Value HypercallBufferFree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) return Errno(env, -EINVAL);
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  if (ab.IsDetached()) return Errno(env, -EINVAL);
  void* data = ab.Data();
  BufferRef victim;
  {
    std::lock_guard<std::mutex> lock(buffers_mutex);
    auto it = buffers.begin();
    while (it != buffers.end() && it->second->data() != data) ++it;
    if (it == buffers.end()) return Errno(env, -EINVAL);
    ab.Detach();
    if (!ab.IsDetached()) return Errno(env, -EBUSY);
    victim = std::move(it->second);
    buffers.erase(it);
  }
  return Errno(env, 0);  // victim drops here: unmapped now unless an async call pins it
}

// processHandles() -> { open, unrestricted, domid }: every device handle in
// the process, across worker threads.
Napi::Value ProcessHandlesInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  r.Set("open", Napi::Number::New(env, static_cast<double>(pcs::ProcessHandles::Open())));
  r.Set("unrestricted", Napi::Number::New(env, static_cast<double>(pcs::ProcessHandles::Unrestricted())));
  r.Set("domid", Napi::Number::New(env, pcs::ProcessHandles::Domid()));
  return r;
}

// processRestrict(domid) -> 0 | -EINVAL (already restricted to another domain).
Napi::Value ProcessRestrict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t domid;
  if (info.Length() < 1 || !ToU16(info[0], &domid)) return Errno(env, -EINVAL);
  return Errno(env, pcs::ProcessHandles::SetDomid(domid));
}

}  // namespace

void InitDevice(Napi::Env env, Napi::Object exports) {
  exports.Set("processHandles", Napi::Function::New(env, ProcessHandlesInfo, "processHandles"));
  exports.Set("processRestrict", Napi::Function::New(env, ProcessRestrict, "processRestrict"));
  exports.Set("deviceOpen", Napi::Function::New(env, DeviceOpen, "deviceOpen"));
  exports.Set("hypercallBufferAlloc", Napi::Function::New(env, HypercallBufferAlloc, "hypercallBufferAlloc"));
  exports.Set("hypercallBufferFree", Napi::Function::New(env, HypercallBufferFree, "hypercallBufferFree"));
}

// Node-API surface of the real /dev/xen/evtchn. evtchnOpen returns an object
// whose methods are bound to that one open file (the function's data is a
// shared reference to it), so calls carry no handle to look up or forge.
// Failures are negative errno numbers; the TypeScript layer (lib/evtchn.ts)
// checks arguments and makes errors. waitReadable() polls on the thread pool
// and holds its own reference to the device, so close() can cancel it and
// the descriptors close once the poll has returned.
#include <napi.h>

#include <cerrno>
#include <memory>
#include <string>

#include "core/evtchn_device.h"
#include "core/process_handles.h"
#include "evtchn_binding.h"

namespace {

using pcs::EvtchnDevice;

struct Holder {
  std::shared_ptr<EvtchnDevice> dev;  // null once closed
};
using HolderRef = std::shared_ptr<Holder>;

Napi::Value Errno(Napi::Env env, long rc) { return Napi::Number::New(env, static_cast<double>(rc)); }

std::shared_ptr<EvtchnDevice> DeviceOf(const Napi::CallbackInfo& info) {
  auto* ref = static_cast<HolderRef*>(info.Data());
  return ref ? (*ref)->dev : nullptr;
}

bool ToU32(const Napi::Value& v, uint32_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 4294967295.0 || d != static_cast<double>(static_cast<uint32_t>(d))) return false;
  *out = static_cast<uint32_t>(d);
  return true;
}

// One-u32-argument ioctls: bindVirq(virq), bindUnboundPort(dom), unbind(port), notify(port).
template <long (EvtchnDevice::*Call)(uint32_t) const>
Napi::Value U32Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  if (!dev) return Errno(env, -EBADF);
  uint32_t a;
  if (info.Length() < 1 || !ToU32(info[0], &a)) return Errno(env, -EINVAL);
  return Errno(env, ((*dev).*Call)(a));
}

Napi::Value BindInterdomain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  if (!dev) return Errno(env, -EBADF);
  uint32_t dom, port;
  if (info.Length() < 2 || !ToU32(info[0], &dom) || !ToU32(info[1], &port)) return Errno(env, -EINVAL);
  return Errno(env, dev->BindInterdomain(dom, port));
}

Napi::Value Reset(const Napi::CallbackInfo& info) {
  auto dev = DeviceOf(info);
  return Errno(info.Env(), dev ? dev->Reset() : -EBADF);
}

Napi::Value Restrict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  if (!dev) return Errno(env, -EBADF);
  uint32_t domid;
  if (info.Length() < 1 || !ToU32(info[0], &domid) || domid > 0xffff) return Errno(env, -EINVAL);
  return Errno(env, dev->Restrict(static_cast<uint16_t>(domid)));
}

// read(max) -> number[] | -errno. At most a page of ports per call, as the driver caps it.
Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  if (!dev) return Errno(env, -EBADF);
  uint32_t max;
  if (info.Length() < 1 || !ToU32(info[0], &max)) return Errno(env, -EINVAL);
  constexpr size_t kMaxPorts = 4096 / sizeof(uint32_t);
  uint32_t ports[kMaxPorts];
  long n = dev->Read(ports, max < kMaxPorts ? max : kMaxPorts);
  if (n < 0) return Errno(env, n);
  Napi::Array out = Napi::Array::New(env, static_cast<size_t>(n));
  for (long i = 0; i < n; i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, ports[i]));
  return out;
}

// unmask(port) -> bytes written | -errno
Napi::Value Unmask(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  if (!dev) return Errno(env, -EBADF);
  uint32_t port;
  if (info.Length() < 1 || !ToU32(info[0], &port)) return Errno(env, -EINVAL);
  return Errno(env, dev->Write(&port, 1));
}

class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, std::shared_ptr<EvtchnDevice> dev)
      : Napi::AsyncWorker(env, "evtchn:poll"), deferred_(Napi::Promise::Deferred::New(env)), dev_(std::move(dev)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { rc_ = dev_->WaitReadable(); }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), rc_)); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<EvtchnDevice> dev_;  // the descriptors stay open until the poll returns
  int rc_ = 0;
};

// waitReadable() -> Promise<1 readable | 0 cancelled | -errno>
Napi::Value WaitReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  if (!dev) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(Errno(env, -EBADF));
    return d.Promise();
  }
  auto* w = new WaitWorker(env, std::move(dev));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// waitSync(timeoutMs) -> 1 readable | 0 timed out | -errno: poll() on this thread, which blocks.
Napi::Value WaitSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto dev = DeviceOf(info);
  if (!dev) return Errno(env, -EBADF);
  uint32_t ms;
  if (info.Length() < 1 || !ToU32(info[0], &ms) || ms > 0x7fffffff) return Errno(env, -EINVAL);
  return Errno(env, dev->WaitReadableFor(static_cast<int>(ms)));
}

// close() -> 0 | -EBADF: wakes every waiter; the descriptors close with the last reference.
Napi::Value Close(const Napi::CallbackInfo& info) {
  auto* ref = static_cast<HolderRef*>(info.Data());
  if (!ref || !(*ref)->dev) return Errno(info.Env(), -EBADF);
  (*ref)->dev->Cancel();
  (*ref)->dev.reset();
  return Errno(info.Env(), 0);
}

Napi::Value Fd(const Napi::CallbackInfo& info) {
  auto dev = DeviceOf(info);
  return Errno(info.Env(), dev ? dev->fd() : -EBADF);
}

// The methods object of one open device: { restrictedAtOpen, bindVirq, bindInterdomain, bindUnboundPort, unbind,
// notify, reset, restrict, read, unmask, waitReadable, waitSync, fd, close }.
Napi::Object Calls(Napi::Env env, std::unique_ptr<EvtchnDevice> dev, int32_t restricted) {
  auto holder = std::make_shared<Holder>(Holder{std::shared_ptr<EvtchnDevice>(std::move(dev))});
  Napi::Object calls = Napi::Object::New(env);
  calls.Set("restrictedAtOpen", Napi::Number::New(env, restricted));
  auto bind = [&](const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
    auto* ref = new HolderRef(holder);
    Napi::Function f = Napi::Function::New(env, fn, name, ref);
    f.AddFinalizer([](Napi::Env, HolderRef* r) { delete r; }, ref);
    calls.Set(name, f);
  };
  bind("bindVirq", U32Call<&EvtchnDevice::BindVirq>);
  bind("bindInterdomain", BindInterdomain);
  bind("bindUnboundPort", U32Call<&EvtchnDevice::BindUnboundPort>);
  bind("unbind", U32Call<&EvtchnDevice::Unbind>);
  bind("notify", U32Call<&EvtchnDevice::Notify>);
  bind("reset", Reset);
  bind("restrict", Restrict);
  bind("read", Read);
  bind("unmask", Unmask);
  bind("waitReadable", WaitReadable);
  bind("waitSync", WaitSync);
  bind("fd", Fd);
  bind("close", Close);
  return calls;
}

// evtchnOpen(path) -> methods | -errno
Napi::Value EvtchnOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return Errno(env, -EINVAL);
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::unique_ptr<EvtchnDevice> dev;
  int rc = EvtchnDevice::Open(path.c_str(), &dev);
  if (rc < 0) return Errno(env, rc);
  // A process restricted by restrictAll (in any worker): every later handle
  // starts restricted, or does not open at all.
  int32_t restricted = pcs::ProcessHandles::Domid();
  if (restricted >= 0) {
    long r = dev->Restrict(static_cast<uint16_t>(restricted));
    if (r < 0) return Errno(env, r);
  }
  return Calls(env, std::move(dev), restricted);
}

// evtchnFromFd(fd, domid) -> methods | -errno: a duplicate of an inherited
// descriptor, restricted to domid (or found so already). -EINVAL if the
// process is restricted to another domain.
Napi::Value EvtchnFromFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t fd, domid;
  if (info.Length() < 2 || !ToU32(info[0], &fd) || fd > 0x7fffffff || !ToU32(info[1], &domid) || domid > 0xffff)
    return Errno(env, -EINVAL);
  int32_t process = pcs::ProcessHandles::Domid();
  if (process >= 0 && static_cast<uint32_t>(process) != domid) return Errno(env, -EINVAL);
  std::unique_ptr<EvtchnDevice> dev;
  int rc = EvtchnDevice::FromFd(static_cast<int>(fd), &dev);
  if (rc < 0) return Errno(env, rc);
  long r = dev->AdoptRestriction(static_cast<uint16_t>(domid));
  if (r < 0) return Errno(env, r);
  return Calls(env, std::move(dev), static_cast<int32_t>(domid));
}

}  // namespace

void InitEvtchn(Napi::Env env, Napi::Object exports) {
  exports.Set("evtchnOpen", Napi::Function::New(env, EvtchnOpen, "evtchnOpen"));
  exports.Set("evtchnFromFd", Napi::Function::New(env, EvtchnFromFd, "evtchnFromFd"));
}

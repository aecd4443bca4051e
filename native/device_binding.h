// Registers the real-device functions (native/device_binding.cc).
#pragma once

#include <napi.h>

void InitDevice(Napi::Env env, Napi::Object exports);

// Registers the /dev/xen/evtchn functions (native/evtchn_binding.cc).
#pragma once

#include <napi.h>

void InitEvtchn(Napi::Env env, Napi::Object exports);

// A pcs::Mapping handed to JS (native/core/mapping.h), shared by the device
// and the simulated host's page store.
#pragma once

#include <napi.h>

#include <memory>

#include "core/mapping.h"

// { buffer: ArrayBuffer | null, copy(offset, length), unmap(buffer | null) }.
// buffer is an external ArrayBuffer over the mapping (writable mappings
// only: a JS write to a read-only page would be SIGSEGV; read-only ones are
// read through copy()). unmap() detaches buffer, then munmaps, once; the
// buffer's finalizer owns a reference too, and the mapping's flag keeps it
// from unmapping twice. A buffer that was transferred away (structuredClone,
// postMessage, ArrayBuffer.prototype.transfer) is -EBUSY: its new owner may
// still read it, so the range stays mapped until that owner is collected.
Napi::Value MappingToJs(Napi::Env env, std::shared_ptr<pcs::Mapping> m, bool writable);

void InitPageStore(Napi::Env env, Napi::Object exports);

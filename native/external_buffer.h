// The longest external ArrayBuffer the addon hands to JS. Node 20's V8 caps
// typed arrays (and so Buffer) at 2^32 bytes (buffer.constants.MAX_LENGTH);
// newer Node allows more, this is the floor. Above it creating the
// ArrayBuffer fails, and node-addon-api's failure path frees the finalizer
// data that Node has already finalized: a double free (SIGABRT). So every
// external buffer is length-checked before it is made, and the caller gets
// -ENOMEM: the simulated process cannot have a mapping that no view can span,
// as mmap answers ENOMEM for a mapping the process cannot hold.
#pragma once

#include <cstddef>
#include <cstdint>

constexpr uint64_t kMaxExternalBufferLength = uint64_t{1} << 32;

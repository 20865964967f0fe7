// The CUDA back-end's host entry points (docs/architecture/engine-contract.md §11).
//
// Only plain C++ types cross this header, so the bindings include it with the ordinary
// compiler; the kernels live in the .cu files of this directory. Every entry point works on
// raw device pointers that the Python layer (aihw/core/engine_cuda.py) has checked, enqueues
// its kernels on the given stream (torch's current stream, as an integer handle), never
// synchronises the device and never allocates: scratch memory comes from the caller.
// A failed launch raises std::runtime_error naming the entry point and CUDA's message.
#pragma once

#include <cstdint>

#include "aihw/philox.hpp"

namespace aihw::cuda {

/// The number of CUDA devices the runtime sees (0 without a driver or a GPU; never throws).
int device_count() noexcept;

/// Philox4x32-10 of `n` counters (`counters`: uint32 [n, 4] on the device) under `key`, into
/// `out` (uint32 [n, 4] on the device): the blocks of contract §1, as on the CPU.
void philox_blocks(const std::uint32_t* counters, std::int64_t n, PhiloxKey key,
                   std::uint32_t* out, std::uintptr_t stream);

/// The periphery's float32 normals (contract §8) of `n` blocks of words (`words`: uint32
/// [n, 4] on the device) into `out` (float32 [n, 4] on the device).
void periphery_normals(const std::uint32_t* words, std::int64_t n, float* out,
                       std::uintptr_t stream);

}  // namespace aihw::cuda

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

#include "aihw/device_ops.hpp"
#include "aihw/periphery.hpp"
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

// --- the periphery stages and the device operations (contract §11.2; periphery.cu,
// device_ops.cu). The same arguments as the CPU functions of aihw/periphery.hpp and
// aihw/device_ops.hpp, on device memory, plus the stream; no thread count. Their host
// emulations (periphery_emulated.hpp, device_ops_emulated.hpp) run the same work items.

/// The input stage of contract §8 (aihw::input_stage); `config.x_row_stride` must be 0.
void input_stage(const float* x, float* out, std::int64_t n_rows, std::int64_t n_cols,
                 const float* row_scale, const InputStageConfig& config,
                 const PeripheryDraw& draw, std::uintptr_t stream);

/// The output stage of contract §8 (aihw::output_stage) without its accumulate, bias and
/// row-stride options. `hit` [n_rows] must hold zeros: the kernel writes the 1s only (so
/// no two threads race on a flag, and no count comes back to the host).
void output_stage(float* y, std::int64_t n_rows, std::int64_t n_cols, const float* row_scale,
                  const OutputStageConfig& config, const PeripheryDraw& draw,
                  std::uint8_t* hit, std::uintptr_t stream);

/// aihw::decay_weights on the device.
void decay_weights(float* w, std::int64_t n, const float* decay_scale, const float* reset_bias,
                   DeviceBounds bounds, double alpha, std::uintptr_t stream);

/// aihw::diffuse_weights on the device.
void diffuse_weights(float* w, std::int64_t n, const float* rate, DeviceBounds bounds,
                     std::uint64_t seed, std::uint32_t call_index, std::uintptr_t stream);

/// aihw::reset_columns on the device.
void reset_columns(float* w, std::int64_t d_size, std::int64_t x_size,
                   std::int64_t first_column, std::int64_t n_columns, const float* reset_bias,
                   DeviceBounds bounds, double reset_std, double reset_prob, std::uint64_t seed,
                   std::uint32_t call_index, std::uintptr_t stream);

/// aihw::write_noise on the device.
void write_noise(float* visible, const float* hidden, std::int64_t n, const std::uint8_t* mask,
                 float noise_std, std::uint64_t seed, std::uint32_t call_index,
                 std::uintptr_t stream);

}  // namespace aihw::cuda

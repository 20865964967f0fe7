// Host emulations of the CUDA device-operation kernels (issue 15): the work items of
// device_ops_quads.hpp in a plain loop on host memory, always compiled into the CPU engine.
// Arguments as in cuda_engine.hpp, without the stream.
#pragma once

#include <cstdint>

#include "aihw/device_ops.hpp"

namespace aihw::cuda::emulated {

void decay_weights(float* w, std::int64_t n, const float* decay_scale, const float* reset_bias,
                   DeviceBounds bounds, double alpha);

void diffuse_weights(float* w, std::int64_t n, const float* rate, DeviceBounds bounds,
                     std::uint64_t seed, std::uint32_t call_index);

void reset_columns(float* w, std::int64_t d_size, std::int64_t x_size,
                   std::int64_t first_column, std::int64_t n_columns, const float* reset_bias,
                   DeviceBounds bounds, double reset_std, double reset_prob, std::uint64_t seed,
                   std::uint32_t call_index);

void write_noise(float* visible, const float* hidden, std::int64_t n, const std::uint8_t* mask,
                 float noise_std, std::uint64_t seed, std::uint32_t call_index);

}  // namespace aihw::cuda::emulated

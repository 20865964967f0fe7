// Device operations between updates (docs/physics/device-operations.md): decay, diffusion and
// column reset of the weights of a tile, on raw float32 buffers
// (docs/architecture/engine-contract.md §9).
//
// Pure C++17; the Python layer (aihw.core) checks every buffer and parameter first.
#pragma once

#include <cstdint>

#include "aihw/hd.hpp"
#include "aihw/philox.hpp"

namespace aihw {

/// The random numbers of the device operations live in stream 0 (top 4 bits of c3 = 0);
/// c1 names the operation, c2 is the operation's own call counter (contract §9).
namespace device_op_numbers {
constexpr std::uint32_t kStream = 0;
constexpr std::uint32_t kDiffusionNormal = 1;
constexpr std::uint32_t kResetNormal = 2;
constexpr std::uint32_t kResetChoice = 3;
constexpr std::uint32_t kWriteNoiseNormal = 4;
}  // namespace device_op_numbers

/// Per-device bounds; both null means unbounded (no clip).
struct DeviceBounds {
  const float* w_min = nullptr;
  const float* w_max = nullptr;
};

// The per-element arithmetic, shared by the CPU loops and the CUDA kernels (issue 15).

/// Clip element `e` to its bounds (both null: unbounded).
AIHW_HD inline float device_clip(float v, std::int64_t e, const DeviceBounds& bounds) noexcept {
  if (bounds.w_min == nullptr) return v;
  const float lo = v < bounds.w_min[e] ? bounds.w_min[e] : v;
  return lo > bounds.w_max[e] ? bounds.w_max[e] : lo;
}

/// Decay of one weight: `(w - r0) * (1 + alpha * (kappa - 1)) + r0`, unclipped.
AIHW_HD inline float decay_element(float w, float r0, float kappa, float alpha) noexcept {
  const float s = 1.0f + alpha * (kappa - 1.0f);
  return (w - r0) * s + r0;
}

/// Diffusion of one weight: `w + rate * xi`, unclipped.
AIHW_HD inline float diffuse_element(float w, float rate, float xi) noexcept {
  return w + rate * xi;
}

/// Whether a device is reset: `u < reset_prob`, `u = word * 2^-32` (in double, exact).
AIHW_HD inline bool reset_chosen(std::uint32_t word, double reset_prob) noexcept {
  return uniform_from_word(word) < reset_prob;
}

/// The reset value of one weight: `r0 + reset_std * xi` (`r0` without noise), unclipped.
AIHW_HD inline float reset_element(float r0, bool noisy, float reset_std, float xi) noexcept {
  return noisy ? r0 + reset_std * xi : r0;
}

/// Write noise of one weight: `hidden + std * xi`.
AIHW_HD inline float write_noise_element(float hidden, float noise_std, float xi) noexcept {
  return hidden + noise_std * xi;
}

/// `w <- clip((w - r0) * (1 + alpha * (kappa - 1)) + r0)` for the `n` weights;
/// `reset_bias` (r0) may be null (r0 = 0).
void decay_weights(float* w, std::int64_t n, const float* decay_scale, const float* reset_bias,
                   DeviceBounds bounds, double alpha, int num_threads);

/// `w <- clip(w + rate * xi)`, xi the float32 normal of element e for `call_index`.
void diffuse_weights(float* w, std::int64_t n, const float* rate, DeviceBounds bounds,
                     std::uint64_t seed, std::uint32_t call_index, int num_threads);

/// For columns [first_column, first_column + n_columns) of a row-major d_size x x_size
/// matrix: each device is reset, with probability `reset_prob`, to
/// `clip(r0 + reset_std * xi)` (`reset_bias` may be null: r0 = 0).
void reset_columns(float* w, std::int64_t d_size, std::int64_t x_size,
                   std::int64_t first_column, std::int64_t n_columns, const float* reset_bias,
                   DeviceBounds bounds, double reset_std, double reset_prob, std::uint64_t seed,
                   std::uint32_t call_index, int num_threads);

/// Write noise (docs/physics/device-operations.md#write-noise): `visible = hidden + noise_std * xi`
/// for every element e with mask[e] != 0 (`mask` null: all elements), xi the float32 normal of e
/// for `call_index`; the other visible weights are left as they are.
void write_noise(float* visible, const float* hidden, std::int64_t n, const std::uint8_t* mask,
                 float noise_std, std::uint64_t seed, std::uint32_t call_index, int num_threads);

}  // namespace aihw

// The device operations' work items on the CUDA back-end (contract §9, §10, §11.2): one
// item per Philox block, i.e. per four consecutive weights (elements 4m .. 4m + 3 of the
// row-major matrix use block m), so that one block serves all four. The kernels
// (device_ops.cu) run items in grid-stride loops; the host emulation
// (device_ops_emulated.cpp) runs the same items in a plain loop. Plain C++ with AIHW_HD.
#pragma once

#include <cstdint>
#include <stdexcept>

#include "aihw/device_ops.hpp"
#include "aihw/hd.hpp"
#include "aihw/periphery.hpp"
#include "aihw/philox.hpp"

namespace aihw::cuda {

/// Block `m` of operation `op` for `call_index` (counter (m, op, call_index, stream 0)).
AIHW_HD inline PhiloxBlock device_op_block(std::uint32_t k0, std::uint32_t k1, std::uint32_t op,
                                           std::uint32_t call_index, std::int64_t m) noexcept {
  return philox4x32_10(
      {static_cast<std::uint32_t>(m), op, call_index, device_op_numbers::kStream << 28}, {k0, k1});
}

AIHW_HD inline void block_normals(const PhiloxBlock& w, float (&z)[4]) noexcept {
  periphery_box_muller(w[0], w[1], z[0], z[1]);
  periphery_box_muller(w[2], w[3], z[2], z[3]);
}

/// Elements [4m, min(4m + 4, n)) of a flat operation.
AIHW_HD inline int block_count(std::int64_t n, std::int64_t m) noexcept {
  const std::int64_t left = n - 4 * m;
  return left < 4 ? static_cast<int>(left) : 4;
}

struct DecayQuads {
  float* w = nullptr;
  std::int64_t n = 0;
  const float* decay_scale = nullptr;
  const float* reset_bias = nullptr;  // null: r0 = 0
  DeviceBounds bounds;
  float alpha = 0.0f;
  AIHW_HD std::int64_t items() const noexcept { return (n + 3) / 4; }
};

AIHW_HD inline void decay_quad(const DecayQuads& s, std::int64_t m) noexcept {
  const int count = block_count(s.n, m);
  for (int k = 0; k < count; ++k) {
    const std::int64_t e = 4 * m + k;
    const float r0 = s.reset_bias != nullptr ? s.reset_bias[e] : 0.0f;
    s.w[e] = device_clip(decay_element(s.w[e], r0, s.decay_scale[e], s.alpha), e, s.bounds);
  }
}

struct DiffuseQuads {
  float* w = nullptr;
  std::int64_t n = 0;
  const float* rate = nullptr;
  DeviceBounds bounds;
  std::uint32_t k0 = 0, k1 = 0, call_index = 0;
  AIHW_HD std::int64_t items() const noexcept { return (n + 3) / 4; }
};

AIHW_HD inline void diffuse_quad(const DiffuseQuads& s, std::int64_t m) noexcept {
  float z[4];
  block_normals(
      device_op_block(s.k0, s.k1, device_op_numbers::kDiffusionNormal, s.call_index, m), z);
  const int count = block_count(s.n, m);
  for (int k = 0; k < count; ++k) {
    const std::int64_t e = 4 * m + k;
    s.w[e] = device_clip(diffuse_element(s.w[e], s.rate[e], z[k]), e, s.bounds);
  }
}

/// Columns [first_column, first_column + n_columns) of a d_size x x_size matrix: item
/// (row, k) is the k-th block that the row's range touches (a block may straddle two rows;
/// each row's item writes its own elements only).
struct ResetQuads {
  float* w = nullptr;
  std::int64_t d_size = 0, x_size = 0, first_column = 0, n_columns = 0;
  std::int64_t blocks_per_row = 0;  // at most (n_columns + 3) / 4 + 1
  const float* reset_bias = nullptr;
  DeviceBounds bounds;
  bool noisy = false, always = false;
  float reset_std = 0.0f;
  double reset_prob = 1.0;
  std::uint32_t k0 = 0, k1 = 0, call_index = 0;
  AIHW_HD std::int64_t items() const noexcept { return d_size * blocks_per_row; }
};

AIHW_HD inline void reset_quad(const ResetQuads& s, std::int64_t item) noexcept {
  const std::int64_t row = item / s.blocks_per_row;
  const std::int64_t begin = row * s.x_size + s.first_column;
  const std::int64_t end = begin + s.n_columns;
  const std::int64_t m = begin / 4 + item % s.blocks_per_row;
  if (4 * m >= end) return;  // past this row's last block
  float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  if (s.noisy) {
    block_normals(device_op_block(s.k0, s.k1, device_op_numbers::kResetNormal, s.call_index, m),
                  z);
  }
  PhiloxBlock choice{};
  if (!s.always) {
    choice = device_op_block(s.k0, s.k1, device_op_numbers::kResetChoice, s.call_index, m);
  }
  for (int k = 0; k < 4; ++k) {
    const std::int64_t e = 4 * m + k;
    if (e < begin || e >= end) continue;
    if (!s.always && !reset_chosen(choice[k], s.reset_prob)) continue;
    const float r0 = s.reset_bias != nullptr ? s.reset_bias[e] : 0.0f;
    s.w[e] = device_clip(reset_element(r0, s.noisy, s.reset_std, z[k]), e, s.bounds);
  }
}

struct WriteNoiseQuads {
  float* visible = nullptr;
  const float* hidden = nullptr;
  std::int64_t n = 0;
  const std::uint8_t* mask = nullptr;  // null: every element
  float noise_std = 0.0f;
  std::uint32_t k0 = 0, k1 = 0, call_index = 0;
  AIHW_HD std::int64_t items() const noexcept { return (n + 3) / 4; }
};

AIHW_HD inline void write_noise_quad(const WriteNoiseQuads& s, std::int64_t m) noexcept {
  const int count = block_count(s.n, m);
  if (s.mask != nullptr) {  // no masked-in element: no numbers needed
    bool any = false;
    for (int k = 0; k < count; ++k) any = any || s.mask[4 * m + k] != 0;
    if (!any) return;
  }
  float z[4];
  block_normals(
      device_op_block(s.k0, s.k1, device_op_numbers::kWriteNoiseNormal, s.call_index, m), z);
  for (int k = 0; k < count; ++k) {
    const std::int64_t e = 4 * m + k;
    if (s.mask != nullptr && s.mask[e] == 0) continue;
    s.visible[e] = write_noise_element(s.hidden[e], s.noise_std, z[k]);
  }
}

/// What the entry points refuse: the CPU engine's conditions (device_ops.cpp).
inline void check_device_op(const float* w, std::int64_t n, const DeviceBounds& bounds) {
  if (n < 0) throw std::invalid_argument("negative size");
  if (n > 0 && w == nullptr) throw std::invalid_argument("weights is a null pointer");
  if ((bounds.w_min == nullptr) != (bounds.w_max == nullptr)) {
    throw std::invalid_argument("give both bounds (w_min and w_max) or neither");
  }
  if (n > 0xFFFFFFFFll) throw std::invalid_argument("at most 2**32 - 1 weights");
}

inline DecayQuads decay_quads(float* w, std::int64_t n, const float* decay_scale,
                              const float* reset_bias, DeviceBounds bounds, double alpha) {
  check_device_op(w, n, bounds);
  if (n > 0 && decay_scale == nullptr) throw std::invalid_argument("decay_scale is null");
  DecayQuads s;
  s.w = w;
  s.n = n;
  s.decay_scale = decay_scale;
  s.reset_bias = reset_bias;
  s.bounds = bounds;
  s.alpha = static_cast<float>(alpha);
  return s;
}

inline DiffuseQuads diffuse_quads(float* w, std::int64_t n, const float* rate,
                                  DeviceBounds bounds, std::uint64_t seed,
                                  std::uint32_t call_index) {
  check_device_op(w, n, bounds);
  if (n > 0 && rate == nullptr) throw std::invalid_argument("rate is null");
  const PhiloxKey key = philox_key_from_seed(seed);
  DiffuseQuads s;
  s.w = w;
  s.n = n;
  s.rate = rate;
  s.bounds = bounds;
  s.k0 = key[0];
  s.k1 = key[1];
  s.call_index = call_index;
  return s;
}

inline ResetQuads reset_quads(float* w, std::int64_t d_size, std::int64_t x_size,
                              std::int64_t first_column, std::int64_t n_columns,
                              const float* reset_bias, DeviceBounds bounds, double reset_std,
                              double reset_prob, std::uint64_t seed, std::uint32_t call_index) {
  if (d_size < 0 || x_size < 0) throw std::invalid_argument("negative size");
  check_device_op(w, d_size * x_size, bounds);
  if (first_column < 0 || n_columns < 0 || first_column + n_columns > x_size) {
    throw std::invalid_argument("columns out of range");
  }
  const PhiloxKey key = philox_key_from_seed(seed);
  ResetQuads s;
  s.w = w;
  s.d_size = n_columns == 0 ? 0 : d_size;  // no columns: no items
  s.x_size = x_size;
  s.first_column = first_column;
  s.n_columns = n_columns;
  s.blocks_per_row = (n_columns + 3) / 4 + 1;
  s.reset_bias = reset_bias;
  s.bounds = bounds;
  s.noisy = reset_std > 0.0;
  s.always = reset_prob >= 1.0;
  s.reset_std = static_cast<float>(reset_std);
  s.reset_prob = reset_prob;
  s.k0 = key[0];
  s.k1 = key[1];
  s.call_index = call_index;
  return s;
}

inline WriteNoiseQuads write_noise_quads(float* visible, const float* hidden, std::int64_t n,
                                         const std::uint8_t* mask, float noise_std,
                                         std::uint64_t seed, std::uint32_t call_index) {
  check_device_op(visible, n, DeviceBounds{});
  if (n > 0 && hidden == nullptr) throw std::invalid_argument("hidden is null");
  const PhiloxKey key = philox_key_from_seed(seed);
  WriteNoiseQuads s;
  s.visible = visible;
  s.hidden = hidden;
  s.n = n;
  s.mask = mask;
  s.noise_std = noise_std;
  s.k0 = key[0];
  s.k1 = key[1];
  s.call_index = call_index;
  return s;
}

}  // namespace aihw::cuda

// The periphery stages' work items on the CUDA back-end (contract §8, §11.2): one item per
// four consecutive elements of a row (a quad), so that one Philox block of each stream
// serves all four. The CUDA kernels (periphery.cu) run items in grid-stride loops; the host
// emulation (periphery_emulated.cpp) runs the same items in a plain loop, so the tests on a
// machine without a GPU run the kernels' code. Plain C++ with AIHW_HD: compiled by nvcc
// and by the host compiler.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "aihw/hd.hpp"
#include "aihw/periphery.hpp"
#include "aihw/periphery_ops.hpp"
#include "aihw/philox.hpp"

namespace aihw::cuda {

/// What every item of one stage call needs (passed to the kernel by value).
struct QuadDraw {
  std::uint32_t k0 = 0, k1 = 0;           // the Philox key of the seed
  std::uint32_t call_index = 0;
  const std::uint32_t* row_ids = nullptr;  // null: the row index
};

inline QuadDraw quad_draw(const PeripheryDraw& draw) noexcept {
  const PhiloxKey key = philox_key_from_seed(draw.seed);
  return {key[0], key[1], draw.call_index, draw.row_ids};
}

AIHW_HD inline std::uint32_t stage_c3(std::uint32_t stream, std::uint32_t sub) noexcept {
  return (stream << 28) | (sub & 0x0FFFFFFFu);
}

/// The block of quad `q` of row `r` in the stream with last counter word `c3`.
AIHW_HD inline PhiloxBlock quad_block(const QuadDraw& d, std::int64_t r, std::int64_t q,
                                      std::uint32_t c3) noexcept {
  const std::uint32_t b = d.row_ids != nullptr ? d.row_ids[r] : static_cast<std::uint32_t>(r);
  return philox4x32_10({static_cast<std::uint32_t>(q), b, d.call_index, c3}, {d.k0, d.k1});
}

/// Up to four floats from `p` (`count` of them; a vector load on the GPU when aligned).
AIHW_HD inline void load_quad(const float* p, int count, float (&v)[4]) noexcept {
#if defined(__CUDA_ARCH__)
  if (count == 4 && (reinterpret_cast<std::uintptr_t>(p) & 15u) == 0) {
    const float4 t = *reinterpret_cast<const float4*>(p);
    v[0] = t.x;
    v[1] = t.y;
    v[2] = t.z;
    v[3] = t.w;
    return;
  }
#endif
  for (int k = 0; k < 4; ++k) v[k] = k < count ? p[k] : 0.0f;
}

AIHW_HD inline void store_quad(float* p, int count, const float (&v)[4]) noexcept {
#if defined(__CUDA_ARCH__)
  if (count == 4 && (reinterpret_cast<std::uintptr_t>(p) & 15u) == 0) {
    *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
    return;
  }
#endif
  // Four fixed iterations (not `k < count`): the arrays then stay in registers on the GPU.
  for (int k = 0; k < 4; ++k) {
    if (k < count) p[k] = v[k];
  }
}

/// Sizes and the quad split of an [n_rows, n_cols] stage.
struct QuadGrid {
  std::int64_t n_rows = 0, n_cols = 0, quads_per_row = 0;
  AIHW_HD std::int64_t items() const noexcept { return n_rows * quads_per_row; }
};

inline QuadGrid quad_grid(std::int64_t n_rows, std::int64_t n_cols) noexcept {
  return {n_rows, n_cols, (n_cols + 3) / 4};
}

/// One input-stage call: out = DAC(x * row_scale) (contract §8), out and x [n_rows, n_cols].
struct InputQuads {
  QuadGrid grid;
  const float* x = nullptr;
  float* out = nullptr;
  const float* row_scale = nullptr;  // null: no scaling
  InputOps ops;
  QuadDraw draw;
  std::uint32_t c3_noise = 0, c3_round = 0;
};

AIHW_HD inline void input_quad(const InputQuads& s, std::int64_t item) noexcept {
  const std::int64_t r = item / s.grid.quads_per_row;
  const std::int64_t q = item % s.grid.quads_per_row;
  const std::int64_t j0 = 4 * q;
  const std::int64_t left = s.grid.n_cols - j0;
  const int count = left < 4 ? static_cast<int>(left) : 4;
  float v[4];
  load_quad(s.x + r * s.grid.n_cols + j0, count, v);
  const bool scaled = s.row_scale != nullptr;
  const float scale = scaled ? s.row_scale[r] : 1.0f;
  float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  float off[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  if (s.ops.noisy) {
    const PhiloxBlock w = quad_block(s.draw, r, q, s.c3_noise);
    periphery_box_muller(w[0], w[1], z[0], z[1]);
    periphery_box_muller(w[2], w[3], z[2], z[3]);
  }
  if (s.ops.sto) {
    const PhiloxBlock w = quad_block(s.draw, r, q, s.c3_round);
    for (int k = 0; k < 4; ++k) off[k] = sto_round_offset(w[k]);
  }
  for (int k = 0; k < 4; ++k) v[k] = input_element(v[k], scaled, scale, s.ops, z[k], off[k]);
  store_quad(s.out + r * s.grid.n_cols + j0, count, v);
}

/// One output-stage call, in place on y [n_rows, n_cols]. `hit` [n_rows] must hold zeros
/// before the call: items write only 1s into it (several items of a row may write the
/// same byte, always the same value), so no item reads or clears a flag.
struct OutputQuads {
  QuadGrid grid;
  float* y = nullptr;
  const float* row_scale = nullptr;         // null: no scaling
  const float* noise_per_output = nullptr;  // [n_cols] or null (ops.noise)
  const float* w_noise_std = nullptr;       // [n_rows] (wmode 1) or [n_rows, n_cols] (2)
  OutputOps ops;
  QuadDraw draw;
  std::uint32_t c3_noise = 0, c3_round = 0, c3_w = 0;
  std::uint8_t* hit = nullptr;
};

AIHW_HD inline void output_quad(const OutputQuads& s, std::int64_t item) noexcept {
  const std::int64_t r = item / s.grid.quads_per_row;
  const std::int64_t q = item % s.grid.quads_per_row;
  const std::int64_t j0 = 4 * q;
  const std::int64_t left = s.grid.n_cols - j0;
  const int count = left < 4 ? static_cast<int>(left) : 4;
  float* y = s.y + r * s.grid.n_cols + j0;
  const bool scaled = s.row_scale != nullptr;
  const float scale = scaled ? s.row_scale[r] : 1.0f;
  float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  if (scaled && scale == 0.0f) {  // a zero row (contract §8): exactly +0, no flag, no numbers
    store_quad(y, count, v);
    return;
  }
  load_quad(y, count, v);
  float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  float off[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  float zw[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  if (s.ops.wmode != 0) {
    const PhiloxBlock w = quad_block(s.draw, r, q, s.c3_w);
    periphery_box_muller(w[0], w[1], zw[0], zw[1]);
    periphery_box_muller(w[2], w[3], zw[2], zw[3]);
  }
  if (s.ops.noisy) {
    const PhiloxBlock w = quad_block(s.draw, r, q, s.c3_noise);
    periphery_box_muller(w[0], w[1], z[0], z[1]);
    periphery_box_muller(w[2], w[3], z[2], z[3]);
  }
  if (s.ops.sto) {
    const PhiloxBlock w = quad_block(s.draw, r, q, s.c3_round);
    for (int k = 0; k < 4; ++k) off[k] = sto_round_offset(w[k]);
  }
  int over = 0;
  int under = 0;
  for (int k = 0; k < 4; ++k) {  // fixed trip count: registers, not stack, on the GPU
    if (k >= count) break;
    const std::int64_t j = j0 + k;
    const float wstd = s.ops.wmode == 1   ? s.w_noise_std[r]
                       : s.ops.wmode == 2 ? s.w_noise_std[r * s.grid.n_cols + j]
                                          : 0.0f;
    const float sigma = s.noise_per_output != nullptr ? s.noise_per_output[j] : s.ops.noise;
    v[k] = output_element(v[k], s.ops, wstd, zw[k], sigma, z[k], off[k], scaled, scale, over,
                          under);
  }
  store_quad(y, count, v);
  if (bound_hit(s.ops, over, under)) s.hit[r] = 1;
}

/// What the entry points refuse (the Python layer has checked the tensors already): the
/// CPU engine's conditions, so that both back-ends reject the same calls.
inline void check_stage(std::int64_t n_rows, std::int64_t n_cols, const void* in,
                        const void* out) {
  if (n_rows < 0 || n_cols < 0) {
    throw std::invalid_argument("n_rows=" + std::to_string(n_rows) + ", n_cols=" +
                                std::to_string(n_cols) + ": sizes must be >= 0");
  }
  if (n_cols > 0x3FFFFFFFFll) {
    throw std::invalid_argument("n_cols=" + std::to_string(n_cols) + " must be below 2**34");
  }
  if (n_rows > 0 && n_cols > 0 && (in == nullptr || out == nullptr)) {
    throw std::invalid_argument(std::string(in == nullptr ? "the input" : "the output") +
                                " buffer is null for a " + std::to_string(n_rows) + "x" +
                                std::to_string(n_cols) + " stage");
  }
}

inline void check_input_config(const InputStageConfig& config, std::int64_t n_cols) {
  if (config.x_row_stride != 0 && config.x_row_stride != n_cols) {
    throw std::invalid_argument("x_row_stride=" + std::to_string(config.x_row_stride) +
                                ": the CUDA input stage reads a contiguous x (0 or n_cols=" +
                                std::to_string(n_cols) + ")");
  }
}

inline void check_output_config(const OutputStageConfig& config) {
  if (config.w_noise_mode < 0 || config.w_noise_mode > 2) {
    throw std::invalid_argument("w_noise_mode=" + std::to_string(config.w_noise_mode) +
                                " must be 0, 1 or 2");
  }
  if (config.w_noise_mode != 0 && config.w_noise_std == nullptr) {
    throw std::invalid_argument("w_noise_std is null with w_noise_mode=" +
                                std::to_string(config.w_noise_mode) + " (it needs the stds)");
  }
  if (config.row_stride != 0 || config.accumulate != nullptr ||
      config.accumulate_bias != nullptr) {
    throw std::invalid_argument(
        "row_stride=" + std::to_string(config.row_stride) +
        ": the CUDA output stage has no row_stride, accumulate or accumulate_bias (the general "
        "path of the periphery does not use them)");
  }
}

/// The items of a stage call, from the (checked) arguments of the entry points.
inline InputQuads input_quads(const float* x, float* out, std::int64_t n_rows,
                              std::int64_t n_cols, const float* row_scale,
                              const InputStageConfig& config, const PeripheryDraw& draw) {
  InputQuads s;
  s.grid = quad_grid(n_rows, n_cols);
  s.x = x;
  s.out = out;
  s.row_scale = row_scale;
  s.ops = input_ops(config);
  s.draw = quad_draw(draw);
  s.c3_noise = stage_c3(config.noise_stream, draw.sub);
  s.c3_round = stage_c3(config.round_stream, draw.sub);
  return s;
}

inline OutputQuads output_quads(float* y, std::int64_t n_rows, std::int64_t n_cols,
                                const float* row_scale, const OutputStageConfig& config,
                                const PeripheryDraw& draw, std::uint8_t* hit) {
  OutputQuads s;
  s.grid = quad_grid(n_rows, n_cols);
  s.y = y;
  s.row_scale = row_scale;
  s.noise_per_output = config.noise_per_output;
  s.w_noise_std = config.w_noise_std;
  s.ops = output_ops(config);
  s.draw = quad_draw(draw);
  s.c3_noise = stage_c3(config.noise_stream, draw.sub);
  s.c3_round = stage_c3(config.round_stream, draw.sub);
  s.c3_w = stage_c3(config.w_noise_stream, draw.sub);
  s.hit = hit;
  return s;
}

}  // namespace aihw::cuda

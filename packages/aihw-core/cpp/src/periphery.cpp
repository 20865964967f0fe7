// The fused periphery passes (contract §6). Work is split into (row, column chunk) tasks;
// every random number is addressed by its counter, so results do not depend on threads.
#include "aihw/periphery.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "aihw/thread_pool.hpp"

namespace aihw {
namespace {

constexpr std::int64_t kChunk = 1024;  // columns per task
constexpr int kLanes = 16;

inline std::uint32_t stream_c3(std::uint32_t stream, std::uint32_t sub) noexcept {
  return (stream << 28) | (sub & 0x0FFFFFFFu);
}

inline std::uint32_t row_id(const PeripheryDraw& draw, std::int64_t r) noexcept {
  return draw.row_ids != nullptr ? draw.row_ids[r] : static_cast<std::uint32_t>(r);
}

// Normals (or stochastic-rounding offsets) for elements [begin, begin + count) of one row.
// kind 0: periphery normals; kind 1: float(u - 0.5) with u = word 0 * 2^-32.
void draw_row(float* out, std::int64_t begin, std::int64_t count, PhiloxKey key,
              std::uint32_t c1, std::uint32_t c2, std::uint32_t c3, int kind) {
  std::uint32_t w0[kLanes], w1[kLanes], w2[kLanes], w3[kLanes];
  for (std::int64_t base = 0; base < count; base += kLanes) {
    const int n = static_cast<int>(std::min<std::int64_t>(kLanes, count - base));
    for (int l = 0; l < kLanes; ++l) {
      w0[l] = static_cast<std::uint32_t>(begin + base + (l < n ? l : 0));
      w1[l] = c1;
      w2[l] = c2;
      w3[l] = c3;
    }
    philox4x32_10_lanes<kLanes>(w0, w1, w2, w3, key);
    if (kind == 0) {
      for (int l = 0; l < n; ++l) out[base + l] = periphery_normal({w0[l], w1[l], w2[l], w3[l]});
    } else {
      for (int l = 0; l < n; ++l) {
        out[base + l] = static_cast<float>(uniform_from_word(w0[l]) - 0.5);
      }
    }
  }
}

inline float quantise(float v, float step, bool sto, float offset) noexcept {
  float t = v / step;
  if (sto) t = t + offset;
  return std::nearbyint(t) * step;
}

void check_sizes(std::int64_t n_rows, std::int64_t n_cols) {
  if (n_rows < 0 || n_cols < 0) throw std::invalid_argument("negative size");
  if (n_cols > 0xFFFFFFFFll) throw std::invalid_argument("n_cols must be below 2**32");
}

}  // namespace

void input_stage(const float* x, float* out, std::int64_t n_rows, std::int64_t n_cols,
                 const float* row_scale, const InputStageConfig& config,
                 const PeripheryDraw& draw, int num_threads) {
  check_sizes(n_rows, n_cols);
  if (n_rows == 0 || n_cols == 0) return;
  if (x == nullptr || out == nullptr) throw std::invalid_argument("null buffer");
  const std::int64_t chunks = (n_cols + kChunk - 1) / kChunk;
  const PhiloxKey key = philox_key_from_seed(draw.seed);
  const float step = static_cast<float>(config.step);
  const bool quant = config.step > 0.0;
  const bool sto = quant && config.sto_round;
  const float bound = static_cast<float>(config.bound);
  const bool noisy = config.noise > 0.0;
  const float noise = static_cast<float>(config.noise);
  const bool asym = config.asymmetry > 0.0;
  const float asym_f = static_cast<float>(1.0 - config.asymmetry);
  const std::uint32_t c3_noise = stream_c3(config.noise_stream, draw.sub);
  const std::uint32_t c3_round = stream_c3(config.round_stream, draw.sub);

  parallel_for(resolve_threads(num_threads), n_rows * chunks, [&](std::int64_t task) {
    const std::int64_t r = task / chunks;
    const std::int64_t begin = (task % chunks) * kChunk;
    const std::int64_t count = std::min(kChunk, n_cols - begin);
    float z[kChunk];
    float off[kChunk];
    const std::uint32_t b = row_id(draw, r);
    if (noisy) draw_row(z, begin, count, key, b, draw.call_index, c3_noise, 0);
    if (sto) draw_row(off, begin, count, key, b, draw.call_index, c3_round, 1);
    const float* xr = x + r * n_cols + begin;
    float* vr = out + r * n_cols + begin;
    const float s = row_scale != nullptr ? row_scale[r] : 1.0f;
    for (std::int64_t j = 0; j < count; ++j) {
      float v = xr[j];
      if (row_scale != nullptr) v = v * s;
      if (quant) v = quantise(v, step, sto, sto ? off[j] : 0.0f);
      v = std::min(std::max(v, -bound), bound);
      if (noisy) v = v + noise * z[j];
      if (asym && v < 0.0f) v = v * asym_f;
      vr[j] = v;
    }
  });
}

std::int64_t output_stage(float* y, std::int64_t n_rows, std::int64_t n_cols,
                          const float* row_scale, const OutputStageConfig& config,
                          const PeripheryDraw& draw, std::uint8_t* hit, int num_threads) {
  check_sizes(n_rows, n_cols);
  if (n_rows == 0) return 0;
  if (y == nullptr && n_cols > 0) throw std::invalid_argument("null buffer");
  if (config.w_noise_mode != 0 && config.w_noise_std == nullptr) {
    throw std::invalid_argument("w_noise_std is null");
  }
  const std::int64_t chunks = std::max<std::int64_t>(1, (n_cols + kChunk - 1) / kChunk);
  std::vector<std::uint8_t> task_hit(static_cast<std::size_t>(n_rows * chunks), 0);
  const PhiloxKey key = philox_key_from_seed(draw.seed);
  const float step = static_cast<float>(config.step);
  const bool quant = config.step > 0.0;
  const bool sto = quant && config.sto_round;
  const bool bounded = config.bound > 0.0;
  const float bound = static_cast<float>(config.bound);
  const bool noisy = config.noise > 0.0 || config.noise_per_output != nullptr;
  const float noise = static_cast<float>(config.noise);
  const bool asym = config.asymmetry > 0.0;
  const float asym_f = static_cast<float>(1.0 - config.asymmetry);
  const int wmode = config.w_noise_mode;
  const std::uint32_t c3_noise = stream_c3(config.noise_stream, draw.sub);
  const std::uint32_t c3_round = stream_c3(config.round_stream, draw.sub);
  const std::uint32_t c3_w = stream_c3(config.w_noise_stream, draw.sub);

  parallel_for(resolve_threads(num_threads), n_rows * chunks, [&](std::int64_t task) {
    const std::int64_t r = task / chunks;
    const std::int64_t begin = (task % chunks) * kChunk;
    const std::int64_t count = std::min(kChunk, n_cols - begin);
    if (count <= 0) return;
    float z[kChunk];
    float off[kChunk];
    float zw[kChunk];
    const std::uint32_t b = row_id(draw, r);
    if (noisy) draw_row(z, begin, count, key, b, draw.call_index, c3_noise, 0);
    if (sto) draw_row(off, begin, count, key, b, draw.call_index, c3_round, 1);
    if (wmode != 0) draw_row(zw, begin, count, key, b, draw.call_index, c3_w, 0);
    float* yr = y + r * n_cols + begin;
    const float s = row_scale != nullptr ? row_scale[r] : 1.0f;
    const float* sigma = config.noise_per_output != nullptr ? config.noise_per_output + begin : nullptr;
    const float* wstd = wmode == 2 ? config.w_noise_std + r * n_cols + begin : nullptr;
    const float wrow = wmode == 1 ? config.w_noise_std[r] : 0.0f;
    bool any = false;
    for (std::int64_t i = 0; i < count; ++i) {
      float v = yr[i];
      if (wmode == 1) v = v + wrow * zw[i];
      if (wmode == 2) v = v + wstd[i] * zw[i];
      if (asym && v < 0.0f) v = v * asym_f;
      if (noisy) v = v + (sigma != nullptr ? sigma[i] : noise) * z[i];
      if (quant) v = quantise(v, step, sto, sto ? off[i] : 0.0f);
      if (bounded) {
        if (v > bound) {
          v = bound;
          any = true;
        } else if (v < -bound) {
          v = -bound;
          if (config.test_negative_bound) any = true;
        }
      }
      if (row_scale != nullptr) v = v * s;
      yr[i] = v;
    }
    task_hit[static_cast<std::size_t>(task)] = any ? 1 : 0;
  });
  std::int64_t n_hit = 0;
  for (std::int64_t r = 0; r < n_rows; ++r) {
    std::uint8_t h = 0;
    for (std::int64_t c = 0; c < chunks; ++c) h |= task_hit[static_cast<std::size_t>(r * chunks + c)];
    if (hit != nullptr) hit[r] = h;
    n_hit += h;
  }
  return n_hit;
}

}  // namespace aihw

// The fused periphery passes (contract §8). Work is split into (row, column chunk) tasks;
// every random number is addressed by its counter, so results do not depend on threads.
//
// The hot loops are written branch-free, one step per loop, so that they vectorise; on
// x86-64 with GCC or Clang they are also compiled for AVX2 and picked at run time
// (target_clones). Only integer operations and IEEE float32 operations without FMA are
// used, so every variant gives the same bits.
#include "aihw/periphery.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "aihw/thread_pool.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#define AIHW_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define AIHW_MULTIVERSION
#endif

namespace aihw {
namespace {

constexpr std::int64_t kChunk = 1024;  // columns per task (a multiple of 4)
constexpr int kLanes = 16;

inline std::uint32_t stream_c3(std::uint32_t stream, std::uint32_t sub) noexcept {
  return (stream << 28) | (sub & 0x0FFFFFFFu);
}

inline std::uint32_t row_id(const PeripheryDraw& draw, std::int64_t r) noexcept {
  return draw.row_ids != nullptr ? draw.row_ids[r] : static_cast<std::uint32_t>(r);
}

// Philox4x32-10 on kLanes counters, written so that the compiler vectorises it.
inline void philox_lanes(std::uint32_t* __restrict c0, std::uint32_t* __restrict c1,
                         std::uint32_t* __restrict c2, std::uint32_t* __restrict c3,
                         PhiloxKey key) noexcept {
  using namespace philox_constants;
  std::uint32_t k0 = key[0];
  std::uint32_t k1 = key[1];
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    for (int l = 0; l < kLanes; ++l) {
      const std::uint32_t a = c0[l];
      const std::uint32_t b = c2[l];
      const auto hi1 = static_cast<std::uint32_t>((static_cast<std::uint64_t>(kM1) * b) >> 32);
      const auto hi0 = static_cast<std::uint32_t>((static_cast<std::uint64_t>(kM0) * a) >> 32);
      const std::uint32_t lo1 = kM1 * b;
      const std::uint32_t lo0 = kM0 * a;
      c0[l] = hi1 ^ c1[l] ^ k0;
      c2[l] = hi0 ^ c3[l] ^ k1;
      c1[l] = lo1;
      c3[l] = lo0;
    }
  }
}

// Normals (kind 0) or stochastic-rounding offsets float(u - 0.5), u = word * 2^-32 (kind 1)
// for elements [begin, begin + count) of one row; `begin` is a multiple of 4. Element j
// uses number j % 4 of block j / 4.
AIHW_MULTIVERSION
void draw_row(float* out, std::int64_t begin, std::int64_t count, PhiloxKey key,
              std::uint32_t c1, std::uint32_t c2, std::uint32_t c3, int kind) {
  alignas(32) std::uint32_t w0[kLanes], w1[kLanes], w2[kLanes], w3[kLanes];
  alignas(32) float t0[kLanes], t1[kLanes], t2[kLanes], t3[kLanes];
  const std::int64_t first = begin / 4;
  const std::int64_t n_blocks = (count + 3) / 4;
  for (std::int64_t base = 0; base < n_blocks; base += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      w0[l] = static_cast<std::uint32_t>(first + base + l);
      w1[l] = c1;
      w2[l] = c2;
      w3[l] = c3;
    }
    philox_lanes(w0, w1, w2, w3, key);
    if (kind == 0) {
      for (int l = 0; l < kLanes; ++l) {
        periphery_box_muller(w0[l], w1[l], t0[l], t1[l]);
        periphery_box_muller(w2[l], w3[l], t2[l], t3[l]);
      }
    } else {
      for (int l = 0; l < kLanes; ++l) {
        t0[l] = static_cast<float>(uniform_from_word(w0[l]) - 0.5);
        t1[l] = static_cast<float>(uniform_from_word(w1[l]) - 0.5);
        t2[l] = static_cast<float>(uniform_from_word(w2[l]) - 0.5);
        t3[l] = static_cast<float>(uniform_from_word(w3[l]) - 0.5);
      }
    }
    const std::int64_t done = base * 4;
    if (done + 4 * kLanes <= count) {
      float* o = out + done;
      for (int l = 0; l < kLanes; ++l) {
        o[4 * l] = t0[l];
        o[4 * l + 1] = t1[l];
        o[4 * l + 2] = t2[l];
        o[4 * l + 3] = t3[l];
      }
    } else {
      for (std::int64_t k = 0; done + k < count; ++k) {
        const int l = static_cast<int>(k >> 2);
        const int w = static_cast<int>(k & 3);
        out[done + k] = w == 0 ? t0[l] : (w == 1 ? t1[l] : (w == 2 ? t2[l] : t3[l]));
      }
    }
  }
}

// min(max(v, -b), b) without the reference-returning std::min/max (for the vectoriser).
inline float clip(float v, float b) noexcept {
  const float t = v > b ? b : v;
  return t < -b ? -b : t;
}

struct InputChunk {
  float scale;
  bool scaled, quant, sto, noisy, asym;
  float step, bound, noise, asym_f;
};

AIHW_MULTIVERSION
void input_chunk(const float* __restrict x, float* __restrict v, std::int64_t count,
                 const float* __restrict z, const float* __restrict off, const InputChunk& c) {
  if (x != v) std::copy(x, x + count, v);
  if (c.scaled) {
    for (std::int64_t j = 0; j < count; ++j) v[j] = v[j] * c.scale;
  }
  if (c.quant && c.sto) {
    for (std::int64_t j = 0; j < count; ++j) v[j] = round_half_even(v[j] / c.step + off[j]) * c.step;
  } else if (c.quant) {
    for (std::int64_t j = 0; j < count; ++j) v[j] = round_half_even(v[j] / c.step) * c.step;
  }
  for (std::int64_t j = 0; j < count; ++j) v[j] = clip(v[j], c.bound);
  if (c.noisy) {
    for (std::int64_t j = 0; j < count; ++j) v[j] = v[j] + c.noise * z[j];
  }
  if (c.asym) {
    const float a = c.asym_f;
    for (std::int64_t j = 0; j < count; ++j) v[j] = v[j] * (v[j] < 0.0f ? a : 1.0f);
  }
}

struct OutputChunk {
  float scale;
  bool scaled, quant, sto, noisy, asym, bounded, test_negative;
  int wmode;
  float wrow, step, bound, noise, asym_f;
};

// Returns whether the chunk hit a bound.
AIHW_MULTIVERSION
bool output_chunk(float* __restrict y, std::int64_t count, const float* __restrict z,
                  const float* __restrict off, const float* __restrict zw,
                  const float* __restrict wstd, const float* __restrict sigma,
                  const OutputChunk& c) {
  if (c.wmode == 1) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] + c.wrow * zw[i];
  } else if (c.wmode == 2) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] + wstd[i] * zw[i];
  }
  if (c.asym) {
    const float a = c.asym_f;
    for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] * (y[i] < 0.0f ? a : 1.0f);
  }
  if (c.noisy && sigma != nullptr) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] + sigma[i] * z[i];
  } else if (c.noisy) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] + c.noise * z[i];
  }
  if (c.quant && c.sto) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = round_half_even(y[i] / c.step + off[i]) * c.step;
  } else if (c.quant) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = round_half_even(y[i] / c.step) * c.step;
  }
  bool any = false;
  if (c.bounded) {
    int hp = 0;
    int hn = 0;
    for (std::int64_t i = 0; i < count; ++i) {
      hp += y[i] > c.bound ? 1 : 0;
      hn += y[i] < -c.bound ? 1 : 0;
    }
    for (std::int64_t i = 0; i < count; ++i) y[i] = clip(y[i], c.bound);
    any = hp != 0 || (c.test_negative && hn != 0);
  }
  if (c.scaled) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] * c.scale;
  }
  return any;
}

AIHW_MULTIVERSION
float abs_max(const float* __restrict x, std::int64_t n) {
  constexpr int kAcc = 16;
  float acc[kAcc] = {};
  std::int64_t j = 0;
  for (; j + kAcc <= n; j += kAcc) {
    for (int k = 0; k < kAcc; ++k) {
      const float a = std::fabs(x[j + k]);
      acc[k] = acc[k] > a ? acc[k] : a;
    }
  }
  float m = 0.0f;
  for (int k = 0; k < kAcc; ++k) m = m > acc[k] ? m : acc[k];
  for (; j < n; ++j) {
    const float a = std::fabs(x[j]);
    m = m > a ? m : a;
  }
  return m;
}

void check_sizes(std::int64_t n_rows, std::int64_t n_cols) {
  if (n_rows < 0 || n_cols < 0) throw std::invalid_argument("negative size");
  if (n_cols > 0x3FFFFFFFFll) throw std::invalid_argument("n_cols must be below 2**34");
}

}  // namespace

void row_abs_max(const float* x, float* out, std::int64_t n_rows, std::int64_t n_cols,
                 int num_threads) {
  check_sizes(n_rows, n_cols);
  if (n_rows == 0) return;
  if (out == nullptr || (x == nullptr && n_cols > 0)) throw std::invalid_argument("null buffer");
  // Rows in blocks of about 64k elements per task.
  const std::int64_t per_task = std::max<std::int64_t>(1, 65536 / std::max<std::int64_t>(1, n_cols));
  const std::int64_t tasks = (n_rows + per_task - 1) / per_task;
  parallel_for(resolve_threads(num_threads), tasks, [&](std::int64_t task) {
    const std::int64_t end = std::min(n_rows, (task + 1) * per_task);
    for (std::int64_t r = task * per_task; r < end; ++r) out[r] = abs_max(x + r * n_cols, n_cols);
  });
}

void input_stage(const float* x, float* out, std::int64_t n_rows, std::int64_t n_cols,
                 const float* row_scale, const InputStageConfig& config,
                 const PeripheryDraw& draw, int num_threads) {
  check_sizes(n_rows, n_cols);
  if (n_rows == 0 || n_cols == 0) return;
  if (x == nullptr || out == nullptr) throw std::invalid_argument("null buffer");
  const std::int64_t chunks = (n_cols + kChunk - 1) / kChunk;
  const PhiloxKey key = philox_key_from_seed(draw.seed);
  InputChunk base{};
  base.scaled = row_scale != nullptr;
  base.quant = config.step > 0.0;
  base.sto = base.quant && config.sto_round;
  base.noisy = config.noise > 0.0;
  base.asym = config.asymmetry > 0.0;
  base.step = static_cast<float>(config.step);
  base.bound = static_cast<float>(config.bound);
  base.noise = static_cast<float>(config.noise);
  base.asym_f = static_cast<float>(1.0 - config.asymmetry);
  const std::uint32_t c3_noise = stream_c3(config.noise_stream, draw.sub);
  const std::uint32_t c3_round = stream_c3(config.round_stream, draw.sub);

  parallel_for(resolve_threads(num_threads), n_rows * chunks, [&](std::int64_t task) {
    const std::int64_t r = task / chunks;
    const std::int64_t begin = (task % chunks) * kChunk;
    const std::int64_t count = std::min(kChunk, n_cols - begin);
    alignas(32) float z[kChunk];
    alignas(32) float off[kChunk];
    const std::uint32_t b = row_id(draw, r);
    if (base.noisy) draw_row(z, begin, count, key, b, draw.call_index, c3_noise, 0);
    if (base.sto) draw_row(off, begin, count, key, b, draw.call_index, c3_round, 1);
    InputChunk c = base;
    c.scale = row_scale != nullptr ? row_scale[r] : 1.0f;
    input_chunk(x + r * n_cols + begin, out + r * n_cols + begin, count, z, off, c);
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
  OutputChunk base{};
  base.scaled = row_scale != nullptr;
  base.quant = config.step > 0.0;
  base.sto = base.quant && config.sto_round;
  base.noisy = config.noise > 0.0 || config.noise_per_output != nullptr;
  base.asym = config.asymmetry > 0.0;
  base.bounded = config.bound > 0.0;
  base.test_negative = config.test_negative_bound;
  base.wmode = config.w_noise_mode;
  base.step = static_cast<float>(config.step);
  base.bound = static_cast<float>(config.bound);
  base.noise = static_cast<float>(config.noise);
  base.asym_f = static_cast<float>(1.0 - config.asymmetry);
  const std::uint32_t c3_noise = stream_c3(config.noise_stream, draw.sub);
  const std::uint32_t c3_round = stream_c3(config.round_stream, draw.sub);
  const std::uint32_t c3_w = stream_c3(config.w_noise_stream, draw.sub);

  parallel_for(resolve_threads(num_threads), n_rows * chunks, [&](std::int64_t task) {
    const std::int64_t r = task / chunks;
    const std::int64_t begin = (task % chunks) * kChunk;
    const std::int64_t count = std::min(kChunk, n_cols - begin);
    if (count <= 0) return;
    alignas(32) float z[kChunk];
    alignas(32) float off[kChunk];
    alignas(32) float zw[kChunk];
    const std::uint32_t b = row_id(draw, r);
    if (base.noisy) draw_row(z, begin, count, key, b, draw.call_index, c3_noise, 0);
    if (base.sto) draw_row(off, begin, count, key, b, draw.call_index, c3_round, 1);
    if (base.wmode != 0) draw_row(zw, begin, count, key, b, draw.call_index, c3_w, 0);
    OutputChunk c = base;
    c.scale = row_scale != nullptr ? row_scale[r] : 1.0f;
    c.wrow = base.wmode == 1 ? config.w_noise_std[r] : 0.0f;
    const float* wstd = base.wmode == 2 ? config.w_noise_std + r * n_cols + begin : nullptr;
    const float* sigma =
        config.noise_per_output != nullptr ? config.noise_per_output + begin : nullptr;
    const bool any = output_chunk(y + r * n_cols + begin, count, z, off, zw, wstd, sigma, c);
    task_hit[static_cast<std::size_t>(task)] = any ? 1 : 0;
  });
  std::int64_t n_hit = 0;
  for (std::int64_t r = 0; r < n_rows; ++r) {
    std::uint8_t h = 0;
    for (std::int64_t c = 0; c < chunks; ++c) {
      h |= task_hit[static_cast<std::size_t>(r * chunks + c)];
    }
    if (hit != nullptr) hit[r] = h;
    n_hit += h;
  }
  return n_hit;
}

}  // namespace aihw

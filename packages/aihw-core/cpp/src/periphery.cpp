// The fused periphery passes (contract §8). Work is split into (row, column chunk) tasks;
// every random number is addressed by its counter, so results do not depend on threads.
//
// The hot loops are written branch-free, one step per loop, so that they vectorise; on
// x86-64 with GCC or Clang they are also compiled for AVX2 and picked at run time
// (target_clones). Only integer operations and IEEE float32 operations without FMA are
// used, so every variant gives the same bits.
#include "aihw/periphery.hpp"
#include "aihw/periphery_ops.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "aihw/thread_pool.hpp"
#include "periphery_normals.hpp"
#include "philox_kernels.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#define AIHW_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define AIHW_MULTIVERSION
#endif

namespace aihw {
namespace {

constexpr std::int64_t kChunk = 1024;  // columns per task (a multiple of 4)
// Row-wise loops hand out rows in blocks of about this many values: one row of a small
// layer is ~100 ns of work, less than two threads contending for the task counter cost.
constexpr std::int64_t kTaskValues = 4096;

// Calls body(r0, r1) for blocks of rows [r0, r1) covering [0, n_rows), one task each, of
// about kTaskValues values.
template <class Body>
void for_row_blocks(int num_threads, std::int64_t n_rows, std::int64_t n_cols, Body&& body) {
  const std::int64_t per_task =
      std::max<std::int64_t>(1, kTaskValues / std::max<std::int64_t>(1, n_cols));
  parallel_for(resolve_threads(num_threads), (n_rows + per_task - 1) / per_task,
               [&](std::int64_t task) {
                 body(task * per_task, std::min(n_rows, (task + 1) * per_task));
               });
}

// Calls body(r) for every row r < n_rows, blocks of rows a task (for_row_blocks).
template <class Body>
void for_rows(int num_threads, std::int64_t n_rows, std::int64_t n_cols, Body&& body) {
  for_row_blocks(num_threads, n_rows, n_cols, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) body(r);
  });
}
// Rows of at most kNarrowBlocks blocks (64 columns) draw their numbers for groups of rows
// of about kGroupBlocks blocks together.
constexpr std::int64_t kNarrowBlocks = 16;
constexpr std::int64_t kGroupBlocks = 256;

inline std::uint32_t stream_c3(std::uint32_t stream, std::uint32_t sub) noexcept {
  return (stream << 28) | (sub & 0x0FFFFFFFu);
}

inline std::uint32_t row_id(const PeripheryDraw& draw, std::int64_t r) noexcept {
  return draw.row_ids != nullptr ? draw.row_ids[r] : static_cast<std::uint32_t>(r);
}

// Stochastic-rounding offsets float(u - 0.5), u = word * 2^-32: out[4m + k] from word k of
// block m.
AIHW_MULTIVERSION
void words_to_offsets(const std::uint32_t* __restrict r0, const std::uint32_t* __restrict r1,
                      const std::uint32_t* __restrict r2, const std::uint32_t* __restrict r3,
                      std::int64_t n_blocks, float* __restrict out) {
  // sto_round_offset is one int -> float rounding and an exact scaling: it vectorises,
  // unlike an unsigned -> double conversion.
  for (std::int64_t m = 0; m < n_blocks; ++m) {
    out[4 * m] = sto_round_offset(r0[m]);
    out[4 * m + 1] = sto_round_offset(r1[m]);
    out[4 * m + 2] = sto_round_offset(r2[m]);
    out[4 * m + 3] = sto_round_offset(r3[m]);
  }
}

// Normals (kind 0, periphery_normals_batch) or stochastic-rounding offsets (kind 1).
void words_to_numbers(const std::uint32_t* r0, const std::uint32_t* r1, const std::uint32_t* r2,
                      const std::uint32_t* r3, std::int64_t n_blocks, int kind, float* out) {
  if (kind == 0) {
    detail::periphery_normals_batch()(r0, r1, r2, r3, n_blocks, out);
  } else {
    words_to_offsets(r0, r1, r2, r3, n_blocks, out);
  }
}

// Normals (kind 0) or stochastic-rounding offsets (kind 1) for elements
// [begin, begin + count) of one row, count <= kChunk; `begin` is a multiple of 4. Element j
// uses number j % 4 of block j / 4. The blocks come from the SIMD Philox kernel chosen at
// run time; the words are then turned into numbers in one vectorised loop. With AVX-512,
// the normals of whole blocks are drawn in one fused pass instead (the same bits).
void draw_row(float* out, std::int64_t begin, std::int64_t count, PhiloxKey key,
              std::uint32_t c1, std::uint32_t c2, std::uint32_t c3, int kind) {
  constexpr std::int64_t kBlocks = kChunk / 4;
  alignas(32) std::uint32_t c0s[kBlocks], c3s[kBlocks];
  alignas(32) std::uint32_t r[4][kBlocks];
  std::int64_t first = begin / 4;
  std::int64_t n_blocks = (count + 3) / 4;
  static const detail::PeripheryRowNormalsFn fused = detail::periphery_row_normals();
  if (kind == 0 && fused != nullptr) {
    // Whole blocks in one pass where the CPU allows (the same bits); the rest below.
    const std::int64_t done = fused(static_cast<std::uint32_t>(first), count / 4, c1, c2, c3,
                                    key, out);
    if (done == n_blocks) return;
    first += done;
    n_blocks -= done;
    out += 4 * done;
    count -= 4 * done;
  }
  for (std::int64_t m = 0; m < n_blocks; ++m) {
    c0s[m] = static_cast<std::uint32_t>(first + m);
    c3s[m] = c3;
  }
  detail::philox_batch()(static_cast<std::size_t>(n_blocks), c0s, c1, c2, c3s, key, r[0], r[1],
                         r[2], r[3]);
  if (count == 4 * n_blocks) {
    words_to_numbers(r[0], r[1], r[2], r[3], n_blocks, kind, out);
  } else {  // a ragged end: go through a full-block buffer
    alignas(32) float t[kChunk];
    words_to_numbers(r[0], r[1], r[2], r[3], n_blocks, kind, t);
    std::copy(t, t + count, out);
  }
}

// The numbers (kind as draw_row) of elements [0, 4 n_blocks) of rows r0 .. r1 - 1 (their
// ids c1[r] via row_id), in one batch: row r's at out + (r - r0) * 4 n_blocks. The same
// counters, so the same numbers, as draw_row row by row; for narrow rows, whose few blocks
// would leave most of a vector's lanes idle.
void draw_rows(float* out, std::int64_t r0, std::int64_t r1, std::int64_t n_blocks,
               const PeripheryDraw& draw, PhiloxKey key, std::uint32_t c3, int kind) {
  thread_local std::vector<std::uint32_t> c0s, c1s, c3s, words;
  const auto total = static_cast<std::size_t>((r1 - r0) * n_blocks);
  c0s.resize(total);
  c1s.resize(total);
  c3s.resize(total);
  words.resize(4 * total);
  std::size_t m = 0;
  for (std::int64_t r = r0; r < r1; ++r) {
    const std::uint32_t b = row_id(draw, r);
    for (std::int64_t k = 0; k < n_blocks; ++k, ++m) {
      c0s[m] = static_cast<std::uint32_t>(k);
      c1s[m] = b;
      c3s[m] = c3;
    }
  }
  static const detail::PeripheryLaneNormalsFn fused = detail::periphery_lane_normals();
  if (kind == 0 && fused != nullptr) {  // the same normals in one pass
    fused(total, c0s.data(), c1s.data(), draw.call_index, c3s.data(), key, out);
    return;
  }
  std::uint32_t* w = words.data();
  detail::philox_lanes_planar()(total, c0s.data(), c1s.data(), draw.call_index, c3s.data(), key,
                                w, w + total, w + 2 * total, w + 3 * total);
  words_to_numbers(w, w + total, w + 2 * total, w + 3 * total, static_cast<std::int64_t>(total),
                   kind, out);
}

struct InputChunk {
  float scale;
  bool scaled, quant, sto, noisy, asym;
  float step, bound, noise, asym_f;
};

AIHW_MULTIVERSION
void input_chunk(const float* __restrict x, float* __restrict v, std::int64_t count,
                 const float* __restrict z, const float* __restrict off, const InputChunk& c) {
  if (c.quant && !c.sto && !c.noisy && !c.asym && x != v) {
    // The default DAC (scale, deterministic quantisation, clip) in one loop: the shared
    // element function (the CUDA kernels' too) with its options fixed, so it vectorises;
    // the same operations in the same order as below, so the same bits.
    InputOps o;
    o.quant = true;
    o.step = c.step;
    o.bound = c.bound;
    const float scale = c.scaled ? c.scale : 1.0f;
    for (std::int64_t j = 0; j < count; ++j) v[j] = input_element(x[j], c.scaled, scale, o, 0.0f, 0.0f);
    return;
  }
  if (x != v) std::copy(x, x + count, v);
  if (c.scaled) {
    for (std::int64_t j = 0; j < count; ++j) v[j] = v[j] * c.scale;
  }
  if (c.quant && c.sto) {
    for (std::int64_t j = 0; j < count; ++j) v[j] = quantise(v[j], c.step, true, off[j]);
  } else if (c.quant) {
    for (std::int64_t j = 0; j < count; ++j) v[j] = quantise(v[j], c.step, false, 0.0f);
  }
  for (std::int64_t j = 0; j < count; ++j) v[j] = clip_symmetric(v[j], c.bound);
  if (c.noisy) {
    for (std::int64_t j = 0; j < count; ++j) v[j] = v[j] + c.noise * z[j];
  }
  if (c.asym) {
    const float a = c.asym_f;
    for (std::int64_t j = 0; j < count; ++j) v[j] = asymmetric(v[j], a);
  }
}

struct OutputChunk {
  float scale;
  bool scaled, quant, sto, noisy, asym, bounded, test_negative;
  int wmode;
  float wrow, step, bound, noise, asym_f;
};

// The default output stage (noise, ADC quantisation, clip, rescale) in one loop: the shared
// element function (the CUDA kernels' too) with its options fixed, so it vectorises; the
// same operations in the same order as output_chunk, so the same bits. kPerOutput: the
// noise std comes from `sigma` (one per column) instead of `c.noise`.
template <bool kPerOutput>
inline bool output_chunk_default(float* __restrict y, std::int64_t count,
                                 const float* __restrict z, const float* __restrict sigma,
                                 const OutputChunk& c) {
  OutputOps o;
  o.quant = true;
  o.noisy = true;
  o.bounded = true;
  o.test_negative = c.test_negative;
  o.step = c.step;
  o.bound = c.bound;
  o.noise = c.noise;
  const float scale = c.scaled ? c.scale : 1.0f;
  int hp = 0;
  int hn = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    const float std_i = kPerOutput ? sigma[i] : o.noise;
    y[i] = output_element(y[i], o, 0.0f, 0.0f, std_i, z[i], 0.0f, c.scaled, scale, hp, hn);
  }
  return bound_hit(o, hp, hn);
}

AIHW_MULTIVERSION
bool output_chunk_default_scalar(float* __restrict y, std::int64_t count,
                                 const float* __restrict z, const OutputChunk& c) {
  return output_chunk_default<false>(y, count, z, nullptr, c);
}

AIHW_MULTIVERSION
bool output_chunk_default_per_output(float* __restrict y, std::int64_t count,
                                     const float* __restrict z, const float* __restrict sigma,
                                     const OutputChunk& c) {
  return output_chunk_default<true>(y, count, z, sigma, c);
}

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
    for (std::int64_t i = 0; i < count; ++i) y[i] = asymmetric(y[i], a);
  }
  if (c.noisy && sigma != nullptr) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] + sigma[i] * z[i];
  } else if (c.noisy) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] + c.noise * z[i];
  }
  if (c.quant && c.sto) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = quantise(y[i], c.step, true, off[i]);
  } else if (c.quant) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = quantise(y[i], c.step, false, 0.0f);
  }
  bool any = false;
  if (c.bounded) {
    int hp = 0;
    int hn = 0;
    for (std::int64_t i = 0; i < count; ++i) {
      hp += y[i] > c.bound ? 1 : 0;
      hn += y[i] < -c.bound ? 1 : 0;
    }
    for (std::int64_t i = 0; i < count; ++i) y[i] = clip_symmetric(y[i], c.bound);
    any = hp != 0 || (c.test_negative && hn != 0);
  }
  if (c.scaled) {
    for (std::int64_t i = 0; i < count; ++i) y[i] = y[i] * c.scale;
  }
  return any;
}

// acc += y, or acc = (acc + y) + bias when bias is not null (the order of the unfused
// `out + y` then `out + bias`, so the same bits).
AIHW_MULTIVERSION
void add_into(float* __restrict acc, const float* __restrict y, const float* __restrict bias,
              std::int64_t count) {
  if (bias == nullptr) {
    for (std::int64_t j = 0; j < count; ++j) acc[j] = acc[j] + y[j];
  } else {
    for (std::int64_t j = 0; j < count; ++j) acc[j] = (acc[j] + y[j]) + bias[j];
  }
}

// y += bias (the unfused `out + bias`, so the same bits).
AIHW_MULTIVERSION
void add_bias(float* __restrict y, const float* __restrict bias, std::int64_t count) {
  for (std::int64_t j = 0; j < count; ++j) y[j] = y[j] + bias[j];
}

// max_j |x_j| as the integer maximum of the bit patterns with the sign cleared: for
// non-negative floats the integer order is the float order, and the integer reduction
// vectorises (a float max reduction does not, without -ffast-math). A NaN wins, as in
// torch's amax.
AIHW_MULTIVERSION
float abs_max(const float* __restrict x, std::int64_t n) {
  std::uint32_t m = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    const std::uint32_t a = float_bits(x[j]) & 0x7FFFFFFFu;
    m = m > a ? m : a;
  }
  return bits_float(m);
}

void check_sizes(std::int64_t n_rows, std::int64_t n_cols) {
  if (n_rows < 0 || n_cols < 0) throw std::invalid_argument("negative size");
  if (n_cols > 0x3FFFFFFFFll) throw std::invalid_argument("n_cols must be below 2**34");
}

// The distance between rows of a buffer with n_cols columns: `stride`, or n_cols for 0.
std::int64_t leading_dimension(const char* name, std::int64_t stride, std::int64_t n_cols) {
  if (stride != 0 && stride < n_cols) {
    throw std::invalid_argument(std::string(name) + "=" + std::to_string(stride) +
                                " is invalid; allowed: 0 or >= n_cols (" +
                                std::to_string(n_cols) + ")");
  }
  return stride > 0 ? stride : n_cols;
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

namespace {

// What input_stage and abs_max_input_stage share: the per-call constants and one row.
class InputRows {
 public:
  InputRows(std::int64_t n_cols, const InputStageConfig& config, const PeripheryDraw& draw)
      : n_cols_(n_cols),
        ld_x_(leading_dimension("x_row_stride", config.x_row_stride, n_cols)),
        draw_(draw),
        key_(philox_key_from_seed(draw.seed)) {
    base_.quant = config.step > 0.0;
    base_.sto = base_.quant && config.sto_round;
    base_.noisy = config.noise > 0.0;
    base_.asym = config.asymmetry > 0.0;
    base_.step = static_cast<float>(config.step);
    base_.bound = static_cast<float>(config.bound);
    base_.noise = static_cast<float>(config.noise);
    base_.asym_f = static_cast<float>(1.0 - config.asymmetry);
    c3_noise_ = stream_c3(config.noise_stream, draw.sub);
    c3_round_ = stream_c3(config.round_stream, draw.sub);
  }

  std::int64_t x_row_stride() const noexcept { return ld_x_; }

  // Columns [begin, begin + count) of row r, count <= kChunk.
  void chunk(const float* x, float* out, std::int64_t r, std::int64_t begin, std::int64_t count,
             bool scaled, float scale) const {
    alignas(32) float z[kChunk];
    alignas(32) float off[kChunk];
    const std::uint32_t b = row_id(draw_, r);
    if (base_.noisy) draw_row(z, begin, count, key_, b, draw_.call_index, c3_noise_, 0);
    if (base_.sto) draw_row(off, begin, count, key_, b, draw_.call_index, c3_round_, 1);
    InputChunk c = base_;
    c.scaled = scaled;
    c.scale = scale;
    input_chunk(x + r * ld_x_ + begin, out + r * n_cols_ + begin, count, z, off, c);
  }

 private:
  std::int64_t n_cols_;
  std::int64_t ld_x_;
  PeripheryDraw draw_;
  PhiloxKey key_;
  InputChunk base_{};
  std::uint32_t c3_noise_ = 0, c3_round_ = 0;
};

}  // namespace

void input_stage(const float* x, float* out, std::int64_t n_rows, std::int64_t n_cols,
                 const float* row_scale, const InputStageConfig& config,
                 const PeripheryDraw& draw, int num_threads) {
  check_sizes(n_rows, n_cols);
  if (n_rows == 0 || n_cols == 0) return;
  if (x == nullptr || out == nullptr) throw std::invalid_argument("null buffer");
  const std::int64_t chunks = (n_cols + kChunk - 1) / kChunk;
  const InputRows rows(n_cols, config, draw);
  const bool scaled = row_scale != nullptr;
  if (chunks == 1) {
    for_rows(num_threads, n_rows, n_cols, [&](std::int64_t r) {
      rows.chunk(x, out, r, 0, n_cols, scaled, scaled ? row_scale[r] : 1.0f);
    });
    return;
  }
  parallel_for(resolve_threads(num_threads), n_rows * chunks, [&](std::int64_t task) {
    const std::int64_t r = task / chunks;
    const std::int64_t begin = (task % chunks) * kChunk;
    rows.chunk(x, out, r, begin, std::min(kChunk, n_cols - begin), scaled,
               scaled ? row_scale[r] : 1.0f);
  });
}

std::int64_t abs_max_input_stage(const float* x, float* out, float* nm_scale,
                                 std::int64_t n_rows, std::int64_t n_cols, double nm_thres,
                                 const InputStageConfig& config, const PeripheryDraw& draw,
                                 int num_threads) {
  check_sizes(n_rows, n_cols);
  if (n_rows == 0) return 0;
  if (x == nullptr || out == nullptr || nm_scale == nullptr) {
    throw std::invalid_argument("null buffer");
  }
  const InputRows rows(n_cols, config, draw);
  const float thres = static_cast<float>(nm_thres);
  std::vector<std::uint8_t> skipped(static_cast<std::size_t>(n_rows), 0);
  // Whole rows: a row's maximum is needed before its first chunk. The maxima of a block
  // of rows come first: their reductions overlap, where each row's maximum, reciprocal and
  // quantisation in turn would wait on one another.
  for_row_blocks(num_threads, n_rows, n_cols, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      float s = abs_max(x + r * rows.x_row_stride(), n_cols);
      // A NaN or an infinity in the row (its maximum is then one): the caller's general
      // path refuses such input, so the prepared passes need no check of their own.
      const bool finite = s < std::numeric_limits<float>::infinity();
      if (nm_thres > 0.0 && s > thres) s = thres;
      nm_scale[r] = s;
      if (!(s > 0.0f) || !finite) skipped[static_cast<std::size_t>(r)] = 1;
    }
    for (std::int64_t r = r0; r < r1; ++r) {
      if (skipped[static_cast<std::size_t>(r)] != 0) continue;
      const float scale = 1.0f / nm_scale[r];
      for (std::int64_t begin = 0; begin < n_cols; begin += kChunk) {
        rows.chunk(x, out, r, begin, std::min(kChunk, n_cols - begin), true, scale);
      }
    }
  });
  std::int64_t n_skipped = 0;
  for (const std::uint8_t k : skipped) n_skipped += k;
  return n_skipped;
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
  const std::int64_t ld = leading_dimension("row_stride", config.row_stride, n_cols);
  float* const acc = config.accumulate;
  const float* const acc_bias = config.accumulate_bias;
  const std::int64_t ld_acc =
      leading_dimension("accumulate_row_stride", config.accumulate_row_stride, n_cols);
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
  // The default periphery (noise, deterministic ADC, bound) has a one-loop version.
  const bool fused_default = base.noisy && base.quant && !base.sto && base.bounded &&
                             base.wmode == 0 && !base.asym;

  // Columns [begin, begin + count) of row r (task `task`), with its numbers drawn.
  auto row_chunk = [&](std::int64_t task, std::int64_t r, std::int64_t begin, std::int64_t count,
                       const float* z, const float* off, const float* zw) {
    OutputChunk c = base;
    c.scale = row_scale != nullptr ? row_scale[r] : 1.0f;
    c.wrow = base.wmode == 1 ? config.w_noise_std[r] : 0.0f;
    const float* wstd = base.wmode == 2 ? config.w_noise_std + r * n_cols + begin : nullptr;
    const float* sigma =
        config.noise_per_output != nullptr ? config.noise_per_output + begin : nullptr;
    float* y_chunk = y + r * ld + begin;
    bool any;
    if (base.scaled && c.scale == 0.0f) {  // a zero row (contract §8): exactly 0, no hit
      std::fill(y_chunk, y_chunk + count, 0.0f);
      any = false;
    } else if (fused_default) {
      any = sigma != nullptr ? output_chunk_default_per_output(y_chunk, count, z, sigma, c)
                             : output_chunk_default_scalar(y_chunk, count, z, c);
    } else {
      any = output_chunk(y_chunk, count, z, off, zw, wstd, sigma, c);
    }
    task_hit[static_cast<std::size_t>(task)] = any ? 1 : 0;
    // A row of one chunk is complete here: accumulate it (or add the bias) while it is
    // in cache.
    if (acc != nullptr && chunks == 1 && !any) {
      add_into(acc + r * ld_acc + begin, y_chunk, acc_bias, count);
    } else if (acc_bias != nullptr && chunks == 1 && !any) {
      add_bias(y_chunk, acc_bias, count);
    }
  };
  const bool draws = base.noisy || base.sto || base.wmode != 0;
  const std::int64_t n_blocks = (n_cols + 3) / 4;
  if (draws && chunks == 1 && n_cols > 0 && n_blocks <= kNarrowBlocks) {
    // Narrow rows: the numbers of a group of rows in one batch.
    const std::int64_t group = std::max<std::int64_t>(1, kGroupBlocks / n_blocks);
    parallel_for(resolve_threads(num_threads), (n_rows + group - 1) / group, [&](std::int64_t g) {
      const std::int64_t r0 = g * group, r1 = std::min(n_rows, r0 + group);
      const auto size = static_cast<std::size_t>((r1 - r0) * 4 * n_blocks);
      thread_local std::vector<float> z, off, zw;
      z.resize(size);
      off.resize(size);
      zw.resize(size);
      if (base.noisy) draw_rows(z.data(), r0, r1, n_blocks, draw, key, c3_noise, 0);
      if (base.sto) draw_rows(off.data(), r0, r1, n_blocks, draw, key, c3_round, 1);
      if (base.wmode != 0) draw_rows(zw.data(), r0, r1, n_blocks, draw, key, c3_w, 0);
      for (std::int64_t r = r0; r < r1; ++r) {
        const auto at = static_cast<std::size_t>((r - r0) * 4 * n_blocks);
        row_chunk(r, r, 0, n_cols, z.data() + at, off.data() + at, zw.data() + at);
      }
    });
  } else {
    auto task_body = [&](std::int64_t task) {
      const std::int64_t r = task / chunks;
      const std::int64_t begin = (task % chunks) * kChunk;
      const std::int64_t count = std::min(kChunk, n_cols - begin);
      if (count <= 0) return;
      alignas(32) float z[kChunk];
      alignas(32) float off[kChunk];
      alignas(32) float zw[kChunk];
      const std::uint32_t b = row_id(draw, r);
      if (row_scale == nullptr || row_scale[r] != 0.0f) {  // a zero row uses no numbers
        if (base.noisy) draw_row(z, begin, count, key, b, draw.call_index, c3_noise, 0);
        if (base.sto) draw_row(off, begin, count, key, b, draw.call_index, c3_round, 1);
        if (base.wmode != 0) draw_row(zw, begin, count, key, b, draw.call_index, c3_w, 0);
      }
      row_chunk(task, r, begin, count, z, off, zw);
    };
    if (chunks == 1) {  // task r is row r
      for_rows(num_threads, n_rows, n_cols, task_body);
    } else {
      parallel_for(resolve_threads(num_threads), n_rows * chunks, task_body);
    }
  }
  std::int64_t n_hit = 0;
  for (std::int64_t r = 0; r < n_rows; ++r) {
    std::uint8_t h = 0;
    for (std::int64_t c = 0; c < chunks; ++c) {
      h |= task_hit[static_cast<std::size_t>(r * chunks + c)];
    }
    task_hit[static_cast<std::size_t>(r * chunks)] = h;  // the row's flag, for below
    if (hit != nullptr) hit[r] = h;
    n_hit += h;
  }
  if ((acc != nullptr || acc_bias != nullptr) && chunks > 1 && n_cols > 0) {
    parallel_for(resolve_threads(num_threads), n_rows, [&](std::int64_t r) {
      if (task_hit[static_cast<std::size_t>(r * chunks)] != 0) return;
      if (acc != nullptr) {
        add_into(acc + r * ld_acc, y + r * ld, acc_bias, n_cols);
      } else {
        add_bias(y + r * ld, acc_bias, n_cols);
      }
    });
  }
  return n_hit;
}

}  // namespace aihw

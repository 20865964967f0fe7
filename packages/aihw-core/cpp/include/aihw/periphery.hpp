// The fused periphery passes of an analog MVM (docs/architecture/engine-contract.md §8):
// the input stage (DAC) before torch's matrix product and the output stage (ADC) after it.
//
// Pure C++17 on raw float32 buffers; the Python layer (aihw.core) validates everything,
// computes the per-row noise-management scales and runs the bound-management loop.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "aihw/hd.hpp"
#include "aihw/philox.hpp"

namespace aihw {

/// Periphery streams in the top 4 bits of c3 (contract §8).
namespace periphery_streams {
constexpr std::uint32_t kFwdInputNoise = 6;
constexpr std::uint32_t kFwdOutputNoise = 7;
constexpr std::uint32_t kBwdInputNoise = 8;
constexpr std::uint32_t kBwdOutputNoise = 9;
constexpr std::uint32_t kFwdInputRound = 10;
constexpr std::uint32_t kFwdOutputRound = 11;
constexpr std::uint32_t kFwdWeightNoise = 12;
constexpr std::uint32_t kBwdInputRound = 13;
constexpr std::uint32_t kBwdOutputRound = 14;
constexpr std::uint32_t kBwdWeightNoise = 15;
}  // namespace periphery_streams

/// The periphery's four float32 standard normals of one Philox block (contract §8): a
/// float32 Box-Muller on (r0, r1) and (r2, r3) whose logarithm, sine and cosine are fixed
/// polynomials, evaluated in exactly this order (no FMA), so that the plain-torch reference
/// reproduces every bit.
namespace periphery_normal_constants {
constexpr float kLn2 = static_cast<float>(0.69314718055994530942);
constexpr float kHalfPi = static_cast<float>(1.5707963267948966192);
constexpr float kTwoM24 = static_cast<float>(1.0 / 16777216.0);
constexpr float kL3 = static_cast<float>(1.0 / 3.0);
constexpr float kL5 = static_cast<float>(1.0 / 5.0);
constexpr float kL7 = static_cast<float>(1.0 / 7.0);
constexpr float kL9 = static_cast<float>(1.0 / 9.0);
constexpr float kL11 = static_cast<float>(1.0 / 11.0);
constexpr float kC2 = static_cast<float>(-1.0 / 2.0);
constexpr float kC4 = static_cast<float>(1.0 / 24.0);
constexpr float kC6 = static_cast<float>(-1.0 / 720.0);
constexpr float kC8 = static_cast<float>(1.0 / 40320.0);
constexpr float kC10 = static_cast<float>(-1.0 / 3628800.0);
constexpr float kS3 = static_cast<float>(-1.0 / 6.0);
constexpr float kS5 = static_cast<float>(1.0 / 120.0);
constexpr float kS7 = static_cast<float>(-1.0 / 5040.0);
constexpr float kS9 = static_cast<float>(1.0 / 362880.0);
constexpr float kS11 = static_cast<float>(-1.0 / 39916800.0);
}  // namespace periphery_normal_constants

AIHW_HD inline std::uint32_t float_bits(float f) noexcept {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

AIHW_HD inline float bits_float(std::uint32_t u) noexcept {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

/// Two normals from two words (contract §8).
AIHW_HD inline void periphery_box_muller(std::uint32_t ra, std::uint32_t rb, float& za,
                                 float& zb) noexcept {
  using namespace periphery_normal_constants;
  // Radius: u in (0, 1], u = m 2^e with m in [0.5, 1); ln m by its atanh series.
  const float u = static_cast<float>((ra >> 8) + 1u) * kTwoM24;
  const std::uint32_t bits = float_bits(u);
  const float e = static_cast<float>(static_cast<std::int32_t>((bits >> 23) & 0xFFu) - 126);
  const float m = bits_float((bits & 0x007FFFFFu) | 0x3F000000u);
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  float p = kL11;
  p = p * s2 + kL9;
  p = p * s2 + kL7;
  p = p * s2 + kL5;
  p = p * s2 + kL3;
  p = p * s2 + 1.0f;
  const float ln_u = e * kLn2 + (s * p) * 2.0f;
  const float r2 = ln_u * -2.0f;
  const float rho = std::sqrt(r2 > 0.0f ? r2 : 0.0f);
  // Angle: quadrant from the top 2 bits, phi in [0, pi/2) from the next 24.
  const std::uint32_t q = rb >> 30;
  const float phi = static_cast<float>((rb >> 6) & 0x00FFFFFFu) * kTwoM24 * kHalfPi;
  const float x2 = phi * phi;
  float c = kC10;
  c = c * x2 + kC8;
  c = c * x2 + kC6;
  c = c * x2 + kC4;
  c = c * x2 + kC2;
  c = c * x2 + 1.0f;
  float sn = kS11;
  sn = sn * x2 + kS9;
  sn = sn * x2 + kS7;
  sn = sn * x2 + kS5;
  sn = sn * x2 + kS3;
  sn = sn * x2 + 1.0f;
  sn = sn * phi;
  // cos and sin of q pi/2 + phi: odd quadrants swap c and sn; the sign bits flip for
  // q = 1, 2 (cos) and q = 2, 3 (sin). Bit operations only, so the loop vectorises.
  const std::uint32_t odd = 0u - (q & 1u);
  const std::uint32_t cb = (float_bits(c) & ~odd) | (float_bits(sn) & odd);
  const std::uint32_t sb = (float_bits(sn) & ~odd) | (float_bits(c) & odd);
  const float cq = bits_float(cb ^ (((q + 1u) & 2u) << 30));
  const float sq = bits_float(sb ^ ((q & 2u) << 30));
  za = rho * cq;
  zb = rho * sq;
}

/// The four normals of one block: (z0, z1) from (r0, r1), (z2, z3) from (r2, r3).
AIHW_HD inline std::array<float, 4> periphery_normals(const PhiloxBlock& r) noexcept {
  std::array<float, 4> z{};
  periphery_box_muller(r[0], r[1], z[0], z[1]);
  periphery_box_muller(r[2], r[3], z[2], z[3]);
  return z;
}

/// Round half to even for float32 in the default rounding mode, without a libm call (so
/// that loops vectorise): exact for every float.
AIHW_HD inline float round_half_even(float t) noexcept {
  constexpr float kMagic = 8388608.0f;  // 2^23: floats at or above it are integers
  const float a = std::fabs(t);
  const float r = (a + kMagic) - kMagic;
  return a < kMagic ? std::copysign(r, t) : t;
}

/// Where a stage's random numbers live: element j of a row uses number j % 4 of the block
/// with counter (c0 = j / 4, c1 = row id, c2 = call_index, c3 = stream << 28 | sub).
struct PeripheryDraw {
  std::uint64_t seed = 0;
  std::uint32_t call_index = 0;
  std::uint32_t sub = 0;                    // (bound-management pass << 1) | part
  const std::uint32_t* row_ids = nullptr;   // sample index b of each row; null: the row index
};

struct InputStageConfig {
  double step = 0.0;        // DAC step (<= 0: no quantisation)
  bool sto_round = false;
  double bound = 1.0;       // clip to +-bound (> 0)
  double noise = 0.0;       // Gaussian std after the DAC
  double asymmetry = 0.0;   // negative values times (1 - asymmetry)
  std::uint32_t noise_stream = periphery_streams::kFwdInputNoise;
  std::uint32_t round_stream = periphery_streams::kFwdInputRound;
  std::int64_t x_row_stride = 0;  // elements between rows of x (0: n_cols), for a column block
};

struct OutputStageConfig {
  double step = 0.0;            // ADC step (<= 0: no quantisation)
  bool sto_round = false;
  double bound = 0.0;           // clip to +-bound (<= 0: unbounded)
  bool test_negative_bound = true;
  double noise = 0.0;           // Gaussian std before the ADC (when noise_per_output is null)
  const float* noise_per_output = nullptr;  // [n_cols] stds, replaces `noise`
  double asymmetry = 0.0;       // negative values times (1 - asymmetry)
  int w_noise_mode = 0;         // 0 none, 1 one std per row, 2 one std per element
  const float* w_noise_std = nullptr;       // [n_rows] or [n_rows, n_cols]
  std::uint32_t noise_stream = periphery_streams::kFwdOutputNoise;
  std::uint32_t round_stream = periphery_streams::kFwdOutputRound;
  std::uint32_t w_noise_stream = periphery_streams::kFwdWeightNoise;
  std::int64_t row_stride = 0;  // elements between rows of y (0: n_cols), for a block of a wider y
  // When not null, every row that did not hit a bound is also added into `accumulate`
  // (acc[r, j] = acc[r, j] + y[r, j]), whose rows are `accumulate_row_stride` apart (0:
  // n_cols): the sum over a layer's column splits, done while the row is in cache. Rows
  // that hit a bound are left to the caller (bound management re-runs them first).
  float* accumulate = nullptr;
  std::int64_t accumulate_row_stride = 0;
  // [n_cols]: with `accumulate` added too, acc[r, j] = (acc[r, j] + y[r, j]) + bias[j] (a
  // layer's digital bias, at its last column split); without, added into y itself,
  // y[r, j] = y[r, j] + bias[j] (a layer of one column split). Rows that hit a bound: as
  // above, left to the caller.
  const float* accumulate_bias = nullptr;
};

/// `out[r] = max_j |x[r, j]|` for the rows of `x` [n_rows, n_cols] (abs-max noise
/// management; exact, so the same as torch's).
void row_abs_max(const float* x, float* out, std::int64_t n_rows, std::int64_t n_cols,
                 int num_threads);

/// Input stage, row by row: `v = x * row_scale[r]` (when row_scale is not null), quantise,
/// clip, add noise, asymmetry. `out` is [n_rows, n_cols]; `x` has n_cols columns read with
/// `config.x_row_stride` (0: n_cols, so that x and out may alias).
void input_stage(const float* x, float* out, std::int64_t n_rows, std::int64_t n_cols,
                 const float* row_scale, const InputStageConfig& config,
                 const PeripheryDraw& draw, int num_threads);

/// Abs-max noise management (docs/physics/periphery.md#noise-management) and the input stage in one
/// pass over each row: `s = max_j |x[r, j]|`, clamped to `nm_thres` when that is > 0, is written to
/// `nm_scale[r]`, and the row, scaled by the float32 `1 / s`, goes through the input stage
/// (exactly `input_stage` with `row_scale[r] = 1 / s`). Rows with `s <= 0` are counted and
/// their output left unwritten: the caller treats them (docs/physics/periphery.md#zero-inputs).
/// So are rows holding a NaN or an infinity (whatever `nm_thres`), which the caller refuses.
/// `x` is read with `config.x_row_stride`, as in input_stage.
std::int64_t abs_max_input_stage(const float* x, float* out, float* nm_scale,
                                 std::int64_t n_rows, std::int64_t n_cols, double nm_thres,
                                 const InputStageConfig& config, const PeripheryDraw& draw,
                                 int num_threads);

/// Output stage, in place on `y` [n_rows, n_cols]: weight noise, asymmetry, noise,
/// quantise, clip (flagging bound hits in `hit[r]`, 0 or 1), then `y *= row_scale[r]`
/// (when not null). Returns the number of rows that hit a bound.
std::int64_t output_stage(float* y, std::int64_t n_rows, std::int64_t n_cols,
                          const float* row_scale, const OutputStageConfig& config,
                          const PeripheryDraw& draw, std::uint8_t* hit, int num_threads);

}  // namespace aihw

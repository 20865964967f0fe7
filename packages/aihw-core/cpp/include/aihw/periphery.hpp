// The fused periphery passes of an analog MVM (docs/architecture/engine-contract.md §6):
// the input stage (DAC) before torch's matrix product and the output stage (ADC) after it.
//
// Pure C++17 on raw float32 buffers; the Python layer (aihw.core) validates everything,
// computes the per-row noise-management scales and runs the bound-management loop.
#pragma once

#include <cstdint>

#include "aihw/philox.hpp"

namespace aihw {

/// Periphery streams in the top 4 bits of c3 (contract §6).
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

/// 1 / sqrt(8 (2^32 - 1) / 12): the scale of the centred sum of eight 16-bit uniforms.
inline double periphery_normal_scale() noexcept {
  return 1.0 / std::sqrt(8.0 * (65536.0 * 65536.0 - 1.0) / 12.0);
}

/// The periphery's standard normal of one Philox block (contract §6): the eight 16-bit
/// halves of the block are summed, centred and scaled to unit variance, in double, and
/// rounded to float32.
inline float periphery_normal(const PhiloxBlock& r) noexcept {
  std::int64_t s = 0;
  for (int k = 0; k < 4; ++k) s += static_cast<std::int64_t>(r[k] & 0xFFFFu) + (r[k] >> 16);
  return static_cast<float>(static_cast<double>(s - 262140) * periphery_normal_scale());
}

/// Where a stage's random numbers live: counter (c0 = element, c1 = row id, c2 =
/// call_index, c3 = stream << 28 | sub).
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
};

/// Input stage, row by row: `v = x * row_scale[r]` (when row_scale is not null), quantise,
/// clip, add noise, asymmetry. `x` and `out` are [n_rows, n_cols] (may alias).
void input_stage(const float* x, float* out, std::int64_t n_rows, std::int64_t n_cols,
                 const float* row_scale, const InputStageConfig& config,
                 const PeripheryDraw& draw, int num_threads);

/// Output stage, in place on `y` [n_rows, n_cols]: weight noise, asymmetry, noise,
/// quantise, clip (flagging bound hits in `hit[r]`, 0 or 1), then `y *= row_scale[r]`
/// (when not null). Returns the number of rows that hit a bound.
std::int64_t output_stage(float* y, std::int64_t n_rows, std::int64_t n_cols,
                          const float* row_scale, const OutputStageConfig& config,
                          const PeripheryDraw& draw, std::uint8_t* hit, int num_threads);

}  // namespace aihw

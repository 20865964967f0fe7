// The periphery's per-element arithmetic (docs/architecture/engine-contract.md §8), written
// once for the CPU engine and the CUDA kernels (issue 15): the CPU's scalar loops and the
// kernels' element bodies call these functions, so the CPU tests exercise what the GPU runs.
// IEEE float32 operations in the contract's order; the build forbids FMA contraction.
#pragma once

#include <cstdint>

#include "aihw/hd.hpp"
#include "aihw/periphery.hpp"

namespace aihw {

/// Stochastic-rounding offset `float32(u - 0.5)`, `u = word * 2^-32`: `u - 0.5 = (word - 2^31)
/// 2^-32`, and `word - 2^31` is the word with its top bit flipped read as int32; one int ->
/// float rounding then an exact scaling by a power of two.
AIHW_HD inline float sto_round_offset(std::uint32_t word) noexcept {
  constexpr float kTwoM32f = 1.0f / 4294967296.0f;
  return static_cast<float>(static_cast<std::int32_t>(word ^ 0x80000000u)) * kTwoM32f;
}

/// `min(max(v, -b), b)` without the reference-returning std::min/max (for the vectoriser).
AIHW_HD inline float clip_symmetric(float v, float b) noexcept {
  const float t = v > b ? b : v;
  return t < -b ? -b : t;
}

/// Quantise to `step`: `round_half_even(v / step + off) * step` (`off` = 0 deterministic).
AIHW_HD inline float quantise(float v, float step, bool sto, float off) noexcept {
  return sto ? round_half_even(v / step + off) * step : round_half_even(v / step) * step;
}

/// Asymmetry: negative values times `a` (= 1 - asymmetry).
AIHW_HD inline float asymmetric(float v, float a) noexcept { return v * (v < 0.0f ? a : 1.0f); }

/// The float32 settings of an input stage, as every element uses them.
struct InputOps {
  bool quant = false, sto = false, noisy = false, asym = false;
  float step = 0.0f, bound = 1.0f, noise = 0.0f, asym_f = 1.0f;
};

inline InputOps input_ops(const InputStageConfig& config) noexcept {
  InputOps o;
  o.quant = config.step > 0.0;
  o.sto = o.quant && config.sto_round;
  o.noisy = config.noise > 0.0;
  o.asym = config.asymmetry > 0.0;
  o.step = static_cast<float>(config.step);
  o.bound = static_cast<float>(config.bound);
  o.noise = static_cast<float>(config.noise);
  o.asym_f = static_cast<float>(1.0 - config.asymmetry);
  return o;
}

/// One element of the input stage: scale (when `scaled`), DAC rounding (offset `off` when
/// stochastic), clip to +-bound, noise `z`, asymmetry.
AIHW_HD inline float input_element(float x, bool scaled, float scale, const InputOps& o,
                                   float z, float off) noexcept {
  float v = scaled ? x * scale : x;
  if (o.quant) v = quantise(v, o.step, o.sto, off);
  v = clip_symmetric(v, o.bound);
  if (o.noisy) v = v + o.noise * z;
  if (o.asym) v = asymmetric(v, o.asym_f);
  return v;
}

/// The float32 settings of an output stage, as every element uses them.
struct OutputOps {
  bool quant = false, sto = false, noisy = false, asym = false, bounded = false;
  bool test_negative = true;
  int wmode = 0;  // weight noise: 0 none, 1 one std per row, 2 one per element
  float step = 0.0f, bound = 0.0f, noise = 0.0f, asym_f = 1.0f;
};

inline OutputOps output_ops(const OutputStageConfig& config) noexcept {
  OutputOps o;
  o.quant = config.step > 0.0;
  o.sto = o.quant && config.sto_round;
  o.noisy = config.noise > 0.0 || config.noise_per_output != nullptr;
  o.asym = config.asymmetry > 0.0;
  o.bounded = config.bound > 0.0;
  o.test_negative = config.test_negative_bound;
  o.wmode = config.w_noise_mode;
  o.step = static_cast<float>(config.step);
  o.bound = static_cast<float>(config.bound);
  o.noise = static_cast<float>(config.noise);
  o.asym_f = static_cast<float>(1.0 - config.asymmetry);
  return o;
}

/// One element of the output stage: weight noise `wstd * zw`, asymmetry, output noise
/// `sigma * z`, ADC rounding, clip to +-bound (counting values above `bound` in `over` and
/// below `-bound` in `under`: counters, not flags, so that the CPU loops vectorise), then
/// the row scale (when `scaled`). A row whose scale is 0 does not come here (contract §8:
/// exactly +0, no flag, no numbers).
AIHW_HD inline float output_element(float y, const OutputOps& o, float wstd, float zw,
                                    float sigma, float z, float off, bool scaled, float scale,
                                    int& over, int& under) noexcept {
  if (o.wmode != 0) y = y + wstd * zw;
  if (o.asym) y = asymmetric(y, o.asym_f);
  if (o.noisy) y = y + sigma * z;
  if (o.quant) y = quantise(y, o.step, o.sto, off);
  if (o.bounded) {
    over += y > o.bound ? 1 : 0;
    under += y < -o.bound ? 1 : 0;
    y = clip_symmetric(y, o.bound);
  }
  return scaled ? y * scale : y;
}

/// Whether a row with these counts hit a bound (a negative excess counts under
/// `test_negative_bound` only).
AIHW_HD inline bool bound_hit(const OutputOps& o, int over, int under) noexcept {
  return over != 0 || (o.test_negative && under != 0);
}

}  // namespace aihw

// The weight modifiers of hardware-aware training (docs/physics/inference.md, engine contract
// §12): one pass over a tile's weights that draws the modified copy the training passes use.
//
// Pure C++17; the Python layer (aihw.core.inference.modifiers) checks every buffer and
// parameter first and computes what needs a transcendental function (DoReFa's expm1) with
// torch, so that the plain-torch twin gives the same bits.
#pragma once

#include <cstdint>

#include "aihw/hd.hpp"
#include "aihw/f32_math.hpp"

namespace aihw {

/// What the pass computes per weight `w` (A = the range `amax`, R = the step `res`).
enum class ModifierKind : int {
  kCopy = 0,                 // w
  kDiscretize = 1,           // D(w / A) * A
  kMultNormal = 2,           // w + (w * F) * xi,            F = std_dev * A
  kAddNormal = 3,            // w + F * xi
  kDiscretizeAddNormal = 4,  // D(w / A) * A + F * xi
  kDiscretizeScaled = 5,     // D(w / (2 - |w|) * scale)     (DoReFa: w = sign(W) |expm1(-2|W|)|,
                             //                                so that w / (2 - |w|) = tanh(W))
  kPoly = 6,                 // w + (P(|w| / A) * F) * xi
  kProgNoise = 7,            // |w + (P(|w| / A) * F) * xi| * sign(w), F = std_dev * A / g_max
  kPcmNoise = 8,             // the PCM model's programming, drift and read noise (PcmSettings)
};

/// PCMNoise (docs/physics/inference.md#hardware-aware-training): |W| as a conductance, its
/// programming noise, drift exponent and read noise, the sign of W kept. The floats are
/// those the Python layer computes in double and rounds.
struct PcmSettings {
  float g_max = 25.0f;        // G
  float to_conductance = 1;   // G / A
  float to_weight = 1;        // A / G
  float inv_g_max = 0.04f;    // 1 / G
  float prog_factor = 0;      // G / 25 * std_dev: times P_prog(g / G)
  float zero_threshold = 0;   // conductances below it become 0 (<= 0: none)
  float p_reset = 0;          // stuck at 0 where u < p_reset,
  float p_gmax_end = 0;       // at G where p_reset <= u < p_gmax_end,
  float p_random_end = 0;     // at U' G where p_gmax_end <= u < p_random_end
  bool drift = false;         // t > t0
  float neg_log2_t = 0;       // -log2(t / t0)
  float read_factor = 0;      // std_dev * sqrt(ln((t + t_read) / (2 t_read)))
};

constexpr int kMaxModifierCoeffs = 16;

/// The settings of one pass; every float is the float32 rounding of the double parameter.
struct ModifierSettings {
  ModifierKind kind = ModifierKind::kCopy;
  float amax = 1.0f;   // A
  float factor = 0.0f; // F
  float res = 0.0f;    // R as a fraction of the range; <= 0: no discretisation
  float scale = 1.0f;  // kDiscretizeScaled
  bool sto_round = false;
  float pdrop = 0.0f;  // > 0: weights whose uniform is below it become 0
  int n_coeffs = 0;    // P, lowest order first (kPoly, kProgNoise)
  float coeffs[kMaxModifierCoeffs] = {};
  PcmSettings pcm;     // kPcmNoise
};

/// The modifier's streams (the Python layer's stream numbers k).
enum ModifierStream : int {
  kNoiseStream = 0,
  kRoundStream = 1,
  kDropStream = 2,
  kStuckStream = 3,
  kStuckValueStream = 4,
  kDriftStream = 5,
  kReadStream = 6,
  kModifierStreams = 7,
};

/// The Philox seeds of the streams, by ModifierStream.
struct ModifierSeeds {
  std::uint64_t stream[kModifierStreams] = {};
};

/// Uniform on [0, 1) from a Philox word: its top 24 bits times 2^-24 (exact in float32).
AIHW_HD inline float modifier_uniform(std::uint32_t word) noexcept {
  return static_cast<float>(word >> 8) * (1.0f / 16777216.0f);
}

/// `D(v)`, `res > 0`: `v` to the nearest multiple of `res`, half away from zero. Float32
/// operations in this order.
AIHW_HD inline float modifier_round_nearest(float v, float res) noexcept {
  const float steps = v / res;
  const float sign = pick_f32(steps > 0.0f, 1.0f, 0.0f) - pick_f32(steps < 0.0f, 1.0f, 0.0f);
  return (sign * floor_f32(abs_f32(steps) + 0.5f)) * res;
}

/// `D(v)` with stochastic rounding, `res > 0`: `floor(v / res + u) * res` for the uniform `u`.
AIHW_HD inline float modifier_round_stochastic(float v, float res, float u) noexcept {
  return floor_f32(v / res + u) * res;
}

/// `P(m) = c0 + c1 m + ...` by Horner, from the highest coefficient down.
AIHW_HD inline float modifier_poly(float m, const float* coeffs, int n) noexcept {
  float p = coeffs[n - 1];
  for (int k = n - 2; k >= 0; --k) p = p * m + coeffs[k];
  return p;
}

/// Draw the modified copy: `out[e]` for the `n` weights `w[e]` (row-major; element e takes
/// the numbers of element e of each stream, contract §9's block addressing, counter
/// `call_index`). `w` and `out` may be the same buffer. The result does not depend on the
/// number of threads.
void modify_weights(const float* w, float* out, std::int64_t n, const ModifierSettings& settings,
                    const ModifierSeeds& seeds, std::uint32_t call_index, int num_threads);

}  // namespace aihw

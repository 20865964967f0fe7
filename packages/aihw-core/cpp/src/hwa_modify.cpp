// The weight modifiers of hardware-aware training in one pass (engine contract §12): the
// draws of contract §9's block addressing, chunk by chunk, and the element arithmetic of
// aihw/hwa_modify.hpp in float32 without FMA, so that the plain-torch twin
// (aihw.core.inference.modifiers) gives the same bits.
#include "aihw/hwa_modify.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "aihw/f32_math.hpp"
#include "aihw/thread_pool.hpp"
#include "chunk_numbers.hpp"

namespace aihw {
namespace {

bool draws_normals(ModifierKind kind) {
  return kind == ModifierKind::kMultNormal || kind == ModifierKind::kAddNormal ||
         kind == ModifierKind::kDiscretizeAddNormal || kind == ModifierKind::kPoly ||
         kind == ModifierKind::kProgNoise;
}

bool discretizes(ModifierKind kind) {
  return kind == ModifierKind::kDiscretize || kind == ModifierKind::kDiscretizeAddNormal ||
         kind == ModifierKind::kDiscretizeScaled;
}

void check(const float* w, const float* out, std::int64_t n, const ModifierSettings& s) {
  if (n < 0) throw std::invalid_argument("modify_weights: negative size n=" + std::to_string(n));
  if (n > 0xFFFFFFFFll) {
    throw std::invalid_argument("modify_weights: n=" + std::to_string(n) +
                                " weights; allowed: at most 2**32 - 1");
  }
  if (n > 0 && (w == nullptr || out == nullptr)) {
    throw std::invalid_argument(std::string("modify_weights: ") +
                                (w == nullptr ? "weights" : "out") + " is a null pointer");
  }
  const int kind = static_cast<int>(s.kind);
  if (kind < 0 || kind > static_cast<int>(ModifierKind::kPcmNoise)) {
    throw std::invalid_argument("modify_weights: kind=" + std::to_string(kind) +
                                " is unknown; allowed: 0 to 8 (ModifierKind)");
  }
  const bool poly = s.kind == ModifierKind::kPoly || s.kind == ModifierKind::kProgNoise;
  if (poly && (s.n_coeffs < 1 || s.n_coeffs > kMaxModifierCoeffs)) {
    throw std::invalid_argument("modify_weights: n_coeffs=" + std::to_string(s.n_coeffs) +
                                " must be in [1, 16]");
  }
}

// Every chunk function is compiled for AVX-512, AVX2 and plain x86-64, picked at load time:
// the same operations in the same order, so the same bits (no FMA: -ffp-contract=off).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#define AIHW_MODIFIER_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define AIHW_MODIFIER_CLONES
#endif

// How a pass discretises: not at all (res <= 0), to the nearest step, stochastically.
enum class Rounding { kNone, kNearest, kStochastic };

template <Rounding kRound>
inline float discretized(float v, float res, float u) noexcept {
  if constexpr (kRound == Rounding::kNone) {
    return v;
  } else if constexpr (kRound == Rounding::kNearest) {
    return modifier_round_nearest(v, res);
  } else {
    return modifier_round_stochastic(v, res, u);
  }
}

// The kind's value for one weight; a, f, res, scale are the settings' floats.
template <ModifierKind kKind, Rounding kRound>
inline float modified(float w, float a, float f, float res, float scale, float xi, float u,
                      float poly) noexcept {
  if constexpr (kKind == ModifierKind::kCopy) {
    return w;
  } else if constexpr (kKind == ModifierKind::kDiscretize) {
    return discretized<kRound>(w / a, res, u) * a;
  } else if constexpr (kKind == ModifierKind::kMultNormal) {
    return w + (w * f) * xi;
  } else if constexpr (kKind == ModifierKind::kAddNormal) {
    return w + f * xi;
  } else if constexpr (kKind == ModifierKind::kDiscretizeAddNormal) {
    return discretized<kRound>(w / a, res, u) * a + f * xi;
  } else if constexpr (kKind == ModifierKind::kDiscretizeScaled) {
    return discretized<kRound>(tanh_f32(w) * scale, res, u);
  } else if constexpr (kKind == ModifierKind::kPoly) {
    return w + (poly * f) * xi;
  } else {
    const float sign = pick_f32(w < 0.0f, -1.0f, 1.0f);
    return abs_f32(w + (poly * f) * xi) * sign;
  }
}

template <ModifierKind kKind, Rounding kRound>
inline __attribute__((always_inline)) void modify_loop(
    const float* w, float* out, std::int64_t count,
    const ModifierSettings& s, const float* __restrict xi, const float* __restrict u,
    const float* __restrict poly) {
  const float a = s.amax, f = s.factor, res = s.res, scale = s.scale;
  for (std::int64_t k = 0; k < count; ++k) {
    out[k] = modified<kKind, kRound>(w[k], a, f, res, scale, xi[k], u[k], poly[k]);
  }
}

// One chunk of `count` (<= kChunk) weights; `xi` and `u` are the chunk's normals and
// rounding uniforms (zeros where the pass draws none). `w` and `out` may be one buffer (no
// __restrict on them: each element is read before it is written).
// `poly` is scratch for P(|w| / A), evaluated coefficient by coefficient over the chunk
// (Horner's order per element) so that the loops vectorise.
template <ModifierKind kKind>
inline __attribute__((always_inline)) void modify_chunk_body(
    const float* w, float* out, std::int64_t count,
    const ModifierSettings& s, const float* __restrict xi, const float* __restrict u,
    float* __restrict poly) {
  constexpr bool kPolynomial = kKind == ModifierKind::kPoly || kKind == ModifierKind::kProgNoise;
  if constexpr (kPolynomial) {
    const float top = s.coeffs[s.n_coeffs - 1];
    const float a = s.amax;
    for (std::int64_t k = 0; k < count; ++k) poly[k] = top;
    for (int c = s.n_coeffs - 2; c >= 0; --c) {
      const float coeff = s.coeffs[c];
      for (std::int64_t k = 0; k < count; ++k) {
        poly[k] = poly[k] * (abs_f32(w[k]) / a) + coeff;
      }
    }
  }
  if (!(s.res > 0.0f)) {
    modify_loop<kKind, Rounding::kNone>(w, out, count, s, xi, u, poly);
  } else if (s.sto_round) {
    modify_loop<kKind, Rounding::kStochastic>(w, out, count, s, xi, u, poly);
  } else {
    modify_loop<kKind, Rounding::kNearest>(w, out, count, s, xi, u, poly);
  }
}

// PCM constants in float32: the drift exponent's spread -0.0125 ln(g / G) - 0.0059 as a
// slope in log2, and the read noise's 0.0088 (g / G)^-0.65 (at most 0.2) in log2.
constexpr float kNuSlope = static_cast<float>(-0.0125 * 0.69314718055994530942);
constexpr float kLog2ReadScale = static_cast<float>(-6.828280760912152);  // log2(0.0088)
constexpr float kLog2ReadMax = static_cast<float>(-2.321928094887362);  // log2(0.2)

// The PCM programming-noise polynomial in g / G (microsiemens at a 25 uS maximum).
constexpr float kPcmProgCoeffs[3] = {0.26348f, 1.9650f, -1.1731f};

// The PCM model's conductance of one weight in stages (the order of the torch twin, contract
// §12): no division; one log2 and one exp2 for the read noise, one more of each for the
// drift. The pass runs each stage over a block of weights before the next, so that the long
// dependent chain of one weight (a polynomial or two per stage) overlaps with its
// neighbours' instead of stalling the core: the same operations, so the same bits.

// Stage 1: the programmed conductance g (>= 0) and the target's g / G.
template <bool kStuck>
inline float pcm_programmed(float w, float a, const PcmSettings& p, float xi_prog, float u_stuck,
                            float u_value, float& g_r) noexcept {
  const float magnitude = abs_f32(w);
  float g = pick_f32(magnitude < a, magnitude, a) * p.to_conductance;
  g = pick_f32(g < p.zero_threshold, 0.0f, g);
  if constexpr (kStuck) {
    g = pick_f32(u_stuck < p.p_reset, 0.0f, g);
    g = pick_f32((u_stuck >= p.p_reset) & (u_stuck < p.p_gmax_end), p.g_max, g);
    g = pick_f32((u_stuck >= p.p_gmax_end) & (u_stuck < p.p_random_end), u_value * p.g_max, g);
  }
  g_r = g * p.inv_g_max;
  const float rate = modifier_poly(g_r, kPcmProgCoeffs, 3) * p.prog_factor;
  g = g + rate * xi_prog;
  return pick_f32(g < 0.0f, 0.0f, g);
}

// Stage 2a (t > t0): log2 of the drift factor (t / t0)^-nu, nu's spread from the target g_r.
inline float pcm_log_drift(float g_r, const PcmSettings& p, float xi_drift) noexcept {
  // g_r below 0.017 (0 too: log2 gives -127) has the largest spread, 0.045
  float sigma_nu = log2_f32(g_r) * kNuSlope - 0.0059f;
  sigma_nu = pick_f32(sigma_nu < 0.008f, 0.008f, sigma_nu);
  sigma_nu = pick_f32(sigma_nu > 0.045f, 0.045f, sigma_nu);
  const float nu = abs_f32(sigma_nu * xi_drift);
  const float log_drift = nu * p.neg_log2_t;  // <= 0; exp2_f32 takes it down to -126
  return pick_f32(log_drift < -126.0f, -126.0f, log_drift);
}

// Stage 3a: log2 of the read noise's relative std 0.0088 (g / G)^-0.65, at most 0.2.
inline float pcm_log_read(float g, const PcmSettings& p) noexcept {
  // in [-90, log2(0.2)]: log2 of a finite float is at most 128
  const float log_q = log2_f32(g * p.inv_g_max) * -0.65f + kLog2ReadScale;
  return pick_f32(log_q > kLog2ReadMax, kLog2ReadMax, log_q);
}

// Stage 3b: the read conductance (>= 0) with the sign of w, back in weight units.
inline float pcm_read_weight(float w, float g_drift, float log_q, const PcmSettings& p,
                             float xi_read) noexcept {
  const float read = (exp2_f32(log_q) * p.read_factor) * g_drift;  // >= 0
  float g = g_drift + read * xi_read;
  g = pick_f32(g < 0.0f, 0.0f, g);
  // copysign(g, w): the magnitude of g with the sign bit of w
  const std::uint32_t sign = float_bits(w) & 0x80000000u;
  return bits_float((float_bits(g) & 0x7FFFFFFFu) | sign) * p.to_weight;
}

// Weights per stage block: its temporaries stay in L1 while every stage loop has many
// independent iterations.
constexpr std::int64_t kPcmBlock = 256;

// One chunk of PCMNoise; without stuck devices their uniforms are not read.
template <bool kDrift, bool kStuck>
inline __attribute__((always_inline)) void pcm_chunk_body(
    const float* w, float* out, std::int64_t count,
    const ModifierSettings& s, const float* __restrict xi_prog,
    const float* __restrict xi_drift, const float* __restrict xi_read,
    const float* __restrict u_stuck, const float* __restrict u_value) {
  const float a = s.amax;
  const PcmSettings pcm = s.pcm;
  alignas(64) float g[kPcmBlock];
  alignas(64) float g_r[kPcmBlock];
  alignas(64) float log_q[kPcmBlock];
  for (std::int64_t at = 0; at < count; at += kPcmBlock) {
    const std::int64_t n = std::min(kPcmBlock, count - at);
    const float* wb = w + at;
    for (std::int64_t k = 0; k < n; ++k) {
      g[k] = pcm_programmed<kStuck>(wb[k], a, pcm, xi_prog[at + k],
                                    kStuck ? u_stuck[at + k] : 0.0f,
                                    kStuck ? u_value[at + k] : 0.0f, g_r[k]);
    }
    // the read noise's std follows the programmed g, before the drift
    for (std::int64_t k = 0; k < n; ++k) log_q[k] = pcm_log_read(g[k], pcm);
    if constexpr (kDrift) {
      for (std::int64_t k = 0; k < n; ++k) g_r[k] = pcm_log_drift(g_r[k], pcm, xi_drift[at + k]);
      for (std::int64_t k = 0; k < n; ++k) g[k] = exp2_f32(g_r[k]) * g[k];  // g_r: log2 drift
    }
    for (std::int64_t k = 0; k < n; ++k) {
      out[at + k] = pcm_read_weight(wb[k], g[k], log_q[k], pcm, xi_read[at + k]);
    }
  }
}

using PcmChunkFn = void (*)(const float*, float*, std::int64_t, const ModifierSettings&,
                            const float*, const float*, const float*, const float*,
                            const float*);

#define AIHW_PCM_CHUNK(name, drift, stuck)                                                 \
  AIHW_MODIFIER_CLONES void name(const float* w, float* out, std::int64_t count,            \
                                 const ModifierSettings& s, const float* xi_prog,           \
                                 const float* xi_drift, const float* xi_read,               \
                                 const float* u_stuck, const float* u_value) {              \
    pcm_chunk_body<drift, stuck>(w, out, count, s, xi_prog, xi_drift, xi_read, u_stuck,     \
                                 u_value);                                                  \
  }
AIHW_PCM_CHUNK(pcm_chunk_drift, true, false)
AIHW_PCM_CHUNK(pcm_chunk_plain, false, false)
AIHW_PCM_CHUNK(pcm_chunk_drift_stuck, true, true)
AIHW_PCM_CHUNK(pcm_chunk_stuck, false, true)
#undef AIHW_PCM_CHUNK

PcmChunkFn pcm_chunk_function(bool drift, bool stuck) {
  if (stuck) return drift ? pcm_chunk_drift_stuck : pcm_chunk_stuck;
  return drift ? pcm_chunk_drift : pcm_chunk_plain;
}

using ChunkFn = void (*)(const float*, float*, std::int64_t, const ModifierSettings&,
                         const float*, const float*, float*);

#define AIHW_MODIFIER_CHUNK(name, kind)                                                    \
  AIHW_MODIFIER_CLONES void name(const float* w, float* out, std::int64_t count,           \
                                 const ModifierSettings& s, const float* xi, const float* u, \
                                 float* poly) {                                            \
    modify_chunk_body<kind>(w, out, count, s, xi, u, poly);                                \
  }
AIHW_MODIFIER_CHUNK(chunk_copy, ModifierKind::kCopy)
AIHW_MODIFIER_CHUNK(chunk_discretize, ModifierKind::kDiscretize)
AIHW_MODIFIER_CHUNK(chunk_mult_normal, ModifierKind::kMultNormal)
AIHW_MODIFIER_CHUNK(chunk_add_normal, ModifierKind::kAddNormal)
AIHW_MODIFIER_CHUNK(chunk_discretize_add_normal, ModifierKind::kDiscretizeAddNormal)
AIHW_MODIFIER_CHUNK(chunk_discretize_scaled, ModifierKind::kDiscretizeScaled)
AIHW_MODIFIER_CHUNK(chunk_poly, ModifierKind::kPoly)
AIHW_MODIFIER_CHUNK(chunk_prog_noise, ModifierKind::kProgNoise)
#undef AIHW_MODIFIER_CHUNK

ChunkFn chunk_function(ModifierKind kind) {
  switch (kind) {
    case ModifierKind::kCopy: return chunk_copy;
    case ModifierKind::kDiscretize: return chunk_discretize;
    case ModifierKind::kMultNormal: return chunk_mult_normal;
    case ModifierKind::kAddNormal: return chunk_add_normal;
    case ModifierKind::kDiscretizeAddNormal: return chunk_discretize_add_normal;
    case ModifierKind::kDiscretizeScaled: return chunk_discretize_scaled;
    case ModifierKind::kPoly: return chunk_poly;
    case ModifierKind::kProgNoise: return chunk_prog_noise;
    case ModifierKind::kPcmNoise: return nullptr;  // pcm_chunk
  }
  return nullptr;
}

}  // namespace

void modify_weights(const float* w, float* out, std::int64_t n, const ModifierSettings& settings,
                    const ModifierSeeds& seeds, std::uint32_t call_index, int num_threads) {
  check(w, out, n, settings);
  if (n == 0) return;
  const bool pcm = settings.kind == ModifierKind::kPcmNoise;
  const bool normals = pcm || draws_normals(settings.kind);
  const bool rounds = settings.sto_round && settings.res > 0.0f && discretizes(settings.kind);
  const bool drops = settings.pdrop > 0.0f;
  const bool drift = pcm && settings.pcm.drift;
  const bool stuck = pcm && settings.pcm.p_random_end > 0.0f;
  PhiloxKey keys[kModifierStreams];
  for (int k = 0; k < kModifierStreams; ++k) keys[k] = philox_key_from_seed(seeds.stream[k]);
  const std::uint32_t op = device_op_numbers::kDiffusionNormal;
  const std::int64_t chunks = (n + kChunk - 1) / kChunk;
  const ChunkFn run = pcm ? nullptr : chunk_function(settings.kind);
  parallel_for(resolve_threads(num_threads), chunks, [&](std::int64_t task) {
    const std::int64_t begin = task * kChunk;
    const std::int64_t count = std::min(kChunk, n - begin);
    // Per thread, not on the stack: a chunk's numbers of several streams are ~200 KB.
    thread_local ChunkNumbers noise, second, third;
    thread_local float zeros[4 * kChunkBlocks] = {};
    thread_local float uniforms[4 * kChunkBlocks];
    thread_local float values[4 * kChunkBlocks];
    thread_local float poly[4 * kChunkBlocks];
    if (normals) noise.draw_normals(begin, count, keys[kNoiseStream], op, call_index);
    if (rounds) {
      second.draw_words(begin, count, keys[kRoundStream], op, call_index);
      for (std::int64_t k = 0; k < count; ++k) uniforms[k] = modifier_uniform(second.words[k]);
    }
    if (pcm) {
      if (drift) second.draw_normals(begin, count, keys[kDriftStream], op, call_index);
      third.draw_normals(begin, count, keys[kReadStream], op, call_index);
      if (stuck) {
        ChunkNumbers& words = noise;  // its word buffer is free once its normals are drawn
        words.draw_words(begin, count, keys[kStuckStream], op, call_index);
        for (std::int64_t k = 0; k < count; ++k) uniforms[k] = modifier_uniform(words.words[k]);
        words.draw_words(begin, count, keys[kStuckValueStream], op, call_index);
        for (std::int64_t k = 0; k < count; ++k) values[k] = modifier_uniform(words.words[k]);
      }
      const PcmChunkFn pcm_chunk = pcm_chunk_function(drift, stuck);
      pcm_chunk(w + begin, out + begin, count, settings, noise.normals,
                drift ? second.normals : zeros, third.normals, stuck ? uniforms : zeros,
                stuck ? values : zeros);
    } else {
      run(w + begin, out + begin, count, settings, normals ? noise.normals : zeros,
          rounds ? uniforms : zeros, poly);
    }
    if (drops) {
      third.draw_words(begin, count, keys[kDropStream], op, call_index);
      const float pdrop = settings.pdrop;
      float* o = out + begin;
      for (std::int64_t k = 0; k < count; ++k) {
        o[k] = pick_f32(modifier_uniform(third.words[k]) < pdrop, 0.0f, o[k]);
      }
    }
  });
}

}  // namespace aihw

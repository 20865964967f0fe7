// The float32 functions of aihw/f32_math.hpp (exact rounding, accurate ln/exp) and the weight
// modifier's pass (contract §12): formulas, thread independence, checks.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "aihw/f32_math.hpp"
#include "aihw/hwa_modify.hpp"
#include "check.hpp"

using namespace aihw;

namespace {
float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
bool same_bits(float a, float b) { return float_bits(a) == float_bits(b); }
}  // namespace

TEST_CASE(round_and_floor_are_exact_for_every_finite_float_sampled) {
  int bad = 0;
  for (std::uint64_t u = 0; u < 0x100000000ull; u += 251) {  // 17 M floats of every exponent
    const float x = from_bits(static_cast<std::uint32_t>(u));
    if (!std::isfinite(x)) continue;
    if (!same_bits(round_even_f32(x), std::nearbyint(x))) ++bad;
    const float f = std::floor(x);
    if (floor_f32(x) != f || (f != 0.0f && !same_bits(floor_f32(x), f))) ++bad;
  }
  CHECK(bad == 0);
}

TEST_CASE(exp_and_tanh_are_accurate_on_their_ranges) {
  double worst_exp = 0;
  for (double y = -87.0; y < 88.0; y += 0.0013) {
    const float x = static_cast<float>(y);
    worst_exp = std::fmax(worst_exp, std::fabs(exp_f32(x) / std::exp(static_cast<double>(x)) - 1));
  }
  CHECK(worst_exp < 5e-7);
  CHECK(std::fabs(tanh_f32(0.5f) - std::tanh(0.5)) < 2e-7);
  CHECK(tanh_f32(-30.0f) == -1.0f);
}

// Error in units in the last place of the float32 nearest to `exact`.
double ulps(double got, double exact) {
  const float f = static_cast<float>(std::fabs(exact));
  const double ulp = static_cast<double>(std::nextafter(f, INFINITY)) - static_cast<double>(f);
  return std::fabs(got - exact) / ulp;
}

TEST_CASE(log2_and_exp2_are_accurate_for_every_exponent) {
  double worst_log2 = 0, worst_exp2 = 0;
  for (std::uint32_t e = 1; e < 255; ++e) {  // every normal exponent, 4099 mantissas each
    for (std::uint32_t m = 0; m < 0x800000u; m += 2047) {
      const float x = from_bits(e << 23 | m);
      worst_log2 = std::fmax(worst_log2, ulps(log2_f32(x), std::log2(static_cast<double>(x))));
    }
  }
  for (double y = -125.0; y <= 127.0; y += 0.00061) {
    const float x = static_cast<float>(y);
    worst_exp2 = std::fmax(worst_exp2, ulps(exp2_f32(x), std::exp2(static_cast<double>(x))));
  }
  CHECK(worst_log2 < 2.5);
  CHECK(worst_exp2 < 2.5);
  CHECK(log2_f32(1.0f) == 0.0f && log2_f32(0.0f) == -127.0f && log2_f32(8.0f) == 3.0f);
  CHECK(exp2_f32(0.0f) == 1.0f && exp2_f32(-3.0f) == 0.125f && exp2_f32(127.0f) == 0x1p127f);
}

TEST_CASE(the_pass_follows_its_formulas_and_not_the_thread_count) {
  const std::int64_t n = 10007;  // two chunks and a ragged end
  std::vector<float> w(n);
  for (std::int64_t e = 0; e < n; ++e) w[e] = static_cast<float>(e % 97) / 48.0f - 1.0f;
  ModifierSettings s;
  s.kind = ModifierKind::kDiscretize;
  s.amax = 2.0f;
  s.res = 0.125f;
  std::vector<float> one(n), two(n);
  ModifierSeeds seeds;
  modify_weights(w.data(), one.data(), n, s, seeds, 0, 1);
  for (std::int64_t e = 0; e < n; ++e) {
    const float steps = (w[e] / 2.0f) / 0.125f;
    const float expected = std::copysign(std::floor(std::fabs(steps) + 0.5f), steps) * 0.125f * 2.0f;
    CHECK(one[e] == expected);
  }
  s.kind = ModifierKind::kPcmNoise;
  s.pdrop = 0.2f;
  s.pcm.drift = true;
  s.pcm.neg_log2_t = -1.0f;
  s.pcm.read_factor = 1.0f;
  s.pcm.prog_factor = 1.0f;
  s.pcm.to_conductance = 12.5f;
  s.pcm.to_weight = 0.08f;
  for (int k = 0; k < kModifierStreams; ++k) seeds.stream[k] = 1000u + k;
  modify_weights(w.data(), one.data(), n, s, seeds, 3, 1);
  modify_weights(w.data(), two.data(), n, s, seeds, 3, 2);
  CHECK(std::memcmp(one.data(), two.data(), n * sizeof(float)) == 0);
}

TEST_CASE(bad_input_is_refused) {
  ModifierSettings s;
  s.kind = static_cast<ModifierKind>(9);
  float w = 1.0f, out = 0.0f;
  bool threw = false;
  try {
    modify_weights(&w, &out, 1, s, {}, 0, 1);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw && out == 0.0f);
}

TEST_MAIN()

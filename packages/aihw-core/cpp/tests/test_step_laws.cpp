// Each step law's pulse formula (engine contract §7) on single cross-points, against the
// formula written out in double (and, for exp_step and pow_step, in float32 with exp_f32 and
// pow_f32, bit for bit), and its edge cases: clipping, dead devices (w_min == w_max) that
// still consume their normals, pow(0, 0) = 1, piecewise table ends, scalar checks; pow_f32's
// accuracy and exact cases.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "aihw/step_laws.hpp"
#include "check.hpp"

using namespace aihw;

namespace {

// Hands out fixed normals and counts the draws.
struct FixedNoise {
  std::vector<float> xi;
  std::size_t used = 0;
  float next() { return xi[used++ % xi.size()]; }
};

// One cross-point: dw_up, dw_down, w_min, w_max, then up to three extra arrays.
struct Point {
  float v[7];
  const float* ptrs[7];
  Point(float dw_up, float dw_down, float lo, float hi, float e0 = 0.0f, float e1 = 0.0f,
        float e2 = 0.0f)
      : v{dw_up, dw_down, lo, hi, e0, e1, e2} {
    for (int k = 0; k < 7; ++k) ptrs[k] = &v[k];
  }
};

double clipd(double w, double lo, double hi) { return std::min(std::max(w, lo), hi); }
float clipf(float w, float lo, float hi) { return std::min(std::max(w, lo), hi); }
bool same_bits(float a, float b) { return float_bits(a) == float_bits(b); }

}  // namespace

TEST_CASE(linear_step_single_pulses) {
  Point p(0.01f, 0.02f, -1.0f, 1.0f, -0.005f, 0.004f);  // slope_up, slope_down
  for (double mult : {0.0, 1.0}) {
    for (double sigma : {0.0, 0.3}) {
      const double scalars[] = {sigma, mult};
      const LinearStepLaw law(p.ptrs, scalars);
      CHECK(law.draws_noise() == (sigma != 0.0));
      for (bool up : {true, false}) {
        FixedNoise noise{{0.7f}};
        const float w0 = 0.4f;
        const float w = law.apply_pulses(w0, 1, up, 0, noise);
        const double dw = up ? 0.01 : 0.02, slope = up ? -0.005 : 0.004;
        const double f = sigma != 0.0 ? 1.0 + sigma * 0.7 : 1.0;
        const double lin = slope * w0;
        const double step = mult != 0.0 ? (dw + lin) * f : lin + dw * f;
        CHECK_NEAR(w, w0 + (up ? step : -step), 1e-6);
        CHECK(noise.used == (sigma != 0.0 ? 1u : 0u));
      }
    }
  }
  // n pulses are n single pulses; clipping at the bounds
  const double scalars[] = {0.0, 0.0};
  const LinearStepLaw law(p.ptrs, scalars);
  FixedNoise noise{{0.0f}};
  float w = 0.3f;
  for (int k = 0; k < 5; ++k) w = law.apply_pulses(w, 1, true, 0, noise);
  CHECK(law.apply_pulses(0.3f, 5, true, 0, noise) == w);
  CHECK(law.apply_pulses(0.999f, 3, true, 0, noise) == 1.0f);
  CHECK(law.check_scalars(scalars, 2).empty() && !law.check_scalars(scalars, 1).empty());
}

TEST_CASE(soft_bounds_reference_single_pulses) {
  // device bounds [-0.6, 0.8], reference 0.1: the read weight lies in [-0.7, 0.7]
  const float ref = 0.1f;
  Point p(0.01f, 0.02f, -0.6f - ref, 0.8f - ref, -0.01f / 0.8f, 0.02f / 0.6f, ref);
  for (double mult : {0.0, 1.0}) {
    for (double sigma : {0.0, 0.3}) {
      const double scalars[] = {sigma, mult};
      const SoftBoundsReferenceLaw law(p.ptrs, scalars);
      CHECK(law.draws_noise() == (sigma != 0.0));
      for (bool up : {true, false}) {
        for (float w0 : {-0.7f, -0.2f, 0.4f, 0.695f}) {
          FixedNoise noise{{0.7f}};
          const float w = law.apply_pulses(w0, 1, up, 0, noise);
          // docs/physics/devices.md#soft-bounds-reference in double: v = w + ref, the soft-bounds
          // step of v, clip, v - ref; additive noise is dw * s * xi, whatever the reference
          const double v = w0 + 0.1, dw = up ? 0.01 : 0.02;
          const double shrink = up ? 1.0 - v / 0.8 : 1.0 - v / -0.6;
          const double noise_term = sigma != 0.0 ? sigma * 0.7 : 0.0;
          const double step = mult != 0.0 ? dw * shrink * (1.0 + noise_term)
                                          : dw * (shrink + noise_term);
          CHECK_NEAR(w, clipd(v + (up ? step : -step), -0.6, 0.8) - 0.1, 1e-6);
          CHECK(noise.used == (sigma != 0.0 ? 1u : 0u));
        }
      }
    }
  }
  // n pulses are n single pulses; a reference of 0 is linear_step
  const double scalars[] = {0.3, 0.0};
  const SoftBoundsReferenceLaw law(p.ptrs, scalars);
  FixedNoise noise{{0.5f, -1.2f, 0.1f}};
  float w = 0.3f;
  for (int k = 0; k < 3; ++k) w = law.apply_pulses(w, 1, false, 0, noise);
  CHECK(law.apply_pulses(0.3f, 3, false, 0, noise) == w);
  Point zero(0.01f, 0.02f, -0.6f, 0.8f, -0.01f / 0.8f, 0.02f / 0.6f, 0.0f);
  const SoftBoundsReferenceLaw with_zero(zero.ptrs, scalars);
  const LinearStepLaw linear(zero.ptrs, scalars);
  FixedNoise a{{0.5f, -1.2f}}, b{{0.5f, -1.2f}};
  CHECK(with_zero.apply_pulses(0.3f, 2, true, 0, a) == linear.apply_pulses(0.3f, 2, true, 0, b));
  CHECK(law.check_scalars(scalars, 2).empty() && !law.check_scalars(scalars, 1).empty());
}

TEST_CASE(exp_step_single_pulses) {
  Point p(0.01f, 0.02f, -0.5f, 0.7f);
  // sigma, A_up, A_down, gamma_up, gamma_down, a, b, add, slope
  for (int variant = 0; variant < 3; ++variant) {
    const double sigma = variant == 0 ? 0.0 : 0.2;
    const double add = variant == 2 ? 0.001 : 0.0, sl = variant == 2 ? 0.05 : 0.0;
    const double s[] = {sigma, 0.00081, 0.36833, 12.44625, 12.78785, -0.37030, -0.38, add, sl};
    const ExpStepLaw law(p.ptrs, s);
    for (bool up : {true, false}) {
      for (float w0 : {-0.3f, 0.0f, 0.25f}) {
        FixedNoise noise{{-1.1f}};
        const float w = law.apply_pulses(w0, 1, up, 0, noise);
        const double z = 2.0 * s[5] * w0 / 1.2 + s[6];
        double dw = up ? std::max(1.0 - s[1] * std::exp(s[3] * z), 0.0) * 0.01
                       : -std::max(1.0 - s[2] * std::exp(-s[4] * z), 0.0) * 0.02;
        if (sigma != 0.0) {
          if (variant == 2) {
            dw = dw + sigma * (std::fabs(dw) + add + sl * std::fabs(w0)) * -1.1;
          } else {
            dw = dw * (1.0 + sigma * -1.1);
          }
        }
        CHECK_NEAR(w, clipd(w0 + dw, -0.5, 0.7), 1e-6);
        CHECK(noise.used == (sigma != 0.0 ? 1u : 0u));
        // the contract's float32 operations, exp by exp_f32: the same bits
        const auto f = [](double v) { return static_cast<float>(v); };
        const float zf = 2.0f * f(s[5]) * w0 / (0.7f - -0.5f) + f(s[6]);
        const float y = up ? std::max(1.0f - f(s[1]) * exp_f32(f(s[3]) * zf), 0.0f)
                           : std::max(1.0f - f(s[2]) * exp_f32(-f(s[4]) * zf), 0.0f);
        float dwf = up ? y * 0.01f : -(y * 0.02f);
        if (sigma != 0.0) {
          dwf = variant == 2 ? dwf + f(sigma) * (std::fabs(dwf) + f(add) + f(sl) * std::fabs(w0)) * -1.1f
                             : dwf * (1.0f + f(sigma) * -1.1f);
        }
        CHECK(same_bits(w, clipf(w0 + dwf, -0.5f, 0.7f)));
      }
    }
  }
  // a dead device does not move but consumes its normals
  Point dead(0.01f, 0.02f, 0.1f, 0.1f);
  const double s[] = {0.3, 0.1, 0.1, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0};
  const ExpStepLaw law(dead.ptrs, s);
  FixedNoise noise{{0.5f}};
  CHECK(law.apply_pulses(0.3f, 4, true, 0, noise) == 0.3f);
  CHECK(noise.used == 4u);
}

TEST_CASE(pow_step_single_pulses) {
  Point p(0.01f, 0.02f, -0.5f, 0.7f, 1.5f, 0.8f);  // gamma_up, gamma_down
  for (double sigma : {0.0, 0.25}) {
    const double s[] = {sigma};
    const PowStepLaw law(p.ptrs, s);
    for (bool up : {true, false}) {
      for (float w0 : {-0.5f, -0.1f, 0.3f, 0.7f}) {
        FixedNoise noise{{0.9f}};
        const float w = law.apply_pulses(w0, 1, up, 0, noise);
        const double base = up ? (0.7 - w0) / 1.2 : (w0 + 0.5) / 1.2;
        double dw = (up ? 0.01 : 0.02) * std::pow(base, up ? 1.5 : 0.8);
        if (sigma != 0.0) dw *= 1.0 + sigma * 0.9;
        CHECK_NEAR(w, clipd(w0 + (up ? dw : -dw), -0.5, 0.7), 1e-6);
        // the contract's float32 operations, pow by pow_f32: the same bits
        const float basef = (up ? 0.7f - w0 : w0 - -0.5f) / (0.7f - -0.5f);
        float dwf = (up ? 0.01f : 0.02f) * pow_f32(basef, up ? 1.5f : 0.8f);
        if (sigma != 0.0) dwf = dwf * (1.0f + static_cast<float>(sigma) * 0.9f);
        CHECK(same_bits(w, clipf(w0 + (up ? dwf : -dwf), -0.5f, 0.7f)));
      }
    }
    // a weight beyond the bound it moves toward does not step (its base is floored at 0)
    FixedNoise noise{{0.9f}};
    CHECK(law.apply_pulses(0.8f, 1, true, 0, noise) == 0.7f);
    CHECK(law.apply_pulses(-0.6f, 1, false, 0, noise) == -0.5f);
  }
  // gamma 0 is a constant step (pow(1, 0) = 1); pow(0, 0) = 1 as the contract says
  CHECK(pow_f32(0.0f, 0.0f) == 1.0f);
  Point zero(0.01f, 0.02f, -0.5f, 0.7f, 0.0f, 0.0f);
  const double s0[] = {0.0};
  const PowStepLaw law0(zero.ptrs, s0);
  FixedNoise noise{{0.0f}};
  CHECK(law0.apply_pulses(0.7f, 1, false, 0, noise) == 0.7f - 0.02f);
  Point dead(0.01f, 0.02f, 0.2f, 0.2f, 1.0f, 1.0f);
  const double s1[] = {0.5};
  const PowStepLaw law1(dead.ptrs, s1);
  CHECK(law1.apply_pulses(0.2f, 3, false, 0, noise) == 0.2f && noise.used == 3u);
}

namespace {
float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
// Error in units in the last place of the float32 nearest to `exact`.
double ulps(double got, double exact) {
  const float f = static_cast<float>(std::fabs(exact));
  const double ulp = static_cast<double>(std::nextafter(f, INFINITY)) - static_cast<double>(f);
  return std::fabs(got - exact) / ulp;
}
}  // namespace

TEST_CASE(pow_f32_is_accurate_for_every_exponent) {
  // within 2 + 1.5 |g log2 x| units in the last place where the result is a normal float;
  // 0 below 2^-126, +inf from 2^128
  int bad = 0, checked = 0;
  for (float g : {0.05f, 0.5f, 0.8f, 1.0f, 1.5f, 2.0f, 3.7f, -0.5f, -1.3f}) {
    for (std::uint32_t e = 0; e < 160; ++e) {  // subnormals to 2^32
      for (std::uint32_t m = 0; m < 0x800000u; m += 8191) {
        const float x = from_bits(e << 23 | m);
        if (!(x > 0.0f)) continue;
        const double exact = std::pow(static_cast<double>(x), static_cast<double>(g));
        const float got = pow_f32(x, g);
        if (exact >= 0x1p-126 && exact < 0x1p127) {
          const double size = std::fabs(static_cast<double>(g) * std::log2(static_cast<double>(x)));
          bad += ulps(got, exact) > 2.0 + 1.5 * size;
          ++checked;
        } else if (exact < 0x1p-127) {
          bad += got != 0.0f;
        } else if (exact >= 0x1p128) {
          bad += got != INFINITY;
        }
      }
    }
  }
  CHECK(bad == 0);
  CHECK(checked > 500000);
}

TEST_CASE(pow_f32_exact_cases) {
  const float inf = INFINITY, nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(pow_f32(0.0f, 1.5f) == 0.0f && pow_f32(0.0f, 0.3f) == 0.0f && pow_f32(-0.0f, 2.5f) == 0.0f);
  CHECK(pow_f32(0.0f, 0.0f) == 1.0f && pow_f32(0.0f, -0.7f) == inf);
  CHECK(pow_f32(1.0f, 123.4f) == 1.0f && pow_f32(1.0f, -9.0f) == 1.0f && pow_f32(1.0f, nan) == 1.0f);
  CHECK(pow_f32(0.3f, 0.0f) == 1.0f && pow_f32(nan, 0.0f) == 1.0f && pow_f32(inf, 0.0f) == 1.0f);
  CHECK(pow_f32(inf, 0.5f) == inf && pow_f32(inf, -0.5f) == 0.0f);
  CHECK(pow_f32(0.5f, inf) == 0.0f && pow_f32(0.5f, -inf) == inf && pow_f32(2.0f, inf) == inf);
  CHECK(pow_f32(0.25f, 0.5f) == 0.5f && pow_f32(0.5f, 3.0f) == 0.125f);
  CHECK(pow_f32(0x1p-100f, 2.0f) == 0.0f && pow_f32(0x1p-100f, -1.5f) == inf);
  CHECK(ulps(pow_f32(0x1p-149f, 0.5f), std::sqrt(0x1p-149)) <= 2.0);  // a subnormal base
  CHECK(std::isnan(pow_f32(-0.5f, 2.0f)) && std::isnan(pow_f32(-2.0f, 0.5f)));
  CHECK(std::isnan(pow_f32(nan, 1.0f)) && std::isnan(pow_f32(0.5f, nan)));
}

// A DOWN pulse of pow_step from w = b in [w_min, w_max] = [0, 1] with dw a power of 2 that
// puts dw * b^g well inside (b/2, b): w - dw * pow is exact, so the new weight shows every
// bit of pow, which must be pow_f32's (every exponent of b, several g).
TEST_CASE(pow_step_computes_pow_f32_bit_for_bit) {
  int bad = 0, checked = 0;
  for (float g : {0.05f, 0.5f, 0.8f, 1.1f, 1.5f, 2.0f, 3.7f, -0.5f, -1.3f}) {
    for (std::uint32_t e = 1; e < 127; ++e) {  // normal b < 1
      for (std::uint32_t m = 0; m < 0x800000u; m += 65521) {
        const float b = from_bits(e << 23 | m);
        const double u = (1.0 - g) * std::log2(static_cast<double>(b));  // log2(b / b^g)
        const double k = std::floor(u);
        if (u - k < 0.1 || u - k > 0.9 || k < -126 || k > 127) continue;
        if (std::fabs(g * std::log2(static_cast<double>(b))) >= 126) continue;
        const float dw = static_cast<float>(std::ldexp(1.0, static_cast<int>(k)));
        Point p(1.0f, dw, 0.0f, 1.0f, 1.0f, g);
        const double s[] = {0.0};
        const PowStepLaw law(p.ptrs, s);
        FixedNoise noise{{0.0f}};
        const float w = law.apply_pulses(b, 1, false, 0, noise);
        bad += !same_bits(w, b - dw * pow_f32(b, g)) || !(w > 0.0f && w < b / 2);
        ++checked;
      }
    }
  }
  CHECK(bad == 0);
  CHECK(checked > 5000);
}

// An UP pulse of exp_step from w = 0 (z = b) with A = 2^-k that puts A exp(b) in (1/2, 1]:
// the new weight y = 1 - A exp(b) is exact, so it shows every bit of exp, which must be
// exp_f32's (b over exp's range, both ends of its clamp).
TEST_CASE(exp_step_computes_exp_f32_bit_for_bit) {
  int bad = 0, checked = 0;
  Point p(1.0f, 1.0f, -1.0f, 1.0f);
  for (double arg = -124.0; arg < 124.0; arg += 0.0371) {
    const float b = static_cast<float>(arg);
    const float a = std::fmin(std::fmax(b, -87.0f), 88.0f);  // exp_f32's clamp
    const int k = static_cast<int>(std::ceil(a / std::log(2.0)));
    const double s[] = {0.0, std::ldexp(1.0, -k), 1.0, 1.0, 1.0, 0.0, b, 0.0, 0.0};
    const ExpStepLaw law(p.ptrs, s);
    FixedNoise noise{{0.0f}};
    const float w = law.apply_pulses(0.0f, 1, true, 0, noise);
    const float amp = static_cast<float>(s[1]);
    bad += !same_bits(w, std::max(1.0f - amp * exp_f32(b), 0.0f));
    checked += w > 0.0f && w < 0.5f;  // inside the exact window
  }
  CHECK(bad == 0);
  CHECK(checked > 6000);
}

TEST_CASE(piecewise_step_single_pulses) {
  Point p(0.01f, 0.02f, -1.0f, 1.0f);
  // up (1, 0.8, 0.3), down (0.3, 0.8, 1.0), flattened with their lengths
  for (double sigma : {0.0, 0.1}) {
    const std::vector<double> s{sigma, 3, 1.0, 0.8, 0.3, 3, 0.3, 0.8, 1.0};
    CHECK(PiecewiseStepLaw::check_scalars(s.data(), s.size()).empty());
    const PiecewiseStepLaw law(p.ptrs, s.data());
    for (bool up : {true, false}) {
      for (float w0 : {-1.0f, -0.4f, 0.0f, 0.5f, 1.0f}) {
        FixedNoise noise{{-0.4f}};
        const float w = law.apply_pulses(w0, 1, up, 0, noise);
        const double* v = up ? &s[2] : &s[6];
        const double pos = std::max((w0 + 1.0) / 2.0 * 2.0, 0.0);
        const double k = std::min(std::floor(pos), 1.0);
        const double t = std::min(pos - k, 1.0);
        const int i = static_cast<int>(k);
        double dw = (up ? 0.01 : 0.02) * ((1.0 - t) * v[i] + t * v[i + 1]);
        if (sigma != 0.0) dw *= 1.0 + sigma * -0.4;
        CHECK_NEAR(w, clipd(w0 + (up ? dw : -dw), -1.0, 1.0), 1e-6);
      }
    }
  }
  // a single-value table is a constant factor
  const std::vector<double> one{0.0, 1, 0.5, 1, 2.0};
  const PiecewiseStepLaw law(p.ptrs, one.data());
  FixedNoise noise{{0.0f}};
  CHECK(law.apply_pulses(0.0f, 1, true, 0, noise) == 0.0f + 0.01f * 0.5f);
  CHECK(law.apply_pulses(0.0f, 1, false, 0, noise) == 0.0f - 0.02f * 2.0f);
  // scalar layout checks
  const std::vector<double> bad_len{0.0, 2, 1.0, 0.5, 3, 1.0, 0.5, 0.2};
  const std::vector<double> empty{0.0, 0, 0};
  const std::vector<double> frac{0.0, 1.5, 1.0, 1.5, 1.0};
  CHECK(!PiecewiseStepLaw::check_scalars(bad_len.data(), bad_len.size()).empty());
  CHECK(!PiecewiseStepLaw::check_scalars(empty.data(), empty.size()).empty());
  CHECK(!PiecewiseStepLaw::check_scalars(frac.data(), frac.size()).empty());
  CHECK(!PiecewiseStepLaw::check_scalars(one.data(), 2).empty());
  CHECK(check_law_scalars(5, one.data(), one.size()).empty());
  CHECK(!check_law_scalars(4, one.data(), one.size()).empty());
}

TEST_CASE(registry_lists_every_law) {
  const char* names[] = {"constant_step", "linear_step",    "exp_step",
                         "pow_step",      "piecewise_step", "soft_bounds_reference"};
  for (int id = 1; id <= 6; ++id) {
    const LawSpec* spec = find_law(id);
    CHECK(spec != nullptr && std::string(spec->name) == names[id - 1]);
  }
  CHECK(find_law(0) == nullptr && find_law(7) == nullptr);
}

TEST_MAIN()

// Logarithm, exponential and tanh in float32 from +, -, *, / and bit operations only, in a
// fixed order (no FMA), so that loops vectorise without libm and the plain-torch twin
// (aihw.core.reference.f32_math) reproduces every bit (engine contract §12). Accurate to a
// few units in the last place on their ranges (docs/architecture/engine-contract.md §12).
#pragma once

#include <cstdint>

#include "aihw/hd.hpp"
#include "aihw/periphery.hpp"

namespace aihw {

namespace f32_math_constants {
constexpr float kLn2Hi = 0.693145751953125f;  // 0x3F317200: n * kLn2Hi is exact for |n| < 256
constexpr float kLn2Lo = static_cast<float>(1.4286068202862268e-6);  // ln 2 - kLn2Hi
constexpr float kInvLn2 = static_cast<float>(1.4426950408889634074);
constexpr float kSqrtHalf = static_cast<float>(0.70710678118654752440);
constexpr float kA3 = static_cast<float>(1.0 / 3.0);
constexpr float kA5 = static_cast<float>(1.0 / 5.0);
constexpr float kA7 = static_cast<float>(1.0 / 7.0);
constexpr float kA9 = static_cast<float>(1.0 / 9.0);
constexpr float kE2 = static_cast<float>(1.0 / 2.0);
constexpr float kE3 = static_cast<float>(1.0 / 6.0);
constexpr float kE4 = static_cast<float>(1.0 / 24.0);
constexpr float kE5 = static_cast<float>(1.0 / 120.0);
constexpr float kE6 = static_cast<float>(1.0 / 720.0);
constexpr float kE7 = static_cast<float>(1.0 / 5040.0);
constexpr float kExpLow = -87.0f;  // exp_f32 clamps its argument to [kExpLow, kExpHigh]
constexpr float kExpHigh = 88.0f;
}  // namespace f32_math_constants

/// `c ? a : b` by a bit mask: no branch, so that loops with it vectorise on any x86-64 (a
/// float ternary is a branch to the compiler where float comparisons may trap).
AIHW_HD inline float pick_f32(bool c, float a, float b) noexcept {
  const std::uint32_t mask = 0u - static_cast<std::uint32_t>(c);
  return bits_float((float_bits(a) & mask) | (float_bits(b) & ~mask));
}

/// |x| by clearing the sign bit.
AIHW_HD inline float abs_f32(float x) noexcept { return bits_float(float_bits(x) & 0x7FFFFFFFu); }

/// Round to the nearest integer, ties to even (as round_half_even and torch.round): exact
/// for every float, with bit selects only.
AIHW_HD inline float round_even_f32(float t) noexcept {
  constexpr float kMagic = 8388608.0f;  // 2^23: floats at or above it are integers
  const std::uint32_t bits = float_bits(t);
  const std::uint32_t magnitude = bits & 0x7FFFFFFFu;
  const float r = (bits_float(magnitude) + kMagic) - kMagic;
  const float signed_r = bits_float(float_bits(r) | (bits & 0x80000000u));
  return pick_f32(magnitude < 0x4B000000u, signed_r, t);  // 0x4B000000 = 2^23; NaN: t
}

/// floor(x), exact for every float: the nearest integer, one less where that is above x.
AIHW_HD inline float floor_f32(float x) noexcept {
  const float r = round_even_f32(x);
  return r - pick_f32(r > x, 1.0f, 0.0f);
}

/// ln(x) for a positive normal float: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
/// ln m = 2 atanh(s), s = (m - 1) / (m + 1), by its series to s^9. 0 and subnormals give
/// about -88 instead of -inf.
AIHW_HD inline float ln_f32(float x) noexcept {
  using namespace f32_math_constants;
  const std::uint32_t bits = float_bits(x);
  float e = static_cast<float>(static_cast<std::int32_t>((bits >> 23) & 0xFFu) - 126);
  float m = bits_float((bits & 0x007FFFFFu) | 0x3F000000u);  // [0.5, 1)
  const bool low = m < kSqrtHalf;
  m = pick_f32(low, m + m, m);
  e = pick_f32(low, e - 1.0f, e);
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  float p = kA9;
  p = p * s2 + kA7;
  p = p * s2 + kA5;
  p = p * s2 + kA3;
  p = p * s2 + 1.0f;
  return e * kLn2Hi + (e * kLn2Lo + (s + s) * p);
}

/// exp(y), y clamped to [-87, 88]: y = n ln 2 + r with |r| <= ln 2 / 2 (Cody-Waite), e^r by
/// its Taylor series to r^7, times 2^n built from bits.
AIHW_HD inline float exp_f32(float y) noexcept {
  using namespace f32_math_constants;
  y = pick_f32(y < kExpLow, kExpLow, y);
  y = pick_f32(y > kExpHigh, kExpHigh, y);
  const float n = round_even_f32(y * kInvLn2);
  const float r = (y - n * kLn2Hi) - n * kLn2Lo;
  float p = kE7;
  p = p * r + kE6;
  p = p * r + kE5;
  p = p * r + kE4;
  p = p * r + kE3;
  p = p * r + kE2;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const std::uint32_t two_n = static_cast<std::uint32_t>(static_cast<std::int32_t>(n) + 127) << 23;
  return p * bits_float(two_n);
}

/// tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2 |x|): within about 1e-7 of tanh (absolute).
AIHW_HD inline float tanh_f32(float x) noexcept {
  const float e = exp_f32(-2.0f * abs_f32(x));
  const float t = (1.0f - e) / (1.0f + e);
  return bits_float(float_bits(t) | (float_bits(x) & 0x80000000u));  // t >= 0
}

}  // namespace aihw

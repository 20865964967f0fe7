// Logarithms, exponentials, powers and tanh in float32 from +, -, *, / and bit operations
// only, in a fixed order (no FMA), so that loops vectorise without libm and the plain-torch
// twin (aihw.core.reference.f32_math) reproduces every bit (engine contract §12, §7). Accurate to a
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
constexpr float kE2 = static_cast<float>(1.0 / 2.0);
constexpr float kE3 = static_cast<float>(1.0 / 6.0);
constexpr float kE4 = static_cast<float>(1.0 / 24.0);
constexpr float kE5 = static_cast<float>(1.0 / 120.0);
constexpr float kE6 = static_cast<float>(1.0 / 720.0);
constexpr float kE7 = static_cast<float>(1.0 / 5040.0);
// log2(1 + t) / t on [sqrt(1/2) - 1, sqrt(2) - 1) (minimax, degree 8; log2_f32)
constexpr std::uint32_t kSqrtHalfBits = 0x3F3504F3u;  // float sqrt(1/2), log2_f32's lower end
constexpr float kL0 = 1.4426950216293335f;
constexpr float kL1 = -0.7213469743728638f;
constexpr float kL2 = 0.480910062789917f;
constexpr float kL3 = -0.3607138693332672f;
constexpr float kL4 = 0.28792858123779297f;
constexpr float kL5 = -0.238970085978508f;
constexpr float kL6 = 0.21577052772045135f;
constexpr float kL7 = -0.2060668021440506f;
constexpr float kL8 = 0.12328066676855087f;
// 2^r on [-1/2, 1/2] (minimax, degree 6, constant term 1; exp2_f32)
constexpr float kP1 = 0.6931471824645996f;
constexpr float kP2 = 0.24022650718688965f;
constexpr float kP3 = 0.05550375208258629f;
constexpr float kP4 = 0.009618166834115982f;
constexpr float kP5 = 0.001338515430688858f;
constexpr float kP6 = 0.00015405584417749196f;
constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: x + it - it rounds x, |x| < 2^22
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

/// 2^n for an integer-valued float n in [-126, 127], built from the exponent bits.
AIHW_HD inline float pow2_f32(float n) noexcept {
  return bits_float(static_cast<std::uint32_t>(static_cast<std::int32_t>(n) + 127) << 23);
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
  return p * pow2_f32(n);
}

/// log2(x) for a positive normal float, without a division or a select (the PCM pass):
/// x = m 2^e with m in [sqrt(1/2), sqrt(2)) by integer arithmetic on the bits, then
/// log2 m = t P(t), t = m - 1 (exact), P the degree-8 minimax polynomial of log2(1 + t) / t
/// on that range (relative error 1.4e-8; with the float32 rounding within 2 units in the
/// last place). 0 gives -127, subnormals about -127.
AIHW_HD inline float log2_f32(float x) noexcept {
  using namespace f32_math_constants;
  // the bits minus those of sqrt(1/2): its exponent field is e (arithmetic shift)
  const std::int32_t offset = static_cast<std::int32_t>(float_bits(x) - kSqrtHalfBits);
  const std::int32_t e = offset >> 23;
  const float m = bits_float(float_bits(x) - (static_cast<std::uint32_t>(e) << 23));
  const float t = m - 1.0f;
  float p = kL8;
  p = p * t + kL7;
  p = p * t + kL6;
  p = p * t + kL5;
  p = p * t + kL4;
  p = p * t + kL3;
  p = p * t + kL2;
  p = p * t + kL1;
  p = p * t + kL0;
  return static_cast<float>(e) + t * p;
}

/// 2^y for y in [-126, 127] (unchecked: callers bound it): y = n + r, n = round_even(y) by
/// adding and subtracting 1.5 * 2^23, |r| <= 1/2 exact; 2^r by the degree-6 minimax
/// polynomial (within 2 units in the last place), times 2^n built from bits.
AIHW_HD inline float exp2_f32(float y) noexcept {
  using namespace f32_math_constants;
  const float n = (y + kRoundMagic) - kRoundMagic;
  const float r = y - n;
  float p = kP6;
  p = p * r + kP5;
  p = p * r + kP4;
  p = p * r + kP3;
  p = p * r + kP2;
  p = p * r + kP1;
  p = p * r + 1.0f;
  return p * pow2_f32(n);
}

/// tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2 |x|): within about 1e-7 of tanh (absolute).
AIHW_HD inline float tanh_f32(float x) noexcept {
  const float e = exp_f32(-2.0f * abs_f32(x));
  const float t = (1.0f - e) / (1.0f + e);
  return bits_float(float_bits(t) | (float_bits(x) & 0x80000000u));  // t >= 0
}

/// x^g for x >= 0, as C's pow on that range: 2^(g log2 x) by log2_f32 and exp2_f32
/// (subnormal x scaled by 2^24 first, exactly). Exact cases: x^0 = 1 and 1^g = 1 for every
/// x and g, 0^g = 0 (g > 0) or +inf (g < 0), inf^g = inf (g > 0) or 0 (g < 0). Where
/// g log2 x < -126 the result is 0 (the true one is below 2^-126), above 127 it is +inf
/// (at least 2^127); x < 0 or a NaN gives NaN. Within 2 + 1.5 |g log2 x| units in the last
/// place (the rounding of g log2 x, which 2^ magnifies). Selects only, so loops over it
/// vectorise (engine contract §7: exp_step and pow_step).
AIHW_HD inline float pow_f32(float x, float g) noexcept {
  constexpr float kMinNormal = 0x1p-126f;
  const float kInf = bits_float(0x7F800000u);
  const float kNaN = bits_float(0x7FC00000u);
  const bool tiny = x < kMinNormal;
  const float lg = log2_f32(x * pick_f32(tiny, 0x1p24f, 1.0f)) - pick_f32(tiny, 24.0f, 0.0f);
  const float a = g * lg;
  // exp2_f32 takes [-126, 127]; a NaN goes in as -126 (replaced below)
  const float bounded = pick_f32(a > -126.0f, pick_f32(a < 127.0f, a, 127.0f), -126.0f);
  float r = exp2_f32(bounded);
  r = pick_f32(a < -126.0f, 0.0f, r);
  r = pick_f32(a > 127.0f, kInf, r);
  r = pick_f32(x == 0.0f, pick_f32(g > 0.0f, 0.0f, kInf), r);
  r = pick_f32(x == kInf, pick_f32(g > 0.0f, kInf, 0.0f), r);
  // one select per condition: GCC vectorises no select of an `||` of float compares
  r = pick_f32(!(x >= 0.0f), kNaN, r);
  r = pick_f32(g != g, kNaN, r);
  r = pick_f32(x == 1.0f, 1.0f, r);
  return pick_f32(g == 0.0f, 1.0f, r);
}

}  // namespace aihw

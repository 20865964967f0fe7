// The engine's Box-Muller for the pulses' cycle-to-cycle noise (engine contract §1):
// the same formula as `box_muller` in philox.hpp, with ln, cos and sin evaluated by fixed
// polynomials instead of libm calls, so that loops over many pairs vectorise.
//
// Accuracy: within a few units in the last place of the double result; rounded to float32
// (as the pulses use them) the normals equal libm's except, very rarely, in the last bit.
// Every operation is a plain IEEE double operation (the engine builds without FMA
// contraction), so scalar and vectorised evaluations give the same bits.
#pragma once

#include <cstdint>
#include <cstring>

namespace aihw {
namespace fast_box_muller {

constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2 with trailing zero bits
constexpr double kLn2Lo = 1.90821492927058770002e-10;  // ln 2 - kLn2Hi
constexpr double kSqrtHalf = 0.70710678118654752440;
// 2 pi / 2^32: the angle of one unit of the word.
constexpr double kTurnUnit = 6.283185307179586476925286766559 / 4294967296.0;

inline double bits_to_double(std::uint64_t u) noexcept {
  double d;
  std::memcpy(&d, &u, sizeof d);
  return d;
}

/// ln u for the Box-Muller uniform u = (ra + 1) 2^-32 in (0, 1]: u = m 2^e with m in
/// [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, by its
/// series to s^23 (the next term is below 1e-19).
inline double log_uniform(std::uint32_t ra) noexcept {
  // ra + 1 as a double through a signed conversion (which vectorises): exact.
  const double ra1 = static_cast<double>(static_cast<std::int32_t>(ra ^ 0x80000000u)) + 2147483649.0;
  const double u = ra1 * (1.0 / 4294967296.0);
  std::uint64_t bits;
  std::memcpy(&bits, &u, sizeof bits);
  // The biased exponent as a double, exactly, by the 2^52 trick (no int64 conversion).
  const double biased = bits_to_double((bits >> 52) | 0x4330000000000000ull) - 4503599627370496.0;
  // m0 in [0.5, 1); halving the range at sqrt(1/2) keeps |s| small.
  const double m0 = bits_to_double((bits & 0x000FFFFFFFFFFFFFull) | 0x3FE0000000000000ull);
  const bool low = m0 < kSqrtHalf;
  const double m = low ? m0 + m0 : m0;
  const double e = low ? biased - 1023.0 : biased - 1022.0;
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double p = 1.0 / 23.0;
  p = p * s2 + 1.0 / 21.0;
  p = p * s2 + 1.0 / 19.0;
  p = p * s2 + 1.0 / 17.0;
  p = p * s2 + 1.0 / 15.0;
  p = p * s2 + 1.0 / 13.0;
  p = p * s2 + 1.0 / 11.0;
  p = p * s2 + 1.0 / 9.0;
  p = p * s2 + 1.0 / 7.0;
  p = p * s2 + 1.0 / 5.0;
  p = p * s2 + 1.0 / 3.0;
  const double two_s = s + s;
  return e * kLn2Hi + (two_s + (two_s * s2 * p + e * kLn2Lo));
}

/// sqrt(-2 ln u1), the Box-Muller radius of word ra.
inline double radius(std::uint32_t ra) noexcept {
  const double t = -2.0 * log_uniform(ra);
  return __builtin_sqrt(t > 0.0 ? t : 0.0);
}

/// cos and sin of the Box-Muller angle 2 pi rb 2^-32. The quadrant comes from the top
/// two bits and the octant from the third, exactly (integer arithmetic), so the
/// polynomials only see x in [0, pi/4]; Taylor series to x^18 and x^19 (next terms below
/// 3e-18).
inline void cos_sin(std::uint32_t rb, double& c, double& s) noexcept {
  const std::uint32_t q = rb >> 30;
  const std::uint32_t t = rb & 0x3FFFFFFFu;
  const bool upper = t > 0x20000000u;  // phi > pi/4: use pi/2 - phi
  const std::uint32_t r = upper ? 0x40000000u - t : t;
  const double x = static_cast<double>(static_cast<std::int32_t>(r)) * kTurnUnit;
  const double x2 = x * x;
  double cp = 1.0 / 6402373705728000.0;  // 1/18!
  cp = cp * x2 - 1.0 / 20922789888000.0;
  cp = cp * x2 + 1.0 / 87178291200.0;
  cp = cp * x2 - 1.0 / 479001600.0;
  cp = cp * x2 + 1.0 / 3628800.0;
  cp = cp * x2 - 1.0 / 40320.0;
  cp = cp * x2 + 1.0 / 720.0;
  cp = cp * x2 - 1.0 / 24.0;
  cp = cp * x2 + 0.5;
  const double cx = 1.0 - x2 * cp;
  double sp = -1.0 / 121645100408832000.0;  // -1/19!
  sp = sp * x2 + 1.0 / 355687428096000.0;
  sp = sp * x2 - 1.0 / 1307674368000.0;
  sp = sp * x2 + 1.0 / 6227020800.0;
  sp = sp * x2 - 1.0 / 39916800.0;
  sp = sp * x2 + 1.0 / 362880.0;
  sp = sp * x2 - 1.0 / 5040.0;
  sp = sp * x2 + 1.0 / 120.0;
  sp = sp * x2 - 1.0 / 6.0;
  const double sx = x + x * (x2 * sp);
  // cos and sin of phi, then of q pi/2 + phi.
  const double cphi = upper ? sx : cx;
  const double sphi = upper ? cx : sx;
  const double cq = (q & 1u) ? sphi : cphi;
  const double sq = (q & 1u) ? cphi : sphi;
  c = (q == 1u || q == 2u) ? -cq : cq;
  s = (q >= 2u) ? -sq : sq;
}

}  // namespace fast_box_muller
}  // namespace aihw

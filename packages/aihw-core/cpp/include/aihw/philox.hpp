// Philox4x32-10 and the number conversions of docs/architecture/engine-contract.md §1.
//
// Header only, inline, pure C++17. Everything the engine draws goes through these few
// functions, so the native engine, the CUDA kernels and the plain-torch reference draw the
// same numbers for the same counter.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "aihw/hd.hpp"

namespace aihw {

using PhiloxCounter = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;
using PhiloxBlock = std::array<std::uint32_t, 4>;

namespace philox_constants {
constexpr std::uint32_t kM0 = 0xD2511F53u;
constexpr std::uint32_t kM1 = 0xCD9E8D57u;
constexpr std::uint32_t kW0 = 0x9E3779B9u;
constexpr std::uint32_t kW1 = 0xBB67AE85u;
constexpr int kRounds = 10;
}  // namespace philox_constants

/// The key of a tile: the low and high 32 bits of its 64-bit seed.
AIHW_HD inline PhiloxKey philox_key_from_seed(std::uint64_t seed) noexcept {
  return {static_cast<std::uint32_t>(seed & 0xFFFFFFFFu), static_cast<std::uint32_t>(seed >> 32)};
}

/// One Philox4x32-10 block for `counter` under `key`.
AIHW_HD inline PhiloxBlock philox4x32_10(PhiloxCounter c, PhiloxKey k) noexcept {
  using namespace philox_constants;
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) {
      k[0] += kW0;
      k[1] += kW1;
    }
    const std::uint64_t p0 = static_cast<std::uint64_t>(kM0) * c[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(kM1) * c[2];
    c = {static_cast<std::uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<std::uint32_t>(p1),
         static_cast<std::uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<std::uint32_t>(p0)};
  }
  return c;
}

/// Philox4x32-10 on `L` independent counters at once, in place (structure of arrays).
/// Written as plain loops over lanes so that the compiler vectorises the 32x32->64 bit
/// products; every lane gives exactly `philox4x32_10` of its counter.
template <int L>
inline void philox4x32_10_lanes(std::uint32_t (&c0)[L], std::uint32_t (&c1)[L],
                                std::uint32_t (&c2)[L], std::uint32_t (&c3)[L],
                                PhiloxKey key) noexcept {
  using namespace philox_constants;
  std::uint32_t k0 = key[0];
  std::uint32_t k1 = key[1];
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    for (int l = 0; l < L; ++l) {
      const std::uint64_t p0 = static_cast<std::uint64_t>(kM0) * c0[l];
      const std::uint64_t p1 = static_cast<std::uint64_t>(kM1) * c2[l];
      const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1[l] ^ k0;
      const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3[l] ^ k1;
      c1[l] = static_cast<std::uint32_t>(p1);
      c3[l] = static_cast<std::uint32_t>(p0);
      c0[l] = n0;
      c2[l] = n2;
    }
  }
}

/// 2^-32 as a double.
constexpr double kTwoPowMinus32 = 1.0 / 4294967296.0;

/// Uniform on [0, 1) from one word: `r * 2^-32`.
AIHW_HD inline double uniform_from_word(std::uint32_t r) noexcept {
  return static_cast<double>(r) * kTwoPowMinus32;
}

/// The Box-Muller radius `sqrt(-2 ln u1)` with `u1 = (ra + 1) 2^-32` in (0, 1].
inline double box_muller_radius(std::uint32_t ra) noexcept {
  const double u1 = (static_cast<double>(ra) + 1.0) * kTwoPowMinus32;
  return std::sqrt(-2.0 * std::log(u1));
}

/// The Box-Muller angle `2 pi rb 2^-32`.
inline double box_muller_angle(std::uint32_t rb) noexcept {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  return kTwoPi * static_cast<double>(rb) * kTwoPowMinus32;
}

/// Two standard normals `(rho cos theta, rho sin theta)` from two words.
inline std::array<double, 2> box_muller(std::uint32_t ra, std::uint32_t rb) noexcept {
  const double rho = box_muller_radius(ra);
  const double theta = box_muller_angle(rb);
  return {rho * std::cos(theta), rho * std::sin(theta)};
}

/// The four normals of one block: `(z0, z1)` from `(r0, r1)`, `(z2, z3)` from `(r2, r3)`.
inline std::array<double, 4> normals_from_block(const PhiloxBlock& r) noexcept {
  const auto a = box_muller(r[0], r[1]);
  const auto b = box_muller(r[2], r[3]);
  return {a[0], a[1], b[0], b[1]};
}

/// Counter streams: the top 4 bits of c3 (engine contract §2).
enum class Stream : std::uint32_t {
  kXTrain = 1,
  kDTrain = 2,
  kPulseNoise = 3,
  kXRound = 4,
  kDRound = 5,
};

AIHW_HD inline std::uint32_t stream_word(Stream s, std::uint32_t block) noexcept {
  return (static_cast<std::uint32_t>(s) << 28) | (block & 0x0FFFFFFFu);
}

}  // namespace aihw

// The per-element rules of the pulsed update (docs/architecture/engine-contract.md §3 step 4
// and 5, §6), in double, written once for the CPU engine and the CUDA kernels (AIHW_HD).
#pragma once

#include <cmath>
#include <cstdint>

#include "aihw/hd.hpp"
#include "aihw/philox.hpp"

namespace aihw {

/// rint with ties to even (the default rounding mode), on the host and on the device.
AIHW_HD inline double rint_even(double v) noexcept {
#if defined(__CUDA_ARCH__)
  return ::rint(v);
#else
  return std::nearbyint(v);
#endif
}

/// What the firing probabilities of one side of an update read: the tile's key and update
/// index, the bin width of Q and whether it rounds stochastically, and the side's streams.
struct FiringDraw {
  PhiloxKey key;
  std::uint32_t update_index;
  double res;
  bool sto_round;
  Stream round;  // kXRound or kDRound
};

/// p = Q(|v| * scale) of element `element` of sample `sample` (contract §3 step 4).
AIHW_HD inline double firing_probability(float v, double scale, const FiringDraw& draw,
                                         std::uint32_t element, std::uint32_t sample) noexcept {
  const double p = static_cast<double>(std::fabs(v)) * scale;
  if (!(draw.res > 0.0)) return p;
  double shift = 0.0;
  if (draw.sto_round) {
    const PhiloxBlock r = philox4x32_10(
        {element, sample, draw.update_index, stream_word(draw.round, 0)}, draw.key);
    shift = uniform_from_word(r[0]) - 0.5;
  }
  return draw.res * rint_even(p / draw.res + shift);
}

/// The largest train word that fires at probability 0 < p: u < p <=> word <= threshold
/// (u = word 2^-32, p 2^32 exact), every word when p >= 1 (contract §3 step 5).
AIHW_HD inline std::uint32_t firing_threshold(double p) noexcept {
  const double big = std::ceil(p * 4294967296.0);
  return big >= 4294967296.0 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(big - 1.0);
}

/// The per-element factor of a deterministic pulse type (contract §6) from its quantised
/// probability p: DeterministicImplicit q = clamp(p, 0, 1), times BL on the d side
/// (`times_bl`); MeanCount c = clamp(rint(BL p), 0, BL).
AIHW_HD inline double deterministic_factor(double p, double bl, bool implicit,
                                           bool times_bl) noexcept {
  if (implicit) {
    const double q = p < 0.0 ? 0.0 : (p > 1.0 ? 1.0 : p);
    return times_bl ? bl * q : q;
  }
  const double c = rint_even(bl * p);
  return c < 0.0 ? 0.0 : (c > bl ? bl : c);
}

/// Pulses of a deterministic type from the factors of d row i and x column j (both != 0).
AIHW_HD inline double deterministic_count(double fd, double fx, double bl,
                                          bool implicit) noexcept {
  return implicit ? rint_even(fd * fx) : rint_even((fd * fx) / bl);
}

}  // namespace aihw

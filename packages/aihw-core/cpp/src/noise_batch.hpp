// The cycle-to-cycle normals of many pulses at once (internal), exactly those of
// PulseNoise (engine contract §2), drawn in stages so that independent work overlaps:
// all Philox blocks (SIMD), then every logarithm and square root, then every cosine/sine.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "aihw/philox.hpp"
#include "philox_kernels.hpp"

namespace aihw {
namespace detail {

class NoiseBatch {
 public:
  void clear() noexcept {
    c0_.clear();
    c3_.clear();
    first_.clear();
    end_.clear();
    n_normals_ = 0;
  }

  std::size_t size() const noexcept { return n_normals_; }

  /// Queues the normals of pulses k_begin .. k_begin + n - 1 at cross-point `element`.
  void add(std::uint32_t element, std::uint32_t k_begin, std::uint32_t n) {
    std::uint32_t k = k_begin;
    const std::uint32_t k_end = k_begin + n;
    while (k < k_end) {
      const std::uint32_t q = k >> 2;
      const std::uint32_t w_end = (k_end - 4 * q) < 4 ? (k_end - 4 * q) : 4;
      c0_.push_back(element);
      c3_.push_back(stream_word(Stream::kPulseNoise, q));
      first_.push_back(static_cast<std::uint8_t>(k & 3u));
      end_.push_back(static_cast<std::uint8_t>(w_end));
      k = 4 * q + w_end;
    }
    n_normals_ += n;
  }

  /// Writes the queued normals, as float32, in the order they were queued.
  void draw(PhiloxKey key, std::uint32_t sample, std::uint32_t update_index, float* out) {
    const std::size_t nb = c0_.size();
    r_.resize(4 * nb);
    std::uint32_t* r0 = r_.data();
    std::uint32_t* r1 = r0 + nb;
    std::uint32_t* r2 = r1 + nb;
    std::uint32_t* r3 = r2 + nb;
    philox_batch()(nb, c0_.data(), sample, update_index, c3_.data(), key, r0, r1, r2, r3);

    // radii: rho = sqrt(-2 ln u1) of the pairs in use (pair 0: words 0-1, pair 1: words 2-3)
    // (every pair in use, in order, first the logarithms, then the square roots)
    rho_.resize(2 * nb);
    std::size_t n_pairs = 0;
    for (std::size_t m = 0; m < nb; ++m) {
      if (first_[m] < 2) rho_[n_pairs++] = std::log((static_cast<double>(r0[m]) + 1.0) * kTwoPowMinus32);
      if (end_[m] > 2) rho_[n_pairs++] = std::log((static_cast<double>(r2[m]) + 1.0) * kTwoPowMinus32);
    }
    for (std::size_t p = 0; p < n_pairs; ++p) rho_[p] = std::sqrt(-2.0 * rho_[p]);

    // angles
    const double* rho = rho_.data();
    for (std::size_t m = 0; m < nb; ++m) {
      const unsigned w0 = first_[m], w1 = end_[m];
      if (w0 < 2) out = pair(*rho++, r1[m], w0, w1 < 2 ? w1 : 2, out);
      if (w1 > 2) out = pair(*rho++, r3[m], w0 > 2 ? w0 - 2 : 0, w1 - 2, out);
    }
  }

 private:
  // Words [a, b) of a pair (0: cos, 1: sin).
  static float* pair(double rho, std::uint32_t rb, unsigned a, unsigned b, float* out) {
    const double theta = box_muller_angle(rb);
    if (a == 0 && b == 2) {
      double c, s;
      cos_sin(theta, c, s);
      out[0] = static_cast<float>(rho * c);
      out[1] = static_cast<float>(rho * s);
      return out + 2;
    }
    if (a == 0) {
      out[0] = static_cast<float>(rho * std::cos(theta));
    } else {
      out[0] = static_cast<float>(rho * std::sin(theta));
    }
    return out + 1;
  }

  // std::cos and std::sin of one angle. glibc's sincos shares their range reduction and
  // returns exactly what they return (checked by test_kernels); elsewhere two calls.
  static void cos_sin(double theta, double& c, double& s) {
#if defined(__GLIBC__)
    ::sincos(theta, &s, &c);
#else
    c = std::cos(theta);
    s = std::sin(theta);
#endif
  }

  std::vector<std::uint32_t> c0_, c3_, r_;
  std::vector<std::uint8_t> first_, end_;
  std::vector<double> rho_;
  std::size_t n_normals_ = 0;
};

}  // namespace detail
}  // namespace aihw

// The cycle-to-cycle normals of many pulses at once (internal), exactly those of
// PulseNoise (engine contract §2), drawn in stages so that independent work overlaps:
// all Philox blocks (SIMD), then every Box-Muller pair in one vectorised loop
// (fast_box_muller.hpp).
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

    // The word pairs in use, in order (pair 0: words 0-1, pair 1: words 2-3), with the
    // words wanted from each (0: cos, 1: sin).
    ra_.clear();
    rb_.clear();
    want_.clear();
    for (std::size_t m = 0; m < nb; ++m) {
      const unsigned w0 = first_[m], w1 = end_[m];
      if (w0 < 2) add_pair(r0[m], r1[m], w0, w1 < 2 ? w1 : 2);
      if (w1 > 2) add_pair(r2[m], r3[m], w0 > 2 ? w0 - 2 : 0, w1 - 2);
    }
    const std::size_t n_pairs = ra_.size();
    z_.resize(2 * n_pairs);
    double* z_cos = z_.data();
    double* z_sin = z_cos + n_pairs;
    box_muller_pairs(n_pairs, ra_.data(), rb_.data(), z_cos, z_sin);
    for (std::size_t p = 0; p < n_pairs; ++p) {
      if (want_[p] & 1u) *out++ = static_cast<float>(z_cos[p]);
      if (want_[p] & 2u) *out++ = static_cast<float>(z_sin[p]);
    }
  }

 private:
  // Words [a, b) of a pair: bit 0 wants the cosine, bit 1 the sine.
  void add_pair(std::uint32_t ra, std::uint32_t rb, unsigned a, unsigned b) {
    ra_.push_back(ra);
    rb_.push_back(rb);
    want_.push_back(static_cast<std::uint8_t>((a == 0 ? 1u : 0u) | (b == 2 ? 2u : 0u)));
  }

  std::vector<std::uint32_t> c0_, c3_, r_, ra_, rb_;
  std::vector<std::uint8_t> first_, end_, want_;
  std::vector<double> z_;
  std::size_t n_normals_ = 0;
};

}  // namespace detail
}  // namespace aihw

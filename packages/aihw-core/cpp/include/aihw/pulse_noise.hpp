// The cycle-to-cycle noise of the pulses at one cross-point within one sample
// (docs/architecture/engine-contract.md §2): pulse k uses normal k % 4 of the block
// (e, b, update_index, 3<<28 | k/4), rounded to float32.
#pragma once

#include <cmath>
#include <cstdint>

#include "aihw/fast_box_muller.hpp"
#include "aihw/philox.hpp"

namespace aihw {

class PulseNoise {
 public:
  /// The noise of `n_pulses` pulses at cross-point `element` (i * x_size + j) in sample
  /// `sample` of update `update_index`. Nothing is drawn until `next()` is called.
  PulseNoise(PhiloxKey key, std::uint32_t element, std::uint32_t sample,
             std::uint32_t update_index, std::uint32_t n_pulses) noexcept
      : key_(key), element_(element), sample_(sample), update_index_(update_index),
        n_pulses_(n_pulses) {}

  /// The float32 normal of the next pulse (k = 0, 1, 2, ...).
  float next() noexcept {
    const std::uint32_t word = k_ & 3u;
    if (word == 0) {
      block_ = philox4x32_10(
          {element_, sample_, update_index_, stream_word(Stream::kPulseNoise, k_ >> 2)}, key_);
    }
    float z;
    if ((word & 1u) == 0) {
      // The engine's Box-Muller (fast_box_muller.hpp), as NoiseBatch evaluates it.
      const double rho = fast_box_muller::radius(block_[word]);
      double c, s;
      fast_box_muller::cos_sin(block_[word + 1], c, s);
      z = static_cast<float>(rho * c);
      second_ = static_cast<float>(rho * s);
    } else {
      z = second_;
    }
    ++k_;
    return z;
  }

 private:
  PhiloxKey key_;
  std::uint32_t element_;
  std::uint32_t sample_;
  std::uint32_t update_index_;
  std::uint32_t n_pulses_;
  std::uint32_t k_ = 0;
  PhiloxBlock block_{};
  float second_ = 0.0f;
};

}  // namespace aihw

// The cycle-to-cycle normals of many pulses at once (internal), exactly those of
// PulseNoise (engine contract §2), drawn in stages so that independent work overlaps:
// every Philox block of the queued runs (SIMD), then every Box-Muller pair in one
// vectorised loop (the periphery's float32 Box-Muller, contract §8). A block gives four normals, all of them used:
// consecutive pulses of a row group read consecutive normals. Runs of several samples share
// one batch (the sample is a counter word of each block), so that sparse samples, with a
// few pulses each, still fill the vector lanes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "aihw/philox.hpp"
#include "periphery_normals.hpp"
#include "philox_kernels.hpp"

namespace aihw {
namespace detail {

class NoiseBatch {
 public:
  void clear() noexcept {
    c0_.clear();
    c1_.clear();
    c3_.clear();
  }

  /// Normals the queued blocks give (four a block).
  std::size_t size() const noexcept { return 4 * c0_.size(); }

  /// Queues the blocks holding normals [first, end) of the sequence `sequence_key` of
  /// sample `sample` (first < end <= 2^30) and returns where normal `first` will be in
  /// draw()'s output.
  std::size_t add_run(std::uint32_t sequence_key, std::uint32_t sample, std::uint32_t first,
                      std::uint32_t end) {
    const std::size_t at = size() + (first & 3u);
    for (std::uint32_t q = first >> 2; q <= (end - 1) >> 2; ++q) {
      c0_.push_back(sequence_key);
      c1_.push_back(sample);
      c3_.push_back(stream_word(Stream::kPulseNoise, q));
    }
    return at;
  }

  /// Writes the four float32 normals of every queued block, block after block.
  void draw(PhiloxKey key, std::uint32_t update_index, float* out) {
    const std::size_t nb = c0_.size();
    static const PeripheryLaneNormalsFn fused = periphery_lane_normals();
    if (fused != nullptr) {  // the same numbers in one pass
      fused(nb, c0_.data(), c1_.data(), update_index, c3_.data(), key, out);
      return;
    }
    r_.resize(4 * nb);
    std::uint32_t* r0 = r_.data();
    std::uint32_t* r1 = r0 + nb;
    std::uint32_t* r2 = r1 + nb;
    std::uint32_t* r3 = r2 + nb;
    philox_lanes_planar()(nb, c0_.data(), c1_.data(), update_index, c3_.data(), key, r0, r1, r2,
                          r3);
    normals_from_blocks(nb, r0, r1, r2, r3, out);
  }

 private:
  std::vector<std::uint32_t> c0_, c1_, c3_, r_;
};

}  // namespace detail
}  // namespace aihw

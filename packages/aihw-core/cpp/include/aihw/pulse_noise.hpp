// The cycle-to-cycle noise of the pulses (docs/architecture/engine-contract.md §2): the
// pulses of one row group of one sample read one sequence of normals, addressed by the
// sequence key (the group's first cross-point) and the pulse's ordinal o in the sequence:
// normal o % 4 of block (key, b, update_index, 3<<28 | o/4), by the float32 Box-Muller of
// the periphery (contract §8, periphery_box_muller) since update contract 3.
#pragma once

#include <cmath>
#include <cstdint>

#include "aihw/hd.hpp"
#include "aihw/periphery.hpp"
#include "aihw/philox.hpp"

namespace aihw {

/// The most normals one sequence can address (a 28-bit block index, four normals a block).
constexpr std::uint64_t kSequenceNormals = std::uint64_t(1) << 30;

/// The cross-points of one row that share a sequence of normals in a sample whose pulse
/// train has `bl` slots: the largest power of two G with G * bl <= 2^30 (contract §2), so
/// that a group's pulses never outrun its sequence. Every row is one group when
/// G >= x_size (bl <= 2^30 / x_size rounded down to a power of two).
AIHW_HD inline std::uint64_t sequence_columns(std::int64_t bl) noexcept {
  const auto slots = static_cast<std::uint64_t>(bl < 1 ? 1 : bl);
  std::uint64_t g = 1;
  while (2 * g * slots <= kSequenceNormals) g *= 2;
  return g;
}

/// The normals of one sequence, one after another from ordinal `first` (the scalar
/// definition; the engine draws the same numbers in batches, noise_batch.hpp).
class PulseNoise {
 public:
  AIHW_HD PulseNoise(PhiloxKey key, std::uint32_t sequence_key, std::uint32_t sample,
             std::uint32_t update_index, std::uint32_t first = 0) noexcept
      : key_(key), sequence_key_(sequence_key), sample_(sample), update_index_(update_index),
        o_(first) {}

  /// The normal of ordinal o (then o + 1, ...).
  AIHW_HD float next() noexcept {
    const std::uint32_t word = o_ & 3u;
    if (word == 0 || !loaded_) {
      block_ = philox4x32_10(
          {sequence_key_, sample_, update_index_, stream_word(Stream::kPulseNoise, o_ >> 2)},
          key_);
      loaded_ = true;
    }
    // Words (0, 1) give normals 0 and 1, words (2, 3) normals 2 and 3 (selected, not
    // indexed, so that the block stays in registers on a GPU).
    const bool high = (word & 2u) != 0;
    float za, zb;
    periphery_box_muller(high ? block_[2] : block_[0], high ? block_[3] : block_[1], za, zb);
    ++o_;
    return (word & 1u) ? zb : za;
  }

 private:
  PhiloxKey key_;
  std::uint32_t sequence_key_;
  std::uint32_t sample_;
  std::uint32_t update_index_;
  std::uint32_t o_;
  bool loaded_ = false;
  PhiloxBlock block_{};
};

}  // namespace aihw

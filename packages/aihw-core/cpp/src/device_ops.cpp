// Decay, diffusion, column reset and write noise (contract §9, §10). Work is split into fixed chunks of
// elements and every random number is addressed by its element, so results do not depend
// on the number of threads. All arithmetic is IEEE float32 without FMA, in the order of the
// contract, so that the plain-torch reference gives the same bits.
#include "aihw/device_ops.hpp"

#include <algorithm>
#include <stdexcept>

#include "aihw/periphery.hpp"
#include "aihw/philox.hpp"
#include "aihw/thread_pool.hpp"
#include "chunk_numbers.hpp"

namespace aihw {
namespace {

void check_common(const float* w, std::int64_t n, const DeviceBounds& bounds) {
  if (n < 0) throw std::invalid_argument("negative size");
  if (n > 0 && w == nullptr) throw std::invalid_argument("weights is a null pointer");
  if ((bounds.w_min == nullptr) != (bounds.w_max == nullptr)) {
    throw std::invalid_argument("give both bounds (w_min and w_max) or neither");
  }
  if (n > 0xFFFFFFFFll) throw std::invalid_argument("at most 2**32 - 1 weights");
}

std::int64_t chunks_of(std::int64_t n) { return (n + kChunk - 1) / kChunk; }

}  // namespace

void decay_weights(float* w, std::int64_t n, const float* decay_scale, const float* reset_bias,
                   DeviceBounds bounds, double alpha, int num_threads) {
  check_common(w, n, bounds);
  if (n > 0 && decay_scale == nullptr) throw std::invalid_argument("decay_scale is null");
  const float a = static_cast<float>(alpha);
  parallel_for(resolve_threads(num_threads), chunks_of(n), [&](std::int64_t task) {
    const std::int64_t end = std::min(n, (task + 1) * kChunk);
    for (std::int64_t e = task * kChunk; e < end; ++e) {
      const float r0 = reset_bias != nullptr ? reset_bias[e] : 0.0f;
      w[e] = device_clip(decay_element(w[e], r0, decay_scale[e], a), e, bounds);
    }
  });
}

void diffuse_weights(float* w, std::int64_t n, const float* rate, DeviceBounds bounds,
                     std::uint64_t seed, std::uint32_t call_index, int num_threads) {
  check_common(w, n, bounds);
  if (n > 0 && rate == nullptr) throw std::invalid_argument("rate is null");
  const PhiloxKey key = philox_key_from_seed(seed);
  parallel_for(resolve_threads(num_threads), chunks_of(n), [&](std::int64_t task) {
    const std::int64_t begin = task * kChunk;
    const std::int64_t count = std::min(kChunk, n - begin);
    ChunkNumbers numbers;
    numbers.draw_normals(begin, count, key, device_op_numbers::kDiffusionNormal, call_index);
    for (std::int64_t k = 0; k < count; ++k) {
      const std::int64_t e = begin + k;
      w[e] = device_clip(diffuse_element(w[e], rate[e], numbers.normals[k]), e, bounds);
    }
  });
}

void reset_columns(float* w, std::int64_t d_size, std::int64_t x_size,
                   std::int64_t first_column, std::int64_t n_columns, const float* reset_bias,
                   DeviceBounds bounds, double reset_std, double reset_prob, std::uint64_t seed,
                   std::uint32_t call_index, int num_threads) {
  if (d_size < 0 || x_size < 0) throw std::invalid_argument("negative size");
  check_common(w, d_size * x_size, bounds);
  if (first_column < 0 || n_columns < 0 || first_column + n_columns > x_size) {
    throw std::invalid_argument("columns out of range");
  }
  if (d_size == 0 || n_columns == 0) return;
  const PhiloxKey key = philox_key_from_seed(seed);
  const bool noisy = reset_std > 0.0;
  const bool always = reset_prob >= 1.0;
  const float std_f = static_cast<float>(reset_std);
  const std::int64_t chunks = chunks_of(n_columns);
  // One task per (row, chunk of columns): the columns of a row are consecutive elements.
  parallel_for(resolve_threads(num_threads), d_size * chunks, [&](std::int64_t task) {
    const std::int64_t row = task / chunks;
    const std::int64_t col = first_column + (task % chunks) * kChunk;
    const std::int64_t count = std::min(kChunk, first_column + n_columns - col);
    const std::int64_t begin = row * x_size + col;
    const std::int64_t skip = begin % 4;  // position of `begin` within its first block
    ChunkNumbers noise;
    ChunkNumbers choice;
    if (noisy) noise.draw_normals(begin, count, key, device_op_numbers::kResetNormal, call_index);
    if (!always) choice.draw_words(begin, count, key, device_op_numbers::kResetChoice, call_index);
    for (std::int64_t k = 0; k < count; ++k) {
      const std::int64_t e = begin + k;
      if (!always && !reset_chosen(choice.words[skip + k], reset_prob)) continue;
      const float r0 = reset_bias != nullptr ? reset_bias[e] : 0.0f;
      w[e] = device_clip(reset_element(r0, noisy, std_f, noise.normals[skip + k]), e, bounds);
    }
  });
}

void write_noise(float* visible, const float* hidden, std::int64_t n, const std::uint8_t* mask,
                 float noise_std, std::uint64_t seed, std::uint32_t call_index, int num_threads) {
  check_common(visible, n, DeviceBounds{});
  if (n > 0 && hidden == nullptr) throw std::invalid_argument("hidden is null");
  const PhiloxKey key = philox_key_from_seed(seed);
  parallel_for(resolve_threads(num_threads), chunks_of(n), [&](std::int64_t task) {
    const std::int64_t begin = task * kChunk;
    const std::int64_t count = std::min(kChunk, n - begin);
    if (mask != nullptr && std::none_of(mask + begin, mask + begin + count,
                                        [](std::uint8_t m) { return m != 0; })) {
      return;  // no pulsed device here: skip drawing the chunk's numbers
    }
    ChunkNumbers numbers;
    numbers.draw_normals(begin, count, key, device_op_numbers::kWriteNoiseNormal, call_index);
    for (std::int64_t k = 0; k < count; ++k) {
      const std::int64_t e = begin + k;
      if (mask != nullptr && mask[e] == 0) continue;
      visible[e] = write_noise_element(hidden[e], noise_std, numbers.normals[k]);
    }
  });
}

}  // namespace aihw

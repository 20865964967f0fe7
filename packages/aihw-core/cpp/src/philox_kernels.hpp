// Philox kernels on many counters at once (internal): the words of pulse trains and
// batches of blocks for the pulse noise. The scalar versions are the definitions; the SIMD
// ones (chosen at run time, so the portable build still uses AVX2 or AVX-512 where present)
// give the same bits.
#pragma once

#include <cstddef>
#include <cstdint>

#include "aihw/philox.hpp"

namespace aihw {
namespace detail {

/// A run of blocks with consecutive 64-bit indices q = q0 .. q0 + count - 1:
/// words[4 i + k] = word k of philox4x32_10((q mod 2^32, c1, c2, c3_base | q / 2^32), key)
/// for q = q0 + i (q / 2^32 < 2^28). The pulse trains' words (engine contract §3 step 5).
using PhiloxRunFn = void (*)(std::uint64_t q0, std::size_t count, std::uint32_t c1,
                             std::uint32_t c2, std::uint32_t c3_base, PhiloxKey key,
                             std::uint32_t* words);

void philox_run_scalar(std::uint64_t q0, std::size_t count, std::uint32_t c1, std::uint32_t c2,
                       std::uint32_t c3_base, PhiloxKey key, std::uint32_t* words);

/// "scalar", "avx2" or "avx512"; nullptr when unavailable (for tests).
PhiloxRunFn philox_run_variant(const char* name);

/// The fastest available variant.
PhiloxRunFn philox_run();

/// Blocks with counters given lane by lane: words[4 i + k] = word k of
/// philox4x32_10((c0[i], c1[i], c2, c3[i]), key) for i < count (runs of several samples'
/// train blocks in one batch).
using PhiloxLanesFn = void (*)(std::size_t count, const std::uint32_t* c0,
                               const std::uint32_t* c1, std::uint32_t c2,
                               const std::uint32_t* c3, PhiloxKey key, std::uint32_t* words);

void philox_lanes_scalar(std::size_t count, const std::uint32_t* c0, const std::uint32_t* c1,
                         std::uint32_t c2, const std::uint32_t* c3, PhiloxKey key,
                         std::uint32_t* words);

/// "scalar", "avx2" or "avx512"; nullptr when unavailable (for tests).
PhiloxLanesFn philox_lanes_variant(const char* name);

/// The fastest available variant.
PhiloxLanesFn philox_lanes();

/// As PhiloxLanesFn, the words stored by position: r_k[i] = word k of block i (for
/// periphery_normals_batch).
using PhiloxLanesPlanarFn = void (*)(std::size_t count, const std::uint32_t* c0,
                                     const std::uint32_t* c1, std::uint32_t c2,
                                     const std::uint32_t* c3, PhiloxKey key, std::uint32_t* r0,
                                     std::uint32_t* r1, std::uint32_t* r2, std::uint32_t* r3);

void philox_lanes_planar_scalar(std::size_t count, const std::uint32_t* c0,
                                const std::uint32_t* c1, std::uint32_t c2,
                                const std::uint32_t* c3, PhiloxKey key, std::uint32_t* r0,
                                std::uint32_t* r1, std::uint32_t* r2, std::uint32_t* r3);

/// "scalar", "avx2" or "avx512"; nullptr when unavailable (for tests).
PhiloxLanesPlanarFn philox_lanes_planar_variant(const char* name);

/// The fastest available variant.
PhiloxLanesPlanarFn philox_lanes_planar();

/// The trains of the elements j0 .. j0 + n_elems - 1 (values[l] their x or d) whose trains
/// have n <= 64 slots, without quantisation: p = |values[l]| * scale, and bit t of element
/// l's train is set when p > 0 and words[l * n + t] <= ceil(p * 2^32) - 1 ("u < p"; every
/// slot when p >= 1). Writes the elements that fire at least once, in order:
/// out_idx[k] = (j0 + l) | (values[l] < 0 ? 2^31 : 0), out_masks[k] = the train's bits;
/// returns their number. `words` must be readable 8 words beyond its n_elems * n.
using TrainBitsFn = std::int64_t (*)(const float* values, std::uint32_t j0, std::int64_t n_elems,
                                     double scale, const std::uint32_t* words, int n,
                                     std::uint32_t* out_idx, std::uint64_t* out_masks);

std::int64_t train_bits_scalar(const float* values, std::uint32_t j0, std::int64_t n_elems,
                               double scale, const std::uint32_t* words, int n,
                               std::uint32_t* out_idx, std::uint64_t* out_masks);

/// "scalar", "avx2" or "avx512"; nullptr when unavailable (for tests).
TrainBitsFn train_bits_variant(const char* name);

/// The fastest available variant.
TrainBitsFn train_bits();

/// r_k[m] = word k of philox4x32_10((c0[m], c1, c2, c3[m]), key) for m < count.
using PhiloxBatchFn = void (*)(std::size_t count, const std::uint32_t* c0, std::uint32_t c1,
                               std::uint32_t c2, const std::uint32_t* c3, PhiloxKey key,
                               std::uint32_t* r0, std::uint32_t* r1, std::uint32_t* r2,
                               std::uint32_t* r3);

void philox_batch_scalar(std::size_t count, const std::uint32_t* c0, std::uint32_t c1,
                         std::uint32_t c2, const std::uint32_t* c3, PhiloxKey key,
                         std::uint32_t* r0, std::uint32_t* r1, std::uint32_t* r2,
                         std::uint32_t* r3);

/// Variants by name, as draw_bits16_variant.
PhiloxBatchFn philox_batch_variant(const char* name);

/// The fastest available variant.
PhiloxBatchFn philox_batch();

/// The four float32 normals of each of n blocks by the periphery's Box-Muller (contract §8,
/// periphery_box_muller): out[4m], out[4m + 1] from (r0[m], r1[m]), out[4m + 2],
/// out[4m + 3] from (r2[m], r3[m]). Vectorised where the CPU allows; the same bits.
void normals_from_blocks(std::size_t n, const std::uint32_t* r0, const std::uint32_t* r1,
                         const std::uint32_t* r2, const std::uint32_t* r3, float* out);

}  // namespace detail
}  // namespace aihw

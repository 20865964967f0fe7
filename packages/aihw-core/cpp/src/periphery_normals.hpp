// The periphery's standard normals of many Philox blocks at once (internal): exactly
// aihw::periphery_normals (aihw/periphery.hpp) block by block, with out[4m + k] the normal
// of word k of block m. The output noise of every ADC draws one normal per output, so this
// is a large share of an inference forward; the AVX2 variant (chosen at run time) runs
// several blocks' Box-Muller chains side by side, with the same operations in the same
// order, so every variant gives the same bits.
#pragma once

#include <cstddef>
#include <cstdint>

#include "aihw/philox.hpp"

namespace aihw {
namespace detail {

using PeripheryNormalsFn = void (*)(const std::uint32_t* r0, const std::uint32_t* r1,
                                    const std::uint32_t* r2, const std::uint32_t* r3,
                                    std::int64_t n_blocks, float* out);

/// The definition: periphery_normals() on (r0[m], r1[m], r2[m], r3[m]) for m < n_blocks.
void periphery_normals_scalar(const std::uint32_t* r0, const std::uint32_t* r1,
                              const std::uint32_t* r2, const std::uint32_t* r3,
                              std::int64_t n_blocks, float* out);

/// "scalar" or "avx2"; nullptr when this build or CPU lacks it. For tests.
PeripheryNormalsFn periphery_normals_variant(const char* name);

/// The fastest available variant.
PeripheryNormalsFn periphery_normals_batch();

/// Philox and the normals in one pass, for the blocks of one row: out[4m + k] = normal k of
/// periphery_normals(philox4x32_10((first + m, c1, c2, c3), key)) for every block
/// m < n_blocks, which it returns (sixteen blocks per AVX-512 register, several registers
/// side by side, the last group partly used). The same bits as the two steps.
using PeripheryRowNormalsFn = std::int64_t (*)(std::uint32_t first, std::int64_t n_blocks,
                                               std::uint32_t c1, std::uint32_t c2,
                                               std::uint32_t c3, PhiloxKey key, float* out);

/// "avx512"; nullptr when this build or CPU lacks it. For tests.
PeripheryRowNormalsFn periphery_row_normals_variant(const char* name);

/// The fused variant when the CPU has one, else nullptr (then: philox_batch, then
/// periphery_normals_batch).
PeripheryRowNormalsFn periphery_row_normals();

/// Philox and the normals in one pass with counters given lane by lane: out[4i + k] =
/// normal k of periphery_normals(philox4x32_10((c0[i], c1[i], c2, c3[i]), key)) for
/// i < count (the pulses' noise batches and narrow periphery rows). The same bits as
/// philox_lanes_planar then periphery_normals_batch.
using PeripheryLaneNormalsFn = void (*)(std::size_t count, const std::uint32_t* c0,
                                        const std::uint32_t* c1, std::uint32_t c2,
                                        const std::uint32_t* c3, PhiloxKey key, float* out);

/// "avx512"; nullptr when this build or CPU lacks it. For tests.
PeripheryLaneNormalsFn periphery_lane_normals_variant(const char* name);

/// The fused variant when the CPU has one, else nullptr.
PeripheryLaneNormalsFn periphery_lane_normals();

}  // namespace detail
}  // namespace aihw

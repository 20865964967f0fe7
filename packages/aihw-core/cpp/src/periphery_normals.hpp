// The periphery's standard normals of many Philox blocks at once (internal): exactly
// aihw::periphery_normals (aihw/periphery.hpp) block by block, with out[4m + k] the normal
// of word k of block m. The output noise of every ADC draws one normal per output, so this
// is a large share of an inference forward; the AVX2 variant (chosen at run time) runs
// several blocks' Box-Muller chains side by side, with the same operations in the same
// order, so every variant gives the same bits.
#pragma once

#include <cstdint>

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

}  // namespace detail
}  // namespace aihw

// Philox kernels on many counters at once (internal): the firing bits of pulse trains and
// batches of blocks for the pulse noise.
//
// draw_bits16 computes, for lanes l = 0..15 and slots t = s0 .. s0 + n_slots - 1
// (s0 a multiple of 4, 1 <= n_slots <= 64):
//   bit (t - s0) of out[l] = word t % 4 of philox4x32_10((elem[l], sample, update_index,
//                            c3_base | t / 4), key)  <=  thr_minus_1[l]
// i.e. "u < p" with thr_minus_1 = ceil(p * 2^32) - 1 (engine contract §3 step 5).
// The integer-only kernels (scalar, SSE2, AVX2) give identical bits; the fastest one the
// CPU supports is chosen at run time, so the portable build still uses AVX2 where present.
#pragma once

#include <cstddef>
#include <cstdint>

#include "aihw/philox.hpp"

namespace aihw {
namespace detail {

using DrawBits16Fn = void (*)(const std::uint32_t* elem, const std::uint32_t* thr_minus_1,
                             std::uint32_t sample, std::uint32_t update_index, PhiloxKey key,
                             std::uint32_t c3_base, std::int64_t s0, int n_slots,
                             std::uint64_t* out);

void draw_bits16_scalar(const std::uint32_t* elem, const std::uint32_t* thr_minus_1,
                       std::uint32_t sample, std::uint32_t update_index, PhiloxKey key,
                       std::uint32_t c3_base, std::int64_t s0, int n_slots, std::uint64_t* out);

/// The kernel variants this build and this CPU can run, by name ("scalar", "sse2",
/// "avx2"); nullptr when unavailable. For tests.
DrawBits16Fn draw_bits16_variant(const char* name);

/// The fastest available variant.
DrawBits16Fn draw_bits16();

/// The trains of up to sixteen consecutive elements j0 .. j0 + n - 1 with values[l] as
/// their x or d, without quantisation (res = 0): p = |v| * scale and bit (t - s0) of out[l]
/// set when u(word t % 4 of block (j0 + l, sample, update_index, c3_base | t / 4)) < p,
/// for s0 <= t < s0 + n_slots (s0 a multiple of 4, n_slots <= 64); out[l] = 0 when p = 0
/// and for l >= n. Only an AVX2 version is faster than the general path above; the scalar
/// one is its definition (for tests).
using DrawBits16DirectFn = void (*)(const float* values, std::uint32_t j0, int n, double scale,
                                    std::uint32_t sample, std::uint32_t update_index,
                                    PhiloxKey key, std::uint32_t c3_base, std::int64_t s0,
                                    int n_slots, std::uint64_t* out);

void draw_bits16_direct_scalar(const float* values, std::uint32_t j0, int n, double scale,
                               std::uint32_t sample, std::uint32_t update_index, PhiloxKey key,
                               std::uint32_t c3_base, std::int64_t s0, int n_slots,
                               std::uint64_t* out);

/// "scalar" or "avx2"; nullptr when unavailable. The engine uses "avx2" when available.
DrawBits16DirectFn draw_bits16_direct_variant(const char* name);

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

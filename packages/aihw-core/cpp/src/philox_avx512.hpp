// Philox4x32-10 on sixteen counters per AVX-512 register (internal, x86-64 GCC/Clang only):
// the same integer operations as philox4x32_10, so the same words. Shared by the kernels
// that draw trains and pulse-noise blocks (philox_kernels.cpp) and the periphery's fused
// normals (periphery_normals.cpp); each caller checks the CPU before calling.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "aihw/philox.hpp"

#define AIHW_AVX512 __attribute__((target("avx512f")))

namespace aihw {
namespace detail {

AIHW_AVX512 inline __m512i splat16_i(std::uint32_t u) {
  return _mm512_set1_epi32(static_cast<int>(u));
}

// (hi, lo) = a * m per 32-bit lane, from 64-bit products of the even and odd lanes.
AIHW_AVX512 inline void mul_hi_lo_avx512(__m512i a, __m512i m, __m512i& hi, __m512i& lo) {
  const __m512i pe = _mm512_mul_epu32(a, m);
  const __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
  lo = _mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32));
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);
}

/// The ten rounds on V independent groups of sixteen counters c[v][0..3], in place.
template <int V>
AIHW_AVX512 inline void philox_avx512(__m512i (&c)[V][4], PhiloxKey key) {
  using namespace philox_constants;
  const __m512i m0 = splat16_i(kM0);
  const __m512i m1 = splat16_i(kM1);
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    const __m512i key0 = splat16_i(k0);
    const __m512i key1 = splat16_i(k1);
    for (int v = 0; v < V; ++v) {
      __m512i hi0, lo0, hi1, lo1;
      mul_hi_lo_avx512(c[v][0], m0, hi0, lo0);
      mul_hi_lo_avx512(c[v][2], m1, hi1, lo1);
      c[v][0] = _mm512_xor_si512(_mm512_xor_si512(hi1, c[v][1]), key0);
      c[v][1] = lo1;
      c[v][2] = _mm512_xor_si512(_mm512_xor_si512(hi0, c[v][3]), key1);
      c[v][3] = lo0;
    }
  }
}

}  // namespace detail
}  // namespace aihw

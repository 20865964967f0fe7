#include "periphery_normals.hpp"

#include <algorithm>
#include <cstring>

#include "aihw/periphery.hpp"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(_WIN32)
#define AIHW_PERIPHERY_NORMALS_AVX2 1
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which it then reports as
// "may be used uninitialized" (or, under the sanitizers, "is used uninitialized") where
// they are inlined (GCC bug 105593, fixed in 12.3).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include "philox_avx512.hpp"
#endif

namespace aihw {
namespace detail {

#ifdef AIHW_PERIPHERY_NORMALS_AVX2
// Without AVX2 the compiler still vectorises this loop for SSE2.
__attribute__((target_clones("avx2", "default")))
#endif
void periphery_normals_scalar(const std::uint32_t* __restrict r0,
                              const std::uint32_t* __restrict r1,
                              const std::uint32_t* __restrict r2,
                              const std::uint32_t* __restrict r3, std::int64_t n_blocks,
                              float* __restrict out) {
  for (std::int64_t m = 0; m < n_blocks; ++m) {
    float z0, z1, z2, z3;
    periphery_box_muller(r0[m], r1[m], z0, z1);
    periphery_box_muller(r2[m], r3[m], z2, z3);
    out[4 * m] = z0;
    out[4 * m + 1] = z1;
    out[4 * m + 2] = z2;
    out[4 * m + 3] = z3;
  }
}

#ifdef AIHW_PERIPHERY_NORMALS_AVX2
namespace {

#define AIHW_AVX2 __attribute__((target("avx2")))

AIHW_AVX2 inline __m256 splat(float f) { return _mm256_set1_ps(f); }
AIHW_AVX2 inline __m256i splat_i(std::uint32_t u) {
  return _mm256_set1_epi32(static_cast<int>(u));
}

// The Box-Muller of periphery_box_muller on P independent vectors of word pairs, one step
// at a time over all of them: the polynomial chains are long and serial, so running P of
// them side by side is what keeps the vector units busy. Plain multiplies and adds (no FMA),
// in the scalar order.
template <int P>
AIHW_AVX2 inline void box_muller_vectors(const __m256i (&ra)[P], const __m256i (&rb)[P],
                                         __m256 (&z_cos)[P], __m256 (&z_sin)[P]) {
  using namespace periphery_normal_constants;
  const __m256 one = splat(1.0f);
  const __m256 two_m24 = splat(kTwoM24);
  __m256 e[P], s[P], s2[P], p[P];
  for (int i = 0; i < P; ++i) {
    const __m256i w = _mm256_add_epi32(_mm256_srli_epi32(ra[i], 8), splat_i(1));
    const __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(w), two_m24);  // exact: w <= 2^24
    const __m256i bits = _mm256_castps_si256(u);
    e[i] = _mm256_cvtepi32_ps(_mm256_sub_epi32(
        _mm256_and_si256(_mm256_srli_epi32(bits, 23), splat_i(0xFFu)), splat_i(126)));
    const __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
        _mm256_and_si256(bits, splat_i(0x007FFFFFu)), splat_i(0x3F000000u)));
    s[i] = _mm256_div_ps(_mm256_sub_ps(m, one), _mm256_add_ps(m, one));
  }
  for (int i = 0; i < P; ++i) {
    s2[i] = _mm256_mul_ps(s[i], s[i]);
    p[i] = splat(kL11);
  }
  for (const float coefficient : {kL9, kL7, kL5, kL3, 1.0f}) {
    for (int i = 0; i < P; ++i) p[i] = _mm256_add_ps(_mm256_mul_ps(p[i], s2[i]), splat(coefficient));
  }
  __m256 rho[P];
  for (int i = 0; i < P; ++i) {
    const __m256 ln_u = _mm256_add_ps(_mm256_mul_ps(e[i], splat(kLn2)),
                                      _mm256_mul_ps(_mm256_mul_ps(s[i], p[i]), splat(2.0f)));
    const __m256 r2 = _mm256_mul_ps(ln_u, splat(-2.0f));
    rho[i] = _mm256_sqrt_ps(_mm256_max_ps(r2, _mm256_setzero_ps()));  // r2 > 0 ? r2 : 0
  }
  __m256 phi[P], x2[P], c[P], sn[P];
  for (int i = 0; i < P; ++i) {
    const __m256i a = _mm256_and_si256(_mm256_srli_epi32(rb[i], 6), splat_i(0x00FFFFFFu));
    phi[i] = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(a), two_m24), splat(kHalfPi));
    x2[i] = _mm256_mul_ps(phi[i], phi[i]);
    c[i] = splat(kC10);
    sn[i] = splat(kS11);
  }
  constexpr float kCos[5] = {kC8, kC6, kC4, kC2, 1.0f};
  constexpr float kSin[5] = {kS9, kS7, kS5, kS3, 1.0f};
  for (int k = 0; k < 5; ++k) {
    for (int i = 0; i < P; ++i) {
      c[i] = _mm256_add_ps(_mm256_mul_ps(c[i], x2[i]), splat(kCos[k]));
      sn[i] = _mm256_add_ps(_mm256_mul_ps(sn[i], x2[i]), splat(kSin[k]));
    }
  }
  for (int i = 0; i < P; ++i) {
    // The quadrant as in periphery_box_muller: odd ones swap cos and sin, then signs flip.
    const __m256i q = _mm256_srli_epi32(rb[i], 30);
    const __m256i odd = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_and_si256(q, splat_i(1)));
    const __m256i cos_bits = _mm256_castps_si256(c[i]);
    const __m256i sin_bits = _mm256_castps_si256(_mm256_mul_ps(sn[i], phi[i]));
    const __m256i cb =
        _mm256_or_si256(_mm256_andnot_si256(odd, cos_bits), _mm256_and_si256(sin_bits, odd));
    const __m256i sb =
        _mm256_or_si256(_mm256_andnot_si256(odd, sin_bits), _mm256_and_si256(cos_bits, odd));
    const __m256i cos_sign =
        _mm256_slli_epi32(_mm256_and_si256(_mm256_add_epi32(q, splat_i(1)), splat_i(2)), 30);
    const __m256i sin_sign = _mm256_slli_epi32(_mm256_and_si256(q, splat_i(2)), 30);
    z_cos[i] = _mm256_mul_ps(rho[i], _mm256_castsi256_ps(_mm256_xor_si256(cb, cos_sign)));
    z_sin[i] = _mm256_mul_ps(rho[i], _mm256_castsi256_ps(_mm256_xor_si256(sb, sin_sign)));
  }
}

// Stores the normals of eight blocks (a: word 0, b: 1, c: 2, d: 3) in block order:
// out = a0 b0 c0 d0 a1 b1 c1 d1 ... (a 4 x 8 transpose).
AIHW_AVX2 inline void store_blocks(__m256 a, __m256 b, __m256 c, __m256 d, float* out) {
  const __m256d ab_lo = _mm256_castps_pd(_mm256_unpacklo_ps(a, b));  // a0 b0 a1 b1 | a4 ..
  const __m256d ab_hi = _mm256_castps_pd(_mm256_unpackhi_ps(a, b));  // a2 b2 a3 b3 | a6 ..
  const __m256d cd_lo = _mm256_castps_pd(_mm256_unpacklo_ps(c, d));
  const __m256d cd_hi = _mm256_castps_pd(_mm256_unpackhi_ps(c, d));
  const __m256 t0 = _mm256_castpd_ps(_mm256_unpacklo_pd(ab_lo, cd_lo));  // block 0 | 4
  const __m256 t1 = _mm256_castpd_ps(_mm256_unpackhi_pd(ab_lo, cd_lo));  // block 1 | 5
  const __m256 t2 = _mm256_castpd_ps(_mm256_unpacklo_pd(ab_hi, cd_hi));  // block 2 | 6
  const __m256 t3 = _mm256_castpd_ps(_mm256_unpackhi_pd(ab_hi, cd_hi));  // block 3 | 7
  _mm256_storeu_ps(out, _mm256_permute2f128_ps(t0, t1, 0x20));
  _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(t2, t3, 0x20));
  _mm256_storeu_ps(out + 16, _mm256_permute2f128_ps(t0, t1, 0x31));
  _mm256_storeu_ps(out + 24, _mm256_permute2f128_ps(t2, t3, 0x31));
}

// G groups of eight blocks: 2G Box-Muller vectors (words 0-1 and 2-3 of each group).
template <int G>
AIHW_AVX2 inline void normals_of_groups(const std::uint32_t* r0, const std::uint32_t* r1,
                                        const std::uint32_t* r2, const std::uint32_t* r3,
                                        float* out) {
  __m256i ra[2 * G], rb[2 * G];
  for (int g = 0; g < G; ++g) {
    ra[2 * g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0 + 8 * g));
    rb[2 * g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1 + 8 * g));
    ra[2 * g + 1] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r2 + 8 * g));
    rb[2 * g + 1] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r3 + 8 * g));
  }
  __m256 z_cos[2 * G], z_sin[2 * G];
  box_muller_vectors<2 * G>(ra, rb, z_cos, z_sin);
  for (int g = 0; g < G; ++g) {
    store_blocks(z_cos[2 * g], z_sin[2 * g], z_cos[2 * g + 1], z_sin[2 * g + 1], out + 32 * g);
  }
}

AIHW_AVX2 void periphery_normals_avx2(const std::uint32_t* r0, const std::uint32_t* r1,
                                      const std::uint32_t* r2, const std::uint32_t* r3,
                                      std::int64_t n_blocks, float* out) {
  constexpr int kGroups = 4;  // measured best on Zen 3: more spills, fewer stalls
  std::int64_t m = 0;
  for (; m + 8 * kGroups <= n_blocks; m += 8 * kGroups) {
    normals_of_groups<kGroups>(r0 + m, r1 + m, r2 + m, r3 + m, out + 4 * m);
  }
  for (; m + 8 <= n_blocks; m += 8) normals_of_groups<1>(r0 + m, r1 + m, r2 + m, r3 + m, out + 4 * m);
  periphery_normals_scalar(r0 + m, r1 + m, r2 + m, r3 + m, n_blocks - m, out + 4 * m);
}

// ---------------------------------------------------------------------------------------
// AVX-512: Philox and Box-Muller fused, sixteen blocks per register. The same integer
// operations as philox4x32_10 and the same float32 operations in the same order (no FMA)
// as periphery_box_muller, so the same bits; no word buffers between the two steps.

AIHW_AVX512 inline __m512 splat16(float f) { return _mm512_set1_ps(f); }

// box_muller_vectors on sixteen lanes.
template <int P>
AIHW_AVX512 inline void box_muller_avx512(const __m512i (&ra)[P], const __m512i (&rb)[P],
                                          __m512 (&z_cos)[P], __m512 (&z_sin)[P]) {
  using namespace periphery_normal_constants;
  const __m512 one = splat16(1.0f);
  const __m512 two_m24 = splat16(kTwoM24);
  __m512 e[P], s[P], s2[P], p[P];
  for (int i = 0; i < P; ++i) {
    const __m512i w = _mm512_add_epi32(_mm512_srli_epi32(ra[i], 8), splat16_i(1));
    const __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(w), two_m24);  // exact: w <= 2^24
    const __m512i bits = _mm512_castps_si512(u);
    e[i] = _mm512_cvtepi32_ps(_mm512_sub_epi32(
        _mm512_and_si512(_mm512_srli_epi32(bits, 23), splat16_i(0xFFu)), splat16_i(126)));
    const __m512 m = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_and_si512(bits, splat16_i(0x007FFFFFu)), splat16_i(0x3F000000u)));
    s[i] = _mm512_div_ps(_mm512_sub_ps(m, one), _mm512_add_ps(m, one));
  }
  for (int i = 0; i < P; ++i) {
    s2[i] = _mm512_mul_ps(s[i], s[i]);
    p[i] = splat16(kL11);
  }
  for (const float coefficient : {kL9, kL7, kL5, kL3, 1.0f}) {
    for (int i = 0; i < P; ++i) {
      p[i] = _mm512_add_ps(_mm512_mul_ps(p[i], s2[i]), splat16(coefficient));
    }
  }
  __m512 rho[P];
  for (int i = 0; i < P; ++i) {
    const __m512 ln_u = _mm512_add_ps(_mm512_mul_ps(e[i], splat16(kLn2)),
                                      _mm512_mul_ps(_mm512_mul_ps(s[i], p[i]), splat16(2.0f)));
    const __m512 r2 = _mm512_mul_ps(ln_u, splat16(-2.0f));
    rho[i] = _mm512_sqrt_ps(_mm512_max_ps(r2, _mm512_setzero_ps()));  // r2 > 0 ? r2 : 0
  }
  __m512 phi[P], x2[P], c[P], sn[P];
  for (int i = 0; i < P; ++i) {
    const __m512i a = _mm512_and_si512(_mm512_srli_epi32(rb[i], 6), splat16_i(0x00FFFFFFu));
    phi[i] = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(a), two_m24), splat16(kHalfPi));
    x2[i] = _mm512_mul_ps(phi[i], phi[i]);
    c[i] = splat16(kC10);
    sn[i] = splat16(kS11);
  }
  constexpr float kCos[5] = {kC8, kC6, kC4, kC2, 1.0f};
  constexpr float kSin[5] = {kS9, kS7, kS5, kS3, 1.0f};
  for (int k = 0; k < 5; ++k) {
    for (int i = 0; i < P; ++i) {
      c[i] = _mm512_add_ps(_mm512_mul_ps(c[i], x2[i]), splat16(kCos[k]));
      sn[i] = _mm512_add_ps(_mm512_mul_ps(sn[i], x2[i]), splat16(kSin[k]));
    }
  }
  for (int i = 0; i < P; ++i) {
    const __m512i q = _mm512_srli_epi32(rb[i], 30);
    const __m512i odd =
        _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_and_si512(q, splat16_i(1)));
    const __m512i cos_bits = _mm512_castps_si512(c[i]);
    const __m512i sin_bits = _mm512_castps_si512(_mm512_mul_ps(sn[i], phi[i]));
    const __m512i cb =
        _mm512_or_si512(_mm512_andnot_si512(odd, cos_bits), _mm512_and_si512(sin_bits, odd));
    const __m512i sb =
        _mm512_or_si512(_mm512_andnot_si512(odd, sin_bits), _mm512_and_si512(cos_bits, odd));
    const __m512i cos_sign = _mm512_slli_epi32(
        _mm512_and_si512(_mm512_add_epi32(q, splat16_i(1)), splat16_i(2)), 30);
    const __m512i sin_sign = _mm512_slli_epi32(_mm512_and_si512(q, splat16_i(2)), 30);
    z_cos[i] = _mm512_mul_ps(rho[i], _mm512_castsi512_ps(_mm512_xor_si512(cb, cos_sign)));
    z_sin[i] = _mm512_mul_ps(rho[i], _mm512_castsi512_ps(_mm512_xor_si512(sb, sin_sign)));
  }
}

// The normals of sixteen blocks (a: word 0, b: 1, c: 2, d: 3) in block order, a 4 x 16
// transpose: unpacks give blocks (4i + j) in 128-bit lane i of t_j, then the lanes are
// gathered four blocks at a time.
AIHW_AVX512 inline void store_blocks16(__m512 a, __m512 b, __m512 c, __m512 d, float* out) {
  const __m512d ab_lo = _mm512_castps_pd(_mm512_unpacklo_ps(a, b));
  const __m512d ab_hi = _mm512_castps_pd(_mm512_unpackhi_ps(a, b));
  const __m512d cd_lo = _mm512_castps_pd(_mm512_unpacklo_ps(c, d));
  const __m512d cd_hi = _mm512_castps_pd(_mm512_unpackhi_ps(c, d));
  const __m512 t0 = _mm512_castpd_ps(_mm512_unpacklo_pd(ab_lo, cd_lo));  // blocks 0 4 8 12
  const __m512 t1 = _mm512_castpd_ps(_mm512_unpackhi_pd(ab_lo, cd_lo));  // 1 5 9 13
  const __m512 t2 = _mm512_castpd_ps(_mm512_unpacklo_pd(ab_hi, cd_hi));  // 2 6 10 14
  const __m512 t3 = _mm512_castpd_ps(_mm512_unpackhi_pd(ab_hi, cd_hi));  // 3 7 11 15
  const __m512 x_lo = _mm512_shuffle_f32x4(t0, t1, 0x44);  // 0 4 1 5
  const __m512 y_lo = _mm512_shuffle_f32x4(t2, t3, 0x44);  // 2 6 3 7
  const __m512 x_hi = _mm512_shuffle_f32x4(t0, t1, 0xEE);  // 8 12 9 13
  const __m512 y_hi = _mm512_shuffle_f32x4(t2, t3, 0xEE);  // 10 14 11 15
  _mm512_storeu_ps(out, _mm512_shuffle_f32x4(x_lo, y_lo, 0x88));       // 0 1 2 3
  _mm512_storeu_ps(out + 16, _mm512_shuffle_f32x4(x_lo, y_lo, 0xDD));  // 4 5 6 7
  _mm512_storeu_ps(out + 32, _mm512_shuffle_f32x4(x_hi, y_hi, 0x88));  // 8 9 10 11
  _mm512_storeu_ps(out + 48, _mm512_shuffle_f32x4(x_hi, y_hi, 0xDD));  // 12 13 14 15
}

// Philox of G groups of sixteen counters, then their normals stored block after block at
// out (64 G floats): what the row and lane passes below share.
template <int G>
AIHW_AVX512 inline void normals_of_counters(__m512i (&c)[G][4], PhiloxKey key, float* out) {
  philox_avx512<G>(c, key);
  __m512i ra[2 * G], rb[2 * G];
  for (int g = 0; g < G; ++g) {
    ra[2 * g] = c[g][0];
    rb[2 * g] = c[g][1];
    ra[2 * g + 1] = c[g][2];
    rb[2 * g + 1] = c[g][3];
  }
  __m512 z_cos[2 * G], z_sin[2 * G];
  box_muller_avx512<2 * G>(ra, rb, z_cos, z_sin);
  for (int g = 0; g < G; ++g) {
    store_blocks16(z_cos[2 * g], z_sin[2 * g], z_cos[2 * g + 1], z_sin[2 * g + 1],
                   out + 64 * g);
  }
}

// Blocks m .. in groups of 16G while they last; m ends after the last whole group.
template <int G>
AIHW_AVX512 inline void row_normals_groups(std::int64_t& m, std::uint32_t first,
                                           std::int64_t n_blocks, std::uint32_t c1,
                                           std::uint32_t c2, std::uint32_t c3, PhiloxKey key,
                                           float* out) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (; m + 16 * G <= n_blocks; m += 16 * G) {
    __m512i c[G][4];
    for (int g = 0; g < G; ++g) {
      // c0 = first + m + lane, modulo 2^32 as in the scalar counters.
      const auto base = static_cast<std::uint32_t>(static_cast<std::int64_t>(first) + m + 16 * g);
      c[g][0] = _mm512_add_epi32(splat16_i(base), lane);
      c[g][1] = splat16_i(c1);
      c[g][2] = splat16_i(c2);
      c[g][3] = splat16_i(c3);
    }
    normals_of_counters<G>(c, key, out + 4 * m);
  }
}

AIHW_AVX512 std::int64_t row_normals_avx512(std::uint32_t first, std::int64_t n_blocks,
                                            std::uint32_t c1, std::uint32_t c2, std::uint32_t c3,
                                            PhiloxKey key, float* out) {
  std::int64_t m = 0;
  row_normals_groups<4>(m, first, n_blocks, c1, c2, c3, key, out);  // measured best of 1, 2, 4
  row_normals_groups<2>(m, first, n_blocks, c1, c2, c3, key, out);
  row_normals_groups<1>(m, first, n_blocks, c1, c2, c3, key, out);
  if (m < n_blocks) {
    // The last 1-15 blocks: one more group of sixteen into a buffer, of which the blocks
    // that exist are copied (the scalar path costs more than the lanes wasted here).
    alignas(64) float tail[64];
    std::int64_t start = 0;
    const std::uint32_t at = static_cast<std::uint32_t>(static_cast<std::int64_t>(first) + m);
    row_normals_groups<1>(start, at, 16, c1, c2, c3, key, tail);
    std::copy(tail, tail + 4 * (n_blocks - m), out + 4 * m);
    m = n_blocks;
  }
  return m;
}

// As row_normals_groups, the counters read lane by lane (c2 shared).
template <int G>
AIHW_AVX512 inline void lane_normals_groups(std::size_t& m, std::size_t count,
                                            const std::uint32_t* c0, const std::uint32_t* c1,
                                            std::uint32_t c2, const std::uint32_t* c3,
                                            PhiloxKey key, float* out) {
  for (; m + 16 * G <= count; m += 16 * G) {
    __m512i c[G][4];
    for (int g = 0; g < G; ++g) {
      const std::size_t at = m + 16 * static_cast<std::size_t>(g);
      c[g][0] = _mm512_loadu_si512(c0 + at);
      c[g][1] = _mm512_loadu_si512(c1 + at);
      c[g][2] = splat16_i(c2);
      c[g][3] = _mm512_loadu_si512(c3 + at);
    }
    normals_of_counters<G>(c, key, out + 4 * m);
  }
}

AIHW_AVX512 void lane_normals_avx512(std::size_t count, const std::uint32_t* c0,
                                     const std::uint32_t* c1, std::uint32_t c2,
                                     const std::uint32_t* c3, PhiloxKey key, float* out) {
  std::size_t m = 0;
  lane_normals_groups<4>(m, count, c0, c1, c2, c3, key, out);
  lane_normals_groups<1>(m, count, c0, c1, c2, c3, key, out);
  if (m < count) {  // the last 1-15 blocks through padded counters and a buffer
    alignas(64) std::uint32_t t0[16] = {}, t1[16] = {}, t3[16] = {};
    alignas(64) float tail[64];
    const std::size_t rest = count - m;
    std::copy(c0 + m, c0 + count, t0);
    std::copy(c1 + m, c1 + count, t1);
    std::copy(c3 + m, c3 + count, t3);
    std::size_t start = 0;
    lane_normals_groups<1>(start, 16, t0, t1, c2, t3, key, tail);
    std::copy(tail, tail + 4 * rest, out + 4 * m);
  }
}

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

}  // namespace
#endif  // AIHW_PERIPHERY_NORMALS_AVX2

PeripheryNormalsFn periphery_normals_variant(const char* name) {
  if (std::strcmp(name, "scalar") == 0) return &periphery_normals_scalar;
#ifdef AIHW_PERIPHERY_NORMALS_AVX2
  if (std::strcmp(name, "avx2") == 0) return cpu_has_avx2() ? &periphery_normals_avx2 : nullptr;
#endif
  return nullptr;
}

PeripheryRowNormalsFn periphery_row_normals_variant(const char* name) {
#ifdef AIHW_PERIPHERY_NORMALS_AVX2
  if (std::strcmp(name, "avx512") == 0) return cpu_has_avx512() ? &row_normals_avx512 : nullptr;
#else
  (void)name;
#endif
  return nullptr;
}

PeripheryLaneNormalsFn periphery_lane_normals_variant(const char* name) {
#ifdef AIHW_PERIPHERY_NORMALS_AVX2
  if (std::strcmp(name, "avx512") == 0) return cpu_has_avx512() ? &lane_normals_avx512 : nullptr;
#else
  (void)name;
#endif
  return nullptr;
}

PeripheryLaneNormalsFn periphery_lane_normals() {
  static const PeripheryLaneNormalsFn best = periphery_lane_normals_variant("avx512");
  return best;
}

PeripheryRowNormalsFn periphery_row_normals() {
  static const PeripheryRowNormalsFn best = periphery_row_normals_variant("avx512");
  return best;
}

PeripheryNormalsFn periphery_normals_batch() {
  static const PeripheryNormalsFn best = [] {
    const PeripheryNormalsFn fn = periphery_normals_variant("avx2");
    return fn != nullptr ? fn : &periphery_normals_scalar;
  }();
  return best;
}

}  // namespace detail
}  // namespace aihw

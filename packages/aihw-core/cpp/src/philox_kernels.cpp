#include "philox_kernels.hpp"

#include "aihw/periphery.hpp"

#include <cmath>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#define AIHW_X86_64 1
#include <immintrin.h>
#if defined(__GNUC__) || defined(__clang__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which it then reports as
// uninitialized where they are inlined (GCC bug 105593, fixed in 12.3).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include "philox_avx512.hpp"
#endif
#endif

namespace aihw {
namespace detail {

// ---------------------------------------------------------------------------------------
// Portable scalar versions (the definition the SIMD versions must match)

void draw_bits16_scalar(const std::uint32_t* elem, const std::uint32_t* thr_minus_1,
                        std::uint32_t sample, std::uint32_t update_index, PhiloxKey key,
                        std::uint32_t c3_base, std::int64_t s0, int n_slots, std::uint64_t* out) {
  for (int l = 0; l < 16; ++l) out[l] = 0;
  for (int base = 0; base < n_slots; base += 4) {
    const auto q = static_cast<std::uint32_t>((s0 + base) / 4);
    const int n_words = n_slots - base < 4 ? n_slots - base : 4;
    for (int l = 0; l < 16; ++l) {
      const PhiloxBlock r = philox4x32_10({elem[l], sample, update_index, c3_base | q}, key);
      for (int k = 0; k < n_words; ++k) {
        out[l] |= static_cast<std::uint64_t>(r[k] <= thr_minus_1[l]) << (base + k);
      }
    }
  }
}

void draw_bits16_direct_scalar(const float* values, std::uint32_t j0, int n, double scale,
                               std::uint32_t sample, std::uint32_t update_index, PhiloxKey key,
                               std::uint32_t c3_base, std::int64_t s0, int n_slots,
                               std::uint64_t* out) {
  for (int l = 0; l < 16; ++l) {
    out[l] = 0;
    if (l >= n) continue;
    const double p = static_cast<double>(std::fabs(values[l])) * scale;
    if (!(p > 0.0)) continue;
    for (int t = 0; t < n_slots; ++t) {
      const auto q = static_cast<std::uint32_t>((s0 + t) / 4);
      const PhiloxBlock r = philox4x32_10({j0 + l, sample, update_index, c3_base | q}, key);
      out[l] |= static_cast<std::uint64_t>(uniform_from_word(r[(s0 + t) % 4]) < p) << t;
    }
  }
}

void philox_batch_scalar(std::size_t count, const std::uint32_t* c0, std::uint32_t c1,
                         std::uint32_t c2, const std::uint32_t* c3, PhiloxKey key,
                         std::uint32_t* r0, std::uint32_t* r1, std::uint32_t* r2,
                         std::uint32_t* r3) {
  for (std::size_t m = 0; m < count; ++m) {
    const PhiloxBlock r = philox4x32_10({c0[m], c1, c2, c3[m]}, key);
    r0[m] = r[0];
    r1[m] = r[1];
    r2[m] = r[2];
    r3[m] = r[3];
  }
}

#ifdef AIHW_X86_64
namespace {

// ---------------------------------------------------------------------------------------
// SSE2 (every x86-64 CPU): four counters per register

// (hi, lo) = a * m per 32-bit lane, 64-bit products.
inline void mul_hi_lo_sse2(__m128i a, __m128i m, __m128i& hi, __m128i& lo) {
  const __m128i lo_mask = _mm_set1_epi64x(0x00000000FFFFFFFFLL);
  const __m128i pe = _mm_mul_epu32(a, m);                      // lanes 0, 2
  const __m128i po = _mm_mul_epu32(_mm_srli_epi64(a, 32), m);  // lanes 1, 3
  lo = _mm_or_si128(_mm_and_si128(pe, lo_mask), _mm_slli_epi64(po, 32));
  hi = _mm_or_si128(_mm_srli_epi64(pe, 32), _mm_andnot_si128(lo_mask, po));
}

// Ten rounds on V independent groups of four counters (interleaved: the rounds of one
// group are a dependency chain, several groups keep the multipliers busy).
template <int V>
inline void philox_sse2(__m128i (&c)[V][4], PhiloxKey key) {
  using namespace philox_constants;
  const __m128i m0 = _mm_set1_epi32(static_cast<int>(kM0));
  const __m128i m1 = _mm_set1_epi32(static_cast<int>(kM1));
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    const __m128i key0 = _mm_set1_epi32(static_cast<int>(k0));
    const __m128i key1 = _mm_set1_epi32(static_cast<int>(k1));
    for (int v = 0; v < V; ++v) {
      __m128i hi0, lo0, hi1, lo1;
      mul_hi_lo_sse2(c[v][0], m0, hi0, lo0);
      mul_hi_lo_sse2(c[v][2], m1, hi1, lo1);
      c[v][0] = _mm_xor_si128(_mm_xor_si128(hi1, c[v][1]), key0);
      c[v][1] = lo1;
      c[v][2] = _mm_xor_si128(_mm_xor_si128(hi0, c[v][3]), key1);
      c[v][3] = lo0;
    }
  }
}

// Sixteen lanes: four groups of four elements, one block each at a time.
void draw_bits16_sse2(const std::uint32_t* elem, const std::uint32_t* thr_minus_1,
                      std::uint32_t sample, std::uint32_t update_index, PhiloxKey key,
                      std::uint32_t c3_base, std::int64_t s0, int n_slots, std::uint64_t* out) {
  constexpr int V = 4;
  const __m128i flip = _mm_set1_epi32(static_cast<int>(0x80000000u));
  __m128i e[V], thr[V];
  __m128i acc[V][2];  // slots 0-31, 32-63
  for (int v = 0; v < V; ++v) {
    e[v] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(elem + 4 * v));
    thr[v] = _mm_xor_si128(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(thr_minus_1 + 4 * v)), flip);
    acc[v][0] = acc[v][1] = _mm_setzero_si128();
  }
  for (int base = 0; base < n_slots; base += 4) {
    const __m128i c3 = _mm_set1_epi32(
        static_cast<int>(c3_base | static_cast<std::uint32_t>((s0 + base) / 4)));
    __m128i c[V][4];
    for (int v = 0; v < V; ++v) {
      c[v][0] = e[v];
      c[v][1] = _mm_set1_epi32(static_cast<int>(sample));
      c[v][2] = _mm_set1_epi32(static_cast<int>(update_index));
      c[v][3] = c3;
    }
    philox_sse2<V>(c, key);
    const int n_words = n_slots - base < 4 ? n_slots - base : 4;
    for (int k = 0; k < n_words; ++k) {
      const int bit = base + k;
      const __m128i one = _mm_set1_epi32(static_cast<int>(1u << (bit & 31)));
      for (int v = 0; v < V; ++v) {
        // r <= thr  <=>  not (r > thr), unsigned by flipping the sign bits
        const __m128i gt = _mm_cmpgt_epi32(_mm_xor_si128(c[v][k], flip), thr[v]);
        acc[v][bit >> 5] = _mm_or_si128(acc[v][bit >> 5], _mm_andnot_si128(gt, one));
      }
    }
  }
  for (int v = 0; v < V; ++v) {
    std::uint32_t lo[4], hi[4];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(lo), acc[v][0]);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(hi), acc[v][1]);
    for (int l = 0; l < 4; ++l) out[4 * v + l] = (static_cast<std::uint64_t>(hi[l]) << 32) | lo[l];
  }
}

void philox_batch_sse2(std::size_t count, const std::uint32_t* c0, std::uint32_t c1,
                       std::uint32_t c2, const std::uint32_t* c3, PhiloxKey key,
                       std::uint32_t* r0, std::uint32_t* r1, std::uint32_t* r2,
                       std::uint32_t* r3) {
  constexpr int V = 2;
  std::size_t m = 0;
  for (; m + 4 * V <= count; m += 4 * V) {
    __m128i c[V][4];
    for (int v = 0; v < V; ++v) {
      c[v][0] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c0 + m + 4 * v));
      c[v][1] = _mm_set1_epi32(static_cast<int>(c1));
      c[v][2] = _mm_set1_epi32(static_cast<int>(c2));
      c[v][3] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c3 + m + 4 * v));
    }
    philox_sse2<V>(c, key);
    for (int v = 0; v < V; ++v) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(r0 + m + 4 * v), c[v][0]);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(r1 + m + 4 * v), c[v][1]);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(r2 + m + 4 * v), c[v][2]);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(r3 + m + 4 * v), c[v][3]);
    }
  }
  philox_batch_scalar(count - m, c0 + m, c1, c2, c3 + m, key, r0 + m, r1 + m, r2 + m, r3 + m);
}

// ---------------------------------------------------------------------------------------
// AVX2 (chosen at run time): eight counters per register

#if defined(__GNUC__) || defined(__clang__)
#define AIHW_HAVE_AVX2_KERNEL 1
#define AIHW_AVX2 __attribute__((target("avx2")))

AIHW_AVX2 inline void mul_hi_lo_avx2(__m256i a, __m256i m, __m256i& hi, __m256i& lo) {
  const __m256i pe = _mm256_mul_epu32(a, m);
  const __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
}

template <int V>
AIHW_AVX2 inline void philox_avx2(__m256i (&c)[V][4], PhiloxKey key) {
  using namespace philox_constants;
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(kM0));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(kM1));
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    const __m256i key0 = _mm256_set1_epi32(static_cast<int>(k0));
    const __m256i key1 = _mm256_set1_epi32(static_cast<int>(k1));
    for (int v = 0; v < V; ++v) {
      __m256i hi0, lo0, hi1, lo1;
      mul_hi_lo_avx2(c[v][0], m0, hi0, lo0);
      mul_hi_lo_avx2(c[v][2], m1, hi1, lo1);
      c[v][0] = _mm256_xor_si256(_mm256_xor_si256(hi1, c[v][1]), key0);
      c[v][1] = lo1;
      c[v][2] = _mm256_xor_si256(_mm256_xor_si256(hi0, c[v][3]), key1);
      c[v][3] = lo0;
    }
  }
}

// Sixteen lanes: two groups of eight elements, one block each at a time.
AIHW_AVX2 void draw_bits16_avx2(const std::uint32_t* elem, const std::uint32_t* thr_minus_1,
                                std::uint32_t sample, std::uint32_t update_index, PhiloxKey key,
                                std::uint32_t c3_base, std::int64_t s0, int n_slots,
                                std::uint64_t* out) {
  constexpr int V = 2;
  const __m256i flip = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  const __m256i vs = _mm256_set1_epi32(static_cast<int>(sample));
  const __m256i vu = _mm256_set1_epi32(static_cast<int>(update_index));
  __m256i e[V], thr[V], acc[V][2];
  for (int v = 0; v < V; ++v) {
    e[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(elem + 8 * v));
    thr[v] = _mm256_xor_si256(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(thr_minus_1 + 8 * v)), flip);
    acc[v][0] = acc[v][1] = _mm256_setzero_si256();
  }
  for (int base = 0; base < n_slots; base += 4) {
    const __m256i c3 = _mm256_set1_epi32(
        static_cast<int>(c3_base | static_cast<std::uint32_t>((s0 + base) / 4)));
    __m256i c[V][4];
    for (int v = 0; v < V; ++v) {
      c[v][0] = e[v];
      c[v][1] = vs;
      c[v][2] = vu;
      c[v][3] = c3;
    }
    philox_avx2<V>(c, key);
    const int n_words = n_slots - base < 4 ? n_slots - base : 4;
    for (int k = 0; k < n_words; ++k) {
      const int bit = base + k;
      const __m256i one = _mm256_set1_epi32(static_cast<int>(1u << (bit & 31)));
      for (int v = 0; v < V; ++v) {
        const __m256i gt = _mm256_cmpgt_epi32(_mm256_xor_si256(c[v][k], flip), thr[v]);
        acc[v][bit >> 5] = _mm256_or_si256(acc[v][bit >> 5], _mm256_andnot_si256(gt, one));
      }
    }
  }
  for (int v = 0; v < V; ++v) {
    alignas(32) std::uint32_t lo[8], hi[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lo), acc[v][0]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(hi), acc[v][1]);
    for (int l = 0; l < 8; ++l) out[8 * v + l] = (static_cast<std::uint64_t>(hi[l]) << 32) | lo[l];
  }
}

// Four of the sign-flipped thresholds ceil(p * 2^32) - 1 - 2^31 (INT32_MAX when p >= 1)
// from four |v| (as double); `live` gets all ones where p > 0.
AIHW_AVX2 inline __m128i thresholds4_avx2(__m256d absv, __m256d scale, __m256i& live64) {
  const __m256d two32 = _mm256_set1_pd(4294967296.0);
  const __m256d p = _mm256_mul_pd(absv, scale);  // p = |v| * scale, as the contract
  const __m256d big_p = _mm256_mul_pd(p, two32);  // exact: a power of two
  const __m256d ceil_p = _mm256_round_pd(big_p, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
  // ceil(P) - 1 - 2^31 lies in [-2^31, 2^31 - 1] for 0 < P <= 2^32 (exact in double)
  const __m256d shifted = _mm256_sub_pd(ceil_p, _mm256_set1_pd(2147483649.0));
  const __m256d all = _mm256_cmp_pd(big_p, two32, _CMP_GE_OQ);
  const __m256d clamped = _mm256_blendv_pd(shifted, _mm256_set1_pd(2147483647.0), all);
  live64 = _mm256_castpd_si256(_mm256_cmp_pd(p, _mm256_setzero_pd(), _CMP_GT_OQ));
  return _mm256_cvttpd_epi32(clamped);
}

// Eight 32-bit lanes from two groups of four 64-bit lane masks.
AIHW_AVX2 inline __m256i narrow_mask_avx2(__m256i lo64, __m256i hi64) {
  const __m256i idx = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  const __m128i lo = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(lo64, idx));
  const __m128i hi = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(hi64, idx));
  return _mm256_set_m128i(hi, lo);
}

AIHW_AVX2 void draw_bits16_direct_avx2(const float* values, std::uint32_t j0, int n,
                                       double scale, std::uint32_t sample,
                                       std::uint32_t update_index, PhiloxKey key,
                                       std::uint32_t c3_base, std::int64_t s0, int n_slots,
                                       std::uint64_t* out) {
  constexpr int V = 2;
  alignas(32) float v[16] = {};
  for (int l = 0; l < n; ++l) v[l] = values[l];
  const __m256d vscale = _mm256_set1_pd(scale);
  const __m128 sign = _mm_set1_ps(-0.0f);
  const __m256i flip = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  __m256i thr[V], live[V], e[V], acc[V][2];
  for (int g = 0; g < V; ++g) {
    __m256i live64[2];
    __m128i t[2];
    for (int h = 0; h < 2; ++h) {
      const __m128 a = _mm_andnot_ps(sign, _mm_load_ps(v + 8 * g + 4 * h));  // |v|
      t[h] = thresholds4_avx2(_mm256_cvtps_pd(a), vscale, live64[h]);
    }
    thr[g] = _mm256_set_m128i(t[1], t[0]);
    live[g] = narrow_mask_avx2(live64[0], live64[1]);
    e[g] = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(j0 + 8 * g)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    acc[g][0] = acc[g][1] = _mm256_setzero_si256();
  }
  const __m256i vs = _mm256_set1_epi32(static_cast<int>(sample));
  const __m256i vu = _mm256_set1_epi32(static_cast<int>(update_index));
  for (int base = 0; base < n_slots; base += 4) {
    const __m256i c3 = _mm256_set1_epi32(
        static_cast<int>(c3_base | static_cast<std::uint32_t>((s0 + base) / 4)));
    __m256i c[V][4];
    for (int g = 0; g < V; ++g) {
      c[g][0] = e[g];
      c[g][1] = vs;
      c[g][2] = vu;
      c[g][3] = c3;
    }
    philox_avx2<V>(c, key);
    const int n_words = n_slots - base < 4 ? n_slots - base : 4;
    for (int k = 0; k < n_words; ++k) {
      const int bit = base + k;
      const __m256i one = _mm256_set1_epi32(static_cast<int>(1u << (bit & 31)));
      for (int g = 0; g < V; ++g) {
        const __m256i gt = _mm256_cmpgt_epi32(_mm256_xor_si256(c[g][k], flip), thr[g]);
        acc[g][bit >> 5] = _mm256_or_si256(acc[g][bit >> 5], _mm256_andnot_si256(gt, one));
      }
    }
  }
  for (int g = 0; g < V; ++g) {
    alignas(32) std::uint32_t lo[8], hi[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lo), _mm256_and_si256(acc[g][0], live[g]));
    _mm256_store_si256(reinterpret_cast<__m256i*>(hi), _mm256_and_si256(acc[g][1], live[g]));
    for (int l = 0; l < 8; ++l) out[8 * g + l] = (static_cast<std::uint64_t>(hi[l]) << 32) | lo[l];
  }
  for (int l = n; l < 16; ++l) out[l] = 0;
}

// Blocks m .. in groups of 8V while they last; m ends after the last whole group.
template <int V>
AIHW_AVX2 inline void philox_batch_groups_avx2(std::size_t& m, std::size_t count,
                                               const std::uint32_t* c0, std::uint32_t c1,
                                               std::uint32_t c2, const std::uint32_t* c3,
                                               PhiloxKey key, std::uint32_t* r0,
                                               std::uint32_t* r1, std::uint32_t* r2,
                                               std::uint32_t* r3) {
  for (; m + 8 * V <= count; m += 8 * V) {
    __m256i c[V][4];
    for (int v = 0; v < V; ++v) {
      c[v][0] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c0 + m + 8 * v));
      c[v][1] = _mm256_set1_epi32(static_cast<int>(c1));
      c[v][2] = _mm256_set1_epi32(static_cast<int>(c2));
      c[v][3] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c3 + m + 8 * v));
    }
    philox_avx2<V>(c, key);
    for (int v = 0; v < V; ++v) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(r0 + m + 8 * v), c[v][0]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(r1 + m + 8 * v), c[v][1]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(r2 + m + 8 * v), c[v][2]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(r3 + m + 8 * v), c[v][3]);
    }
  }
}

AIHW_AVX2 void philox_batch_avx2(std::size_t count, const std::uint32_t* c0, std::uint32_t c1,
                                 std::uint32_t c2, const std::uint32_t* c3, PhiloxKey key,
                                 std::uint32_t* r0, std::uint32_t* r1, std::uint32_t* r2,
                                 std::uint32_t* r3) {
  // Three groups of eight side by side keep the multipliers busy without spilling (four
  // spill on x86-64's sixteen registers); measured about 8% faster than two.
  std::size_t m = 0;
  philox_batch_groups_avx2<3>(m, count, c0, c1, c2, c3, key, r0, r1, r2, r3);
  philox_batch_groups_avx2<1>(m, count, c0, c1, c2, c3, key, r0, r1, r2, r3);
  philox_batch_sse2(count - m, c0 + m, c1, c2, c3 + m, key, r0 + m, r1 + m, r2 + m, r3 + m);
}

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

// ---------------------------------------------------------------------------------------
// AVX-512F (chosen at run time): sixteen counters per register

bool cpu_has_avx512f() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

// (A sixteen-lane draw_bits16_direct measured no faster than the AVX2 one: the 32-bit
// multiplies, not the lanes, bound it on CPUs with one 512-bit multiplier.)

AIHW_AVX512 void philox_batch_avx512(std::size_t count, const std::uint32_t* c0,
                                     std::uint32_t c1, std::uint32_t c2,
                                     const std::uint32_t* c3, PhiloxKey key, std::uint32_t* r0,
                                     std::uint32_t* r1, std::uint32_t* r2, std::uint32_t* r3) {
  constexpr int V = 4;  // four groups of sixteen side by side (32 registers hold them)
  std::size_t m = 0;
  for (; m + 16 * V <= count; m += 16 * V) {
    __m512i c[V][4];
    for (int v = 0; v < V; ++v) {
      c[v][0] = _mm512_loadu_si512(c0 + m + 16 * v);
      c[v][1] = splat16_i(c1);
      c[v][2] = splat16_i(c2);
      c[v][3] = _mm512_loadu_si512(c3 + m + 16 * v);
    }
    philox_avx512<V>(c, key);
    for (int v = 0; v < V; ++v) {
      _mm512_storeu_si512(r0 + m + 16 * v, c[v][0]);
      _mm512_storeu_si512(r1 + m + 16 * v, c[v][1]);
      _mm512_storeu_si512(r2 + m + 16 * v, c[v][2]);
      _mm512_storeu_si512(r3 + m + 16 * v, c[v][3]);
    }
  }
  for (; m < count; m += 16) {  // the rest, sixteen lanes at a time, masked
    const auto rest = static_cast<unsigned>(count - m < 16 ? count - m : 16);
    const auto mask = static_cast<__mmask16>((1u << rest) - 1u);
    __m512i c[1][4];
    c[0][0] = _mm512_maskz_loadu_epi32(mask, c0 + m);
    c[0][1] = splat16_i(c1);
    c[0][2] = splat16_i(c2);
    c[0][3] = _mm512_maskz_loadu_epi32(mask, c3 + m);
    philox_avx512<1>(c, key);
    _mm512_mask_storeu_epi32(r0 + m, mask, c[0][0]);
    _mm512_mask_storeu_epi32(r1 + m, mask, c[0][1]);
    _mm512_mask_storeu_epi32(r2 + m, mask, c[0][2]);
    _mm512_mask_storeu_epi32(r3 + m, mask, c[0][3]);
  }
}
#endif  // GNUC

}  // namespace
#endif  // AIHW_X86_64

// ---------------------------------------------------------------------------------------
// Selection

DrawBits16Fn draw_bits16_variant(const char* name) {
  if (std::strcmp(name, "scalar") == 0) return &draw_bits16_scalar;
#ifdef AIHW_X86_64
  if (std::strcmp(name, "sse2") == 0) return &draw_bits16_sse2;
#ifdef AIHW_HAVE_AVX2_KERNEL
  if (std::strcmp(name, "avx2") == 0) return cpu_has_avx2() ? &draw_bits16_avx2 : nullptr;
#endif
#endif
  return nullptr;
}

DrawBits16DirectFn draw_bits16_direct_variant(const char* name) {
  if (std::strcmp(name, "scalar") == 0) return &draw_bits16_direct_scalar;
#if defined(AIHW_X86_64) && defined(AIHW_HAVE_AVX2_KERNEL)
  if (std::strcmp(name, "avx2") == 0) return cpu_has_avx2() ? &draw_bits16_direct_avx2 : nullptr;
#endif
  return nullptr;
}

PhiloxBatchFn philox_batch_variant(const char* name) {
  if (std::strcmp(name, "scalar") == 0) return &philox_batch_scalar;
#ifdef AIHW_X86_64
  if (std::strcmp(name, "sse2") == 0) return &philox_batch_sse2;
#ifdef AIHW_HAVE_AVX2_KERNEL
  if (std::strcmp(name, "avx2") == 0) return cpu_has_avx2() ? &philox_batch_avx2 : nullptr;
  if (std::strcmp(name, "avx512") == 0) return cpu_has_avx512f() ? &philox_batch_avx512 : nullptr;
#endif
#endif
  return nullptr;
}

DrawBits16Fn draw_bits16() {
  static const DrawBits16Fn best = [] {
    DrawBits16Fn fn = draw_bits16_variant("avx2");
    if (fn == nullptr) fn = draw_bits16_variant("sse2");
    if (fn == nullptr) fn = &draw_bits16_scalar;
    return fn;
  }();
  return best;
}

PhiloxBatchFn philox_batch() {
  static const PhiloxBatchFn best = [] {
    PhiloxBatchFn fn = philox_batch_variant("avx512");
    if (fn == nullptr) fn = philox_batch_variant("avx2");
    if (fn == nullptr) fn = philox_batch_variant("sse2");
    if (fn == nullptr) fn = &philox_batch_scalar;
    return fn;
  }();
  return best;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void normals_from_blocks(std::size_t n, const std::uint32_t* __restrict r0,
                         const std::uint32_t* __restrict r1, const std::uint32_t* __restrict r2,
                         const std::uint32_t* __restrict r3, float* __restrict out) {
  for (std::size_t m = 0; m < n; ++m) {
    float z0, z1, z2, z3;
    periphery_box_muller(r0[m], r1[m], z0, z1);
    periphery_box_muller(r2[m], r3[m], z2, z3);
    out[4 * m] = z0;
    out[4 * m + 1] = z1;
    out[4 * m + 2] = z2;
    out[4 * m + 3] = z3;
  }
}

}  // namespace detail
}  // namespace aihw

#include "philox_kernels.hpp"

#include "aihw/periphery.hpp"

#include <algorithm>
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
// Counter sources and outputs of a batch of blocks (c2 is shared by every block)

namespace {

// Block m: (lo32(q0 + m), c1, c2, c3 | hi32(q0 + m)), consecutive blocks of one run.
struct Consecutive {
  std::uint64_t q0;
  std::uint32_t c1, c3;
};
// Block m: (c0[m], c1, c2, c3[m]).
struct SharedC1 {
  const std::uint32_t* c0;
  std::uint32_t c1;
  const std::uint32_t* c3;
};
// Block m: (c0[m], c1[m], c2, c3[m]).
struct PerLane {
  const std::uint32_t *c0, *c1, *c3;
};
// Word k of block m at r[k][m].
struct Planar {
  std::uint32_t *r0, *r1, *r2, *r3;
};
// Word k of block m at words[4 m + k].
struct Interleaved {
  std::uint32_t* words;
};

inline PhiloxCounter counter(const Consecutive& s, std::size_t m) noexcept {
  const std::uint64_t q = s.q0 + m;
  return {static_cast<std::uint32_t>(q), s.c1, 0u, s.c3 | static_cast<std::uint32_t>(q >> 32)};
}
inline PhiloxCounter counter(const SharedC1& s, std::size_t m) noexcept {
  return {s.c0[m], s.c1, 0u, s.c3[m]};
}
inline PhiloxCounter counter(const PerLane& s, std::size_t m) noexcept {
  return {s.c0[m], s.c1[m], 0u, s.c3[m]};
}
inline void put(const Planar& o, std::size_t m, const PhiloxBlock& r) noexcept {
  o.r0[m] = r[0];
  o.r1[m] = r[1];
  o.r2[m] = r[2];
  o.r3[m] = r[3];
}
inline void put(const Interleaved& o, std::size_t m, const PhiloxBlock& r) noexcept {
  for (int k = 0; k < 4; ++k) o.words[4 * m + k] = r[k];
}

// Blocks 0 .. count - 1 by the definition (philox4x32_10 block by block).
template <class Src, class Out>
void philox_blocks_scalar(std::size_t count, const Src& src, std::uint32_t c2, PhiloxKey key,
                          const Out& out) {
  for (std::size_t m = 0; m < count; ++m) {
    PhiloxCounter c = counter(src, m);
    c[2] = c2;
    put(out, m, philox4x32_10(c, key));
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Portable scalar versions (the definition the SIMD versions must match)

void philox_run_scalar(std::uint64_t q0, std::size_t count, std::uint32_t c1, std::uint32_t c2,
                       std::uint32_t c3_base, PhiloxKey key, std::uint32_t* words) {
  philox_blocks_scalar(count, Consecutive{q0, c1, c3_base}, c2, key, Interleaved{words});
}

void philox_lanes_scalar(std::size_t count, const std::uint32_t* c0, const std::uint32_t* c1,
                         std::uint32_t c2, const std::uint32_t* c3, PhiloxKey key,
                         std::uint32_t* words) {
  philox_blocks_scalar(count, PerLane{c0, c1, c3}, c2, key, Interleaved{words});
}

void philox_lanes_planar_scalar(std::size_t count, const std::uint32_t* c0,
                                const std::uint32_t* c1, std::uint32_t c2,
                                const std::uint32_t* c3, PhiloxKey key, std::uint32_t* r0,
                                std::uint32_t* r1, std::uint32_t* r2, std::uint32_t* r3) {
  philox_blocks_scalar(count, PerLane{c0, c1, c3}, c2, key, Planar{r0, r1, r2, r3});
}

std::int64_t train_bits_scalar(const float* values, std::uint32_t j0, std::int64_t n_elems,
                               double scale, const std::uint32_t* words, int n,
                               std::uint32_t* out_idx, std::uint64_t* out_masks) {
  std::int64_t count = 0;
  for (std::int64_t l = 0; l < n_elems; ++l) {
    const double p = static_cast<double>(std::fabs(values[l])) * scale;
    if (!(p > 0.0)) continue;
    // u < p  <=>  word < ceil(p 2^32)  (p 2^32 exact); every word when p >= 1
    const double big = std::ceil(p * 4294967296.0);
    const std::uint32_t thr =
        big >= 4294967296.0 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(big - 1.0);
    std::uint64_t bits = 0;
    for (int t = 0; t < n; ++t) bits |= static_cast<std::uint64_t>(words[l * n + t] <= thr) << t;
    if (bits == 0) continue;
    out_idx[count] = (j0 + static_cast<std::uint32_t>(l)) | (values[l] < 0.0f ? 0x80000000u : 0u);
    out_masks[count] = bits;
    ++count;
  }
  return count;
}


void philox_batch_scalar(std::size_t count, const std::uint32_t* c0, std::uint32_t c1,
                         std::uint32_t c2, const std::uint32_t* c3, PhiloxKey key,
                         std::uint32_t* r0, std::uint32_t* r1, std::uint32_t* r2,
                         std::uint32_t* r3) {
  philox_blocks_scalar(count, SharedC1{c0, c1, c3}, c2, key, Planar{r0, r1, r2, r3});
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

// The 4 x 8 words of eight blocks (word k of block m in lane m of r[k]) stored block by
// block: out[4 m + k].
AIHW_AVX2 inline void store_interleaved_avx2(const __m256i (&r)[4], std::uint32_t* out) {
  const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]);  // b0w0 b0w1 b1w0 b1w1 | b4 b5
  const __m256i t1 = _mm256_unpackhi_epi32(r[0], r[1]);  // b2 b3 | b6 b7 (words 0, 1)
  const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]);  // words 2, 3 of b0 b1 | b4 b5
  const __m256i t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2);  // b0 | b4
  const __m256i u1 = _mm256_unpackhi_epi64(t0, t2);  // b1 | b5
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3);  // b2 | b6
  const __m256i u3 = _mm256_unpackhi_epi64(t1, t3);  // b3 | b7
  auto* o = reinterpret_cast<__m256i*>(out);
  _mm256_storeu_si256(o, _mm256_permute2x128_si256(u0, u1, 0x20));
  _mm256_storeu_si256(o + 1, _mm256_permute2x128_si256(u2, u3, 0x20));
  _mm256_storeu_si256(o + 2, _mm256_permute2x128_si256(u0, u1, 0x31));
  _mm256_storeu_si256(o + 3, _mm256_permute2x128_si256(u2, u3, 0x31));
}

// The counters of eight blocks m .. m + 7 (lanes beyond `mask` are ignored).
AIHW_AVX2 inline void load_counters_avx2(const Consecutive& s, std::size_t m, __m256i,
                                         std::uint32_t c2, __m256i (&c)[4]) {
  // no wrap of the low word within a call (philox_run splits there)
  c[0] = _mm256_add_epi32(
      _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(s.q0 + m))),
      _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  c[1] = _mm256_set1_epi32(static_cast<int>(s.c1));
  c[2] = _mm256_set1_epi32(static_cast<int>(c2));
  c[3] = _mm256_set1_epi32(static_cast<int>(s.c3 | static_cast<std::uint32_t>(s.q0 >> 32)));
}
AIHW_AVX2 inline __m256i load8_avx2(const std::uint32_t* p, __m256i mask) {
  return _mm256_maskload_epi32(reinterpret_cast<const int*>(p), mask);
}
AIHW_AVX2 inline void load_counters_avx2(const SharedC1& s, std::size_t m, __m256i mask,
                                         std::uint32_t c2, __m256i (&c)[4]) {
  c[0] = load8_avx2(s.c0 + m, mask);
  c[1] = _mm256_set1_epi32(static_cast<int>(s.c1));
  c[2] = _mm256_set1_epi32(static_cast<int>(c2));
  c[3] = load8_avx2(s.c3 + m, mask);
}
AIHW_AVX2 inline void load_counters_avx2(const PerLane& s, std::size_t m, __m256i mask,
                                         std::uint32_t c2, __m256i (&c)[4]) {
  c[0] = load8_avx2(s.c0 + m, mask);
  c[1] = load8_avx2(s.c1 + m, mask);
  c[2] = _mm256_set1_epi32(static_cast<int>(c2));
  c[3] = load8_avx2(s.c3 + m, mask);
}

// Blocks m .. m + n - 1 (n <= 8) of a group stored.
AIHW_AVX2 inline void store_blocks_avx2(const Planar& o, std::size_t m, std::size_t n,
                                        __m256i mask, const __m256i (&c)[4]) {
  std::uint32_t* r[4] = {o.r0 + m, o.r1 + m, o.r2 + m, o.r3 + m};
  for (int k = 0; k < 4; ++k) {
    if (n == 8) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(r[k]), c[k]);
    } else {
      _mm256_maskstore_epi32(reinterpret_cast<int*>(r[k]), mask, c[k]);
    }
  }
}
AIHW_AVX2 inline void store_blocks_avx2(const Interleaved& o, std::size_t m, std::size_t n,
                                        __m256i, const __m256i (&c)[4]) {
  if (n == 8) {
    store_interleaved_avx2(c, o.words + 4 * m);
    return;
  }
  alignas(32) std::uint32_t tmp[32];
  store_interleaved_avx2(c, tmp);
  std::memcpy(o.words + 4 * m, tmp, 4 * n * sizeof(std::uint32_t));
}

// Every block: three groups of eight side by side (four spill on x86-64's sixteen
// registers; three measured about 8% faster than two), then groups of eight, the last
// one masked.
template <class Src, class Out>
AIHW_AVX2 void philox_blocks_avx2(std::size_t count, const Src& src, std::uint32_t c2,
                                  PhiloxKey key, const Out& out) {
  constexpr int V = 3;
  const __m256i all = _mm256_set1_epi32(-1);
  std::size_t m = 0;
  for (; m + 8 * V <= count; m += 8 * V) {
    __m256i c[V][4];
    for (int v = 0; v < V; ++v) load_counters_avx2(src, m + 8 * v, all, c2, c[v]);
    philox_avx2<V>(c, key);
    for (int v = 0; v < V; ++v) store_blocks_avx2(out, m + 8 * v, 8, all, c[v]);
  }
  for (; m < count; m += 8) {
    const std::size_t n = count - m < 8 ? count - m : 8;
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256i c[1][4];
    load_counters_avx2(src, m, mask, c2, c[0]);
    philox_avx2<1>(c, key);
    store_blocks_avx2(out, m, n, mask, c[0]);
  }
}

// Splits a run of consecutive blocks where the low counter word wraps.
template <class Blocks>
inline void split_at_wraps(std::uint64_t q0, std::size_t count, std::uint32_t* words,
                           Blocks&& blocks) {
  while (count > 0) {
    const auto lo = static_cast<std::uint32_t>(q0);
    const std::size_t n = std::min<std::uint64_t>(count, (std::uint64_t{1} << 32) - lo);
    blocks(q0, n, words);
    q0 += n;
    count -= n;
    words += 4 * n;
  }
}

AIHW_AVX2 void philox_run_avx2(std::uint64_t q0, std::size_t count, std::uint32_t c1,
                               std::uint32_t c2, std::uint32_t c3_base, PhiloxKey key,
                               std::uint32_t* words) {
  split_at_wraps(q0, count, words, [&](std::uint64_t q, std::size_t n, std::uint32_t* w) {
    philox_blocks_avx2(n, Consecutive{q, c1, c3_base}, c2, key, Interleaved{w});
  });
}

AIHW_AVX2 void philox_lanes_avx2(std::size_t count, const std::uint32_t* c0,
                                 const std::uint32_t* c1, std::uint32_t c2,
                                 const std::uint32_t* c3, PhiloxKey key, std::uint32_t* words) {
  philox_blocks_avx2(count, PerLane{c0, c1, c3}, c2, key, Interleaved{words});
}

AIHW_AVX2 void philox_lanes_planar_avx2(std::size_t count, const std::uint32_t* c0,
                                        const std::uint32_t* c1, std::uint32_t c2,
                                        const std::uint32_t* c3, PhiloxKey key,
                                        std::uint32_t* r0, std::uint32_t* r1, std::uint32_t* r2,
                                        std::uint32_t* r3) {
  philox_blocks_avx2(count, PerLane{c0, c1, c3}, c2, key, Planar{r0, r1, r2, r3});
}

// Bits (w <= thr) of eight words, unsigned, as an 8-bit mask; thr_flipped = thr ^ 2^31.
AIHW_AVX2 inline unsigned at_most8_avx2(const std::uint32_t* w, __m256i thr_flipped) {
  const __m256i flip = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  const __m256i x = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)), flip);
  const __m256i gt = _mm256_cmpgt_epi32(x, thr_flipped);
  return ~static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(gt))) & 0xFFu;
}

AIHW_AVX2 std::int64_t train_bits_avx2(const float* values, std::uint32_t j0,
                                       std::int64_t n_elems, double scale,
                                       const std::uint32_t* words, int n, std::uint32_t* out_idx,
                                       std::uint64_t* out_masks) {
  const __m256d vscale = _mm256_set1_pd(scale);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const std::uint64_t n_mask = n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
  std::int64_t count = 0;
  // Writes element l0 + l with its bits and keeps it when they are not 0, branch-free (a
  // firing element has |v| > 0, so its sign bit says whether v < 0). Slot `count` may be
  // written beyond the kept ones, never beyond element l0 + l's own.
  auto keep = [&](std::int64_t l0, unsigned l, unsigned neg, std::uint64_t bits) {
    out_idx[count] = (j0 + static_cast<std::uint32_t>(l0) + l) | (((neg >> l) & 1u) << 31);
    out_masks[count] = bits;
    count += bits != 0;
  };
  for (std::int64_t l0 = 0; l0 < n_elems; l0 += 8) {
    const int m = n_elems - l0 < 8 ? static_cast<int>(n_elems - l0) : 8;
    const __m256i in_range = _mm256_cmpgt_epi32(_mm256_set1_epi32(m), lane);
    const __m256 raw = _mm256_maskload_ps(values + l0, in_range);  // 0 beyond the end
    const auto neg = static_cast<unsigned>(_mm256_movemask_ps(raw));
    const __m256 v = _mm256_andnot_ps(sign, raw);  // |v|
    __m256i live64[2];
    const __m128i t0 = thresholds4_avx2(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), vscale, live64[0]);
    const __m128i t1 = thresholds4_avx2(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), vscale, live64[1]);
    const __m256i thr = _mm256_set_m128i(t1, t0);
    const auto live = static_cast<unsigned>(
        _mm256_movemask_ps(_mm256_castsi256_ps(narrow_mask_avx2(live64[0], live64[1]))));
    if (n == 1) {  // one word per element: eight elements in one compare
      const unsigned fired = at_most8_avx2(words + l0, thr) & live;
      for (int l = 0; l < m; ++l) keep(l0, static_cast<unsigned>(l), neg, (fired >> l) & 1u);
      continue;
    }
    alignas(32) std::int32_t thr_l[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(thr_l), thr);
    for (int l = 0; l < m; ++l) {
      const __m256i tl = _mm256_set1_epi32(thr_l[l]);
      const std::uint32_t* w = words + (l0 + l) * n;
      std::uint64_t bits = 0;
      for (int c = 0; c < n; c += 8) bits |= static_cast<std::uint64_t>(at_most8_avx2(w + c, tl)) << c;
      keep(l0, static_cast<unsigned>(l), neg, ((live >> l) & 1u) ? bits & n_mask : 0);
    }
  }
  return count;
}


AIHW_AVX2 void philox_batch_avx2(std::size_t count, const std::uint32_t* c0, std::uint32_t c1,
                                 std::uint32_t c2, const std::uint32_t* c3, PhiloxKey key,
                                 std::uint32_t* r0, std::uint32_t* r1, std::uint32_t* r2,
                                 std::uint32_t* r3) {
  philox_blocks_avx2(count, SharedC1{c0, c1, c3}, c2, key, Planar{r0, r1, r2, r3});
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

AIHW_AVX512 inline void load_counters_avx512(const Consecutive& s, std::size_t m, __mmask16,
                                             std::uint32_t c2, __m512i (&c)[4]) {
  // no wrap of the low word within a call (philox_run splits there)
  c[0] = _mm512_add_epi32(splat16_i(static_cast<std::uint32_t>(s.q0 + m)),
                          _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  c[1] = splat16_i(s.c1);
  c[2] = splat16_i(c2);
  c[3] = splat16_i(s.c3 | static_cast<std::uint32_t>(s.q0 >> 32));
}
AIHW_AVX512 inline void load_counters_avx512(const SharedC1& s, std::size_t m, __mmask16 mask,
                                             std::uint32_t c2, __m512i (&c)[4]) {
  c[0] = _mm512_maskz_loadu_epi32(mask, s.c0 + m);
  c[1] = splat16_i(s.c1);
  c[2] = splat16_i(c2);
  c[3] = _mm512_maskz_loadu_epi32(mask, s.c3 + m);
}
AIHW_AVX512 inline void load_counters_avx512(const PerLane& s, std::size_t m, __mmask16 mask,
                                             std::uint32_t c2, __m512i (&c)[4]) {
  c[0] = _mm512_maskz_loadu_epi32(mask, s.c0 + m);
  c[1] = _mm512_maskz_loadu_epi32(mask, s.c1 + m);
  c[2] = splat16_i(c2);
  c[3] = _mm512_maskz_loadu_epi32(mask, s.c3 + m);
}

// As store_interleaved_avx2 for sixteen blocks.
AIHW_AVX512 inline void store_interleaved_avx512(const __m512i (&r)[4], std::uint32_t* out) {
  const __m512i t0 = _mm512_unpacklo_epi32(r[0], r[1]);
  const __m512i t1 = _mm512_unpackhi_epi32(r[0], r[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(r[2], r[3]);
  const __m512i t3 = _mm512_unpackhi_epi32(r[2], r[3]);
  const __m512i u0 = _mm512_unpacklo_epi64(t0, t2);  // b0 | b4 | b8 | b12
  const __m512i u1 = _mm512_unpackhi_epi64(t0, t2);  // b1 | b5 | b9 | b13
  const __m512i u2 = _mm512_unpacklo_epi64(t1, t3);  // b2 | b6 | b10 | b14
  const __m512i u3 = _mm512_unpackhi_epi64(t1, t3);  // b3 | b7 | b11 | b15
  const __m512i v0 = _mm512_shuffle_i32x4(u0, u1, 0x88);  // b0 b8 b1 b9
  const __m512i v1 = _mm512_shuffle_i32x4(u0, u1, 0xDD);  // b4 b12 b5 b13
  const __m512i v2 = _mm512_shuffle_i32x4(u2, u3, 0x88);  // b2 b10 b3 b11
  const __m512i v3 = _mm512_shuffle_i32x4(u2, u3, 0xDD);  // b6 b14 b7 b15
  _mm512_storeu_si512(out, _mm512_shuffle_i32x4(v0, v2, 0x88));       // b0 b1 b2 b3
  _mm512_storeu_si512(out + 16, _mm512_shuffle_i32x4(v1, v3, 0x88));  // b4 .. b7
  _mm512_storeu_si512(out + 32, _mm512_shuffle_i32x4(v0, v2, 0xDD));  // b8 .. b11
  _mm512_storeu_si512(out + 48, _mm512_shuffle_i32x4(v1, v3, 0xDD));  // b12 .. b15
}

// Blocks m .. m + n - 1 (n <= 16, `mask` their lanes) of a group stored.
AIHW_AVX512 inline void store_blocks_avx512(const Planar& o, std::size_t m, std::size_t,
                                            __mmask16 mask, const __m512i (&c)[4]) {
  _mm512_mask_storeu_epi32(o.r0 + m, mask, c[0]);
  _mm512_mask_storeu_epi32(o.r1 + m, mask, c[1]);
  _mm512_mask_storeu_epi32(o.r2 + m, mask, c[2]);
  _mm512_mask_storeu_epi32(o.r3 + m, mask, c[3]);
}
AIHW_AVX512 inline void store_blocks_avx512(const Interleaved& o, std::size_t m, std::size_t n,
                                            __mmask16, const __m512i (&c)[4]) {
  if (n == 16) {
    store_interleaved_avx512(c, o.words + 4 * m);
    return;
  }
  alignas(64) std::uint32_t tmp[64];
  store_interleaved_avx512(c, tmp);
  std::memcpy(o.words + 4 * m, tmp, 4 * n * sizeof(std::uint32_t));
}

// Every block: four groups of sixteen side by side (32 registers hold them), then groups
// of sixteen, the last one masked.
template <class Src, class Out>
AIHW_AVX512 void philox_blocks_avx512(std::size_t count, const Src& src, std::uint32_t c2,
                                      PhiloxKey key, const Out& out) {
  constexpr int V = 4;
  const auto all = static_cast<__mmask16>(0xFFFF);
  std::size_t m = 0;
  for (; m + 16 * V <= count; m += 16 * V) {
    __m512i c[V][4];
    for (int v = 0; v < V; ++v) load_counters_avx512(src, m + 16 * v, all, c2, c[v]);
    philox_avx512<V>(c, key);
    for (int v = 0; v < V; ++v) store_blocks_avx512(out, m + 16 * v, 16, all, c[v]);
  }
  for (; m < count; m += 16) {
    const std::size_t n = count - m < 16 ? count - m : 16;
    const auto mask = static_cast<__mmask16>((1u << n) - 1u);
    __m512i c[1][4];
    load_counters_avx512(src, m, mask, c2, c[0]);
    philox_avx512<1>(c, key);
    store_blocks_avx512(out, m, n, mask, c[0]);
  }
}

AIHW_AVX512 void philox_batch_avx512(std::size_t count, const std::uint32_t* c0,
                                     std::uint32_t c1, std::uint32_t c2,
                                     const std::uint32_t* c3, PhiloxKey key, std::uint32_t* r0,
                                     std::uint32_t* r1, std::uint32_t* r2, std::uint32_t* r3) {
  philox_blocks_avx512(count, SharedC1{c0, c1, c3}, c2, key, Planar{r0, r1, r2, r3});
}

AIHW_AVX512 void philox_lanes_planar_avx512(std::size_t count, const std::uint32_t* c0,
                                            const std::uint32_t* c1, std::uint32_t c2,
                                            const std::uint32_t* c3, PhiloxKey key,
                                            std::uint32_t* r0, std::uint32_t* r1,
                                            std::uint32_t* r2, std::uint32_t* r3) {
  philox_blocks_avx512(count, PerLane{c0, c1, c3}, c2, key, Planar{r0, r1, r2, r3});
}

AIHW_AVX512 void philox_lanes_avx512(std::size_t count, const std::uint32_t* c0,
                                     const std::uint32_t* c1, std::uint32_t c2,
                                     const std::uint32_t* c3, PhiloxKey key,
                                     std::uint32_t* words) {
  philox_blocks_avx512(count, PerLane{c0, c1, c3}, c2, key, Interleaved{words});
}

// Which of sixteen words fire: w < P, P = p 2^32 and p = |v| * scale in double, as the
// contract. For an integer w that is w <= ceil(P) - 1, train_bits_avx2's threshold (every
// word when P >= 2^32, none when p = 0), without computing the threshold: both sides are
// exact in double.
AIHW_AVX512 inline __mmask16 fires16_avx512(__m512 absv, double scale, __m512i words) {
  const __m512d vscale = _mm512_set1_pd(scale);
  const __m512d two32 = _mm512_set1_pd(4294967296.0);
  __mmask8 fired[2];
  for (int half = 0; half < 2; ++half) {
    const __m256 f = _mm256_castsi256_ps(_mm512_extracti64x4_epi64(_mm512_castps_si512(absv), half));
    const __m512d big_p = _mm512_mul_pd(_mm512_mul_pd(_mm512_cvtps_pd(f), vscale), two32);
    const __m512d w = _mm512_cvtepu32_pd(_mm512_extracti64x4_epi64(words, half));
    fired[half] = _mm512_cmp_pd_mask(w, big_p, _CMP_LT_OQ);
  }
  return static_cast<__mmask16>(fired[0] | (static_cast<unsigned>(fired[1]) << 8));
}

// One-word trains (the usual BL of 1, update management with small errors) sixteen elements
// at a time, the firing ones compressed into place; longer trains as train_bits_avx2. Same
// output as train_bits_scalar, and nothing written beyond the kept elements.
AIHW_AVX512 std::int64_t train_bits_avx512(const float* values, std::uint32_t j0,
                                           std::int64_t n_elems, double scale,
                                           const std::uint32_t* words, int n,
                                           std::uint32_t* out_idx, std::uint64_t* out_masks) {
  if (n != 1) return train_bits_avx2(values, j0, n_elems, scale, words, n, out_idx, out_masks);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  const __m512i one = _mm512_set1_epi64(1);
  std::int64_t count = 0;
  for (std::int64_t l0 = 0; l0 < n_elems; l0 += 16) {
    const std::int64_t m = std::min<std::int64_t>(16, n_elems - l0);
    const auto in_range = static_cast<__mmask16>((1u << m) - 1u);
    const __m512i raw = _mm512_maskz_loadu_epi32(in_range, values + l0);  // 0 beyond the end
    const __mmask16 neg = _mm512_test_epi32_mask(raw, sign);
    const __m512 absv = _mm512_castsi512_ps(_mm512_andnot_si512(sign, raw));
    const __m512i w = _mm512_maskz_loadu_epi32(in_range, words + l0);
    const __mmask16 fired = fires16_avx512(absv, scale, w);  // none beyond the end (v = 0)
    // No branch on `fired`: whether a run of sixteen fires is random, and the empty masks
    // store nothing.
    const __m512i j = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(j0 + l0)), lane);
    const unsigned k = static_cast<unsigned>(__builtin_popcount(fired));
    const unsigned k_bits = (1u << k) - 1u;  // k <= 16: the first k slots
    // Compressed in a register, then a masked store: a compressing store to memory is
    // microcoded and slow on some CPUs (AMD Zen 4).
    const __m512i kept = _mm512_maskz_compress_epi32(fired, _mm512_mask_or_epi32(j, neg, j, sign));
    _mm512_mask_storeu_epi32(out_idx + count, static_cast<__mmask16>(k_bits), kept);
    _mm512_mask_storeu_epi64(out_masks + count, static_cast<__mmask8>(k_bits), one);
    _mm512_mask_storeu_epi64(out_masks + count + 8, static_cast<__mmask8>(k_bits >> 8), one);
    count += k;
  }
  return count;
}

AIHW_AVX512 void philox_run_avx512(std::uint64_t q0, std::size_t count, std::uint32_t c1,
                                   std::uint32_t c2, std::uint32_t c3_base, PhiloxKey key,
                                   std::uint32_t* words) {
  split_at_wraps(q0, count, words, [&](std::uint64_t q, std::size_t n, std::uint32_t* w) {
    philox_blocks_avx512(n, Consecutive{q, c1, c3_base}, c2, key, Interleaved{w});
  });
}
#endif  // GNUC

}  // namespace
#endif  // AIHW_X86_64

// ---------------------------------------------------------------------------------------
// Selection

// The first variant this build and CPU have, fastest first.
template <class Fn>
Fn fastest(Fn (*variant)(const char*)) {
  for (const char* name : {"avx512", "avx2", "sse2", "scalar"}) {
    if (const Fn fn = variant(name)) return fn;
  }
  return nullptr;
}

PhiloxRunFn philox_run_variant(const char* name) {
  if (std::strcmp(name, "scalar") == 0) return &philox_run_scalar;
#if defined(AIHW_X86_64) && defined(AIHW_HAVE_AVX2_KERNEL)
  if (std::strcmp(name, "avx2") == 0) return cpu_has_avx2() ? &philox_run_avx2 : nullptr;
  if (std::strcmp(name, "avx512") == 0) return cpu_has_avx512f() ? &philox_run_avx512 : nullptr;
#endif
  return nullptr;
}

PhiloxRunFn philox_run() {
  static const PhiloxRunFn best = fastest(&philox_run_variant);
  return best;
}

PhiloxLanesFn philox_lanes_variant(const char* name) {
  if (std::strcmp(name, "scalar") == 0) return &philox_lanes_scalar;
#if defined(AIHW_X86_64) && defined(AIHW_HAVE_AVX2_KERNEL)
  if (std::strcmp(name, "avx2") == 0) return cpu_has_avx2() ? &philox_lanes_avx2 : nullptr;
  if (std::strcmp(name, "avx512") == 0) return cpu_has_avx512f() ? &philox_lanes_avx512 : nullptr;
#endif
  return nullptr;
}

PhiloxLanesFn philox_lanes() {
  static const PhiloxLanesFn best = fastest(&philox_lanes_variant);
  return best;
}

PhiloxLanesPlanarFn philox_lanes_planar_variant(const char* name) {
  if (std::strcmp(name, "scalar") == 0) return &philox_lanes_planar_scalar;
#if defined(AIHW_X86_64) && defined(AIHW_HAVE_AVX2_KERNEL)
  if (std::strcmp(name, "avx2") == 0) return cpu_has_avx2() ? &philox_lanes_planar_avx2 : nullptr;
  if (std::strcmp(name, "avx512") == 0) {
    return cpu_has_avx512f() ? &philox_lanes_planar_avx512 : nullptr;
  }
#endif
  return nullptr;
}

PhiloxLanesPlanarFn philox_lanes_planar() {
  static const PhiloxLanesPlanarFn best = fastest(&philox_lanes_planar_variant);
  return best;
}

TrainBitsFn train_bits_variant(const char* name) {
  if (std::strcmp(name, "scalar") == 0) return &train_bits_scalar;
#if defined(AIHW_X86_64) && defined(AIHW_HAVE_AVX2_KERNEL)
  if (std::strcmp(name, "avx2") == 0) return cpu_has_avx2() ? &train_bits_avx2 : nullptr;
  if (std::strcmp(name, "avx512") == 0) return cpu_has_avx512f() ? &train_bits_avx512 : nullptr;
#endif
  return nullptr;
}

TrainBitsFn train_bits() {
  static const TrainBitsFn best = fastest(&train_bits_variant);
  return best;
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

PhiloxBatchFn philox_batch() {
  static const PhiloxBatchFn best = fastest(&philox_batch_variant);
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
#include "philox_kernels.hpp"

#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#define AIHW_X86_64 1
#include <immintrin.h>
#endif

namespace aihw {
namespace detail {

// ---------------------------------------------------------------------------------------
// Portable scalar versions (the definition the SIMD versions must match)

void draw_bits8_scalar(const std::uint32_t* elem, const std::uint32_t* thr_minus_1,
                       std::uint32_t sample, std::uint32_t update_index, PhiloxKey key,
                       std::uint32_t c3_base, std::int64_t s0, int n_slots, std::uint64_t* out) {
  for (int l = 0; l < 8; ++l) out[l] = 0;
  for (int base = 0; base < n_slots; base += 4) {
    const auto q = static_cast<std::uint32_t>((s0 + base) / 4);
    const int n_words = n_slots - base < 4 ? n_slots - base : 4;
    for (int l = 0; l < 8; ++l) {
      const PhiloxBlock r = philox4x32_10({elem[l], sample, update_index, c3_base | q}, key);
      for (int k = 0; k < n_words; ++k) {
        out[l] |= static_cast<std::uint64_t>(r[k] <= thr_minus_1[l]) << (base + k);
      }
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

inline void philox4_sse2(__m128i& c0, __m128i& c1, __m128i& c2, __m128i& c3, PhiloxKey key) {
  using namespace philox_constants;
  const __m128i m0 = _mm_set1_epi32(static_cast<int>(kM0));
  const __m128i m1 = _mm_set1_epi32(static_cast<int>(kM1));
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    __m128i hi0, lo0, hi1, lo1;
    mul_hi_lo_sse2(c0, m0, hi0, lo0);
    mul_hi_lo_sse2(c2, m1, hi1, lo1);
    c0 = _mm_xor_si128(_mm_xor_si128(hi1, c1), _mm_set1_epi32(static_cast<int>(k0)));
    c1 = lo1;
    c2 = _mm_xor_si128(_mm_xor_si128(hi0, c3), _mm_set1_epi32(static_cast<int>(k1)));
    c3 = lo0;
  }
}

void draw_bits4_sse2(const std::uint32_t* elem, const std::uint32_t* thr_minus_1,
                     std::uint32_t sample, std::uint32_t update_index, PhiloxKey key,
                     std::uint32_t c3_base, std::int64_t s0, int n_slots, std::uint64_t* out) {
  const __m128i flip = _mm_set1_epi32(static_cast<int>(0x80000000u));
  const __m128i e = _mm_loadu_si128(reinterpret_cast<const __m128i*>(elem));
  const __m128i thr =
      _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(thr_minus_1)), flip);
  __m128i acc[2] = {_mm_setzero_si128(), _mm_setzero_si128()};  // slots 0-31, 32-63
  for (int base = 0; base < n_slots; base += 4) {
    __m128i c0 = e;
    __m128i c1 = _mm_set1_epi32(static_cast<int>(sample));
    __m128i c2 = _mm_set1_epi32(static_cast<int>(update_index));
    __m128i c3 = _mm_set1_epi32(
        static_cast<int>(c3_base | static_cast<std::uint32_t>((s0 + base) / 4)));
    philox4_sse2(c0, c1, c2, c3, key);
    const __m128i r[4] = {c0, c1, c2, c3};
    const int n_words = n_slots - base < 4 ? n_slots - base : 4;
    for (int k = 0; k < n_words; ++k) {
      const int bit = base + k;
      // r <= thr  <=>  not (r > thr), unsigned by flipping the sign bits
      const __m128i gt = _mm_cmpgt_epi32(_mm_xor_si128(r[k], flip), thr);
      const __m128i one = _mm_set1_epi32(static_cast<int>(1u << (bit & 31)));
      acc[bit >> 5] = _mm_or_si128(acc[bit >> 5], _mm_andnot_si128(gt, one));
    }
  }
  std::uint32_t lo[4], hi[4];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(lo), acc[0]);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(hi), acc[1]);
  for (int l = 0; l < 4; ++l) out[l] = (static_cast<std::uint64_t>(hi[l]) << 32) | lo[l];
}

void draw_bits8_sse2(const std::uint32_t* elem, const std::uint32_t* thr_minus_1,
                     std::uint32_t sample, std::uint32_t update_index, PhiloxKey key,
                     std::uint32_t c3_base, std::int64_t s0, int n_slots, std::uint64_t* out) {
  draw_bits4_sse2(elem, thr_minus_1, sample, update_index, key, c3_base, s0, n_slots, out);
  draw_bits4_sse2(elem + 4, thr_minus_1 + 4, sample, update_index, key, c3_base, s0, n_slots,
                  out + 4);
}

void philox_batch_sse2(std::size_t count, const std::uint32_t* c0, std::uint32_t c1,
                       std::uint32_t c2, const std::uint32_t* c3, PhiloxKey key,
                       std::uint32_t* r0, std::uint32_t* r1, std::uint32_t* r2,
                       std::uint32_t* r3) {
  std::size_t m = 0;
  for (; m + 4 <= count; m += 4) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c0 + m));
    __m128i b = _mm_set1_epi32(static_cast<int>(c1));
    __m128i c = _mm_set1_epi32(static_cast<int>(c2));
    __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c3 + m));
    philox4_sse2(a, b, c, d, key);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(r0 + m), a);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(r1 + m), b);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(r2 + m), c);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(r3 + m), d);
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

AIHW_AVX2 inline void philox8_avx2(__m256i& c0, __m256i& c1, __m256i& c2, __m256i& c3,
                                   PhiloxKey key) {
  using namespace philox_constants;
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(kM0));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(kM1));
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    __m256i hi0, lo0, hi1, lo1;
    mul_hi_lo_avx2(c0, m0, hi0, lo0);
    mul_hi_lo_avx2(c2, m1, hi1, lo1);
    c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
    c1 = lo1;
    c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
    c3 = lo0;
  }
}

AIHW_AVX2 void draw_bits8_avx2(const std::uint32_t* elem, const std::uint32_t* thr_minus_1,
                               std::uint32_t sample, std::uint32_t update_index, PhiloxKey key,
                               std::uint32_t c3_base, std::int64_t s0, int n_slots,
                               std::uint64_t* out) {
  const __m256i flip = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  const __m256i e = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(elem));
  const __m256i thr =
      _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(thr_minus_1)), flip);
  __m256i acc[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
  for (int base = 0; base < n_slots; base += 4) {
    __m256i c0 = e;
    __m256i c1 = _mm256_set1_epi32(static_cast<int>(sample));
    __m256i c2 = _mm256_set1_epi32(static_cast<int>(update_index));
    __m256i c3 = _mm256_set1_epi32(
        static_cast<int>(c3_base | static_cast<std::uint32_t>((s0 + base) / 4)));
    philox8_avx2(c0, c1, c2, c3, key);
    const __m256i r[4] = {c0, c1, c2, c3};
    const int n_words = n_slots - base < 4 ? n_slots - base : 4;
    for (int k = 0; k < n_words; ++k) {
      const int bit = base + k;
      const __m256i gt = _mm256_cmpgt_epi32(_mm256_xor_si256(r[k], flip), thr);
      const __m256i one = _mm256_set1_epi32(static_cast<int>(1u << (bit & 31)));
      acc[bit >> 5] = _mm256_or_si256(acc[bit >> 5], _mm256_andnot_si256(gt, one));
    }
  }
  alignas(32) std::uint32_t lo[8], hi[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lo), acc[0]);
  _mm256_store_si256(reinterpret_cast<__m256i*>(hi), acc[1]);
  for (int l = 0; l < 8; ++l) out[l] = (static_cast<std::uint64_t>(hi[l]) << 32) | lo[l];
}

AIHW_AVX2 void philox_batch_avx2(std::size_t count, const std::uint32_t* c0, std::uint32_t c1,
                                 std::uint32_t c2, const std::uint32_t* c3, PhiloxKey key,
                                 std::uint32_t* r0, std::uint32_t* r1, std::uint32_t* r2,
                                 std::uint32_t* r3) {
  std::size_t m = 0;
  for (; m + 8 <= count; m += 8) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c0 + m));
    __m256i b = _mm256_set1_epi32(static_cast<int>(c1));
    __m256i c = _mm256_set1_epi32(static_cast<int>(c2));
    __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c3 + m));
    philox8_avx2(a, b, c, d, key);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(r0 + m), a);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(r1 + m), b);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(r2 + m), c);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(r3 + m), d);
  }
  philox_batch_sse2(count - m, c0 + m, c1, c2, c3 + m, key, r0 + m, r1 + m, r2 + m, r3 + m);
}

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}
#endif  // GNUC

}  // namespace
#endif  // AIHW_X86_64

// ---------------------------------------------------------------------------------------
// Selection

DrawBits8Fn draw_bits8_variant(const char* name) {
  if (std::strcmp(name, "scalar") == 0) return &draw_bits8_scalar;
#ifdef AIHW_X86_64
  if (std::strcmp(name, "sse2") == 0) return &draw_bits8_sse2;
#ifdef AIHW_HAVE_AVX2_KERNEL
  if (std::strcmp(name, "avx2") == 0) return cpu_has_avx2() ? &draw_bits8_avx2 : nullptr;
#endif
#endif
  return nullptr;
}

PhiloxBatchFn philox_batch_variant(const char* name) {
  if (std::strcmp(name, "scalar") == 0) return &philox_batch_scalar;
#ifdef AIHW_X86_64
  if (std::strcmp(name, "sse2") == 0) return &philox_batch_sse2;
#ifdef AIHW_HAVE_AVX2_KERNEL
  if (std::strcmp(name, "avx2") == 0) return cpu_has_avx2() ? &philox_batch_avx2 : nullptr;
#endif
#endif
  return nullptr;
}

DrawBits8Fn draw_bits8() {
  static const DrawBits8Fn best = [] {
    DrawBits8Fn fn = draw_bits8_variant("avx2");
    if (fn == nullptr) fn = draw_bits8_variant("sse2");
    if (fn == nullptr) fn = &draw_bits8_scalar;
    return fn;
  }();
  return best;
}

PhiloxBatchFn philox_batch() {
  static const PhiloxBatchFn best = [] {
    PhiloxBatchFn fn = philox_batch_variant("avx2");
    if (fn == nullptr) fn = philox_batch_variant("sse2");
    if (fn == nullptr) fn = &philox_batch_scalar;
    return fn;
  }();
  return best;
}

}  // namespace detail
}  // namespace aihw

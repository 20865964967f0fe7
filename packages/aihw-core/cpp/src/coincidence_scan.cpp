#include "coincidence_scan.hpp"

#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#define AIHW_X86_64 1
#include <immintrin.h>
#endif

namespace aihw {
namespace detail {

namespace {
constexpr std::uint32_t kIndexMask = 0x7FFFFFFFu;
}

std::int64_t scan_row_scalar(const std::uint32_t* x_idx, const std::uint64_t* x_masks,
                             std::int64_t n_x, std::uint64_t md, std::uint32_t e_row,
                             std::uint32_t d_sign, std::uint32_t* out_e, std::uint8_t* out_up,
                             std::uint32_t* out_n) {
  std::int64_t k = 0;
  for (std::int64_t c = 0; c < n_x; ++c) {
    const std::uint64_t m = x_masks[c] & md;
    if (m == 0) continue;
    out_e[k] = e_row + (x_idx[c] & kIndexMask);
    out_up[k] = static_cast<std::uint8_t>((x_idx[c] ^ d_sign) >> 31);
    out_n[k] = static_cast<std::uint32_t>(popcount64(m));
    ++k;
  }
  return k;
}

#if defined(AIHW_X86_64) && (defined(__GNUC__) || defined(__clang__))
#define AIHW_HAVE_SIMD_SCAN 1
namespace {

// Two masks per step; zero pairs are skipped with one test.
std::int64_t scan_row_sse2(const std::uint32_t* x_idx, const std::uint64_t* x_masks,
                           std::int64_t n_x, std::uint64_t md, std::uint32_t e_row,
                           std::uint32_t d_sign, std::uint32_t* out_e, std::uint8_t* out_up,
                           std::uint32_t* out_n) {
  const __m128i vmd = _mm_set1_epi64x(static_cast<long long>(md));
  std::int64_t k = 0;
  std::int64_t c = 0;
  for (; c + 2 <= n_x; c += 2) {
    const __m128i m = _mm_and_si128(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(x_masks + c)), vmd);
    // 32-bit compare: a 64-bit lane is zero when both halves are
    const int zero32 = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(m, _mm_setzero_si128())));
    if (zero32 == 0xF) continue;
    for (int l = 0; l < 2; ++l) {
      const std::uint64_t ml = x_masks[c + l] & md;
      if (ml == 0) continue;
      out_e[k] = e_row + (x_idx[c + l] & kIndexMask);
      out_up[k] = static_cast<std::uint8_t>((x_idx[c + l] ^ d_sign) >> 31);
      out_n[k] = static_cast<std::uint32_t>(popcount64(ml));
      ++k;
    }
  }
  return k + scan_row_scalar(x_idx + c, x_masks + c, n_x - c, md, e_row, d_sign, out_e + k,
                             out_up + k, out_n + k);
}

// Four masks per step; POPCNT is present on every CPU with AVX2.
__attribute__((target("avx2,popcnt"))) std::int64_t scan_row_avx2(
    const std::uint32_t* x_idx, const std::uint64_t* x_masks, std::int64_t n_x,
    std::uint64_t md, std::uint32_t e_row, std::uint32_t d_sign, std::uint32_t* out_e,
    std::uint8_t* out_up, std::uint32_t* out_n) {
  const __m256i vmd = _mm256_set1_epi64x(static_cast<long long>(md));
  std::int64_t k = 0;
  std::int64_t c = 0;
  for (; c + 4 <= n_x; c += 4) {
    const __m256i m = _mm256_and_si256(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x_masks + c)), vmd);
    const __m256i zero = _mm256_cmpeq_epi64(m, _mm256_setzero_si256());
    unsigned live = ~static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(zero))) & 0xFu;
    while (live != 0) {
      const int l = __builtin_ctz(live);
      live &= live - 1;
      const std::uint64_t ml = x_masks[c + l] & md;
      out_e[k] = e_row + (x_idx[c + l] & kIndexMask);
      out_up[k] = static_cast<std::uint8_t>((x_idx[c + l] ^ d_sign) >> 31);
      out_n[k] = static_cast<std::uint32_t>(__builtin_popcountll(ml));
      ++k;
    }
  }
  for (; c < n_x; ++c) {
    const std::uint64_t ml = x_masks[c] & md;
    if (ml == 0) continue;
    out_e[k] = e_row + (x_idx[c] & kIndexMask);
    out_up[k] = static_cast<std::uint8_t>((x_idx[c] ^ d_sign) >> 31);
    out_n[k] = static_cast<std::uint32_t>(__builtin_popcountll(ml));
    ++k;
  }
  return k;
}

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which it then reports as
// uninitialized where they are inlined (GCC bug 105593, fixed in 12.3).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
// Eight masks per step, without a branch on which of them coincide (at a train length of
// one every firing pair does, and the short runs' loop exits mispredict): the hits are
// compressed in registers and written with masked stores (a compressing store to memory is
// microcoded on AMD Zen 4). Reads and writes nothing beyond the n_x columns and k hits.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512vpopcntdq,popcnt"))) std::int64_t
scan_row_avx512(const std::uint32_t* x_idx, const std::uint64_t* x_masks, std::int64_t n_x,
                std::uint64_t md, std::uint32_t e_row, std::uint32_t d_sign,
                std::uint32_t* out_e, std::uint8_t* out_up, std::uint32_t* out_n) {
  const __m512i vmd = _mm512_set1_epi64(static_cast<long long>(md));
  const __m256i index_mask = _mm256_set1_epi32(static_cast<int>(kIndexMask));
  const __m256i row = _mm256_set1_epi32(static_cast<int>(e_row));
  const __m256i sign = _mm256_set1_epi32(static_cast<int>(d_sign));
  std::int64_t k = 0;
  for (std::int64_t c = 0; c < n_x; c += 8) {
    const std::int64_t left = n_x - c;
    const auto in_range = static_cast<__mmask8>(left >= 8 ? 0xFFu : (1u << left) - 1u);
    const __m512i m = _mm512_and_si512(_mm512_maskz_loadu_epi64(in_range, x_masks + c), vmd);
    const __mmask8 live = _mm512_test_epi64_mask(m, m);
    const __m256i idx = _mm256_maskz_loadu_epi32(in_range, x_idx + c);
    const __m256i e = _mm256_add_epi32(row, _mm256_and_si256(idx, index_mask));
    const __m256i up = _mm256_srli_epi32(_mm256_xor_si256(idx, sign), 31);
    const __m256i n = _mm512_cvtepi64_epi32(_mm512_popcnt_epi64(m));
    const auto hits = static_cast<unsigned>(__builtin_popcount(live));
    const auto first = static_cast<__mmask8>((1u << hits) - 1u);
    _mm256_mask_storeu_epi32(out_e + k, first, _mm256_maskz_compress_epi32(live, e));
    _mm256_mask_storeu_epi32(out_n + k, first, _mm256_maskz_compress_epi32(live, n));
    _mm_mask_storeu_epi8(out_up + k, first, _mm256_cvtepi32_epi8(_mm256_maskz_compress_epi32(live, up)));
    k += hits;
  }
  return k;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

bool cpu_has_avx512_scan() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vpopcntdq") &&
         __builtin_cpu_supports("popcnt");
}

bool cpu_has_avx2_popcnt() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
}

}  // namespace
#endif

ScanRowFn scan_row_variant(const char* name) {
  if (std::strcmp(name, "scalar") == 0) return &scan_row_scalar;
#ifdef AIHW_HAVE_SIMD_SCAN
  if (std::strcmp(name, "sse2") == 0) return &scan_row_sse2;
  if (std::strcmp(name, "avx2") == 0) return cpu_has_avx2_popcnt() ? &scan_row_avx2 : nullptr;
  if (std::strcmp(name, "avx512") == 0) return cpu_has_avx512_scan() ? &scan_row_avx512 : nullptr;
#endif
  return nullptr;
}

ScanRowFn scan_row() {
  static const ScanRowFn best = [] {
    ScanRowFn fn = scan_row_variant("avx512");
    if (fn == nullptr) fn = scan_row_variant("avx2");
    if (fn == nullptr) fn = scan_row_variant("sse2");
    if (fn == nullptr) fn = &scan_row_scalar;
    return fn;
  }();
  return best;
}

}  // namespace detail
}  // namespace aihw

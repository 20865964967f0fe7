// The coincidences of one d row with the firing x columns (internal), for one-word trains.
//
// For c in [0, n_x) with m = x_masks[c] & md != 0, appends one hit, in column order:
//   out_e  = e_row + (x_idx[c] & 0x7FFFFFFF)   (the cross-point)
//   out_up = ((x_idx[c] ^ d_sign) >> 31)        (1: UP pulses, the signs differ)
//   out_n  = popcount(m)                        (the number of pulses)
// and returns the number of hits. The SIMD variants (chosen at run time) give the same hits.
#pragma once

#include <cstdint>

namespace aihw {
namespace detail {

using ScanRowFn = std::int64_t (*)(const std::uint32_t* x_idx, const std::uint64_t* x_masks,
                                   std::int64_t n_x, std::uint64_t md, std::uint32_t e_row,
                                   std::uint32_t d_sign, std::uint32_t* out_e,
                                   std::uint8_t* out_up, std::uint32_t* out_n);

std::int64_t scan_row_scalar(const std::uint32_t* x_idx, const std::uint64_t* x_masks,
                             std::int64_t n_x, std::uint64_t md, std::uint32_t e_row,
                             std::uint32_t d_sign, std::uint32_t* out_e, std::uint8_t* out_up,
                             std::uint32_t* out_n);

/// Variants by name ("scalar", "sse2", "avx2"); nullptr when unavailable here.
ScanRowFn scan_row_variant(const char* name);

/// The fastest available variant.
ScanRowFn scan_row();

/// popcount without relying on the build's target (the portable build has no POPCNT).
inline int popcount64(std::uint64_t v) noexcept {
#if (defined(__GNUC__) || defined(__clang__)) && defined(__POPCNT__)
  return __builtin_popcountll(v);
#else
  v = v - ((v >> 1) & 0x5555555555555555ULL);
  v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
  v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return static_cast<int>((v * 0x0101010101010101ULL) >> 56);
#endif
}

}  // namespace detail
}  // namespace aihw

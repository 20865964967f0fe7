// The pulses of one d row against every x column of a sample at once (internal): the dense
// form of the coincidence scan and the pulse application, for samples where most x columns
// fire (then the compacted hits of coincidence_scan cost more than they save).
//
// For a firing d row with mask md, column j gets n_j = popcount(mx_j & md) pulses (mx_j = 0
// where x_j never fires), in the direction given by the signs. Cross-points are independent,
// so the pulses are applied pass after pass: pass k applies pulse k of every column with
// n_j > k, one vectorised loop over the row. Pulse k of column j reads normal o_j + k of its
// row group's sequence, o_j being the pulses of the group's earlier columns (contract §2), the
// same numbers the scan-and-apply path reads; so both paths give the same bits.
//
// The bodies are written once here (always inlined) and compiled per instruction set in
// pulsed_update.cpp; every operation is a plain IEEE float32 operation, so each variant
// gives the same bits.
#pragma once

#include <cstdint>

#include "coincidence_scan.hpp"

#define AIHW_ALWAYS_INLINE inline __attribute__((always_inline))

namespace aihw {
namespace detail {

/// The instruction sets the dense bodies are compiled for.
enum class DenseRows { kOff, kPortable, kAvx2, kAvx512 };

/// The variant the update uses: the fastest this CPU runs (kOff without AVX2), unless a
/// test chose another.
DenseRows dense_rows_variant() noexcept;

/// For tests: use the variant named "off" (every sample scans), "portable", "avx2", "avx512"
/// or "auto"; false (nothing changed) when this build or CPU cannot run it.
bool set_dense_rows_variant(const char* name) noexcept;

inline bool dense_rows_enabled() noexcept { return dense_rows_variant() != DenseRows::kOff; }

struct RowCounts {
  std::uint32_t most;   // the largest n[j]
  std::uint64_t total;  // the row's pulses
};

/// n[j] = popcount(mx[j] & md) for j in [0, x_size).
template <bool kPopcnt>
AIHW_ALWAYS_INLINE RowCounts count_row(const std::uint64_t* __restrict mx, std::uint64_t md,
                                       std::int64_t x_size, std::uint32_t* __restrict n) {
  std::uint32_t most = 0;
  std::uint64_t total = 0;
  for (std::int64_t j = 0; j < x_size; ++j) {
    const std::uint64_t m = mx[j] & md;
    const auto c = static_cast<std::uint32_t>(kPopcnt ? __builtin_popcountll(m) : popcount64(m));
    n[j] = c;
    most = c > most ? c : most;
    total += c;
  }
  return {most, total};
}

/// The ordinals of a row group's pulses: o[j] = at + n[0] + ... + n[j - 1] for j < width
/// (where column j's pulses start in the window's normals); returns the group's pulses.
/// Scalar here; the SIMD variants (pulsed_update.cpp) give the same values.
AIHW_ALWAYS_INLINE std::uint32_t ordinals_scalar(const std::uint32_t* __restrict n,
                                                 std::int64_t width, std::uint32_t at,
                                                 std::uint32_t* __restrict o) {
  std::uint32_t run = 0;
  for (std::int64_t j = 0; j < width; ++j) {
    o[j] = at + run;
    run += n[j];
  }
  return run;
}

/// The normals of pass k: zk[j] = z[o[j] + k] where n[j] > k, else anything (not read).
/// Scalar here; the SIMD variants gather (pulsed_update.cpp), same values.
AIHW_ALWAYS_INLINE void pass_normals_scalar(const float* __restrict z,
                                            const std::uint32_t* __restrict o,
                                            const std::uint32_t* __restrict n, std::uint32_t k,
                                            std::int64_t x_size, float* __restrict zk) {
  for (std::int64_t j = 0; j < x_size; ++j) zk[j] = z[n[j] > k ? o[j] + k : 0u];
}

/// Pass 0 of a row whose columns get at most one pulse each, in one sequence: the active
/// columns read consecutive normals from z (the row's first), so zk[j] = z[c_j], c_j the
/// active columns before j; the same values as pass_normals_scalar with the row's ordinals.
/// Where n[j] = 0, zk[j] is anything (not read). z must hold one float beyond the last.
AIHW_ALWAYS_INLINE void single_pass_normals(const float* __restrict z,
                                            const std::uint32_t* __restrict n,
                                            std::int64_t x_size, float* __restrict zk) {
  std::int64_t c = 0;
  for (std::int64_t j = 0; j < x_size; ++j) {
    zk[j] = z[c];
    c += n[j] != 0;
  }
}

/// Pass k: pulse k of every column with n[j] > k on the row's weights w (cross-points
/// row_e + j); `up` of column j is x_neg[j] != d_neg. With kNoisy the pulse reads zk[j].
template <bool kNoisy, class Law>
AIHW_ALWAYS_INLINE void pulse_pass(const Law& law, float* __restrict w, std::size_t row_e,
                                   const std::uint32_t* __restrict n,
                                   const std::uint8_t* __restrict x_neg, std::uint8_t d_neg,
                                   const float* __restrict zk, std::uint32_t k,
                                   std::int64_t x_size) {
  // A local copy: its array pointers and scalars are loop invariants (the stores to w could
  // otherwise change the law object, as far as the compiler knows, and the loop stays scalar).
  const Law local = law;
  // The weights never alias the law's arrays (separate tensors).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC ivdep
#endif
  for (std::int64_t j = 0; j < x_size; ++j) {
    const bool active = n[j] > k;
    const float zj = kNoisy ? zk[j] : 0.0f;
    const typename Law::Cell c = local.cell(row_e + static_cast<std::size_t>(j), x_neg[j] != d_neg);
    const float stepped = local.step(c, w[j], zj);
    w[j] = active ? stepped : w[j];
  }
}

}  // namespace detail
}  // namespace aihw

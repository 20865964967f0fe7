// The bodies of the pulsed update's CUDA kernels (docs/architecture/engine-contract.md
// §11.1), as AIHW_HD functions over a plain struct, so that the kernels (update.cu) and the
// host emulation (update_emulated.cpp, compiled by the ordinary compiler into the engine)
// run the same code. Plain C++ (no CUDA types); the block-cooperative apply kernel is split
// into phases (counts, then an exclusive scan of the threads' sums, then the pulses) that
// the emulation runs thread after thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "aihw/hd.hpp"
#include "aihw/philox.hpp"
#include "aihw/pulse_noise.hpp"
#include "aihw/pulsed_update.hpp"
#include "aihw/step_laws.hpp"
#include "aihw/update_rules.hpp"

// Loops over a thread's columns and rows are unrolled on the device, so that their weights
// live in registers (host compilers need no hint).
#if defined(__CUDA_ARCH__)
#define AIHW_UNROLL _Pragma("unroll")
#else
#define AIHW_UNROLL
#endif

namespace aihw::cuda_update {

constexpr int kThreads = 128;  // threads of an apply block
constexpr int kCols = 8;       // consecutive columns of a thread in one pass
constexpr int kRows = 4;       // rows of an apply block (their weights stay in registers)
/// Columns of one pass of an apply block; <= every row group (G >= 1024 for BL <= 2^20),
/// so a pass lies in one group and the group's ordinals run on from pass to pass.
constexpr std::int64_t kPassColumns = std::int64_t(kThreads) * kCols;
constexpr int kSegmentWords = 64;  // words of train held at once (4096 slots)
constexpr std::int64_t kMaxTrain = std::int64_t(1) << 20;  // longest train the kernels take
constexpr int kPrepThreads = 256;  // threads of a per-sample block (maxima of |x|, |d|)

/// Where the pulse counts of the apply kernel come from.
enum class Source : int {
  kBits = 0,     // popcount of the chunk's x and d train words
  kCounts = 1,   // a [d_size, x_size] count array (a long train, summed over segments)
  kFactors = 2,  // the deterministic types' per-element factors (contract §6)
};

/// Everything the kernels read and write, by value (device or, emulated, host pointers).
struct Problem {
  float* weights;
  const float* x;
  const float* d;
  std::int64_t d_size, x_size;
  std::uint8_t* mask;  // nullptr: not wanted
  PulsedUpdateConfig config;
  PhiloxKey key;
  std::uint32_t update_index;
  SampleScales* scales;  // [batch]
  // The chunk of samples [b0, b0 + n_samples) (one sample for a long train).
  std::int64_t b0, n_samples;
  Source source;
  int words;          // train words per element held (bits), <= kSegmentWords
  std::int64_t t0;    // first slot held (long trains; 0 otherwise)
  std::uint64_t* bits;     // [n_samples, x_size + d_size, words]: x elements, then d
  double* factors;         // [n_samples, x_size + d_size]
  std::uint32_t* counts;   // [d_size * x_size]
  std::uint32_t* carries;  // [d_size, n_samples]: ordinals carried to a row's next pass
};

AIHW_HD inline int popcount64(std::uint64_t v) noexcept {
#if defined(__CUDA_ARCH__)
  return __popcll(v);
#else
  return __builtin_popcountll(v);
#endif
}

/// sequence_columns(bl) (pulse_noise.hpp) without its loop, for 1 <= bl <= 2^30: the
/// largest power of two G with G * bl <= 2^30 is 2^(30 - ceil(log2 bl)).
AIHW_HD inline std::uint64_t row_group(std::int64_t bl) noexcept {
  const auto m = static_cast<std::uint64_t>(bl < 1 ? 1 : bl) - 1;
#if defined(__CUDA_ARCH__)
  const int ceil_log2 = m == 0 ? 0 : 64 - __clzll(static_cast<long long>(m));
#else
  const int ceil_log2 = m == 0 ? 0 : 64 - __builtin_clzll(m);
#endif
  return std::uint64_t(1) << (30 - ceil_log2);
}

AIHW_HD inline std::int64_t elements(const Problem& pb) noexcept { return pb.x_size + pb.d_size; }

// -- per-sample scales (one block per sample) ------------------------------------------------

/// Phase 1: the largest |value| (as magnitude bits, ordered like the floats) of the
/// thread's share of x (side 0) or d (side 1) of sample b.
AIHW_HD inline std::uint32_t partial_max_bits(const Problem& pb, std::int64_t b, int side,
                                              int tid, int n_threads) noexcept {
  const std::int64_t n = side == 0 ? pb.x_size : pb.d_size;
  const float* v = (side == 0 ? pb.x : pb.d) + b * n;
  std::uint32_t m = 0;
  for (std::int64_t k = tid; k < n; k += n_threads) {
    const std::uint32_t bits = float_bits(v[k]) & 0x7FFFFFFFu;
    m = bits > m ? bits : m;
  }
  return m;
}

/// Phase 2 (one thread): contract §3 steps 1-3 from the maxima.
AIHW_HD inline void finish_scales(const Problem& pb, std::int64_t b, std::uint32_t x_max_bits,
                                  std::uint32_t d_max_bits) noexcept {
  pb.scales[b] = sample_scales(static_cast<double>(bits_float(x_max_bits)),
                               static_cast<double>(bits_float(d_max_bits)), pb.config);
}

// -- trains and factors (one item per element word) ----------------------------------------

/// Element k of the chunk's sample s: x column k (k < x_size) or d row k - x_size.
struct ElementRef {
  float v;
  double scale;
  FiringDraw draw;
  Stream train;
  std::uint32_t index;
};

AIHW_HD inline ElementRef element_ref(const Problem& pb, std::int64_t b, std::int64_t k,
                                      const SampleScales& sc, double x_res,
                                      double d_res) noexcept {
  const bool x_side = k < pb.x_size;
  const std::int64_t i = x_side ? k : k - pb.x_size;
  ElementRef r;
  r.v = x_side ? pb.x[b * pb.x_size + i] : pb.d[b * pb.d_size + i];
  r.scale = x_side ? sc.b : sc.a;
  r.draw = FiringDraw{pb.key, pb.update_index, x_side ? x_res : d_res, pb.config.sto_round,
                      x_side ? Stream::kXRound : Stream::kDRound};
  r.train = x_side ? Stream::kXTrain : Stream::kDTrain;
  r.index = static_cast<std::uint32_t>(i);
  return r;
}

/// Item `item` of [n_samples, elements, words]: the firing bits of slots t0 + 64 w ... of
/// one element (contract §3 step 5; word L % 4 of block L / 4, L = index * BL + t).
AIHW_HD inline void train_word(const Problem& pb, std::int64_t item) noexcept {
  const std::int64_t per_sample = elements(pb) * pb.words;
  const std::int64_t s = item / per_sample;
  const std::int64_t k = (item % per_sample) / pb.words;
  const int w = static_cast<int>(item % pb.words);
  const std::int64_t b = pb.b0 + s;
  const SampleScales sc = pb.scales[b];
  std::uint64_t bits = 0;
  const std::int64_t t_begin = pb.t0 + 64 * std::int64_t(w);
  if (sc.active && t_begin < sc.bl) {
    const ElementRef e = element_ref(pb, b, k, sc, pb.config.res, pb.config.res);
    const double p = e.v == 0.0f ? 0.0 : firing_probability(e.v, e.scale, e.draw, e.index,
                                                            static_cast<std::uint32_t>(b));
    if (p > 0.0) {
      const std::int64_t t_end = t_begin + 64 < sc.bl ? t_begin + 64 : sc.bl;
      const std::uint32_t thr = firing_threshold(p);
      const auto bl = static_cast<std::uint64_t>(sc.bl);
      std::uint64_t q_loaded = ~std::uint64_t(0);
      PhiloxBlock block{};
      for (std::int64_t t = t_begin; t < t_end; ++t) {
        const std::uint64_t l = std::uint64_t(e.index) * bl + static_cast<std::uint64_t>(t);
        const std::uint64_t q = l >> 2;
        if (q != q_loaded) {
          block = philox4x32_10({static_cast<std::uint32_t>(q), static_cast<std::uint32_t>(b),
                                 pb.update_index,
                                 stream_word(e.train, static_cast<std::uint32_t>(q >> 32))},
                                pb.key);
          q_loaded = q;
        }
        const unsigned k = static_cast<unsigned>(l & 3u);  // selected: the block stays in registers
        const std::uint32_t word = k < 2 ? (k == 0 ? block[0] : block[1]) : (k == 2 ? block[2] : block[3]);
        bits |= static_cast<std::uint64_t>(word <= thr) << (t - t_begin);
      }
    }
  }
  pb.bits[item] = bits;
}

/// Item `item` of [n_samples, elements]: the deterministic factor of one element (0 where
/// the value is 0 or the sample is skipped), contract §6.
AIHW_HD inline void element_factor(const Problem& pb, std::int64_t item) noexcept {
  const std::int64_t s = item / elements(pb);
  const std::int64_t k = item % elements(pb);
  const std::int64_t b = pb.b0 + s;
  const SampleScales sc = pb.scales[b];
  double f = 0.0;
  const bool implicit = pb.config.pulse_kind == PulseKind::kDeterministicImplicit;
  if (sc.active) {
    const double x_res = implicit ? pb.config.x_res_implicit : pb.config.res;
    const double d_res = implicit ? pb.config.d_res_implicit : pb.config.res;
    const ElementRef e = element_ref(pb, b, k, sc, x_res, d_res);
    if (e.v != 0.0f) {
      const double p = firing_probability(e.v, e.scale, e.draw, e.index,
                                          static_cast<std::uint32_t>(b));
      f = deterministic_factor(p, static_cast<double>(sc.bl), implicit, k >= pb.x_size);
    }
  }
  pb.factors[item] = f;
}

/// Item e = i * x_size + j: adds the coincidences of the held segment of the (one) sample's
/// trains to counts[e].
AIHW_HD inline void add_segment_counts(const Problem& pb, std::int64_t e) noexcept {
  const std::int64_t i = e / pb.x_size, j = e % pb.x_size;
  const std::uint64_t* mx = pb.bits + j * pb.words;
  const std::uint64_t* md = pb.bits + (pb.x_size + i) * pb.words;
  std::uint32_t n = 0;
  for (int w = 0; w < pb.words; ++w) n += static_cast<std::uint32_t>(popcount64(mx[w] & md[w]));
  pb.counts[e] += n;
}

// -- the apply kernel: block rows, samples in order, passes of kPassColumns columns --------

/// Whether row i of the chunk's sample s may receive pulses (the same answer for every
/// thread of a block, so a whole block skips together).
AIHW_HD inline bool row_live(const Problem& pb, std::int64_t s, std::int64_t i) noexcept {
  const std::int64_t b = pb.b0 + s;
  if (!pb.scales[b].active) return false;
  switch (pb.source) {
    case Source::kBits: {
      const std::uint64_t* md = pb.bits + (s * elements(pb) + pb.x_size + i) * pb.words;
      std::uint64_t any = 0;
      for (int w = 0; w < pb.words; ++w) any |= md[w];
      return any != 0;
    }
    case Source::kFactors:
      return pb.factors[s * elements(pb) + pb.x_size + i] != 0.0;
    default:
      return pb.d[b * pb.d_size + i] != 0.0f;
  }
}

/// Phase 1: the pulse counts n_ij of the thread's columns j = pass + tid * kCols + c (0
/// beyond x_size); returns their sum.
AIHW_HD inline std::uint32_t thread_counts(const Problem& pb, std::int64_t s, std::int64_t i,
                                           std::int64_t pass, int tid,
                                           std::uint32_t (&n)[kCols]) noexcept {
  const std::int64_t b = pb.b0 + s;
  const std::int64_t j0 = pass + std::int64_t(tid) * kCols;
  std::uint32_t sum = 0;
  for (int c = 0; c < kCols; ++c) {
    const std::int64_t j = j0 + c;
    std::uint32_t count = 0;
    if (j < pb.x_size) {
      if (pb.source == Source::kBits) {
        const std::uint64_t* row = pb.bits + s * elements(pb) * pb.words;
        const std::uint64_t* mx = row + j * pb.words;
        const std::uint64_t* md = row + (pb.x_size + i) * pb.words;
        for (int w = 0; w < pb.words; ++w) {
          count += static_cast<std::uint32_t>(popcount64(mx[w] & md[w]));
        }
      } else if (pb.source == Source::kCounts) {
        std::uint32_t& slot = pb.counts[i * pb.x_size + j];
        count = slot;
        slot = 0;  // ready for the next long sample
      } else {
        const double* f = pb.factors + s * elements(pb);
        const double fx = f[j], fd = f[pb.x_size + i];
        if (fx != 0.0 && fd != 0.0) {
          const double v = deterministic_count(
              fd, fx, static_cast<double>(pb.scales[b].bl),
              pb.config.pulse_kind == PulseKind::kDeterministicImplicit);
          count = v > 0.0 ? static_cast<std::uint32_t>(v) : 0u;
        }
      }
    }
    n[c] = count;
    sum += count;
  }
  return sum;
}

/// A thread's count sums of the block's rows: one block scan serves all of them.
struct RowSums {
  std::uint32_t v[kRows];
};

struct AddRowSums {
  AIHW_HD RowSums operator()(const RowSums& a, const RowSums& b) const noexcept {
    RowSums out;
    AIHW_UNROLL
    for (int r = 0; r < kRows; ++r) out.v[r] = a.v[r] + b.v[r];
    return out;
  }
};

/// The weights of the thread's columns of row i in this pass (0 beyond x_size).
AIHW_HD inline void load_weights(const Problem& pb, std::int64_t i, std::int64_t pass, int tid,
                                 float (&w)[kCols]) noexcept {
  const std::int64_t j0 = pass + std::int64_t(tid) * kCols;
  AIHW_UNROLL
  for (int c = 0; c < kCols; ++c) w[c] = j0 + c < pb.x_size ? pb.weights[i * pb.x_size + j0 + c] : 0.0f;
}

AIHW_HD inline void store_weights(const Problem& pb, std::int64_t i, std::int64_t pass, int tid,
                                  const float (&w)[kCols]) noexcept {
  const std::int64_t j0 = pass + std::int64_t(tid) * kCols;
  AIHW_UNROLL
  for (int c = 0; c < kCols; ++c) {
    if (j0 + c < pb.x_size) pb.weights[i * pb.x_size + j0 + c] = w[c];
  }
}

/// Phase 3: the pulses of the thread's columns (weights `w`), column after column, the
/// first reading the normal of ordinal `first` of the pass's row group (contract §2);
/// returns the pulses.
template <class Law>
AIHW_HD inline std::int64_t thread_apply(const Problem& pb, const Law& law, std::int64_t s,
                                         std::int64_t i, std::int64_t pass, int tid,
                                         const std::uint32_t (&n)[kCols], std::uint32_t first,
                                         float (&w)[kCols]) noexcept {
  const std::int64_t b = pb.b0 + s;
  const std::uint64_t group = row_group(pb.scales[b].bl);
  const auto row_e = static_cast<std::uint64_t>(i) * static_cast<std::uint64_t>(pb.x_size);
  const std::uint64_t key = row_e + (static_cast<std::uint64_t>(pass) & ~(group - 1));
  const bool d_neg = pb.d[b * pb.d_size + i] < 0.0f;
  const std::int64_t j0 = pass + std::int64_t(tid) * kCols;
  // The thread's columns take consecutive ordinals, so one sequence reader serves them all
  // (a Philox block is drawn once for four consecutive pulses).
  PulseNoise noise(pb.key, static_cast<std::uint32_t>(key), static_cast<std::uint32_t>(b),
                   pb.update_index, first);
  std::int64_t pulses = 0;
  AIHW_UNROLL
  for (int c = 0; c < kCols; ++c) {
    if (n[c] == 0) continue;
    const std::int64_t j = j0 + c;
    const auto e = static_cast<std::size_t>(row_e + static_cast<std::uint64_t>(j));
    const bool up = (pb.x[b * pb.x_size + j] < 0.0f) != d_neg;
    w[c] = law.apply_pulses(w[c], n[c], up, e, noise);
    if (pb.mask != nullptr) pb.mask[e] = 1;
    pulses += n[c];
  }
  return pulses;
}

/// The first ordinal of row i's pass in sample s: 0 where the pass starts a row group, else
/// what the earlier passes of the group used (carry_out).
AIHW_HD inline std::uint32_t carry_in(const Problem& pb, std::int64_t s, std::int64_t i,
                                      std::int64_t pass) noexcept {
  const std::uint64_t group = row_group(pb.scales[pb.b0 + s].bl);
  if (static_cast<std::uint64_t>(pass) % group == 0) return 0;
  return pb.carries[i * pb.n_samples + s];
}

/// Phase 4 (one thread): keeps the ordinal the row's next pass starts from, when that pass
/// continues the group.
AIHW_HD inline void carry_out(const Problem& pb, std::int64_t s, std::int64_t i,
                              std::int64_t pass, std::uint32_t first,
                              std::uint32_t total) noexcept {
  const std::uint64_t group = row_group(pb.scales[pb.b0 + s].bl);
  const std::int64_t next = pass + kPassColumns;
  if (next < pb.x_size && static_cast<std::uint64_t>(next) % group != 0) {
    pb.carries[i * pb.n_samples + s] = first + total;
  }
}

// -- the law on the device ------------------------------------------------------------------

/// The struct a kernel gets for a law: the law itself, or piecewise_step's core reading
/// tables from a buffer (PiecewiseStepLaw owns host vectors).
template <class Law>
struct KernelLaw {
  using type = Law;
  static Law make(const float* const* arrays, const double* scalars, const float*) {
    return Law(arrays, scalars);
  }
};
template <>
struct KernelLaw<PiecewiseStepLaw> {
  using type = detail::PiecewiseStepCore;
  static type make(const float* const* arrays, const double* scalars, const float* tables) {
    return type(arrays, scalars, tables);
  }
};

}  // namespace aihw::cuda_update

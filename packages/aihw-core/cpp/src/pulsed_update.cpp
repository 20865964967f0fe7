// The pulsed update (StochasticCompressed), docs/architecture/engine-contract.md §2-§4.
//
// Samples are taken in chunks whose pulse trains fit a small buffer (kChunkBytes):
//  1. trains (parallel over sample x element block): per element the firing probability,
//     then its BL firing bits, packed in 64-bit words; the words of short trains come in
//     one batch for a run of elements (philox_kernels: AVX-512 or AVX2, chosen at run
//     time), four slots per block whatever the train length; the elements that fire at
//     least once are kept, in index order, with their signs.
//  2. coincidences (parallel over blocks of rows; a task owns whole rows, so every
//     cross-point is touched by one thread, samples in order): for each firing d row, the
//     firing x columns with n = popcount(mask_x & mask_d) > 0 (coincidence_scan), queued
//     as hits; every 2048 hits, the normals of their pulses are drawn together (in
//     batches of up to 4096, noise_batch) and the step law applies the pulses,
//     cross-point after cross-point.
// A sample in which most x columns fire and whose train fits one word skips step 2 for the
// laws that vectorise: its rows are done dense (dense_rows.hpp), every column at once.
// A sample whose train is longer than kSegmentSlots is done alone: its coincidence counts
// are summed over segments of the train into a [d_size, x_size] array, then applied.
// Every random number is addressed by its counter, so the result does not depend on the
// number of threads, on the blocking, on the chunking or on the SIMD variant.
// The deterministic pulse types (contract §6) skip the trains: per-element factors are
// computed for every sample, then each row-block task applies n_ij sample after sample.
#include "aihw/pulsed_update.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "aihw/philox.hpp"
#include "aihw/pulse_noise.hpp"
#include "aihw/step_laws.hpp"
#include "aihw/thread_pool.hpp"
#include "aihw/update_rules.hpp"
#include "coincidence_scan.hpp"
#include "dense_rows.hpp"
#include "noise_batch.hpp"
#include "philox_kernels.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which it then reports as
// uninitialized where they are inlined (GCC bug 105593, fixed in 12.3).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#define AIHW_DENSE_SIMD 1
#else
#define AIHW_DENSE_SIMD 0
#endif

namespace aihw {

// ---------------------------------------------------------------------------------------
// Law registry

namespace {
template <class... Laws>
const LawSpec* find_in(LawList<Laws...>, int engine_id) noexcept {
  const LawSpec* found = nullptr;
  ((Laws::kSpec.engine_id == engine_id ? (found = &Laws::kSpec, 0) : 0), ...);
  return found;
}
}  // namespace

const LawSpec* find_law(int engine_id) noexcept { return find_in(StepLaws{}, engine_id); }

namespace {
template <class... Laws>
std::string check_scalars_in(LawList<Laws...>, int engine_id, const double* scalars,
                             std::size_t count) {
  std::string why = "unknown step law engine id " + std::to_string(engine_id);
  ((Laws::kSpec.engine_id == engine_id ? (why = Laws::check_scalars(scalars, count), 0) : 0),
   ...);
  return why;
}
}  // namespace

std::string check_law_scalars(int engine_id, const double* scalars, std::size_t count) {
  return check_scalars_in(StepLaws{}, engine_id, scalars, count);
}

// ---------------------------------------------------------------------------------------
// Contract §3

namespace {

// ---------------------------------------------------------------------------------------
// Tunables (none of them changes a result)

constexpr std::int64_t kSegmentSlots = 4096;  // longest train held at once (64 words)
constexpr int kSegmentWords = static_cast<int>(kSegmentSlots / 64);
constexpr std::int64_t kChunkBytes = 4 << 20;        // train buffer of one chunk
constexpr std::int64_t kRowBlockBytes = 256 << 10; // weights + law arrays of a row block
constexpr double kSerialWork = 16384.0;            // below this, one thread
constexpr std::int64_t kMinRowBlockCells = 4096;   // smallest row block, in cross-points
constexpr std::uint32_t kSignBit = 0x80000000u;
constexpr std::uint32_t kIndexMask = 0x7FFFFFFFu;

using detail::dense_rows_enabled;
using detail::dense_rows_variant;
using detail::DenseRows;
using detail::popcount64;

struct Draw {
  PhiloxKey key;
  std::uint32_t update_index;
  double res;
  bool sto_round;
};

struct Side {
  Stream train;
  Stream round;
};
constexpr Side kXSide{Stream::kXTrain, Stream::kXRound};
constexpr Side kDSide{Stream::kDTrain, Stream::kDRound};

// p = Q(|v| * scale), contract §3 step 4 (update_rules.hpp).
inline double firing_probability(float v, double scale, const Draw& draw, Side side,
                                 std::uint32_t element, std::uint32_t sample) noexcept {
  const FiringDraw fd{draw.key, draw.update_index, draw.res, draw.sto_round, side.round};
  return aihw::firing_probability(v, scale, fd, element, sample);
}

// Scratch words of one task's trains: a run of elements' whole trains, or one element's
// segment (contract §3 step 5), plus the 8 words train_bits may read beyond.
constexpr std::int64_t kRunWords = 4096;
std::uint32_t* train_words_scratch() {
  thread_local std::vector<std::uint32_t> words(
      static_cast<std::size_t>(std::max(kRunWords, kSegmentSlots) + 16));
  return words.data();
}

// Bit t of the result: words[t] <= thr, for t < n (n <= 64).
inline std::uint64_t bits_at_most(const std::uint32_t* words, std::int64_t n,
                                  std::uint32_t thr) noexcept {
  std::uint64_t bits = 0;
  for (std::int64_t t = 0; t < n; ++t) bits |= static_cast<std::uint64_t>(words[t] <= thr) << t;
  return bits;
}

// Draws the trains of elements [begin, end) of one side of sample `sample`, whose trains
// are n_total slots long, for the slots [t0, t1) (t0 a multiple of 64, t1 - t0 <= 64 *
// words), and writes the elements that fire at least once, in index order: out_idx = j |
// sign bit, out_masks = `words` words each (bit t - t0 = slot t). Returns their number.
// Slot t of element j is word L mod 4 of train block L / 4, L = j * n_total + t (contract
// §3 step 5): a block serves four slots of one element or, for short trains, the slots of
// up to four elements.
std::int64_t draw_trains(const float* values, std::int64_t begin, std::int64_t end,
                         double scale, const Draw& draw, Side side, std::uint32_t sample,
                         std::int64_t n_total, std::int64_t t0, std::int64_t t1, int words,
                         std::uint32_t* out_idx, std::uint64_t* out_masks) {
  static const detail::PhiloxRunFn run = detail::philox_run();
  static const detail::TrainBitsFn train_bits = detail::train_bits();
  const std::uint32_t c3 = stream_word(side.train, 0);
  const auto n = static_cast<std::uint64_t>(n_total);
  std::uint32_t* buf = train_words_scratch();
  std::int64_t count = 0;

  // The common case (no quantisation, whole trains of one word): the words of a run of
  // elements in one batch, then every element's bits, all drawn.
  if (!(draw.res > 0.0) && words == 1) {
    const std::int64_t piece = std::max<std::int64_t>(1, kRunWords / n_total - 1);
    for (std::int64_t j = begin; j < end; j += piece) {
      const std::int64_t m = std::min(piece, end - j);
      const std::uint64_t l0 = static_cast<std::uint64_t>(j) * n;
      const std::uint64_t q0 = l0 >> 2;
      const std::uint64_t q1 = (l0 + static_cast<std::uint64_t>(m) * n - 1) >> 2;
      run(q0, static_cast<std::size_t>(q1 - q0 + 1), sample, draw.update_index, c3, draw.key,
          buf);
      count += train_bits(values + j, static_cast<std::uint32_t>(j), m, scale, buf + (l0 & 3),
                          static_cast<int>(n_total), out_idx + count, out_masks + count);
    }
    return count;
  }

  const std::int64_t n_slots = t1 - t0;
  for (std::int64_t j = begin; j < end; ++j) {
    const float v = values[j];
    if (v == 0.0f) continue;
    const double p = firing_probability(v, scale, draw, side, static_cast<std::uint32_t>(j), sample);
    if (!(p > 0.0)) continue;
    std::uint64_t* m = out_masks + count * words;
    if (p >= 1.0) {  // fires in every slot
      for (int w = 0; w < words; ++w) {
        const std::int64_t bits = std::min<std::int64_t>(64, n_slots - 64 * std::int64_t(w));
        m[w] = bits <= 0 ? 0 : (bits >= 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << bits) - 1);
      }
    } else {
      const std::uint32_t thr = firing_threshold(p);  // 0 < p < 1
      const std::uint64_t l0 = static_cast<std::uint64_t>(j) * n + static_cast<std::uint64_t>(t0);
      const std::uint64_t l1 = l0 + static_cast<std::uint64_t>(n_slots);
      run(l0 >> 2, static_cast<std::size_t>(((l1 - 1) >> 2) - (l0 >> 2) + 1), sample,
          draw.update_index, c3, draw.key, buf);
      const std::uint32_t* wd = buf + (l0 & 3);
      std::uint64_t any = 0;
      for (int w = 0; w < words; ++w) {
        const std::int64_t bits = std::min<std::int64_t>(64, n_slots - 64 * std::int64_t(w));
        m[w] = bits <= 0 ? 0 : bits_at_most(wd + 64 * w, bits, thr);
        any |= m[w];
      }
      if (any == 0) continue;
    }
    out_idx[count] = static_cast<std::uint32_t>(j) | (v < 0.0f ? kSignBit : 0u);
    ++count;
  }
  return count;
}

// ---------------------------------------------------------------------------------------
// The trains of a chunk of samples

struct Layout {
  std::int64_t d_size, x_size;
  std::int64_t x_block, n_x_blocks;  // x elements per train-drawing task
  std::int64_t row_block, n_row_blocks;  // d rows per task (both phases)
};

struct Trains {
  int words = 1;
  std::int64_t n_samples = 0;
  std::vector<std::uint32_t> x_idx, d_idx;
  std::vector<std::uint64_t> x_masks, d_masks;
  // Firing elements per sample and block: x_count [sample, x block], d_count [row block,
  // sample] (a row-block task of the coincidence phase reads its own run of counts).
  std::vector<std::int64_t> x_count, d_count;
  // Samples run dense (dense_rows.hpp): 1 per chunk sample, then their x trains over every
  // column (mask 0 where x never fires) and x's signs.
  std::vector<std::uint8_t> dense;
  std::vector<std::uint64_t> x_dense_masks;
  std::vector<std::uint8_t> x_dense_neg;

  void resize(const Layout& lay, std::int64_t samples, int n_words) {
    words = n_words;
    n_samples = samples;
    x_idx.resize(samples * lay.x_size);
    d_idx.resize(samples * lay.d_size);
    x_masks.resize(samples * lay.x_size * n_words);
    d_masks.resize(samples * lay.d_size * n_words);
    x_count.assign(samples * lay.n_x_blocks, 0);
    d_count.assign(samples * lay.n_row_blocks, 0);
  }

  std::int64_t d_count_at(std::int64_t s, std::int64_t rb) const noexcept {
    return d_count[rb * n_samples + s];
  }
};

// The share of firing x columns from which a sample runs dense (one in kDenseShare): below
// it, the compacted scan touches fewer columns than the dense passes.
constexpr std::int64_t kDenseShare = 4;

// Marks the chunk's samples that run dense and spreads their x trains over every column.
void spread_dense_samples(const Layout& lay, Trains& tr, bool law_allows) {
  tr.dense.assign(static_cast<std::size_t>(tr.n_samples), 0);
  if (!law_allows || tr.words != 1 || !dense_rows_enabled()) return;
  for (std::int64_t s = 0; s < tr.n_samples; ++s) {
    std::int64_t n_x = 0;
    for (std::int64_t k = 0; k < lay.n_x_blocks; ++k) n_x += tr.x_count[s * lay.n_x_blocks + k];
    if (n_x * kDenseShare < lay.x_size) continue;
    tr.dense[s] = 1;
  }
  tr.x_dense_masks.resize(static_cast<std::size_t>(tr.n_samples * lay.x_size));
  tr.x_dense_neg.resize(static_cast<std::size_t>(tr.n_samples * lay.x_size));
  for (std::int64_t s = 0; s < tr.n_samples; ++s) {
    if (!tr.dense[s]) continue;
    std::uint64_t* masks = tr.x_dense_masks.data() + s * lay.x_size;
    std::uint8_t* neg = tr.x_dense_neg.data() + s * lay.x_size;
    std::fill_n(masks, lay.x_size, std::uint64_t{0});
    std::fill_n(neg, lay.x_size, std::uint8_t{0});
    for (std::int64_t xb = 0; xb < lay.n_x_blocks; ++xb) {
      const std::int64_t base = s * lay.x_size + xb * lay.x_block;
      for (std::int64_t c = 0; c < tr.x_count[s * lay.n_x_blocks + xb]; ++c) {
        const std::uint32_t idx = tr.x_idx[base + c];
        masks[idx & kIndexMask] = tr.x_masks[base + c];
        neg[idx & kIndexMask] = static_cast<std::uint8_t>(idx >> 31);
      }
    }
  }
}

struct Problem {
  float* weights;
  const float* x;
  const float* d;
  Layout lay;
  Draw draw;
  const std::vector<SampleScales>* scales;
  std::uint8_t* pulsed = nullptr;  // optional: 1 for every cross-point that got a pulse
};

// The whole trains (one word, no quantisation) of elements [begin, end) of one side for
// the samples samples[s0 .. s1): their train blocks in one batch of Philox lanes (several
// samples fill the vector lanes that one sample's few blocks would leave idle), then each
// sample's bits as draw_trains computes them. Writes sample s's firing elements at
// out_idx + s * stride, out_masks + s * stride and their number at counts[s * count_stride].
void draw_trains_grouped(const Problem& pb, const std::vector<std::int64_t>& samples,
                         std::int64_t s0, std::int64_t s1, bool x_side, std::int64_t begin,
                         std::int64_t end, std::uint32_t* out_idx, std::uint64_t* out_masks,
                         std::int64_t stride, std::int64_t* counts, std::int64_t count_stride) {
  static const detail::PhiloxLanesFn lanes_fn = detail::philox_lanes();
  static const detail::TrainBitsFn train_bits = detail::train_bits();
  const Side side = x_side ? kXSide : kDSide;
  const std::uint32_t c3_base = stream_word(side.train, 0);
  const std::int64_t size = x_side ? pb.lay.x_size : pb.lay.d_size;
  const float* base = x_side ? pb.x : pb.d;
  const std::int64_t m = end - begin;
  thread_local std::vector<std::uint32_t> c0, c1, c3, words;
  thread_local std::vector<std::int64_t> offset;
  // at most m * BL / 4 + 2 blocks per sample
  std::size_t most = 0;
  for (std::int64_t s = s0; s < s1; ++s) {
    most += static_cast<std::size_t>(m * (*pb.scales)[samples[s]].bl / 4 + 2);
  }
  if (c0.size() < most) {
    c0.resize(most);
    c1.resize(most);
    c3.resize(most);
  }
  if (words.size() < 4 * most + 16) words.resize(4 * most + 16);  // train_bits reads 8 beyond
  offset.resize(static_cast<std::size_t>(s1 - s0));
  std::size_t lanes = 0;
  for (std::int64_t s = s0; s < s1; ++s) {
    const std::int64_t b = samples[s];
    const auto n = static_cast<std::uint64_t>((*pb.scales)[b].bl);
    const std::uint64_t l0 = static_cast<std::uint64_t>(begin) * n;
    const std::uint64_t q0 = l0 >> 2, q1 = (l0 + static_cast<std::uint64_t>(m) * n - 1) >> 2;
    offset[s - s0] = static_cast<std::int64_t>(4 * lanes + (l0 & 3));
    for (std::uint64_t q = q0; q <= q1; ++q, ++lanes) {
      c0[lanes] = static_cast<std::uint32_t>(q);
      c1[lanes] = static_cast<std::uint32_t>(b);
      c3[lanes] = c3_base | static_cast<std::uint32_t>(q >> 32);
    }
  }
  lanes_fn(lanes, c0.data(), c1.data(), pb.draw.update_index, c3.data(), pb.draw.key,
           words.data());
  for (std::int64_t s = s0; s < s1; ++s) {
    const std::int64_t b = samples[s];
    const SampleScales& sc = (*pb.scales)[b];
    const float* values = base + b * size + begin;
    std::uint32_t* idx = out_idx + s * stride;
    std::uint64_t* masks = out_masks + s * stride;
    counts[s * count_stride] =
        train_bits(values, static_cast<std::uint32_t>(begin), m, x_side ? sc.b : sc.a,
                   words.data() + offset[s - s0], static_cast<int>(sc.bl), idx, masks);
  }
}

// Splits the chunk's samples into runs whose whole trains over `width` elements take
// about kRunWords words together (a run holds at least one sample): starts[k] is the first
// sample of run k, starts.back() == n. Sized by each sample's own BL, so that a chunk of
// mostly short trains (update-BL management) makes few, large tasks.
void group_samples(const Problem& pb, const std::vector<std::int64_t>& samples,
                   std::int64_t width, std::vector<std::int64_t>& starts) {
  starts.clear();
  std::int64_t words = 0;
  for (std::size_t s = 0; s < samples.size(); ++s) {
    const std::int64_t w = width * (*pb.scales)[samples[s]].bl;
    if (s == 0 || words + w > kRunWords) {
      starts.push_back(static_cast<std::int64_t>(s));
      words = 0;
    }
    words += w;
  }
  starts.push_back(static_cast<std::int64_t>(samples.size()));
}

// How the tasks of one side of draw_chunk split it: task t covers the samples of run
// t / n_block_tasks and blocks [b0, b0 + blocks_per_task) with b0 = (t % n_block_tasks) *
// blocks_per_task. A small side (few elements, many samples: a convolution's tile) is
// drawn whole by each task, so that the trains and counts of a sample are written by one
// thread (the blocks of one sample share cache lines).
struct SideTasks {
  std::vector<std::int64_t> starts;  // runs of samples (grouped), else empty: one sample each
  std::int64_t n_runs = 0;
  std::int64_t blocks_per_task = 1;
  std::int64_t n_block_tasks = 1;
  std::int64_t count() const noexcept { return n_runs * n_block_tasks; }
};

// Runs of whole sides are used for blocks narrower than kNarrowBlock elements (whose
// trains share cache lines with the next block's) when they give every thread several
// tasks; wider blocks draw more samples per call one block at a time.
constexpr std::int64_t kNarrowBlock = 64;
constexpr std::int64_t kWholeSideRunsPerThread = 4;

void plan_side(const Problem& pb, const std::vector<std::int64_t>& samples, bool grouped,
               std::int64_t size, std::int64_t width, std::int64_t n_blocks, int threads,
               SideTasks& plan) {
  const auto n_samples = static_cast<std::int64_t>(samples.size());
  plan.blocks_per_task = 1;
  plan.n_block_tasks = n_blocks;
  if (!grouped) {
    plan.starts.clear();
    plan.n_runs = n_samples;
    return;
  }
  if (n_blocks > 1 && width < kNarrowBlock) {
    group_samples(pb, samples, size, plan.starts);
    const auto runs = static_cast<std::int64_t>(plan.starts.size()) - 1;
    if (runs >= kWholeSideRunsPerThread * threads) {
      plan.n_runs = runs;
      plan.blocks_per_task = n_blocks;
      plan.n_block_tasks = 1;
      return;
    }
  }
  group_samples(pb, samples, width, plan.starts);
  plan.n_runs = static_cast<std::int64_t>(plan.starts.size()) - 1;
}

// Draws the trains of samples `samples[s]` for slots [t0, t1) (t1 = each sample's BL when
// the chunk is not segmented). Short whole trains of small element blocks are drawn for
// several samples per task (draw_trains_grouped), up to about kRunWords words.
void draw_chunk(const Problem& pb, const std::vector<std::int64_t>& samples, std::int64_t t0,
                std::int64_t t1_cap, Trains& tr, int threads) {
  const Layout& lay = pb.lay;
  const auto n_samples = static_cast<std::int64_t>(samples.size());
  const bool grouped = !(pb.draw.res > 0.0) && tr.words == 1 && t0 == 0;
  thread_local SideTasks x_plan, d_plan;  // the caller's; the workers read them
  plan_side(pb, samples, grouped, lay.x_size, lay.x_block, lay.n_x_blocks, threads, x_plan);
  plan_side(pb, samples, grouped, lay.d_size, lay.row_block, lay.n_row_blocks, threads, d_plan);
  const SideTasks& xp = x_plan;
  const SideTasks& dp = d_plan;
  const std::int64_t x_tasks = xp.count();
  parallel_for(threads, x_tasks + dp.count(), [&](std::int64_t task) {
    const bool x_side = task < x_tasks;
    const SideTasks& plan = x_side ? xp : dp;
    const std::int64_t t = x_side ? task : task - x_tasks;
    const std::int64_t run = t / plan.n_block_tasks;
    const std::int64_t s0 = plan.starts.empty() ? run : plan.starts[run];
    const std::int64_t s1 = plan.starts.empty() ? run + 1 : plan.starts[run + 1];
    const std::int64_t n_blocks = x_side ? lay.n_x_blocks : lay.n_row_blocks;
    const std::int64_t size = x_side ? lay.x_size : lay.d_size;
    const std::int64_t width = x_side ? lay.x_block : lay.row_block;
    // counts of sample s, block k: x_count[s * n_blocks + k], d_count[k * n_samples + s]
    const std::int64_t count_stride = x_side ? n_blocks : 1;
    const std::int64_t block_stride = x_side ? 1 : n_samples;
    const std::int64_t b0 = (t % plan.n_block_tasks) * plan.blocks_per_task;
    const std::int64_t b1 = std::min(n_blocks, b0 + plan.blocks_per_task);
    for (std::int64_t block = b0; block < b1; ++block) {
      const std::int64_t begin = block * width, end = std::min(begin + width, size);
      std::uint32_t* idx = (x_side ? tr.x_idx : tr.d_idx).data() + begin;
      std::uint64_t* masks = (x_side ? tr.x_masks : tr.d_masks).data();
      std::int64_t* counts = (x_side ? tr.x_count : tr.d_count).data() + block * block_stride;
      if (s1 - s0 > 1) {
        draw_trains_grouped(pb, samples, s0, s1, x_side, begin, end, idx, masks + begin, size,
                            counts, count_stride);
        continue;
      }
      const std::int64_t b = samples[s0];
      const SampleScales& sc = (*pb.scales)[b];
      const std::int64_t t1 = std::min(sc.bl, t1_cap);
      const int words = tr.words;
      const std::int64_t base = s0 * size;
      counts[s0 * count_stride] =
          draw_trains((x_side ? pb.x : pb.d) + b * size, begin, end, x_side ? sc.b : sc.a,
                      pb.draw, x_side ? kXSide : kDSide, static_cast<std::uint32_t>(b), sc.bl,
                      t0, t1, words, idx + base, masks + (base + begin) * words);
    }
  });
}

// The coincidences found by one task, waiting to be applied: cross-point, direction and
// number of pulses, in the order they must be applied (rows in order within a sample).
struct Hits {
  static constexpr std::int64_t kFlush = 2048;  // apply when this many are waiting

  std::vector<std::uint32_t> e;
  std::vector<std::uint8_t> up;
  std::vector<std::uint32_t> n;
  std::int64_t size = 0;

  // Room for kFlush hits plus one more row.
  void prepare(std::int64_t x_size) {
    const auto cap = static_cast<std::size_t>(kFlush + x_size);
    if (e.size() < cap) {
      e.resize(cap);
      up.resize(cap);
      n.resize(cap);
    }
    size = 0;
  }
};

constexpr std::uint32_t kNoiseBatch = 4096;  // normals drawn together (at most, plus a block a run)

// A window's share of one hit: the cross-point, its pulses and where their normals start.
struct Piece {
  std::uint32_t e;
  std::uint32_t n;
  bool up;
  std::size_t at;
};


// What phase 1 of a dense window found for one row (dense_sample_body).
struct DenseRow {
  std::size_t row_e;   // the row's first cross-point
  std::uint32_t most;  // its largest count
  std::uint8_t d_neg;
  std::size_t at;      // where its normals start (a single-pulse row, see dense_sample_body)
};

// Normals a dense window gathers before it draws them (about a Philox batch's worth).
constexpr std::size_t kDenseWindowNormals = 8192;

// What a task works in; one per thread, kept from call to call.
struct TaskScratch {
  Hits hits;
  detail::NoiseBatch batch;
  std::vector<float> normals;
  std::vector<Piece> pieces;
  // Dense rows (dense_sample_body): counts and ordinals of a window's rows, [row, x_size]
  std::vector<std::uint32_t> counts, ordinals;
  std::vector<DenseRow> dense_rows;
  std::vector<float> pass_normals;  // of one pass
};

// Scratch for rows of x_size columns, up to `rows` of them at once in a dense window.
TaskScratch& task_scratch(std::int64_t x_size, std::int64_t rows = 1) {
  static thread_local TaskScratch scratch;
  scratch.hits.prepare(x_size);
  const auto cells = static_cast<std::size_t>(x_size * rows);
  if (scratch.counts.size() < cells) {
    scratch.counts.resize(cells);
    scratch.ordinals.resize(cells);
  }
  if (scratch.dense_rows.size() < static_cast<std::size_t>(rows)) scratch.dense_rows.resize(static_cast<std::size_t>(rows));
  if (scratch.pass_normals.size() < static_cast<std::size_t>(x_size)) {
    scratch.pass_normals.resize(static_cast<std::size_t>(x_size));
  }
  return scratch;
}

// Finds the coincidences of sample s (chunk position) in row block `rb`, row after row,
// columns in order, and hands them to sink(hits) whenever kFlush are waiting and at the end.
template <int kWords, class Sink>
void for_each_coincidence(const Layout& lay, const Trains& tr, std::int64_t s, std::int64_t rb,
                          Hits& hits, Sink&& sink) {
  const int words = kWords > 0 ? kWords : tr.words;
  const std::int64_t n_d = tr.d_count_at(s, rb);
  if (n_d == 0) return;
  const std::int64_t d_base = s * lay.d_size + rb * lay.row_block;
  const std::uint32_t* d_idx = tr.d_idx.data() + d_base;
  const std::uint64_t* d_masks = tr.d_masks.data() + d_base * words;
  const detail::ScanRowFn scan = detail::scan_row();
  for (std::int64_t a = 0; a < n_d; ++a) {
    const std::uint32_t i = d_idx[a] & kIndexMask;
    const std::uint32_t d_sign = d_idx[a] & kSignBit;
    const std::uint64_t* md = d_masks + a * words;
    const auto e_row = static_cast<std::uint32_t>(static_cast<std::int64_t>(i) * lay.x_size);
    for (std::int64_t xb = 0; xb < lay.n_x_blocks; ++xb) {
      const std::int64_t n_x = tr.x_count[s * lay.n_x_blocks + xb];
      const std::int64_t x_base = s * lay.x_size + xb * lay.x_block;
      const std::uint32_t* x_idx = tr.x_idx.data() + x_base;
      const std::uint64_t* x_masks = tr.x_masks.data() + x_base * words;
      std::int64_t k = hits.size;
      if (kWords == 1) {
        k += scan(x_idx, x_masks, n_x, md[0], e_row, d_sign, hits.e.data() + k,
                  hits.up.data() + k, hits.n.data() + k);
      } else {
        for (std::int64_t c = 0; c < n_x; ++c) {
          const std::uint64_t* mx = x_masks + c * words;
          std::uint32_t n = 0;
          for (int w = 0; w < words; ++w) n += static_cast<std::uint32_t>(popcount64(mx[w] & md[w]));
          hits.e[k] = e_row + (x_idx[c] & kIndexMask);
          hits.up[k] = static_cast<std::uint8_t>((x_idx[c] ^ d_sign) >> 31);
          hits.n[k] = n;
          k += n != 0;
        }
      }
      hits.size = k;
    }
    if (hits.size >= Hits::kFlush) {
      sink(hits);
      hits.size = 0;
    }
  }
  if (hits.size > 0) {
    sink(hits);
    hits.size = 0;
  }
}

// Pre-drawn normals, handed to a law pulse by pulse.
struct DrawnNoise {
  const float* next_normal;
  inline float next() noexcept { return *next_normal++; }
};

// For laws that draw nothing.
struct NoNoise {
  inline float next() noexcept { return 0.0f; }
};

// Applies the coincidences of one sample, handed over in cross-point order (rows in order,
// columns in order within a row) in one or more calls. The pulses of a row group read one
// sequence of normals (contract §2, pulse_noise.hpp); the applier follows the open
// sequence across calls. The normals are drawn in windows of about kNoiseBatch pulses
// (every block of the window at once, see NoiseBatch), then the law applies the window's
// pulses, cross-point after cross-point; a cross-point with very many pulses is done in
// pieces. A window spans calls and samples (flush() closes it).
template <class Law>
struct Applier {
  Applier(const Law& law_, const Problem& pb, TaskScratch& scratch)
      : law(law_), weights(pb.weights), pulsed(pb.pulsed), x_size(static_cast<std::uint64_t>(pb.lay.x_size)),
        key(pb.draw.key), update_index(pb.draw.update_index), batch(scratch.batch),
        normals(scratch.normals), pieces_(scratch.pieces) {
    batch.clear();
  }

  const Law& law;
  float* weights;
  std::uint8_t* pulsed;
  std::uint64_t x_size;
  PhiloxKey key;
  std::uint32_t update_index;
  std::int64_t pulses = 0;
  detail::NoiseBatch& batch;
  std::vector<float>& normals;

  // The sample and its open sequence: cross-points e < sequence_end belong to it.
  std::uint32_t sample = 0;
  std::uint64_t group = 1;  // columns a sequence covers
  std::uint32_t sequence_key = 0;
  std::uint64_t sequence_end = 0;
  std::uint32_t ordinal = 0;  // of the sequence's next pulse

  void begin_sample(std::int64_t b, std::int64_t bl) noexcept {
    sample = static_cast<std::uint32_t>(b);
    if (bl != group_bl_) {  // a loop of up to 30 steps; the samples of a call mostly share BL
      group = sequence_columns(bl);
      group_bl_ = bl;
    }
    sequence_end = 0;  // the first hit opens a sequence
  }

  void operator()(const Hits& hits) {
    apply(hits.e.data(), hits.up.data(), hits.n.data(), hits.size);
  }

  void open_sequence(std::uint32_t e) noexcept {
    const std::uint64_t row_start = (e / x_size) * x_size;
    const std::uint64_t first = row_start + ((e - row_start) & ~(group - 1));
    sequence_key = static_cast<std::uint32_t>(first);
    sequence_end = std::min(first + group, row_start + x_size);
    ordinal = 0;
  }

  void apply(const std::uint32_t* e, const std::uint8_t* up, const std::uint32_t* counts,
             std::int64_t n_hits) {
    // Every hit has at least one pulse; a task owns its rows, so no two threads share e.
    if (pulsed != nullptr) {
      for (std::int64_t h = 0; h < n_hits; ++h) pulsed[e[h]] = 1;
    }
    if (!law.draws_noise()) {  // no normals to plan: the pulses straight from the hits
      apply_noiseless(e, up, counts, n_hits);
      return;
    }
    if (pieces_.size() < kNoiseBatch) pieces_.resize(kNoiseBatch);  // a piece takes >= 1 pulse
    std::int64_t h = 0;
    std::uint32_t k_done = 0;  // pulses of hit h already planned
    while (h < n_hits) {
      if (budget_ == 0) flush();
      // Plan into the open window: pieces (hit, pulses, where its normals start) and the
      // runs of sequence ordinals they read.
      bool run_open = false;
      std::uint32_t run_first = 0;
      std::size_t run_at = 0;
      while (h < n_hits && budget_ > 0) {
        if (k_done == 0 && e[h] >= sequence_end) {
          if (run_open) batch.add_run(sequence_key, sample, run_first, ordinal);
          run_open = false;
          open_sequence(e[h]);
        }
        if (!run_open) {
          run_first = ordinal;
          run_at = batch.size() + (ordinal & 3u);
          run_open = true;
        }
        const std::uint32_t take = std::min(counts[h] - k_done, budget_);
        pieces_[n_pieces_++] = {e[h], take, up[h] != 0, run_at + (ordinal - run_first)};
        ordinal += take;
        budget_ -= take;
        k_done += take;
        if (k_done == counts[h]) {
          ++h;
          k_done = 0;
        }
      }
      if (run_open) batch.add_run(sequence_key, sample, run_first, ordinal);
    }
  }

  // Draws the open window's normals and applies its pieces. The window gathers the hits
  // of several calls and samples (each block's counter names its sample), so that sparse
  // samples share one draw; it must be flushed before anything else writes the task's rows
  // (a dense sample) and at the end of the task.
  void flush() {
    if (n_pieces_ > 0) {
      if (normals.size() < batch.size()) normals.resize(batch.size());
      batch.draw(key, update_index, normals.data());
      run_window();
    }
    batch.clear();
    n_pieces_ = 0;
    budget_ = kNoiseBatch;
  }

 private:
  std::int64_t group_bl_ = 0;  // the BL that `group` belongs to (0: none yet)
  std::size_t n_pieces_ = 0;
  std::uint32_t budget_ = kNoiseBatch;  // pulses the open window can still take

  // The hits' pulses without noise. Flattened, as run_window.
  __attribute__((flatten)) void apply_noiseless(const std::uint32_t* e, const std::uint8_t* up,
                                                const std::uint32_t* counts, std::int64_t n_hits) {
    NoNoise noise;
    for (std::int64_t h = 0; h < n_hits; ++h) {
      weights[e[h]] = law.apply_pulses(weights[e[h]], counts[h], up[h] != 0, e[h], noise);
      pulses += counts[h];
    }
  }

  // Applies the window's pieces, cross-point after cross-point. (Running eight
  // cross-points side by side, pulse k of each lane at a time, measured slower: most
  // cross-points get one or two pulses, so there is little chain to overlap.) Flattened:
  // every call in it is inlined (the laws' f32_math functions would otherwise stay calls
  // once this file's inlining budget is spent).
  __attribute__((flatten)) void run_window() {
    constexpr std::size_t kAhead = 32;  // pieces whose cells are fetched ahead
    const float* z = normals.data();
    for (std::size_t k = 0; k < n_pieces_; ++k) {
      if (k + kAhead < n_pieces_) {
        const std::uint32_t ahead = pieces_[k + kAhead].e;
        __builtin_prefetch(weights + ahead, 1);
        if constexpr (std::is_base_of_v<detail::CommonArrays, Law>) law.prefetch(ahead);
      }
      const Piece& p = pieces_[k];
      DrawnNoise noise{z + p.at};
      weights[p.e] = law.apply_pulses(weights[p.e], p.n, p.up, p.e, noise);
      pulses += p.n;
    }
  }

  std::vector<Piece>& pieces_;
};

// ---------------------------------------------------------------------------------------
// Dense samples (dense_rows.hpp)

// The laws whose step vectorises (float arithmetic, bit operations and selects; exp and pow
// are the f32_math polynomials, piecewise_step's table reads gathers): every compiled law.
template <class Law>
constexpr bool kDenseLaw = false;
template <>
constexpr bool kDenseLaw<ConstantStepLaw> = true;
template <>
constexpr bool kDenseLaw<LinearStepLaw> = true;
template <>
constexpr bool kDenseLaw<ExpStepLaw> = true;
template <>
constexpr bool kDenseLaw<PowStepLaw> = true;
template <>
constexpr bool kDenseLaw<PiecewiseStepLaw> = true;
template <>
constexpr bool kDenseLaw<SoftBoundsReferenceLaw> = true;

// What the dense passes copy per pass (pulse_pass): the law, or piecewise_step's core (its
// table pointer, not the tables the law owns).
template <class Law>
const Law& dense_law(const Law& law) noexcept {
  return law;
}
inline const detail::PiecewiseStepCore& dense_law(const PiecewiseStepLaw& law) noexcept {
  return law;
}

struct DenseSample {
  const Problem* pb;
  const Trains* tr;
  std::int64_t s;   // chunk position
  std::int64_t rb;  // row block
  std::uint32_t sample;
  std::int64_t bl;
  TaskScratch* scratch;
};

// The firing d rows of row block rb in sample s, in windows of rows whose normals are drawn
// together: 1. per row the counts and (noisy laws) the ordinals, whose sequences are queued;
// 2. the window's normals in one batch; 3. per row the passes. Returns the pulses.
// With kSingle, a row whose columns get at most one pulse each, all in one sequence, needs
// no ordinals: its active columns read consecutive normals from the row's first (`single`).
// (Off for AVX2, which has no expand: its gathers measured faster than `single` in scalar.)
template <class Law, bool kNoisy, bool kPopcnt, bool kSingle, class Gather, class Single,
          class Prefix, class Pass>
AIHW_ALWAYS_INLINE std::int64_t dense_sample_body(const Law& law, const DenseSample& ds,
                                                  Gather gather, Single single, Prefix prefix,
                                                  Pass pass) {
  const Problem& pb = *ds.pb;
  const Trains& tr = *ds.tr;
  const Layout& lay = pb.lay;
  const std::int64_t x_size = lay.x_size;
  const std::int64_t n_d = tr.d_count_at(ds.s, ds.rb);
  const std::int64_t d_base = ds.s * lay.d_size + ds.rb * lay.row_block;
  const std::uint32_t* d_idx = tr.d_idx.data() + d_base;
  const std::uint64_t* d_masks = tr.d_masks.data() + d_base;  // one word a train
  const std::uint64_t* mx = tr.x_dense_masks.data() + ds.s * x_size;
  const std::uint8_t* x_neg = tr.x_dense_neg.data() + ds.s * x_size;
  TaskScratch& scratch = *ds.scratch;
  detail::NoiseBatch& batch = scratch.batch;
  DenseRow* rows = scratch.dense_rows.data();
  float* zk = scratch.pass_normals.data();
  const auto group = static_cast<std::int64_t>(
      std::min<std::uint64_t>(sequence_columns(ds.bl), static_cast<std::uint64_t>(x_size)));
  std::int64_t pulses = 0;
  std::int64_t a = 0;
  while (a < n_d) {
    // 1. counts and ordinals of a window of rows
    batch.clear();
    std::int64_t pending = 0;
    for (; a < n_d && (pending == 0 || batch.size() < kDenseWindowNormals); ++a) {
      std::uint32_t* n = scratch.counts.data() + pending * x_size;
      const std::uint32_t i = d_idx[a] & kIndexMask;
      const std::size_t row_e = static_cast<std::size_t>(i) * static_cast<std::size_t>(x_size);
      const detail::RowCounts counted = detail::count_row<kPopcnt>(mx, d_masks[a], x_size, n);
      if (counted.most == 0) continue;
      std::size_t first_normal = 0;
      if (kNoisy && kSingle && counted.most == 1 && group == x_size) {
        first_normal = batch.add_run(static_cast<std::uint32_t>(row_e), ds.sample, 0,
                                     static_cast<std::uint32_t>(counted.total));
      } else if (kNoisy) {
        std::uint32_t* o = scratch.ordinals.data() + pending * x_size;
        for (std::int64_t g0 = 0; g0 < x_size; g0 += group) {
          const std::int64_t width = std::min(group, x_size - g0);
          const auto at = static_cast<std::uint32_t>(batch.size());
          const std::uint32_t run = prefix(n + g0, width, at, o + g0);
          if (run > 0) {
            batch.add_run(static_cast<std::uint32_t>(row_e + static_cast<std::size_t>(g0)),
                          ds.sample, 0, run);
          }
        }
      }
      rows[pending++] = {row_e, counted.most, static_cast<std::uint8_t>(d_idx[a] >> 31),
                         first_normal};
      pulses += static_cast<std::int64_t>(counted.total);
    }
    // 2. their normals
    const float* z = nullptr;
    if (kNoisy && pending > 0) {
      // (16 beyond: `single` loads 16 normals at a time)
      if (scratch.normals.size() < batch.size() + 16) scratch.normals.resize(batch.size() + 16);
      batch.draw(pb.draw.key, pb.draw.update_index, scratch.normals.data());
      z = scratch.normals.data();
    }
    // 3. the passes
    for (std::int64_t r = 0; r < pending; ++r) {
      const DenseRow& row = rows[r];
      const std::uint32_t* n = scratch.counts.data() + r * x_size;
      const std::uint32_t* o = scratch.ordinals.data() + r * x_size;
      if (pb.pulsed != nullptr) {
        std::uint8_t* pulsed = pb.pulsed + row.row_e;
        for (std::int64_t j = 0; j < x_size; ++j) pulsed[j] |= static_cast<std::uint8_t>(n[j] != 0);
      }
      float* w = pb.weights + row.row_e;
      // (Running only pulse 0 as a pass and the later pulses column by column measured no
      // faster, even where few columns get a second pulse.)
      if (kSingle && row.most == 1 && group == x_size) {  // one pass, consecutive normals
        if (kNoisy) single(z + row.at, n, x_size, zk);
        pass(law, w, row.row_e, n, x_neg, row.d_neg, zk, 0, x_size);
        continue;
      }
      for (std::uint32_t k = 0; k < row.most; ++k) {
        if (kNoisy) gather(z, o, n, k, x_size, zk);
        pass(law, w, row.row_e, n, x_neg, row.d_neg, zk, k, x_size);
      }
    }
  }
  return pulses;
}

#if AIHW_DENSE_SIMD
#define AIHW_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512vpopcntdq,popcnt")))
#define AIHW_TARGET_AVX2 __attribute__((target("avx2,popcnt")))

// The normals of a pass (detail::pass_normals_scalar), gathered 16 or 8 columns at a time.
// (Loading only the active columns one by one, from a compressed list, measured slower: the
// loop's varying trip count mispredicts.)
AIHW_TARGET_AVX512 void pass_normals_avx512(const float* z, const std::uint32_t* o,
                                            const std::uint32_t* n, std::uint32_t k,
                                            std::int64_t x_size, float* zk) {
  const __m512i kk = _mm512_set1_epi32(static_cast<int>(k));
  std::int64_t j = 0;
  for (; j + 16 <= x_size; j += 16) {
    const __m512i nj = _mm512_loadu_si512(n + j);
    const __mmask16 active = _mm512_cmpgt_epu32_mask(nj, kk);
    const __m512i at = _mm512_add_epi32(_mm512_loadu_si512(o + j), kk);
    _mm512_storeu_ps(zk + j, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), active, at, z, 4));
  }
  detail::pass_normals_scalar(z, o + j, n + j, k, x_size - j, zk + j);
}

// detail::single_pass_normals sixteen columns at a time: sixteen normals loaded from the
// next unread one and expanded into the active lanes (the values of the gather, which is
// slow on some CPUs). z must hold 16 floats beyond the row's last normal.
AIHW_TARGET_AVX512 void single_pass_normals_avx512(const float* z, const std::uint32_t* n,
                                                   std::int64_t x_size, float* zk) {
  std::int64_t j = 0;
  for (; j + 16 <= x_size; j += 16) {
    const __m512i nj = _mm512_loadu_si512(n + j);
    const __mmask16 active = _mm512_test_epi32_mask(nj, nj);
    _mm512_storeu_ps(zk + j, _mm512_maskz_expand_ps(active, _mm512_loadu_ps(z)));
    z += __builtin_popcount(active);
  }
  detail::single_pass_normals(z, n + j, x_size - j, zk + j);
}

AIHW_TARGET_AVX2 void pass_normals_avx2(const float* z, const std::uint32_t* o,
                                        const std::uint32_t* n, std::uint32_t k,
                                        std::int64_t x_size, float* zk) {
  // n[j] <= 64, so the signed compare n[j] > k is the unsigned one.
  const __m256i kk = _mm256_set1_epi32(static_cast<int>(k));
  std::int64_t j = 0;
  for (; j + 8 <= x_size; j += 8) {
    const __m256i nj = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(n + j));
    const __m256i active = _mm256_cmpgt_epi32(nj, kk);
    const __m256i oj = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(o + j));
    const __m256i at = _mm256_add_epi32(oj, kk);
    _mm256_storeu_ps(zk + j, _mm256_mask_i32gather_ps(_mm256_setzero_ps(), z, at,
                                                      _mm256_castsi256_ps(active), 4));
  }
  detail::pass_normals_scalar(z, o + j, n + j, k, x_size - j, zk + j);
}

// The ordinals of a row group (detail::ordinals_scalar): an exclusive prefix sum of 16 or 8
// counts per register by shifted adds, carried from register to register.
AIHW_TARGET_AVX512 std::uint32_t ordinals_avx512(const std::uint32_t* n, std::int64_t width,
                                                 std::uint32_t at, std::uint32_t* o) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i last = _mm512_set1_epi32(15);
  __m512i carry = _mm512_set1_epi32(static_cast<int>(at));
  std::int64_t j = 0;
  for (; j + 16 <= width; j += 16) {
    const __m512i v = _mm512_loadu_si512(n + j);
    __m512i inclusive = _mm512_add_epi32(v, _mm512_alignr_epi32(v, zero, 15));
    inclusive = _mm512_add_epi32(inclusive, _mm512_alignr_epi32(inclusive, zero, 14));
    inclusive = _mm512_add_epi32(inclusive, _mm512_alignr_epi32(inclusive, zero, 12));
    inclusive = _mm512_add_epi32(inclusive, _mm512_alignr_epi32(inclusive, zero, 8));
    _mm512_storeu_si512(o + j, _mm512_add_epi32(carry, _mm512_sub_epi32(inclusive, v)));
    carry = _mm512_add_epi32(carry, _mm512_permutexvar_epi32(last, inclusive));
  }
  const auto next = static_cast<std::uint32_t>(_mm_cvtsi128_si32(_mm512_castsi512_si128(carry)));
  return detail::ordinals_scalar(n + j, width - j, next, o + j) + (next - at);
}

AIHW_TARGET_AVX2 std::uint32_t ordinals_avx2(const std::uint32_t* n, std::int64_t width,
                                             std::uint32_t at, std::uint32_t* o) {
  // Lanes shifted up by 1, 2, 4 (zeros in): a permutation, then the low lanes cleared.
  const __m256i by1 = _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6);
  const __m256i by2 = _mm256_setr_epi32(0, 0, 0, 1, 2, 3, 4, 5);
  const __m256i by4 = _mm256_setr_epi32(0, 0, 0, 0, 0, 1, 2, 3);
  const __m256i keep1 = _mm256_setr_epi32(0, -1, -1, -1, -1, -1, -1, -1);
  const __m256i keep2 = _mm256_setr_epi32(0, 0, -1, -1, -1, -1, -1, -1);
  const __m256i keep4 = _mm256_setr_epi32(0, 0, 0, 0, -1, -1, -1, -1);
  const __m256i last = _mm256_set1_epi32(7);
  __m256i carry = _mm256_set1_epi32(static_cast<int>(at));
  std::int64_t j = 0;
  for (; j + 8 <= width; j += 8) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(n + j));
    __m256i inclusive = _mm256_add_epi32(v, _mm256_and_si256(_mm256_permutevar8x32_epi32(v, by1), keep1));
    inclusive = _mm256_add_epi32(inclusive, _mm256_and_si256(_mm256_permutevar8x32_epi32(inclusive, by2), keep2));
    inclusive = _mm256_add_epi32(inclusive, _mm256_and_si256(_mm256_permutevar8x32_epi32(inclusive, by4), keep4));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + j),
                        _mm256_add_epi32(carry, _mm256_sub_epi32(inclusive, v)));
    carry = _mm256_add_epi32(carry, _mm256_permutevar8x32_epi32(inclusive, last));
  }
  const auto next = static_cast<std::uint32_t>(_mm256_cvtsi256_si32(carry));
  return detail::ordinals_scalar(n + j, width - j, next, o + j) + (next - at);
}

// A pass as a function of its own: inlined into the row loop, GCC keeps it scalar for the
// laws with many arrays (its alias analysis loses the restrict pointers). Flattened: every
// call in it is inlined (the step laws' f32_math functions would otherwise stay calls once
// this file's inlining budget is spent, and the loop scalar).
#define AIHW_PASS_VARIANT(NAME, TARGET)                                                      \
  template <class Law, bool kNoisy>                                                           \
  TARGET __attribute__((noinline, flatten)) void NAME(                                        \
      const Law& law, float* w, std::size_t row_e, const std::uint32_t* n,                    \
      const std::uint8_t* x_neg, std::uint8_t d_neg, const float* zk, std::uint32_t k,        \
      std::int64_t x_size) {                                                                  \
    detail::pulse_pass<kNoisy>(law, w, row_e, n, x_neg, d_neg, zk, k, x_size);                \
  }
AIHW_PASS_VARIANT(pulse_pass_avx512, AIHW_TARGET_AVX512)
AIHW_PASS_VARIANT(pulse_pass_avx2, AIHW_TARGET_AVX2)
#undef AIHW_PASS_VARIANT

template <class Law, bool kNoisy>
AIHW_TARGET_AVX512 std::int64_t dense_sample_avx512(const Law& law, const DenseSample& ds) {
  return dense_sample_body<Law, kNoisy, true, true>(law, ds, pass_normals_avx512,
                                                    single_pass_normals_avx512, ordinals_avx512,
                                                    pulse_pass_avx512<Law, kNoisy>);
}
template <class Law, bool kNoisy>
AIHW_TARGET_AVX2 std::int64_t dense_sample_avx2(const Law& law, const DenseSample& ds) {
  return dense_sample_body<Law, kNoisy, true, false>(law, ds, pass_normals_avx2,
                                                     detail::single_pass_normals, ordinals_avx2,
                                                     pulse_pass_avx2<Law, kNoisy>);
}
#endif  // AIHW_DENSE_SIMD

template <class Law, bool kNoisy>
std::int64_t dense_sample_portable(const Law& law, const DenseSample& ds) {
  return dense_sample_body<Law, kNoisy, false, true>(law, ds, detail::pass_normals_scalar,
                                                     detail::single_pass_normals,
                                                     detail::ordinals_scalar,
                                                     detail::pulse_pass<kNoisy, Law>);
}

template <class Law>
std::int64_t dense_sample(const Law& law, const DenseSample& ds) {
  const bool noisy = law.draws_noise();
  switch (dense_rows_variant()) {
#if AIHW_DENSE_SIMD
    case DenseRows::kAvx512:
      return noisy ? dense_sample_avx512<Law, true>(law, ds) : dense_sample_avx512<Law, false>(law, ds);
    case DenseRows::kAvx2:
      return noisy ? dense_sample_avx2<Law, true>(law, ds) : dense_sample_avx2<Law, false>(law, ds);
#endif
    default:
      return noisy ? dense_sample_portable<Law, true>(law, ds)
                   : dense_sample_portable<Law, false>(law, ds);
  }
}

template <class Law>
std::int64_t apply_chunk(const Problem& pb, const Law& law,
                         const std::vector<std::int64_t>& samples, const Trains& tr,
                         int threads) {
  const Layout& lay = pb.lay;
  std::atomic<std::int64_t> total{0};
  parallel_for(threads, lay.n_row_blocks, [&](std::int64_t rb) {
    TaskScratch& scratch = task_scratch(lay.x_size, lay.row_block);
    Hits& hits = scratch.hits;
    Applier<Law> sink(law, pb, scratch);
    for (std::size_t s = 0; s < samples.size(); ++s) {
      const std::int64_t b = samples[s];
      if (kDenseLaw<Law> && tr.dense[s]) {
        sink.flush();  // the dense sample writes the same rows and uses the scratch batch
        const DenseSample ds{&pb, &tr, static_cast<std::int64_t>(s), rb, static_cast<std::uint32_t>(b),
                             (*pb.scales)[b].bl, &scratch};
        sink.pulses += dense_sample(dense_law(law), ds);
        continue;
      }
      sink.begin_sample(b, (*pb.scales)[b].bl);
      if (tr.words == 1) {
        for_each_coincidence<1>(lay, tr, static_cast<std::int64_t>(s), rb, hits, sink);
      } else {
        for_each_coincidence<0>(lay, tr, static_cast<std::int64_t>(s), rb, hits, sink);
      }
    }
    sink.flush();
    total.fetch_add(sink.pulses, std::memory_order_relaxed);
  });
  return total.load();
}

// A sample whose train is longer than one segment: coincidence counts summed over the
// segments, then applied.
template <class Law>
std::int64_t apply_long_sample(const Problem& pb, const Law& law, std::int64_t b,
                               Trains& tr, std::vector<std::uint32_t>& counts, int threads) {
  const Layout& lay = pb.lay;
  const SampleScales& sc = (*pb.scales)[b];
  const std::vector<std::int64_t> samples{b};
  if (counts.empty()) counts.assign(static_cast<std::size_t>(lay.d_size * lay.x_size), 0u);
  tr.resize(lay, 1, kSegmentWords);
  for (std::int64_t t0 = 0; t0 < sc.bl; t0 += kSegmentSlots) {
    draw_chunk(pb, samples, t0, t0 + kSegmentSlots, tr, threads);
    parallel_for(threads, lay.n_row_blocks, [&](std::int64_t rb) {
      Hits& hits = task_scratch(lay.x_size).hits;
      for_each_coincidence<0>(lay, tr, 0, rb, hits, [&](const Hits& h) {
        for (std::int64_t k = 0; k < h.size; ++k) counts[h.e[k]] += h.n[k];
      });
    });
  }
  std::atomic<std::int64_t> total{0};
  const float* xb = pb.x + b * lay.x_size;
  const float* db = pb.d + b * lay.d_size;
  parallel_for(threads, lay.n_row_blocks, [&](std::int64_t rb) {
    TaskScratch& scratch = task_scratch(lay.x_size);
    Hits& hits = scratch.hits;
    Applier<Law> sink(law, pb, scratch);
    sink.begin_sample(b, sc.bl);
    const std::int64_t begin = rb * lay.row_block;
    const std::int64_t end = std::min(begin + lay.row_block, lay.d_size);
    for (std::int64_t i = begin; i < end; ++i) {
      if (db[i] == 0.0f) continue;
      const bool d_neg = db[i] < 0.0f;
      std::uint32_t* row = counts.data() + i * lay.x_size;
      for (std::int64_t j = 0; j < lay.x_size; ++j) {
        const std::uint32_t n = row[j];
        if (n == 0) continue;
        row[j] = 0;
        hits.e[hits.size] = static_cast<std::uint32_t>(i * lay.x_size + j);
        hits.up[hits.size] = static_cast<std::uint8_t>((xb[j] < 0.0f) != d_neg);
        hits.n[hits.size] = n;
        if (++hits.size >= Hits::kFlush) {
          sink(hits);
          hits.size = 0;
        }
      }
    }
    if (hits.size > 0) sink(hits);
    sink.flush();
    total.fetch_add(sink.pulses, std::memory_order_relaxed);
  });
  return total.load();
}

// ---------------------------------------------------------------------------------------
// The deterministic pulse types (contract §6)

// Pulses of DeterministicImplicit (n = rint((BL q_d) q_x)) or MeanCount
// (n = rint((c_d c_x) / BL)), all in double, applied sample after sample.
template <class Law>
std::int64_t run_deterministic(const Problem& pb, const Law& law, std::int64_t batch,
                               int threads, const PulsedUpdateConfig& config) {
  const Layout& lay = pb.lay;
  const std::vector<SampleScales>& scales = *pb.scales;
  std::vector<std::int64_t> active;
  for (std::int64_t b = 0; b < batch; ++b) {
    if (scales[b].active) active.push_back(b);
  }
  if (active.empty()) return 0;
  const auto n_active = static_cast<std::int64_t>(active.size());
  const bool implicit = config.pulse_kind == PulseKind::kDeterministicImplicit;
  Draw draw_x = pb.draw, draw_d = pb.draw;
  if (implicit) {
    draw_x.res = config.x_res_implicit;
    draw_d.res = config.d_res_implicit;
  }
  // fx: q_x (implicit) or c_x; fd: BL * q_d (implicit) or c_d; 0 where the value is 0.
  std::vector<double> fx(static_cast<std::size_t>(n_active * lay.x_size));
  std::vector<double> fd(static_cast<std::size_t>(n_active * lay.d_size));
  auto factor = [&](float v, double scale, const Draw& draw, Side side, std::int64_t element,
                    std::int64_t b, double bl, bool times_bl) {
    if (v == 0.0f) return 0.0;
    const double p = firing_probability(v, scale, draw, side, static_cast<std::uint32_t>(element),
                                        static_cast<std::uint32_t>(b));
    return deterministic_factor(p, bl, implicit, times_bl);
  };
  parallel_for(threads, n_active, [&](std::int64_t s) {
    const std::int64_t b = active[s];
    const SampleScales& sc = scales[b];
    const auto bl = static_cast<double>(sc.bl);
    const float* xb = pb.x + b * lay.x_size;
    const float* db = pb.d + b * lay.d_size;
    for (std::int64_t j = 0; j < lay.x_size; ++j) {
      fx[s * lay.x_size + j] = factor(xb[j], sc.b, draw_x, kXSide, j, b, bl, false);
    }
    for (std::int64_t i = 0; i < lay.d_size; ++i) {
      fd[s * lay.d_size + i] = factor(db[i], sc.a, draw_d, kDSide, i, b, bl, true);
    }
  });

  std::atomic<std::int64_t> total{0};
  parallel_for(threads, lay.n_row_blocks, [&](std::int64_t rb) {
    TaskScratch& scratch = task_scratch(lay.x_size);
    Hits& hits = scratch.hits;
    Applier<Law> sink(law, pb, scratch);
    const std::int64_t begin = rb * lay.row_block;
    const std::int64_t end = std::min(begin + lay.row_block, lay.d_size);
    for (std::int64_t s = 0; s < n_active; ++s) {
      const std::int64_t b = active[s];
      const auto bl = static_cast<double>(scales[b].bl);
      sink.begin_sample(b, scales[b].bl);
      const float* xb = pb.x + b * lay.x_size;
      const float* db = pb.d + b * lay.d_size;
      const double* fxs = fx.data() + s * lay.x_size;
      for (std::int64_t i = begin; i < end; ++i) {
        const double di = fd[s * lay.d_size + i];
        if (di == 0.0) continue;
        const bool d_neg = db[i] < 0.0f;
        for (std::int64_t j = 0; j < lay.x_size; ++j) {
          const double xj = fxs[j];
          if (xj == 0.0) continue;
          const double n = deterministic_count(di, xj, bl, implicit);
          if (!(n > 0.0)) continue;
          hits.e[hits.size] = static_cast<std::uint32_t>(i * lay.x_size + j);
          hits.up[hits.size] = static_cast<std::uint8_t>((xb[j] < 0.0f) != d_neg);
          hits.n[hits.size] = static_cast<std::uint32_t>(n);
          ++hits.size;
        }
        if (hits.size >= Hits::kFlush) {
          sink(hits);
          hits.size = 0;
        }
      }
      if (hits.size > 0) {  // hand the sample's hits over before the next sample begins
        sink(hits);
        hits.size = 0;
      }
    }
    sink.flush();
    total.fetch_add(sink.pulses, std::memory_order_relaxed);
  });
  return total.load();
}

template <class T>
struct LawTag {
  using type = T;
};

template <class Law>
std::int64_t run_update(const Problem& pb, const Law& law, std::int64_t batch, int threads) {
  const Layout& lay = pb.lay;
  const std::vector<SampleScales>& scales = *pb.scales;
  // The train buffers of the calling thread are kept from call to call (at most a few
  // MB), which saves allocating and faulting in fresh pages every update.
  static thread_local Trains tr;
  std::vector<std::uint32_t> counts;
  std::int64_t total = 0;
  const std::int64_t elements = lay.x_size + lay.d_size;

  std::vector<std::int64_t> chunk;
  int chunk_words = 1;
  auto flush = [&]() {
    if (chunk.empty()) return;
    tr.resize(lay, static_cast<std::int64_t>(chunk.size()), chunk_words);
    // Each phase uses the pool only when it has enough work to pay for waking it.
    double draw_work = 0.0;
    for (std::int64_t b : chunk) draw_work += static_cast<double>(elements * ((scales[b].bl + 3) / 4));
    draw_chunk(pb, chunk, 0, kMaxPulseTrainLength, tr, draw_work < kSerialWork ? 1 : threads);
    spread_dense_samples(lay, tr, kDenseLaw<Law>);
    double pairs = 0.0;  // firing d rows x firing x columns, summed over the samples
    for (std::size_t s = 0; s < chunk.size(); ++s) {
      std::int64_t n_x = 0, n_d = 0;
      for (std::int64_t k = 0; k < lay.n_x_blocks; ++k) n_x += tr.x_count[s * lay.n_x_blocks + k];
      for (std::int64_t k = 0; k < lay.n_row_blocks; ++k) n_d += tr.d_count_at(static_cast<std::int64_t>(s), k);
      pairs += static_cast<double>(n_x) * static_cast<double>(n_d);
    }
    total += apply_chunk(pb, law, chunk, tr, pairs < 4.0 * kSerialWork ? 1 : threads);
    chunk.clear();
    chunk_words = 1;
  };
  for (std::int64_t b = 0; b < batch; ++b) {
    const SampleScales& sc = scales[b];
    if (!sc.active) continue;
    if (sc.bl > kSegmentSlots) {
      flush();
      total += apply_long_sample(pb, law, b, tr, counts, threads);
      continue;
    }
    const int words = static_cast<int>((sc.bl + 63) / 64);
    const int new_words = std::max(chunk_words, words);
    const std::int64_t bytes = (static_cast<std::int64_t>(chunk.size()) + 1) * elements *
                               (4 + 8 * static_cast<std::int64_t>(new_words));
    if (!chunk.empty() && bytes > kChunkBytes) flush();
    chunk_words = std::max(chunk_words, words);
    chunk.push_back(b);
  }
  flush();
  return total;
}

template <class Law>
std::int64_t run_law(const Problem& pb, const Law& law, std::int64_t batch, int threads,
                     const PulsedUpdateConfig& config) {
  if (config.pulse_kind == PulseKind::kStochastic) return run_update(pb, law, batch, threads);
  return run_deterministic(pb, law, batch, threads, config);
}

// Runs the update with the law whose engine id is law_id (one instantiation per law).
template <class... Laws>
std::int64_t dispatch_law(LawList<Laws...>, int law_id, const Problem& pb,
                          const std::vector<const float*>& arrays,
                          const std::vector<double>& scalars, std::int64_t batch, int threads,
                          const PulsedUpdateConfig& config) {
  std::int64_t pulses = -1;
  const auto run_if = [&](auto law_tag) {
    using Law = typename decltype(law_tag)::type;
    if (pulses < 0 && law_id == Law::kSpec.engine_id) {
      const Law law(arrays.data(), scalars.data());
      pulses = run_law(pb, law, batch, threads, config);
    }
  };
  (run_if(LawTag<Laws>{}), ...);
  if (pulses < 0) throw std::invalid_argument("unknown step law engine id " + std::to_string(law_id));
  return pulses;
}

// max_j |v_j| of finite floats: the magnitude bits ordered as integers (vectorises; 32
// running maxima side by side, so that no one chain of maxima sets the pace).
__attribute__((target_clones("avx512f", "avx2", "default")))
float max_abs(const float* v, std::int64_t n) noexcept {
  constexpr std::int64_t kLanes = 32;
  std::int32_t lanes[kLanes] = {};
  std::int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (std::int64_t k = 0; k < kLanes; ++k) {
      std::int32_t bits;
      std::memcpy(&bits, v + j + k, sizeof bits);
      bits &= 0x7FFFFFFF;
      lanes[k] = bits > lanes[k] ? bits : lanes[k];
    }
  }
  std::int32_t m = 0;
  for (; j < n; ++j) {
    std::int32_t bits;
    std::memcpy(&bits, v + j, sizeof bits);
    bits &= 0x7FFFFFFF;
    m = bits > m ? bits : m;
  }
  for (std::int64_t k = 0; k < kLanes; ++k) m = lanes[k] > m ? lanes[k] : m;
  float out;
  std::memcpy(&out, &m, sizeof out);
  return out;
}

[[noreturn]] void invalid(const std::string& message) { throw std::invalid_argument(message); }

}  // namespace

// ---------------------------------------------------------------------------------------
// Dense-row variant selection

namespace detail {
namespace {
bool cpu_runs(DenseRows v) noexcept {
#if AIHW_DENSE_SIMD
  __builtin_cpu_init();
  if (v == DenseRows::kAvx512) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("popcnt");
  }
  if (v == DenseRows::kAvx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
  return true;
#else
  return v == DenseRows::kOff || v == DenseRows::kPortable;
#endif
}

// Without AVX2 the dense rows are slower than the scan (the portable variant is for tests).
DenseRows best_dense_rows() noexcept {
  if (cpu_runs(DenseRows::kAvx512)) return DenseRows::kAvx512;
  if (cpu_runs(DenseRows::kAvx2)) return DenseRows::kAvx2;
  return DenseRows::kOff;
}

constexpr int kUnresolved = -1;
std::atomic<int> g_dense_rows{kUnresolved};  // resolved on first use
}  // namespace

DenseRows dense_rows_variant() noexcept {
  int v = g_dense_rows.load(std::memory_order_relaxed);
  if (v == kUnresolved) {
    v = static_cast<int>(best_dense_rows());
    int expected = kUnresolved;
    if (!g_dense_rows.compare_exchange_strong(expected, v)) v = expected;
  }
  return static_cast<DenseRows>(v);
}

bool set_dense_rows_variant(const char* name) noexcept {
  const std::string n = name == nullptr ? "" : name;
  DenseRows v;
  if (n == "auto") v = best_dense_rows();
  else if (n == "off") v = DenseRows::kOff;
  else if (n == "portable") v = DenseRows::kPortable;
  else if (n == "avx2") v = DenseRows::kAvx2;
  else if (n == "avx512") v = DenseRows::kAvx512;
  else return false;
  if (!cpu_runs(v)) return false;
  g_dense_rows.store(static_cast<int>(v), std::memory_order_relaxed);
  return true;
}
}  // namespace detail

// ---------------------------------------------------------------------------------------

void check_pulsed_update(std::int64_t d_size, std::int64_t x_size, std::int64_t batch,
                         int law, const std::vector<const float*>& law_arrays,
                         const std::vector<double>& law_scalars,
                         const PulsedUpdateConfig& config) {
  const LawSpec* spec = find_law(law);
  if (spec == nullptr) invalid("unknown step law engine id " + std::to_string(law));
  const std::string law_name = spec->name;
  if (static_cast<int>(law_arrays.size()) != spec->n_arrays) {
    invalid("step law " + law_name + " takes " + std::to_string(spec->n_arrays) +
            " parameter arrays, got " + std::to_string(law_arrays.size()));
  }
  for (std::size_t k = 0; k < law_arrays.size(); ++k) {
    if (law_arrays[k] == nullptr) invalid("parameter array " + std::to_string(k) + " is a null pointer");
  }
  for (std::size_t k = 0; k < law_scalars.size(); ++k) {
    if (!std::isfinite(law_scalars[k])) invalid("scalar " + std::to_string(k) + " is not finite");
  }
  const std::string why = check_law_scalars(law, law_scalars.data(), law_scalars.size());
  if (!why.empty()) invalid("step law " + law_name + " " + why);
  if (d_size <= 0 || x_size <= 0 || batch <= 0) {
    invalid("sizes must be positive, got d_size=" + std::to_string(d_size) +
            ", x_size=" + std::to_string(x_size) + ", batch=" + std::to_string(batch));
  }
  constexpr std::int64_t kCounterRange = std::int64_t(1) << 32;
  if (d_size >= kCounterRange / x_size || batch >= kCounterRange) {
    invalid("d_size * x_size and batch must be below 2**32 (32-bit counters), got d_size=" +
            std::to_string(d_size) + ", x_size=" + std::to_string(x_size) +
            ", batch=" + std::to_string(batch));
  }
  if (!std::isfinite(config.lr) || config.lr < 0.0) invalid("lr must be finite and >= 0");
  if (!std::isfinite(config.granularity) || config.granularity <= 0.0) {
    invalid("granularity must be finite and > 0");
  }
  if (config.desired_bl < 1 || config.desired_bl > kMaxPulseTrainLength) {
    invalid("desired_bl must be in [1, 2**30], got " + std::to_string(config.desired_bl));
  }
  if (!std::isfinite(config.um_grad_scale) || config.um_grad_scale <= 0.0) {
    invalid("um_grad_scale must be finite and > 0");
  }
  if (!std::isfinite(config.res) || config.res < 0.0) invalid("res must be finite and >= 0");
  if (config.pulse_kind != PulseKind::kStochastic &&
      config.pulse_kind != PulseKind::kDeterministicImplicit &&
      config.pulse_kind != PulseKind::kMeanCount) {
    invalid("unknown pulse kind " + std::to_string(static_cast<int>(config.pulse_kind)));
  }
  if (!std::isfinite(config.x_res_implicit) || config.x_res_implicit < 0.0 ||
      !std::isfinite(config.d_res_implicit) || config.d_res_implicit < 0.0) {
    invalid("x_res_implicit and d_res_implicit must be finite and >= 0");
  }
}

std::int64_t pulsed_update(float* weights, std::int64_t d_size, std::int64_t x_size,
                           const float* x, const float* d, std::int64_t batch, int law,
                           const std::vector<const float*>& law_arrays,
                           const std::vector<double>& law_scalars,
                           const PulsedUpdateConfig& config, std::uint64_t seed,
                           std::uint32_t update_index, int num_threads,
                           std::uint8_t* pulsed_mask) {
  // -- checks (nothing is changed before all of them pass) --------------------------------
  check_pulsed_update(d_size, x_size, batch, law, law_arrays, law_scalars, config);
  if (weights == nullptr) invalid("weights is a null pointer");
  if (x == nullptr) invalid("x is a null pointer");
  if (d == nullptr) invalid("d is a null pointer");
  const LawSpec* spec = find_law(law);
  if (pulsed_mask != nullptr) std::fill_n(pulsed_mask, d_size * x_size, std::uint8_t{0});
  // docs/physics/pulsed-update.md#pulse-length-and-scales: no update
  if (config.lr == 0.0) return 0;

  int threads = resolve_threads(num_threads);

  // -- per-sample BL, A, B ----------------------------------------------------------------
  std::vector<SampleScales> scales(static_cast<std::size_t>(batch));
  const std::int64_t scan_block = std::max<std::int64_t>(1, 65536 / (x_size + d_size));
  const int scan_threads = batch * (x_size + d_size) < 262144 ? 1 : threads;
  parallel_for(scan_threads, (batch + scan_block - 1) / scan_block, [&](std::int64_t task) {
    const std::int64_t b_end = std::min(batch, (task + 1) * scan_block);
    for (std::int64_t b = task * scan_block; b < b_end; ++b) {
      scales[b] = sample_scales(max_abs(x + b * x_size, x_size), max_abs(d + b * d_size, d_size),
                                config);
    }
  });
  double work = 0.0;
  for (std::int64_t b = 0; b < batch; ++b) {
    const SampleScales& sc = scales[b];
    if (!sc.active) continue;
    if (sc.bl > kMaxPulseTrainLength) {
      invalid("sample " + std::to_string(b) + " needs a pulse train of " +
              std::to_string(sc.bl) + " slots, more than 2**30 (lr / granularity too large)");
    }
    work += static_cast<double>(x_size + d_size) * static_cast<double>((sc.bl + 3) / 4) +
            static_cast<double>(d_size) * static_cast<double>(x_size) / 16.0;
  }
  if (work < kSerialWork) threads = 1;

  // -- blocking -----------------------------------------------------------------------------
  Layout lay;
  lay.d_size = d_size;
  lay.x_size = x_size;
  lay.x_block = std::min<std::int64_t>(
      x_size, std::max<std::int64_t>(256, (x_size + 2 * threads - 1) / (2 * threads)));
  lay.n_x_blocks = (x_size + lay.x_block - 1) / lay.x_block;
  const std::int64_t row_bytes = x_size * 4 * (1 + spec->n_arrays);
  const std::int64_t cache_rows = std::max<std::int64_t>(1, kRowBlockBytes / row_bytes);
  // Every row-block task walks all samples of a chunk, and the d trains of narrow blocks
  // cost a call per sample and block: a block gets at least kMinRowBlockCells cross-points
  // (a convolution's small tile, thousands of samples a call, runs as one or two blocks),
  // at most 4 per thread for balance, a multiple of the thread count when there are
  // several, and one thread needs no balancing at all.
  std::int64_t n_blocks = std::max<std::int64_t>(1, d_size * x_size / kMinRowBlockCells);
  if (threads > 1) {
    n_blocks = std::min<std::int64_t>(n_blocks, 4 * threads);
    if (n_blocks >= threads) n_blocks -= n_blocks % threads;
  } else {
    n_blocks = 1;
  }
  const std::int64_t balance_rows = (d_size + n_blocks - 1) / n_blocks;
  lay.row_block = std::min(std::min(cache_rows, balance_rows), d_size);
  lay.n_row_blocks = (d_size + lay.row_block - 1) / lay.row_block;

  Problem pb{weights, x, d, lay, Draw{philox_key_from_seed(seed), update_index, config.res,
                                      config.sto_round},
             &scales, pulsed_mask};
  return dispatch_law(StepLaws{}, law, pb, law_arrays, law_scalars, batch, threads, config);
}

}  // namespace aihw

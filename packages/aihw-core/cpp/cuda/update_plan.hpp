// How the pulsed update on CUDA is split (host side, shared by update.cu and its emulation):
// the scratch layout, the chunks of samples and the order of the kernels. Every decision is
// made from the parameters alone (the longest train is known before the data), so nothing
// waits for the device.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda_update.hpp"
#include "update_body.hpp"

namespace aihw::cuda_update {

constexpr std::int64_t kChunkBudget = std::int64_t(64) << 20;  // bytes of trains held at once
constexpr std::int64_t kAlign = 256;
constexpr std::int64_t kMaxChunkSamples = 4096;  // bounds the carries, d_size * chunk

inline std::int64_t aligned(std::int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

struct Plan {
  bool deterministic = false;
  bool long_trains = false;  // longer than kSegmentWords words: one sample at a time, segments
  std::int64_t bl_max = 1;
  int words = 1;
  std::int64_t chunk = 1;  // samples per chunk
  std::int64_t scales_at = 0, chunk_at = 0, counts_at = 0, carries_at = 0, bytes = 0;
};

inline Plan make_plan(const PulsedUpdateConfig& config, std::int64_t d_size, std::int64_t x_size,
                      std::int64_t batch) {
  Plan p;
  p.deterministic = config.pulse_kind != PulseKind::kStochastic;
  p.bl_max = longest_pulse_train(config);
  if (p.bl_max > kMaxTrain) {
    throw std::invalid_argument(
        "the CUDA kernels take pulse trains of at most 2**20 slots; desired_bl (or "
        "lr / granularity with fixed_bl=False) gives " + std::to_string(p.bl_max));
  }
  const std::int64_t elems = d_size + x_size;
  const std::int64_t train_words = (p.bl_max + 63) / 64;
  p.long_trains = !p.deterministic && train_words > kSegmentWords;
  p.words = p.deterministic ? 1 : static_cast<int>(std::min<std::int64_t>(train_words, kSegmentWords));
  const std::int64_t per_sample = p.deterministic ? elems * 8 : elems * p.words * 8;
  p.chunk = p.long_trains ? 1 : std::max<std::int64_t>(1, std::min(batch, kChunkBudget / per_sample));
  p.chunk = std::min(p.chunk, kMaxChunkSamples);
  p.scales_at = 0;
  p.chunk_at = aligned(batch * static_cast<std::int64_t>(sizeof(SampleScales)));
  p.counts_at = p.chunk_at + aligned(p.chunk * per_sample);
  p.carries_at = p.counts_at + (p.long_trains ? aligned(d_size * x_size * 4) : 0);
  // rows of several passes carry their ordinals from pass to pass, per sample
  p.bytes = p.carries_at + (x_size > kPassColumns ? aligned(d_size * p.chunk * 4) : 0);
  return p;
}

/// The problem of a call laid out in `scratch` (which holds at least plan.bytes).
inline Problem make_problem(const cuda::UpdateCall& c, const Plan& plan, void* scratch) {
  auto* base = static_cast<unsigned char*>(scratch);
  Problem pb{};
  pb.weights = c.weights;
  pb.x = c.x;
  pb.d = c.d;
  pb.d_size = c.d_size;
  pb.x_size = c.x_size;
  pb.mask = c.pulsed_mask;
  pb.config = c.config;
  pb.key = philox_key_from_seed(c.seed);
  pb.update_index = c.update_index;
  pb.scales = reinterpret_cast<SampleScales*>(base + plan.scales_at);
  pb.words = plan.words;
  pb.bits = reinterpret_cast<std::uint64_t*>(base + plan.chunk_at);
  pb.factors = reinterpret_cast<double*>(base + plan.chunk_at);
  pb.counts = reinterpret_cast<std::uint32_t*>(base + plan.counts_at);
  pb.carries = reinterpret_cast<std::uint32_t*>(base + plan.carries_at);
  return pb;
}

/// The kernels of one update, in order, on an executor: scales(pb, batch), trains(pb, items),
/// factors(pb, items), segment_counts(pb, items), zero_counts(pb), apply(pb).
template <class Exec>
void run_plan(const Plan& plan, Problem pb, std::int64_t batch, Exec& ex) {
  ex.scales(pb, batch);
  if (plan.long_trains) ex.zero_counts(pb);
  const std::int64_t elems = elements(pb);
  for (std::int64_t b0 = 0; b0 < batch; b0 += plan.chunk) {
    pb.b0 = b0;
    pb.n_samples = std::min(plan.chunk, batch - b0);
    pb.t0 = 0;
    if (plan.deterministic) {
      pb.source = Source::kFactors;
      ex.factors(pb, pb.n_samples * elems);
    } else if (!plan.long_trains) {
      pb.source = Source::kBits;
      ex.trains(pb, pb.n_samples * elems * pb.words);
    } else {
      for (std::int64_t t0 = 0; t0 < plan.bl_max; t0 += 64 * std::int64_t(kSegmentWords)) {
        pb.t0 = t0;
        ex.trains(pb, elems * pb.words);
        ex.segment_counts(pb, pb.d_size * pb.x_size);
      }
      pb.source = Source::kCounts;
    }
    ex.apply(pb);
  }
}

template <class T>
struct LawTag {
  using type = T;
};

/// Calls f(law) with the kernel struct of the law with this engine id (KernelLaw).
template <class F, class... Laws>
void with_kernel_law(LawList<Laws...>, int law_id, const float* const* arrays,
                     const double* scalars, const float* table, F&& f) {
  bool done = false;
  const auto one = [&](auto tag) {
    using Law = typename decltype(tag)::type;
    if (!done && law_id == Law::kSpec.engine_id) {
      done = true;
      f(KernelLaw<Law>::make(arrays, scalars, table));
    }
  };
  (one(LawTag<Laws>{}), ...);
  if (!done) throw std::invalid_argument("unknown step law engine id " + std::to_string(law_id));
}

/// The checks of aihw::pulsed_update (std::invalid_argument) and the plan of a call.
inline Plan checked_plan(const cuda::UpdateCall& c) {
  check_pulsed_update(c.d_size, c.x_size, c.batch, c.law, c.law_arrays, c.law_scalars, c.config);
  if (c.weights == nullptr) throw std::invalid_argument("weights is a null pointer");
  if (c.x == nullptr) throw std::invalid_argument("x is a null pointer");
  if (c.d == nullptr) throw std::invalid_argument("d is a null pointer");
  return make_plan(c.config, c.d_size, c.x_size, c.batch);
}

}  // namespace aihw::cuda_update

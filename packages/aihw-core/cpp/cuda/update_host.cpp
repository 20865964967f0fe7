// The host side of the pulsed update on CUDA that every build has (no CUDA needed): the
// scratch size, the law table and the emulation, which runs the kernels' bodies
// (update_body.hpp) on host memory block by block and phase by phase, in the order the
// kernels run them (update.cu), so the tests here check the kernels' arithmetic and order.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cuda_update.hpp"
#include "update_body.hpp"
#include "update_plan.hpp"

namespace aihw::cuda {

using namespace aihw::cuda_update;

std::int64_t pulsed_update_scratch_bytes(const PulsedUpdateConfig& config, std::int64_t d_size,
                                         std::int64_t x_size, std::int64_t batch) {
  return make_plan(config, d_size, x_size, batch).bytes;
}

std::vector<float> pulsed_update_law_table(int law, const std::vector<double>& law_scalars) {
  if (law != PiecewiseStepLaw::kSpec.engine_id) return {};
  const std::string why = check_law_scalars(law, law_scalars.data(), law_scalars.size());
  if (!why.empty()) throw std::invalid_argument("step law piecewise_step " + why);
  return detail::piecewise_tables(law_scalars.data());
}

namespace {

// Runs each kernel's body over its items; the apply kernel as blocks of kThreads threads.
template <class Law>
struct Emulator {
  const Law& law;
  std::int64_t pulses = 0;

  void scales(const Problem& pb, std::int64_t batch) {
    for (std::int64_t b = 0; b < batch; ++b) {  // block b
      std::uint32_t x_max = 0, d_max = 0;
      for (int t = 0; t < kPrepThreads; ++t) {
        x_max = std::max(x_max, partial_max_bits(pb, b, 0, t, kPrepThreads));
        d_max = std::max(d_max, partial_max_bits(pb, b, 1, t, kPrepThreads));
      }
      finish_scales(pb, b, x_max, d_max);
    }
  }
  void trains(const Problem& pb, std::int64_t items) {
    for (std::int64_t k = 0; k < items; ++k) train_word(pb, k);
  }
  void factors(const Problem& pb, std::int64_t items) {
    for (std::int64_t k = 0; k < items; ++k) element_factor(pb, k);
  }
  void segment_counts(const Problem& pb, std::int64_t items) {
    for (std::int64_t k = 0; k < items; ++k) add_segment_counts(pb, k);
  }
  void zero_counts(const Problem& pb) {
    std::fill_n(pb.counts, pb.d_size * pb.x_size, 0u);
  }
  void apply(const Problem& pb) {
    static thread_local std::uint32_t n[kThreads][kRows][kCols];
    static thread_local std::uint32_t first[kThreads][kRows];
    static thread_local float w[kThreads][kRows][kCols];
    for (std::int64_t i0 = 0; i0 < pb.d_size; i0 += kRows) {  // a block's rows
      const int rows = static_cast<int>(std::min<std::int64_t>(kRows, pb.d_size - i0));
      for (std::int64_t pass = 0; pass < pb.x_size; pass += kPassColumns) {
        for (int t = 0; t < kThreads; ++t) {
          for (int r = 0; r < rows; ++r) load_weights(pb, i0 + r, pass, t, w[t][r]);
        }
        for (std::int64_t s = 0; s < pb.n_samples; ++s) {
          bool live[kRows] = {};
          bool any = false;
          for (int r = 0; r < rows; ++r) any |= live[r] = row_live(pb, s, i0 + r);
          if (!any) continue;
          std::uint32_t carry[kRows] = {}, total[kRows] = {};
          for (int r = 0; r < rows; ++r) {
            if (live[r]) carry[r] = carry_in(pb, s, i0 + r, pass);
          }
          // phases 1 and 2: counts, an exclusive scan of the threads' sums per row
          for (int t = 0; t < kThreads; ++t) {
            for (int r = 0; r < rows; ++r) {
              if (!live[r]) continue;
              const std::uint32_t sum = thread_counts(pb, s, i0 + r, pass, t, n[t][r]);
              first[t][r] = carry[r] + total[r];
              total[r] += sum;
            }
          }
          for (int r = 0; r < rows; ++r) {  // phase 3
            if (!live[r] || total[r] == 0) continue;
            for (int t = 0; t < kThreads; ++t) {
              pulses += thread_apply(pb, law, s, i0 + r, pass, t, n[t][r], first[t][r], w[t][r]);
            }
          }
          for (int r = 0; r < rows; ++r) {  // phase 4
            if (live[r]) carry_out(pb, s, i0 + r, pass, carry[r], total[r]);
          }
        }
        for (int t = 0; t < kThreads; ++t) {
          for (int r = 0; r < rows; ++r) store_weights(pb, i0 + r, pass, t, w[t][r]);
        }
      }
    }
  }
};

}  // namespace

std::int64_t pulsed_update_emulated(const UpdateCall& call) {
  const Plan plan = checked_plan(call);
  if (call.pulsed_mask != nullptr) {
    std::fill_n(call.pulsed_mask, call.d_size * call.x_size, std::uint8_t{0});
  }
  if (call.config.lr == 0.0) return 0;
  const std::vector<float> table = pulsed_update_law_table(call.law, call.law_scalars);
  std::vector<std::uint64_t> scratch(static_cast<std::size_t>((plan.bytes + 7) / 8));
  const Problem pb = make_problem(call, plan, scratch.data());
  std::int64_t pulses = 0;
  with_kernel_law(StepLaws{}, call.law, call.law_arrays.data(), call.law_scalars.data(),
                  table.data(), [&](const auto& law) {
                    Emulator<std::decay_t<decltype(law)>> ex{law};
                    run_plan(plan, pb, call.batch, ex);
                    pulses = ex.pulses;
                  });
  return pulses;
}

}  // namespace aihw::cuda

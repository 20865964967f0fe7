// The pulsed update's kernels (docs/architecture/engine-contract.md §11.1). Their bodies are
// update_body.hpp's AIHW_HD functions, which update_host.cpp's emulation runs on the CPU in
// the same order; the chunks and the kernel order come from update_plan.hpp.
//   scales: a block per sample, the exact maxima of |x| and |d|, then BL, A, B;
//   trains: a thread per (sample, element, 64-slot word) of the chunk; factors (the
//           deterministic types) a thread per (sample, element);
//   apply:  a block per kRows rows (grid-stride), passes of kPassColumns columns, the rows'
//           weights in registers while the samples go by in order: per sample the counts of
//           every row, one block scan of the threads' sums (ordinals), each thread's pulses.
// A cross-point is written by one thread only, its samples in order, so no atomics touch
// the weights; the pulse total is one atomic add per thread that pulsed.
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "cuda_update.hpp"
#include "launch.cuh"
#include "update_body.hpp"
#include "update_plan.hpp"

namespace aihw::cuda {
namespace {

using namespace aihw::cuda_update;

constexpr unsigned kItemThreads = 256;

struct MaxOp {
  __device__ std::uint32_t operator()(std::uint32_t a, std::uint32_t b) const {
    return a > b ? a : b;
  }
};

__global__ void scales_kernel(Problem pb, std::int64_t batch) {
  using Reduce = cub::BlockReduce<std::uint32_t, kPrepThreads>;
  __shared__ typename Reduce::TempStorage tmp;
  for (std::int64_t b = blockIdx.x; b < batch; b += gridDim.x) {
    const int t = static_cast<int>(threadIdx.x);
    const std::uint32_t x_max = Reduce(tmp).Reduce(partial_max_bits(pb, b, 0, t, kPrepThreads),
                                                    MaxOp());
    __syncthreads();
    const std::uint32_t d_max = Reduce(tmp).Reduce(partial_max_bits(pb, b, 1, t, kPrepThreads),
                                                    MaxOp());
    __syncthreads();
    if (t == 0) finish_scales(pb, b, x_max, d_max);
  }
}

#define AIHW_ITEM_KERNEL(NAME, BODY)                                                        \
  __global__ void NAME(Problem pb, std::int64_t items) {                                   \
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;         \
    for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; \
         k < items; k += stride) {                                                          \
      BODY(pb, k);                                                                          \
    }                                                                                       \
  }
AIHW_ITEM_KERNEL(trains_kernel, train_word)
AIHW_ITEM_KERNEL(factors_kernel, element_factor)
AIHW_ITEM_KERNEL(segment_counts_kernel, add_segment_counts)
#undef AIHW_ITEM_KERNEL

template <class Law>
__global__ void __launch_bounds__(kThreads) apply_kernel(Problem pb, Law law,
                                                         unsigned long long* pulses_out) {
  using Scan = cub::BlockScan<RowSums, kThreads>;
  __shared__ typename Scan::TempStorage tmp;
  const int t = static_cast<int>(threadIdx.x);
  std::int64_t pulses = 0;
  std::uint32_t n[kRows][kCols];
  float w[kRows][kCols];
  for (std::int64_t i0 = std::int64_t(blockIdx.x) * kRows; i0 < pb.d_size;
       i0 += std::int64_t(gridDim.x) * kRows) {
    for (std::int64_t pass = 0; pass < pb.x_size; pass += kPassColumns) {
      AIHW_UNROLL
      for (int r = 0; r < kRows; ++r) {
        if (i0 + r < pb.d_size) load_weights(pb, i0 + r, pass, t, w[r]);
      }
      for (std::int64_t s = 0; s < pb.n_samples; ++s) {
        // Which rows may pulse: the same for every thread, so the block skips together.
        bool live[kRows];
        bool any = false;
        AIHW_UNROLL
        for (int r = 0; r < kRows; ++r) {
          live[r] = i0 + r < pb.d_size && row_live(pb, s, i0 + r);
          any = any || live[r];
        }
        if (!any) continue;
        RowSums sums{}, carry{};
        AIHW_UNROLL
        for (int r = 0; r < kRows; ++r) {
          if (!live[r]) continue;
          carry.v[r] = carry_in(pb, s, i0 + r, pass);
          sums.v[r] = thread_counts(pb, s, i0 + r, pass, t, n[r]);
        }
        RowSums before{}, total{};
        Scan(tmp).ExclusiveScan(sums, before, RowSums{}, AddRowSums(), total);
        __syncthreads();  // tmp is reused by the next scan; carry_in was read by all
        AIHW_UNROLL
        for (int r = 0; r < kRows; ++r) {
          if (!live[r] || total.v[r] == 0) continue;
          pulses += thread_apply(pb, law, s, i0 + r, pass, t, n[r], carry.v[r] + before.v[r],
                                 w[r]);
        }
        if (t == 0) {
          AIHW_UNROLL
          for (int r = 0; r < kRows; ++r) {
            if (live[r]) carry_out(pb, s, i0 + r, pass, carry.v[r], total.v[r]);
          }
        }
      }
      AIHW_UNROLL
      for (int r = 0; r < kRows; ++r) {
        if (i0 + r < pb.d_size) store_weights(pb, i0 + r, pass, t, w[r]);
      }
      // thread 0's carry_out of this pass happens before the next pass's carry_in: without
      // this barrier nothing orders them when one (sample, row) alone is live
      __syncthreads();
    }
  }
  if (pulses != 0) atomicAdd(pulses_out, static_cast<unsigned long long>(pulses));
}

struct Launcher {
  cudaStream_t stream;
  unsigned long long* pulses;

  void scales(const Problem& pb, std::int64_t batch) {
    scales_kernel<<<detail::grid_for(batch, 1), kPrepThreads, 0, stream>>>(pb, batch);
    detail::check_launch("pulsed_update_cuda (scales)");
  }
  void trains(const Problem& pb, std::int64_t items) {
    trains_kernel<<<detail::grid_for(items, kItemThreads), kItemThreads, 0, stream>>>(pb, items);
    detail::check_launch("pulsed_update_cuda (trains)");
  }
  void factors(const Problem& pb, std::int64_t items) {
    factors_kernel<<<detail::grid_for(items, kItemThreads), kItemThreads, 0, stream>>>(pb, items);
    detail::check_launch("pulsed_update_cuda (factors)");
  }
  void segment_counts(const Problem& pb, std::int64_t items) {
    segment_counts_kernel<<<detail::grid_for(items, kItemThreads), kItemThreads, 0, stream>>>(
        pb, items);
    detail::check_launch("pulsed_update_cuda (segment counts)");
  }
  void zero_counts(const Problem& pb) {
    const cudaError_t err = cudaMemsetAsync(
        pb.counts, 0, static_cast<std::size_t>(pb.d_size * pb.x_size) * 4, stream);
    if (err != cudaSuccess) detail::check_launch("pulsed_update_cuda (zero counts)");
  }
  template <class Law>
  void apply_law(const Problem& pb, const Law& law) {
    const std::int64_t tiles = (pb.d_size + kRows - 1) / kRows;
    apply_kernel<Law><<<detail::grid_for(tiles, 1, 65535u), kThreads, 0, stream>>>(pb, law, pulses);
    detail::check_launch("pulsed_update_cuda (apply)");
  }
};

template <class Law>
struct LawLauncher : Launcher {
  const Law* law;
  void apply(const Problem& pb) { apply_law(pb, *law); }
};

void memset_or_throw(void* p, std::size_t bytes, cudaStream_t stream, const char* what) {
  if (cudaMemsetAsync(p, 0, bytes, stream) != cudaSuccess) detail::check_launch(what);
}

}  // namespace

void pulsed_update_cuda(const UpdateCall& call, const float* law_table, void* scratch,
                        std::int64_t scratch_bytes, std::int64_t* pulses, std::uintptr_t stream) {
  const Plan plan = checked_plan(call);
  if (scratch_bytes < plan.bytes || scratch == nullptr) {
    throw std::invalid_argument("pulsed_update_cuda: scratch holds " +
                                std::to_string(scratch_bytes) + " bytes, the call needs " +
                                std::to_string(plan.bytes));
  }
  if (pulses == nullptr) throw std::invalid_argument("pulsed_update_cuda: pulses is a null pointer");
  if (call.law == PiecewiseStepLaw::kSpec.engine_id && law_table == nullptr) {
    throw std::invalid_argument("pulsed_update_cuda: piecewise_step needs its law table");
  }
  const cudaStream_t s = detail::as_stream(stream);
  memset_or_throw(pulses, sizeof(std::int64_t), s, "pulsed_update_cuda (zero pulses)");
  if (call.pulsed_mask != nullptr) {
    memset_or_throw(call.pulsed_mask, static_cast<std::size_t>(call.d_size * call.x_size), s,
                    "pulsed_update_cuda (zero mask)");
  }
  if (call.config.lr == 0.0) return;
  const Problem pb = make_problem(call, plan, scratch);
  with_kernel_law(StepLaws{}, call.law, call.law_arrays.data(), call.law_scalars.data(),
                  law_table, [&](const auto& law) {
                    using Law = std::decay_t<decltype(law)>;
                    LawLauncher<Law> ex{};
                    ex.stream = s;
                    ex.pulses = reinterpret_cast<unsigned long long*>(pulses);
                    ex.law = &law;
                    run_plan(plan, pb, call.batch, ex);
                  });
}

}  // namespace aihw::cuda

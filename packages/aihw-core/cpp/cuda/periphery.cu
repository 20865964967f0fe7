// The periphery stages on the device (contract §8, §11.2): one thread per item of
// periphery_quads.hpp (four consecutive elements of a row, one Philox block per stream), in
// grid-stride loops; a single pass over the data per stage, no synchronisation, no
// allocation. The bound flags: the caller hands in zeroed flags and items write 1s only.
#include "cuda_engine.hpp"
#include "launch.cuh"
#include "periphery_quads.hpp"

namespace aihw::cuda {
namespace {

constexpr unsigned kThreads = 256;

__global__ void input_stage_kernel(InputQuads s) {
  const std::int64_t n = s.grid.items();
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < n; i += stride) {
    input_quad(s, i);
  }
}

__global__ void output_stage_kernel(OutputQuads s) {
  const std::int64_t n = s.grid.items();
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < n; i += stride) {
    output_quad(s, i);
  }
}

}  // namespace

void input_stage(const float* x, float* out, std::int64_t n_rows, std::int64_t n_cols,
                 const float* row_scale, const InputStageConfig& config,
                 const PeripheryDraw& draw, std::uintptr_t stream) {
  check_stage(n_rows, n_cols, x, out);
  check_input_config(config, n_cols);
  const InputQuads s = input_quads(x, out, n_rows, n_cols, row_scale, config, draw);
  if (s.grid.items() == 0) return;
  input_stage_kernel<<<detail::grid_for(s.grid.items(), kThreads), kThreads, 0,
                       detail::as_stream(stream)>>>(s);
  detail::check_launch("input_stage");
}

void output_stage(float* y, std::int64_t n_rows, std::int64_t n_cols, const float* row_scale,
                  const OutputStageConfig& config, const PeripheryDraw& draw,
                  std::uint8_t* hit, std::uintptr_t stream) {
  check_stage(n_rows, n_cols, y, hit);
  check_output_config(config);
  const OutputQuads s = output_quads(y, n_rows, n_cols, row_scale, config, draw, hit);
  if (s.grid.items() == 0) return;
  output_stage_kernel<<<detail::grid_for(s.grid.items(), kThreads), kThreads, 0,
                        detail::as_stream(stream)>>>(s);
  detail::check_launch("output_stage");
}

}  // namespace aihw::cuda

// Host emulations of the CUDA periphery kernels (issue 15): the work items of
// periphery_quads.hpp run in a plain loop on host memory, compiled into the CPU engine
// whether or not the build has CUDA, so the tests of a machine without a GPU compare the
// kernels' code with the CPU engine. Arguments as in cuda_engine.hpp, without the stream.
#pragma once

#include <cstdint>

#include "aihw/periphery.hpp"

namespace aihw::cuda::emulated {

void input_stage(const float* x, float* out, std::int64_t n_rows, std::int64_t n_cols,
                 const float* row_scale, const InputStageConfig& config,
                 const PeripheryDraw& draw);

/// `hit` must hold zeros, as for the kernel.
void output_stage(float* y, std::int64_t n_rows, std::int64_t n_cols, const float* row_scale,
                  const OutputStageConfig& config, const PeripheryDraw& draw,
                  std::uint8_t* hit);

}  // namespace aihw::cuda::emulated

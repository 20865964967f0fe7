// Host emulation of periphery.cu: the same items, in item order, on the calling thread.
#include "periphery_emulated.hpp"

#include "periphery_quads.hpp"

namespace aihw::cuda::emulated {

void input_stage(const float* x, float* out, std::int64_t n_rows, std::int64_t n_cols,
                 const float* row_scale, const InputStageConfig& config,
                 const PeripheryDraw& draw) {
  check_stage(n_rows, n_cols, x, out);
  check_input_config(config, n_cols);
  const InputQuads s = input_quads(x, out, n_rows, n_cols, row_scale, config, draw);
  for (std::int64_t i = 0; i < s.grid.items(); ++i) input_quad(s, i);
}

void output_stage(float* y, std::int64_t n_rows, std::int64_t n_cols, const float* row_scale,
                  const OutputStageConfig& config, const PeripheryDraw& draw,
                  std::uint8_t* hit) {
  check_stage(n_rows, n_cols, y, hit);
  check_output_config(config);
  const OutputQuads s = output_quads(y, n_rows, n_cols, row_scale, config, draw, hit);
  for (std::int64_t i = 0; i < s.grid.items(); ++i) output_quad(s, i);
}

}  // namespace aihw::cuda::emulated

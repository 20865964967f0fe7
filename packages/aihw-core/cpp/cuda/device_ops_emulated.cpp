// Host emulation of device_ops.cu: the same items, in item order, on the calling thread.
#include "device_ops_emulated.hpp"

#include "device_ops_quads.hpp"

namespace aihw::cuda::emulated {

void decay_weights(float* w, std::int64_t n, const float* decay_scale, const float* reset_bias,
                   DeviceBounds bounds, double alpha) {
  const DecayQuads s = decay_quads(w, n, decay_scale, reset_bias, bounds, alpha);
  for (std::int64_t m = 0; m < s.items(); ++m) decay_quad(s, m);
}

void diffuse_weights(float* w, std::int64_t n, const float* rate, DeviceBounds bounds,
                     std::uint64_t seed, std::uint32_t call_index) {
  const DiffuseQuads s = diffuse_quads(w, n, rate, bounds, seed, call_index);
  for (std::int64_t m = 0; m < s.items(); ++m) diffuse_quad(s, m);
}

void reset_columns(float* w, std::int64_t d_size, std::int64_t x_size,
                   std::int64_t first_column, std::int64_t n_columns, const float* reset_bias,
                   DeviceBounds bounds, double reset_std, double reset_prob, std::uint64_t seed,
                   std::uint32_t call_index) {
  const ResetQuads s = reset_quads(w, d_size, x_size, first_column, n_columns, reset_bias,
                                   bounds, reset_std, reset_prob, seed, call_index);
  for (std::int64_t i = 0; i < s.items(); ++i) reset_quad(s, i);
}

void write_noise(float* visible, const float* hidden, std::int64_t n, const std::uint8_t* mask,
                 float noise_std, std::uint64_t seed, std::uint32_t call_index) {
  const WriteNoiseQuads s = write_noise_quads(visible, hidden, n, mask, noise_std, seed,
                                              call_index);
  for (std::int64_t m = 0; m < s.items(); ++m) write_noise_quad(s, m);
}

}  // namespace aihw::cuda::emulated

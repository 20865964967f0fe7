// The device operations on the device (contract §9, §10, §11.2): one thread per item of
// device_ops_quads.hpp (one Philox block, four consecutive weights), in grid-stride loops;
// no synchronisation, no allocation. Items write disjoint elements.
#include "cuda_engine.hpp"
#include "device_ops_quads.hpp"
#include "launch.cuh"

namespace aihw::cuda {
namespace {

constexpr unsigned kThreads = 256;

// Every operation's kernel: item i of `s` for each i, grid-stride.
template <class Quads, void (*Body)(const Quads&, std::int64_t)>
__global__ void items_kernel(Quads s) {
  const std::int64_t n = s.items();
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < n; i += stride) {
    Body(s, i);
  }
}

template <class Quads, void (*Body)(const Quads&, std::int64_t)>
void launch(const Quads& s, std::uintptr_t stream, const char* what) {
  if (s.items() <= 0) return;
  items_kernel<Quads, Body><<<detail::grid_for(s.items(), kThreads), kThreads, 0,
                              detail::as_stream(stream)>>>(s);
  detail::check_launch(what);
}

}  // namespace

void decay_weights(float* w, std::int64_t n, const float* decay_scale, const float* reset_bias,
                   DeviceBounds bounds, double alpha, std::uintptr_t stream) {
  launch<DecayQuads, decay_quad>(decay_quads(w, n, decay_scale, reset_bias, bounds, alpha),
                                 stream, "decay_weights");
}

void diffuse_weights(float* w, std::int64_t n, const float* rate, DeviceBounds bounds,
                     std::uint64_t seed, std::uint32_t call_index, std::uintptr_t stream) {
  launch<DiffuseQuads, diffuse_quad>(diffuse_quads(w, n, rate, bounds, seed, call_index), stream,
                                     "diffuse_weights");
}

void reset_columns(float* w, std::int64_t d_size, std::int64_t x_size,
                   std::int64_t first_column, std::int64_t n_columns, const float* reset_bias,
                   DeviceBounds bounds, double reset_std, double reset_prob, std::uint64_t seed,
                   std::uint32_t call_index, std::uintptr_t stream) {
  launch<ResetQuads, reset_quad>(reset_quads(w, d_size, x_size, first_column, n_columns,
                                             reset_bias, bounds, reset_std, reset_prob, seed,
                                             call_index),
                                 stream, "reset_columns");
}

void write_noise(float* visible, const float* hidden, std::int64_t n, const std::uint8_t* mask,
                 float noise_std, std::uint64_t seed, std::uint32_t call_index,
                 std::uintptr_t stream) {
  launch<WriteNoiseQuads, write_noise_quad>(
      write_noise_quads(visible, hidden, n, mask, noise_std, seed, call_index), stream,
      "write_noise");
}

}  // namespace aihw::cuda

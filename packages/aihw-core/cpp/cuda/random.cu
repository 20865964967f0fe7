// Philox blocks and the periphery's normals on the device: the same functions as the CPU
// engine (aihw/philox.hpp, aihw/periphery.hpp are compiled for both), one thread per block.
#include "cuda_engine.hpp"

#include "aihw/periphery.hpp"
#include "aihw/philox.hpp"
#include "launch.cuh"

namespace aihw::cuda {
namespace {

__global__ void philox_blocks_kernel(const std::uint32_t* counters, std::int64_t n,
                                     std::uint32_t k0, std::uint32_t k1, std::uint32_t* out) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < n; i += stride) {
    const std::uint32_t* c = counters + 4 * i;
    const PhiloxBlock r = philox4x32_10({c[0], c[1], c[2], c[3]}, {k0, k1});
    for (int w = 0; w < 4; ++w) out[4 * i + w] = r[w];
  }
}

__global__ void periphery_normals_kernel(const std::uint32_t* words, std::int64_t n,
                                         float* out) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < n; i += stride) {
    const std::uint32_t* r = words + 4 * i;
    periphery_box_muller(r[0], r[1], out[4 * i], out[4 * i + 1]);
    periphery_box_muller(r[2], r[3], out[4 * i + 2], out[4 * i + 3]);
  }
}

}  // namespace

int device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // no driver or no device: clear the sticky-free error
    return 0;
  }
  return n;
}

void philox_blocks(const std::uint32_t* counters, std::int64_t n, PhiloxKey key,
                   std::uint32_t* out, std::uintptr_t stream) {
  if (n <= 0) return;
  constexpr unsigned kThreads = 256;
  philox_blocks_kernel<<<detail::grid_for(n, kThreads), kThreads, 0, detail::as_stream(stream)>>>(
      counters, n, key[0], key[1], out);
  detail::check_launch("philox_blocks");
}

void periphery_normals(const std::uint32_t* words, std::int64_t n, float* out,
                       std::uintptr_t stream) {
  if (n <= 0) return;
  constexpr unsigned kThreads = 256;
  periphery_normals_kernel<<<detail::grid_for(n, kThreads), kThreads, 0,
                             detail::as_stream(stream)>>>(words, n, out);
  detail::check_launch("periphery_normals");
}

}  // namespace aihw::cuda

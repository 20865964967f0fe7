// What every .cu file of the CUDA back-end needs: the stream handle, launch geometry and the
// check after a launch (an asynchronous launch error surfaces here, not at a later sync).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace aihw::cuda::detail {

inline cudaStream_t as_stream(std::uintptr_t handle) noexcept {
  return reinterpret_cast<cudaStream_t>(handle);
}

/// Blocks for `n` items at `threads` per block, capped so that grid-stride loops cover the
/// rest (the cap keeps the grid within every architecture's limit).
inline unsigned grid_for(std::int64_t n, unsigned threads, unsigned cap = 65535u * 8u) {
  const std::int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > cap ? cap : blocks));
}

/// Throw if the last launch (or an earlier asynchronous error) failed.
inline void check_launch(const char* what) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) {
    throw std::runtime_error(std::string(what) + ": CUDA error " + cudaGetErrorName(err) +
                             ": " + cudaGetErrorString(err));
  }
}

}  // namespace aihw::cuda::detail

// The pulsed update on CUDA (docs/architecture/engine-contract.md §11.1): the entry point on
// device memory, the scratch size it needs, and its host emulation (always built, host
// memory, the kernels' bodies run in plain loops) that the tests compare with the CPU engine.
// Only plain C++ types cross this header.
#pragma once

#include <cstdint>
#include <vector>

#include "aihw/pulsed_update.hpp"

namespace aihw::cuda {

/// The arguments of aihw::pulsed_update (pulsed_update.hpp), on device or host memory.
struct UpdateCall {
  float* weights;
  std::int64_t d_size, x_size;
  const float* x;
  const float* d;
  std::int64_t batch;
  int law;
  std::vector<const float*> law_arrays;
  std::vector<double> law_scalars;
  PulsedUpdateConfig config;
  std::uint64_t seed;
  std::uint32_t update_index;
  std::uint8_t* pulsed_mask;  // nullptr: not wanted
};

/// Bytes of scratch an update with these sizes and parameters needs (throws
/// std::invalid_argument for trains longer than 2^20 slots, which the kernels do not take).
std::int64_t pulsed_update_scratch_bytes(const PulsedUpdateConfig& config, std::int64_t d_size,
                                         std::int64_t x_size, std::int64_t batch);

/// The float32 table the law's kernels read (`law_table` below): piecewise_step's tables
/// (up, then down), empty for the other laws.
std::vector<float> pulsed_update_law_table(int law, const std::vector<double>& law_scalars);

/// Checks the call as aihw::pulsed_update does (std::invalid_argument, before anything is
/// enqueued), then enqueues the update on `stream`: the weights in place, the pulsed mask
/// overwritten, the number of pulses written to `pulses` (int64 in device memory). `law_table`
/// holds pulsed_update_law_table(...) in device memory (nullptr when empty); `scratch` at
/// least pulsed_update_scratch_bytes(...) bytes of device memory. Never synchronises.
void pulsed_update_cuda(const UpdateCall& call, const float* law_table, void* scratch,
                        std::int64_t scratch_bytes, std::int64_t* pulses, std::uintptr_t stream);

/// The same update on host memory, running the kernels' bodies (update_body.hpp) in loops
/// block by block, phase by phase; returns the number of pulses.
std::int64_t pulsed_update_emulated(const UpdateCall& call);

}  // namespace aihw::cuda

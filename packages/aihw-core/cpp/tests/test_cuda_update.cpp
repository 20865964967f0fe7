// The pulsed update on CUDA (contract §11.1) against the CPU engine, bit for bit: first its
// host emulation (runs everywhere), then, with a GPU, the kernels themselves. Without a GPU
// the test reports a skip (exit code 77) once the emulation has passed.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "aihw/pulsed_update.hpp"
#include "check.hpp"
#include "cuda_engine.hpp"
#include "cuda_update.hpp"
#include "update_body.hpp"

using namespace aihw;

namespace {

struct Setup {
  std::int64_t d_size, x_size, batch;
  PulsedUpdateConfig config;
  std::vector<float> weights, x, d, dw_up, dw_down, w_min, w_max;
  std::vector<double> scalars{0.3};  // constant_step, dw_min_std
};

float pseudo(std::uint32_t& s) {  // a small LCG in [-1, 1)
  s = s * 1664525u + 1013904223u;
  return static_cast<float>(s >> 8) / 8388608.0f - 1.0f;
}

Setup make_setup(std::int64_t d_size, std::int64_t x_size, std::int64_t batch,
                 std::int64_t desired_bl) {
  Setup su{d_size, x_size, batch, {}, {}, {}, {}, {}, {}, {}, {}};
  su.config.lr = 0.05;
  su.config.granularity = 0.01;
  su.config.desired_bl = desired_bl;
  su.config.update_bl_management = false;
  std::uint32_t s = 12345u;
  const auto n = static_cast<std::size_t>(d_size * x_size);
  for (std::size_t e = 0; e < n; ++e) {
    su.weights.push_back(0.2f * pseudo(s));
    su.dw_up.push_back(0.01f + 0.002f * pseudo(s));
    su.dw_down.push_back(0.01f + 0.002f * pseudo(s));
    su.w_min.push_back(-0.6f);
    su.w_max.push_back(0.6f);
  }
  for (std::int64_t k = 0; k < batch * x_size; ++k) {
    const float v = pseudo(s);
    su.x.push_back(v > -0.3f && v < 0.3f ? 0.0f : v);
  }
  for (std::int64_t k = 0; k < batch * d_size; ++k) su.d.push_back(0.5f * pseudo(s));
  return su;
}

cuda::UpdateCall call_of(Setup& su, float* weights, const float* x, const float* d,
                         std::vector<const float*> arrays, std::uint8_t* mask) {
  return {weights, su.d_size, su.x_size, x, d, su.batch, 1, std::move(arrays), su.scalars,
          su.config, 77u, 3u, mask};
}

struct Result {
  std::int64_t pulses;
  std::vector<float> weights;
  std::vector<std::uint8_t> mask;
};

Result run_cpu(Setup& su) {
  Result r{0, su.weights, std::vector<std::uint8_t>(su.weights.size())};
  r.pulses = pulsed_update(r.weights.data(), su.d_size, su.x_size, su.x.data(), su.d.data(),
                           su.batch, 1,
                           {su.dw_up.data(), su.dw_down.data(), su.w_min.data(), su.w_max.data()},
                           su.scalars, su.config, 77u, 3u, 2, r.mask.data());
  return r;
}

Result run_emulated(Setup& su) {
  Result r{0, su.weights, std::vector<std::uint8_t>(su.weights.size())};
  r.pulses = cuda::pulsed_update_emulated(
      call_of(su, r.weights.data(), su.x.data(), su.d.data(),
              {su.dw_up.data(), su.dw_down.data(), su.w_min.data(), su.w_max.data()},
              r.mask.data()));
  return r;
}

template <class T>
struct DeviceBuffer {
  T* ptr = nullptr;
  explicit DeviceBuffer(const std::vector<T>& h) : DeviceBuffer(h.size()) {
    if (cudaMemcpy(ptr, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice) != cudaSuccess) {
      throw std::runtime_error("cudaMemcpy");
    }
  }
  explicit DeviceBuffer(std::size_t n) {
    if (cudaMalloc(&ptr, (n > 0 ? n : 1) * sizeof(T)) != cudaSuccess) {
      throw std::runtime_error("cudaMalloc");
    }
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  std::vector<T> host(std::size_t n) const {
    std::vector<T> h(n);
    if (cudaMemcpy(h.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost) != cudaSuccess) {
      throw std::runtime_error("cudaMemcpy");
    }
    return h;
  }
};

Result run_gpu(Setup& su) {
  DeviceBuffer<float> w(su.weights), x(su.x), d(su.d), up(su.dw_up), down(su.dw_down),
      lo(su.w_min), hi(su.w_max);
  DeviceBuffer<std::uint8_t> mask(su.weights.size());
  DeviceBuffer<std::int64_t> pulses(1);
  const std::int64_t bytes =
      cuda::pulsed_update_scratch_bytes(su.config, su.d_size, su.x_size, su.batch);
  DeviceBuffer<unsigned char> scratch(static_cast<std::size_t>(bytes));
  cuda::pulsed_update_cuda(call_of(su, w.ptr, x.ptr, d.ptr, {up.ptr, down.ptr, lo.ptr, hi.ptr},
                                   mask.ptr),
                           nullptr, scratch.ptr, bytes, pulses.ptr, 0);
  if (cudaDeviceSynchronize() != cudaSuccess) throw std::runtime_error("kernel failed");
  return {pulses.host(1)[0], w.host(su.weights.size()), mask.host(su.weights.size())};
}

void check_same(const Result& a, const Result& b, const char* what) {
  CHECK_MSG(a.pulses == b.pulses, what);
  CHECK_MSG(std::memcmp(a.weights.data(), b.weights.data(), a.weights.size() * 4) == 0, what);
  CHECK_MSG(a.mask == b.mask, what);
  CHECK_MSG(a.pulses > 0, what);
}

// (d_size, x_size, batch, desired_bl): one word, several words, several passes, long trains
const std::int64_t kCases[][4] = {{9, 13, 8, 31}, {7, 300, 5, 200}, {6, 2100, 4, 31},
                                  {5, 40, 3, 5000}};

}  // namespace

int main() {
  for (std::int64_t bl = 1; bl <= (std::int64_t(1) << 20); bl = bl < 5000 ? bl + 1 : bl * 3 / 2) {
    CHECK_MSG(cuda_update::row_group(bl) == sequence_columns(bl), std::to_string(bl));
  }
  for (int k = 0; k <= 30; ++k) {
    const std::int64_t bl = std::int64_t(1) << k;
    CHECK(cuda_update::row_group(bl) == sequence_columns(bl));
    if (k < 30) CHECK(cuda_update::row_group(bl + 1) == sequence_columns(bl + 1));
  }
  for (const auto& c : kCases) {
    Setup su = make_setup(c[0], c[1], c[2], c[3]);
    check_same(run_emulated(su), run_cpu(su), "emulation == CPU");
  }
  if (aihw_test::failures() != 0) return EXIT_FAILURE;
  if (cuda::device_count() == 0) {
    std::printf("emulation == CPU passed; no CUDA device: kernels skipped\n");
    return 77;
  }
  for (const auto& c : kCases) {
    Setup su = make_setup(c[0], c[1], c[2], c[3]);
    check_same(run_gpu(su), run_cpu(su), "kernels == CPU");
  }
  std::printf("%d failed checks\n", aihw_test::failures());
  return aihw_test::failures() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

// The CUDA back-end's random numbers equal the CPU engine's, bit for bit (contract §11):
// Philox blocks and the periphery's normals for the same words. Needs a GPU: without one
// the test reports a skip (exit code 77, which CTest counts as skipped).
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "aihw/periphery.hpp"
#include "aihw/philox.hpp"
#include "check.hpp"
#include "cuda_engine.hpp"

using namespace aihw;

namespace {

template <class T>
struct DeviceBuffer {
  T* ptr = nullptr;
  explicit DeviceBuffer(std::size_t n) {
    if (cudaMalloc(&ptr, n * sizeof(T)) != cudaSuccess) throw std::runtime_error("cudaMalloc");
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

template <class T>
void to_device(DeviceBuffer<T>& d, const std::vector<T>& h) {
  CHECK(cudaMemcpy(d.ptr, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
}

template <class T>
std::vector<T> to_host(const DeviceBuffer<T>& d, std::size_t n) {
  std::vector<T> h(n);
  CHECK(cudaMemcpy(h.data(), d.ptr, n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
  return h;
}

// Counters with every word pattern the engine uses: small, wrapped, stream bits set.
std::vector<std::uint32_t> test_counters(std::size_t n) {
  std::vector<std::uint32_t> c(4 * n);
  for (std::size_t i = 0; i < n; ++i) {
    c[4 * i] = static_cast<std::uint32_t>(i * 2654435761u);
    c[4 * i + 1] = static_cast<std::uint32_t>(i);
    c[4 * i + 2] = 0xFFFFFFFFu - static_cast<std::uint32_t>(i);
    c[4 * i + 3] = (static_cast<std::uint32_t>(i % 16) << 28) | static_cast<std::uint32_t>(i);
  }
  return c;
}

}  // namespace

TEST_CASE(cuda_philox_equals_cpu) {
  const std::size_t n = 100003;
  const PhiloxKey key{0x12345678u, 0x9abcdef0u};
  const auto counters = test_counters(n);
  DeviceBuffer<std::uint32_t> dc(4 * n), dout(4 * n);
  to_device(dc, counters);
  cuda::philox_blocks(dc.ptr, static_cast<std::int64_t>(n), key, dout.ptr, 0);
  const auto gpu = to_host(dout, 4 * n);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const PhiloxBlock r = philox4x32_10(
        {counters[4 * i], counters[4 * i + 1], counters[4 * i + 2], counters[4 * i + 3]}, key);
    for (int w = 0; w < 4; ++w) mismatches += r[w] != gpu[4 * i + w];
  }
  CHECK_MSG(mismatches == 0, std::to_string(mismatches) + " words differ");
}

TEST_CASE(cuda_periphery_normals_equal_cpu) {
  const std::size_t n = 100003;
  auto words = test_counters(n);
  words[0] = words[1] = words[2] = words[3] = 0u;  // the edge words of the Box-Muller
  words[4] = words[5] = words[6] = words[7] = 0xFFFFFFFFu;
  DeviceBuffer<std::uint32_t> dw(4 * n);
  DeviceBuffer<float> dz(4 * n);
  to_device(dw, words);
  cuda::periphery_normals(dw.ptr, static_cast<std::int64_t>(n), dz.ptr, 0);
  const auto gpu = to_host(dz, 4 * n);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto z = periphery_normals(
        PhiloxBlock{words[4 * i], words[4 * i + 1], words[4 * i + 2], words[4 * i + 3]});
    for (int w = 0; w < 4; ++w) mismatches += float_bits(z[w]) != float_bits(gpu[4 * i + w]);
  }
  CHECK_MSG(mismatches == 0, std::to_string(mismatches) + " normals differ in their bits");
}

int main() {
  if (cuda::device_count() == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  return ::aihw_test::run_all();
}

// The CUDA periphery stages and device operations equal the CPU engine, bit for bit
// (contract §11.2). Needs a GPU: without one the test reports a skip (exit code 77).
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "aihw/device_ops.hpp"
#include "aihw/periphery.hpp"
#include "check.hpp"
#include "cuda_engine.hpp"

using namespace aihw;

namespace {

template <class T>
struct DeviceBuffer {
  T* ptr = nullptr;
  std::size_t n = 0;
  explicit DeviceBuffer(const std::vector<T>& h) : n(h.size()) {
    if (cudaMalloc(&ptr, n * sizeof(T)) != cudaSuccess) throw std::runtime_error("cudaMalloc");
    if (cudaMemcpy(ptr, h.data(), n * sizeof(T), cudaMemcpyHostToDevice) != cudaSuccess) {
      throw std::runtime_error("cudaMemcpy");
    }
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  std::vector<T> host() const {
    std::vector<T> h(n);
    if (cudaMemcpy(h.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost) != cudaSuccess) {
      throw std::runtime_error("cudaMemcpy");
    }
    return h;
  }
};

std::vector<float> randoms(std::size_t n, unsigned seed, float scale, float offset = 0.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(gen) * scale + offset;
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE(cuda_stages_equal_cpu) {
  const std::int64_t rows = 33, cols = 4097;
  const auto x = randoms(rows * cols, 1, 3.0f, -1.5f);
  auto scale = randoms(rows, 2, 1.0f, 0.25f);
  InputStageConfig ic;
  ic.step = 1.0 / 64;
  ic.sto_round = true;
  ic.noise = 0.03;
  ic.asymmetry = 0.2;
  PeripheryDraw d;
  d.seed = 0x0123456789ABCDEFull;
  d.call_index = 9;
  std::vector<float> want(x.size());
  input_stage(x.data(), want.data(), rows, cols, scale.data(), ic, d, 0);
  DeviceBuffer<float> dx(x), dout(std::vector<float>(x.size())), dscale(scale);
  cuda::input_stage(dx.ptr, dout.ptr, rows, cols, dscale.ptr, ic, d, 0);
  CHECK(same_bits(dout.host(), want));

  scale[5] = 0.0f;  // a zero row in the output stage
  DeviceBuffer<float> dscale0(scale);
  OutputStageConfig oc;
  oc.step = 1.0 / 128;
  oc.bound = 1.0;
  oc.noise = 0.06;
  auto y = x;
  std::vector<std::uint8_t> hit(rows, 0);
  output_stage(y.data(), rows, cols, scale.data(), oc, d, hit.data(), 0);
  DeviceBuffer<float> dy(x);
  DeviceBuffer<std::uint8_t> dhit(std::vector<std::uint8_t>(rows, 0));
  cuda::output_stage(dy.ptr, rows, cols, dscale0.ptr, oc, d, dhit.ptr, 0);
  CHECK(same_bits(dy.host(), y));
  CHECK(dhit.host() == hit);
}

TEST_CASE(cuda_device_ops_equal_cpu) {
  const std::int64_t rows = 65, cols = 1027, n = rows * cols;
  const auto w0 = randoms(n, 7, 1.2f, -0.6f);
  const auto kappa = randoms(n, 8, 0.1f, 0.9f);
  const auto bias = randoms(n, 9, 0.2f, -0.1f);
  const auto lo = randoms(n, 10, 0.2f, -0.6f);
  const auto hi = randoms(n, 11, 0.2f, 0.4f);
  DeviceBuffer<float> dw(w0), dk(kappa), db(bias), dlo(lo), dhi(hi);
  auto w = w0;
  decay_weights(w.data(), n, kappa.data(), bias.data(), {lo.data(), hi.data()}, 0.5, 0);
  cuda::decay_weights(dw.ptr, n, dk.ptr, db.ptr, {dlo.ptr, dhi.ptr}, 0.5, 0);
  CHECK(same_bits(dw.host(), w));
  diffuse_weights(w.data(), n, kappa.data(), {lo.data(), hi.data()}, 5, 2, 0);
  cuda::diffuse_weights(dw.ptr, n, dk.ptr, {dlo.ptr, dhi.ptr}, 5, 2, 0);
  CHECK(same_bits(dw.host(), w));
  reset_columns(w.data(), rows, cols, 3, 501, bias.data(), {lo.data(), hi.data()}, 0.05, 0.3, 5,
                4, 0);
  cuda::reset_columns(dw.ptr, rows, cols, 3, 501, db.ptr, {dlo.ptr, dhi.ptr}, 0.05, 0.3, 5, 4, 0);
  CHECK(same_bits(dw.host(), w));
  write_noise(w.data(), bias.data(), n, nullptr, 0.02f, 5, 6, 0);
  cuda::write_noise(dw.ptr, db.ptr, n, nullptr, 0.02f, 5, 6, 0);
  CHECK(same_bits(dw.host(), w));
}

int main() {
  if (cuda::device_count() == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  return ::aihw_test::run_all();
}

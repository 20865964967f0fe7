// The CUDA back-end's work items (cpp/cuda/*_quads.hpp), run by their host emulation, equal
// the CPU engine bit for bit (contract §11.2): the kernels' code, tested without a GPU.
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "aihw/device_ops.hpp"
#include "aihw/periphery.hpp"
#include "check.hpp"
#include "device_ops_emulated.hpp"
#include "periphery_emulated.hpp"

using namespace aihw;

namespace {

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

// The message of the std::invalid_argument that `call` throws ("" if none).
std::string refusal(const std::function<void()>& call) {
  try {
    call();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

bool names(const std::string& message, const char* part) {
  return message.find(part) != std::string::npos;
}

}  // namespace

// The Python layer checks first; these guards stand behind it for C++ callers and name the
// value they refuse.
TEST_CASE(stage_guards_name_the_refused_values) {
  float y[6] = {};
  std::uint8_t hit[2] = {};
  const PeripheryDraw draw;
  OutputStageConfig out;
  const auto output = [&] { cuda::emulated::output_stage(y, 2, 3, nullptr, out, draw, hit); };
  CHECK(names(refusal([&] { cuda::emulated::output_stage(y, -1, 3, nullptr, out, draw, hit); }),
              "n_rows=-1, n_cols=3: sizes must be >= 0"));
  out.w_noise_mode = 3;
  CHECK(names(refusal(output), "w_noise_mode=3 must be 0, 1 or 2"));
  out.w_noise_mode = 1;
  CHECK(names(refusal(output), "w_noise_std is null with w_noise_mode=1"));
  out.w_noise_mode = 0;
  out.row_stride = 5;
  CHECK(names(refusal(output), "row_stride=5: the CUDA output stage has no row_stride"));
  InputStageConfig in;
  in.x_row_stride = 4;
  float x[6] = {}, dac[6] = {};
  CHECK(names(refusal([&] { cuda::emulated::input_stage(x, dac, 2, 3, nullptr, in, draw); }),
              "x_row_stride=4: the CUDA input stage reads a contiguous x (0 or n_cols=3)"));
  CHECK(names(refusal([&] { cuda::emulated::input_stage(nullptr, dac, 2, 3, nullptr, {}, draw); }),
              "the input buffer is null for a 2x3 stage"));
  for (const float v : y) CHECK(v == 0.0f);
  CHECK(hit[0] == 0 && hit[1] == 0);
}

TEST_CASE(input_stage_items_equal_the_cpu_engine) {
  const std::int64_t rows = 7, cols = 1030;  // a ragged last quad, two CPU chunks
  const auto x = randoms(rows * cols, 1, 3.0f, -1.5f);
  const auto scale = randoms(rows, 2, 1.0f, 0.25f);
  InputStageConfig c;
  c.step = 1.0 / 64;
  c.sto_round = true;
  c.noise = 0.03;
  c.asymmetry = 0.2;
  PeripheryDraw d;
  d.seed = 0x0123456789ABCDEFull;
  d.call_index = 9;
  d.sub = 3;
  std::vector<float> want(x.size()), got(x.size());
  input_stage(x.data(), want.data(), rows, cols, scale.data(), c, d, 2);
  cuda::emulated::input_stage(x.data(), got.data(), rows, cols, scale.data(), c, d);
  CHECK(same_bits(got, want));
}

TEST_CASE(output_stage_items_equal_the_cpu_engine) {
  const std::int64_t rows = 6, cols = 37;
  const auto y0 = randoms(rows * cols, 3, 4.0f, -2.0f);
  auto scale = randoms(rows, 4, 1.0f, 0.25f);
  scale[2] = 0.0f;  // a zero row: +0, no flag
  const auto sigma = randoms(cols, 5, 0.1f);
  const auto wstd = randoms(rows * cols, 6, 0.05f);
  for (int mode = 0; mode <= 2; ++mode) {
    OutputStageConfig c;
    c.step = 1.0 / 128;
    c.sto_round = mode == 1;
    c.bound = 1.0;
    c.test_negative_bound = mode != 2;
    c.noise_per_output = mode == 0 ? sigma.data() : nullptr;
    c.noise = 0.06;
    c.asymmetry = 0.1;
    c.w_noise_mode = mode;
    c.w_noise_std = mode == 0 ? nullptr : wstd.data();
    PeripheryDraw d;
    d.seed = 77;
    d.call_index = 0xFFFFFFFFu;
    auto want = y0;
    auto got = y0;
    std::vector<std::uint8_t> want_hit(rows, 9), got_hit(rows, 0);
    output_stage(want.data(), rows, cols, scale.data(), c, d, want_hit.data(), 2);
    cuda::emulated::output_stage(got.data(), rows, cols, scale.data(), c, d, got_hit.data());
    CHECK(same_bits(got, want));
    CHECK(got_hit == want_hit);
    CHECK(got_hit[2] == 0);
  }
}

TEST_CASE(device_op_items_equal_the_cpu_engine) {
  const std::int64_t rows = 5, cols = 4099;
  const std::int64_t n = rows * cols;
  const auto w0 = randoms(n, 7, 1.2f, -0.6f);
  const auto kappa = randoms(n, 8, 0.1f, 0.9f);
  const auto bias = randoms(n, 9, 0.2f, -0.1f);
  const auto lo = randoms(n, 10, 0.2f, -0.6f);
  const auto hi = randoms(n, 11, 0.2f, 0.4f);
  const DeviceBounds bounds{lo.data(), hi.data()};
  auto want = w0;
  auto got = w0;
  decay_weights(want.data(), n, kappa.data(), bias.data(), bounds, 0.5, 2);
  cuda::emulated::decay_weights(got.data(), n, kappa.data(), bias.data(), bounds, 0.5);
  CHECK(same_bits(got, want));
  diffuse_weights(want.data(), n, kappa.data(), bounds, 5, 2, 2);
  cuda::emulated::diffuse_weights(got.data(), n, kappa.data(), bounds, 5, 2);
  CHECK(same_bits(got, want));
  for (const double prob : {0.3, 1.0}) {
    reset_columns(want.data(), rows, cols, 3, 2001, bias.data(), bounds, 0.05, prob, 5, 4, 2);
    cuda::emulated::reset_columns(got.data(), rows, cols, 3, 2001, bias.data(), bounds, 0.05,
                                  prob, 5, 4);
    CHECK(same_bits(got, want));
  }
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(n));
  for (std::size_t e = 0; e < mask.size(); ++e) mask[e] = (e * 2654435761u >> 7) % 3 == 0;
  write_noise(want.data(), bias.data(), n, mask.data(), 0.02f, 5, 6, 2);
  cuda::emulated::write_noise(got.data(), bias.data(), n, mask.data(), 0.02f, 5, 6);
  CHECK(same_bits(got, want));
}

TEST_MAIN()

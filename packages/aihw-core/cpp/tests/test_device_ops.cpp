#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "aihw/device_ops.hpp"
#include "check.hpp"

using namespace aihw;

namespace {
// A 37 x 251 tile (not a multiple of the 4096-element chunk) with wide bounds.
constexpr std::int64_t kRows = 37;
constexpr std::int64_t kCols = 251;
constexpr std::int64_t kN = kRows * kCols;

std::vector<float> ramp() {
  std::vector<float> w(kN);
  for (std::int64_t e = 0; e < kN; ++e) w[e] = static_cast<float>(e % 101) / 100.0f - 0.5f;
  return w;
}
}  // namespace

TEST_CASE(decay_is_the_float32_formula) {
  std::vector<float> w = ramp();
  const std::vector<float> kappa(kN, 0.9f), r0(kN, 0.1f);
  const std::vector<float> before = w;
  decay_weights(w.data(), kN, kappa.data(), r0.data(), {}, 0.5, 2);
  for (std::int64_t e = 0; e < kN; ++e) {
    const float s = 1.0f + 0.5f * (0.9f - 1.0f);
    CHECK(w[e] == (before[e] - 0.1f) * s + 0.1f);
  }
}

TEST_CASE(diffusion_and_reset_do_not_depend_on_threads) {
  const std::vector<float> rate(kN, 0.01f), r0(kN, 0.05f), lo(kN, -0.3f), hi(kN, 0.3f);
  std::vector<float> one = ramp(), many = ramp();
  for (int threads : {1, 3}) {
    std::vector<float>& w = threads == 1 ? one : many;
    diffuse_weights(w.data(), kN, rate.data(), {lo.data(), hi.data()}, 7, 2, threads);
    reset_columns(w.data(), kRows, kCols, 5, 200, r0.data(), {lo.data(), hi.data()}, 0.02, 0.4,
                  7, 1, threads);
  }
  for (std::int64_t e = 0; e < kN; ++e) {
    CHECK(one[e] == many[e]);
    CHECK(one[e] >= -0.3f && one[e] <= 0.3f);
  }
}

TEST_CASE(reset_leaves_other_columns) {
  std::vector<float> w = ramp();
  const std::vector<float> before = w;
  reset_columns(w.data(), kRows, kCols, 10, 3, nullptr, {}, 0.0, 1.0, 1, 0, 2);
  for (std::int64_t i = 0; i < kRows; ++i) {
    for (std::int64_t j = 0; j < kCols; ++j) {
      const std::int64_t e = i * kCols + j;
      CHECK(w[e] == (j >= 10 && j < 13 ? 0.0f : before[e]));
    }
  }
  CHECK_THROWS(reset_columns(w.data(), kRows, kCols, 250, 2, nullptr, {}, 0.0, 1.0, 1, 0, 1),
               std::invalid_argument);
}

TEST_CASE(write_noise_redraws_masked_devices_only) {
  const std::vector<float> hidden = ramp();
  std::vector<std::uint8_t> mask(kN, 0);
  for (std::int64_t e = 0; e < kN; e += 3) mask[e] = 1;
  std::vector<float> one(kN, 9.0f), many(kN, 9.0f), all(kN, 9.0f);
  write_noise(one.data(), hidden.data(), kN, mask.data(), 0.01f, 7, 3, 1);
  write_noise(many.data(), hidden.data(), kN, mask.data(), 0.01f, 7, 3, 3);
  write_noise(all.data(), hidden.data(), kN, nullptr, 0.01f, 7, 3, 2);
  for (std::int64_t e = 0; e < kN; ++e) {
    CHECK(one[e] == many[e]);
    // the numbers belong to the element: masked or not, a drawn device gets the same value
    CHECK(one[e] == (mask[e] != 0 ? all[e] : 9.0f));
    CHECK(std::fabs(all[e] - hidden[e]) <= 0.01f * 6.0f);
  }
  CHECK(all[0] != hidden[0]);
}

TEST_MAIN()

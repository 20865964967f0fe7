// The fused periphery passes (contract §8).
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "aihw/periphery.hpp"
#include "check.hpp"
#include "periphery_normals.hpp"

using namespace aihw;

namespace {

// A noisy ADC: its step, bound and noise std.
OutputStageConfig noisy_adc(double step, double bound, double noise) {
  OutputStageConfig c;
  c.step = step;
  c.bound = bound;
  c.noise = noise;
  return c;
}

PeripheryDraw seeded(std::uint64_t seed) {
  PeripheryDraw d;
  d.seed = seed;
  return d;
}

}  // namespace

TEST_CASE(dac_levels_and_clipping) {
  // Default DAC: step 2/126 = 1/63, bound 1.
  const std::vector<float> x = {0.0f, 0.5f / 63.0f + 1e-4f, 1.0f / 63.0f, -0.7f, 1.5f, -3.0f, 0.3f};
  std::vector<float> v(x.size());
  InputStageConfig c;
  c.step = 2.0 / 126.0;
  input_stage(x.data(), v.data(), 1, static_cast<std::int64_t>(x.size()), nullptr, c, {}, 1);
  const float step = static_cast<float>(2.0 / 126.0);
  for (std::size_t j = 0; j < x.size(); ++j) {
    const float expect = std::min(std::max(std::nearbyint(x[j] / step) * step, -1.0f), 1.0f);
    CHECK(v[j] == expect);
    CHECK(std::fabs(v[j]) <= 1.0f);
  }
  CHECK(v[4] == 1.0f);
  CHECK(v[5] == -1.0f);
}

TEST_CASE(adc_levels_bounds_and_hits) {
  std::vector<float> y = {0.01f, 11.99f, 12.5f, -0.03f, 1.0f, -13.0f};
  std::vector<float> scale = {2.0f, 1.0f};
  OutputStageConfig c;
  c.step = 24.0 / 510.0;
  c.bound = 12.0;
  std::vector<std::uint8_t> hit(2, 7);
  const std::int64_t n = output_stage(y.data(), 2, 3, scale.data(), c, {}, hit.data(), 1);
  CHECK(n == 2);
  CHECK(hit[0] == 1 && hit[1] == 1);
  const float step = static_cast<float>(24.0 / 510.0);
  CHECK(y[0] == 0.0f);
  CHECK(y[1] == std::nearbyint(11.99f / step) * step * 2.0f);
  CHECK(y[2] == 24.0f);
  CHECK(y[3] == -step);
  CHECK(y[5] == -12.0f);
  // A negative clip does not count when test_negative_bound is off.
  std::vector<float> y2 = {-20.0f};
  c.test_negative_bound = false;
  CHECK(output_stage(y2.data(), 1, 1, nullptr, c, {}, hit.data(), 1) == 0);
  CHECK(y2[0] == -12.0f);
}

TEST_CASE(noise_statistics_and_thread_independence) {
  const std::int64_t rows = 64, cols = 3000;
  std::vector<float> y1(rows * cols, 0.0f), y2(rows * cols, 0.0f);
  OutputStageConfig c;
  c.noise = 0.5;
  PeripheryDraw d;
  d.seed = 1234;
  d.call_index = 3;
  output_stage(y1.data(), rows, cols, nullptr, c, d, nullptr, 1);
  output_stage(y2.data(), rows, cols, nullptr, c, d, nullptr, 4);
  double s = 0, s2 = 0;
  bool same = true;
  for (std::size_t k = 0; k < y1.size(); ++k) {
    same = same && y1[k] == y2[k];
    s += y1[k];
    s2 += double(y1[k]) * y1[k];
  }
  CHECK(same);
  const double n = static_cast<double>(y1.size());
  CHECK_NEAR(s / n, 0.0, 0.01);
  CHECK_NEAR(std::sqrt(s2 / n), 0.5, 0.005);
  // Another call index draws other numbers.
  std::vector<float> y3(rows * cols, 0.0f);
  d.call_index = 4;
  output_stage(y3.data(), rows, cols, nullptr, c, d, nullptr, 2);
  CHECK(y3[0] != y1[0] || y3[1] != y1[1]);
}

TEST_CASE(row_ids_address_the_numbers) {
  // Row r with row id b draws what row b of a full batch draws.
  const std::int64_t cols = 50;
  std::vector<float> full(4 * cols, 0.0f), part(cols, 0.0f);
  InputStageConfig c;
  c.noise = 1.0;
  c.bound = 100.0;
  PeripheryDraw d;
  d.seed = 99;
  input_stage(full.data(), full.data(), 4, cols, nullptr, c, d, 2);
  const std::uint32_t ids[1] = {2};
  d.row_ids = ids;
  input_stage(part.data(), part.data(), 1, cols, nullptr, c, d, 1);
  bool same = true;
  for (std::int64_t j = 0; j < cols; ++j) same = same && part[j] == full[2 * cols + j];
  CHECK(same);
}

TEST_CASE(normals_of_block) {
  // ra = 2^32 - 1 gives u = 1, rho = 0.
  const auto z = periphery_normals({0xFFFFFFFFu, 0x12345678u, 0xFFFFFFFFu, 0u});
  for (float v : z) CHECK(v == 0.0f);
  // ra = 0 gives the smallest u = 2^-24: rho = sqrt(48 ln 2); rb = 0 gives theta = 0.
  const auto t = periphery_normals({0u, 0u, 0u, 0x40000000u});
  CHECK_NEAR(t[0], std::sqrt(48.0 * std::log(2.0)), 1e-5);
  CHECK(t[1] == 0.0f);
  CHECK_NEAR(t[3], std::sqrt(48.0 * std::log(2.0)), 1e-5);  // quadrant 1: theta = pi/2
}

TEST_CASE(rounding_half_to_even) {
  CHECK(round_half_even(0.5f) == 0.0f);
  CHECK(round_half_even(1.5f) == 2.0f);
  CHECK(round_half_even(2.5f) == 2.0f);
  CHECK(round_half_even(-2.5f) == -2.0f);
  CHECK(round_half_even(-0.7f) == -1.0f);
  CHECK(round_half_even(8388609.0f) == 8388609.0f);
  CHECK(round_half_even(4194304.5f) == 4194304.0f);
  CHECK(round_half_even(4194305.5f) == 4194306.0f);
}

TEST_CASE(row_abs_max_is_exact) {
  const std::int64_t rows = 5, cols = 37;
  std::vector<float> x(rows * cols);
  for (std::int64_t k = 0; k < rows * cols; ++k) x[k] = std::sin(0.37f * static_cast<float>(k)) * (k % 7);
  std::vector<float> m(rows);
  row_abs_max(x.data(), m.data(), rows, cols, 3);
  for (std::int64_t r = 0; r < rows; ++r) {
    float e = 0.0f;
    for (std::int64_t j = 0; j < cols; ++j) e = std::max(e, std::fabs(x[r * cols + j]));
    CHECK(m[r] == e);
  }
}

TEST_CASE(asymmetry_and_stochastic_rounding) {
  std::vector<float> x = {-0.5f, 0.5f, 0.26f, 0.26f, 0.26f, 0.26f, 0.26f, 0.26f};
  std::vector<float> v(x.size());
  InputStageConfig c;
  c.asymmetry = 0.5;
  input_stage(x.data(), v.data(), 1, 2, nullptr, c, {}, 1);
  CHECK(v[0] == -0.25f && v[1] == 0.5f);
  // Stochastic rounding to steps of 0.5: 0.26 goes to 0 or 0.5, both happen.
  InputStageConfig r;
  r.step = 0.5;
  r.sto_round = true;
  std::vector<float> many(4096, 0.26f), out(4096);
  input_stage(many.data(), out.data(), 1, 4096, nullptr, r, {}, 2);
  int up = 0;
  for (float o : out) {
    CHECK(o == 0.0f || o == 0.5f);
    up += o == 0.5f;
  }
  CHECK(up > 1900 && up < 2360);  // p = 0.52
}

TEST_CASE(fused_row_normals_equal_philox_then_box_muller) {
  // The AVX-512 pass (where the CPU has it) against its definition, over counters that
  // wrap past 2^32 and lengths around its group sizes (16, 32 and 64 blocks).
  const detail::PeripheryRowNormalsFn fused = detail::periphery_row_normals_variant("avx512");
  CHECK(detail::periphery_row_normals() == fused);
  if (fused == nullptr) return;
  const PhiloxKey key = philox_key_from_seed(0x0123456789abcdefULL);
  for (const std::uint32_t first : {0u, 5u, 0xFFFFFFF0u}) {
    for (const std::int64_t n : {0, 1, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 80, 100, 111, 256}) {
      std::vector<float> out(4 * static_cast<std::size_t>(n) + 1, -7.0f);
      const std::int64_t done = fused(first, n, 3u, 11u, (7u << 28) | 2u, key, out.data());
      CHECK(done == n);
      bool same = true;
      for (std::int64_t m = 0; m < done; ++m) {
        const auto z = periphery_normals(
            philox4x32_10({first + static_cast<std::uint32_t>(m), 3u, 11u, (7u << 28) | 2u}, key));
        for (int k = 0; k < 4; ++k) {
          same = same && float_bits(out[static_cast<std::size_t>(4 * m + k)]) == float_bits(z[k]);
        }
      }
      CHECK(same);
      CHECK(out[static_cast<std::size_t>(4 * done)] == -7.0f);  // nothing past what it did
    }
  }
  CHECK(detail::periphery_row_normals_variant("no-such-variant") == nullptr);
}

TEST_CASE(fused_lane_normals_equal_philox_then_box_muller) {
  // Counters given lane by lane (noise batches, narrow rows), lengths around the group
  // sizes and a partial last group.
  const detail::PeripheryLaneNormalsFn fused = detail::periphery_lane_normals_variant("avx512");
  CHECK(detail::periphery_lane_normals() == fused);
  if (fused == nullptr) return;
  const PhiloxKey key = philox_key_from_seed(0x0fedcba987654321ULL);
  std::mt19937 gen(17);
  for (const std::size_t n : {0u, 1u, 15u, 16u, 17u, 63u, 64u, 65u, 100u, 129u}) {
    std::vector<std::uint32_t> c0(n), c1(n), c3(n);
    for (std::size_t i = 0; i < n; ++i) {
      c0[i] = static_cast<std::uint32_t>(gen());
      c1[i] = static_cast<std::uint32_t>(gen() % 64);
      c3[i] = (3u << 28) | static_cast<std::uint32_t>(gen() % 5);
    }
    std::vector<float> out(4 * n + 1, -7.0f);
    fused(n, c0.data(), c1.data(), 9u, c3.data(), key, out.data());
    bool same = true;
    for (std::size_t i = 0; i < n; ++i) {
      const auto z = periphery_normals(philox4x32_10({c0[i], c1[i], 9u, c3[i]}, key));
      for (int k = 0; k < 4; ++k) same = same && float_bits(out[4 * i + k]) == float_bits(z[k]);
    }
    CHECK(same);
    CHECK(out[4 * n] == -7.0f);  // nothing past the last block
  }
  CHECK(detail::periphery_lane_normals_variant("no-such-variant") == nullptr);
}

TEST_MAIN()

TEST_CASE(abs_max_input_stage_equals_the_two_step_version) {
  const std::int64_t rows = 5, cols = 1500;  // two column chunks
  std::vector<float> x(rows * cols);
  for (std::int64_t k = 0; k < rows * cols; ++k) x[k] = std::sin(0.37f * static_cast<float>(k));
  for (std::int64_t j = 0; j < cols; ++j) x[2 * cols + j] = 0.0f;  // a row with scale 0
  InputStageConfig c;
  c.step = 2.0 / 126.0;
  c.noise = 0.01;
  c.sto_round = true;
  PeripheryDraw d;
  d.seed = 99;
  d.call_index = 4;
  for (const double thres : {0.0, 0.5}) {
    std::vector<float> fused(rows * cols, -7.0f), scale(rows);
    const std::int64_t skipped =
        abs_max_input_stage(x.data(), fused.data(), scale.data(), rows, cols, thres, c, d, 2);
    CHECK(skipped == 1);
    std::vector<float> s(rows), inv(rows), two_step(rows * cols);
    row_abs_max(x.data(), s.data(), rows, cols, 1);
    for (std::int64_t r = 0; r < rows; ++r) {
      if (thres > 0.0 && s[r] > static_cast<float>(thres)) s[r] = static_cast<float>(thres);
      inv[r] = s[r] > 0.0f ? 1.0f / s[r] : 1.0f;
      CHECK(scale[r] == s[r]);
    }
    input_stage(x.data(), two_step.data(), rows, cols, inv.data(), c, d, 1);
    for (std::int64_t k = 0; k < rows * cols; ++k) {
      if (k / cols == 2) {
        CHECK(fused[k] == -7.0f);  // the skipped row is left for the caller
      } else {
        CHECK(fused[k] == two_step[k]);
      }
    }
  }
}

TEST_CASE(abs_max_input_stage_skips_rows_with_nan_or_infinity) {
  const std::int64_t rows = 4, cols = 9;
  std::vector<float> x(rows * cols, 0.25f);
  x[1 * cols + 3] = std::numeric_limits<float>::infinity();
  x[2 * cols + 8] = -std::numeric_limits<float>::infinity();
  x[3 * cols + 0] = std::nanf("");
  InputStageConfig c;
  c.step = 2.0 / 126.0;
  for (const double thres : {0.0, 0.5}) {  // a threshold would make the maximum finite
    std::vector<float> out(rows * cols, -7.0f), scale(rows);
    CHECK(abs_max_input_stage(x.data(), out.data(), scale.data(), rows, cols, thres, c,
                              seeded(1), 1) == 3);
    for (std::int64_t k = 0; k < rows * cols; ++k) CHECK((out[k] == -7.0f) == (k >= cols));
  }
}

TEST_CASE(input_stages_read_a_block_of_a_wider_x) {
  const std::int64_t rows = 4, cols = 1100, wide = 2600, offset = 900;
  std::vector<float> x(rows * wide), block(rows * cols);
  for (std::int64_t k = 0; k < rows * wide; ++k) x[k] = std::cos(0.29f * static_cast<float>(k));
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < cols; ++j) block[r * cols + j] = x[r * wide + offset + j];
  }
  InputStageConfig c;
  c.step = 2.0 / 126.0;
  c.noise = 0.02;
  PeripheryDraw d;
  d.seed = 3;
  std::vector<float> scale_block(rows), scale_wide(rows), out_block(rows * cols),
      out_wide(rows * cols);
  abs_max_input_stage(block.data(), out_block.data(), scale_block.data(), rows, cols, 0.0, c, d, 1);
  std::vector<float> plain_block(rows * cols), plain_wide(rows * cols);
  input_stage(block.data(), plain_block.data(), rows, cols, nullptr, c, d, 1);
  c.x_row_stride = wide;
  abs_max_input_stage(x.data() + offset, out_wide.data(), scale_wide.data(), rows, cols, 0.0, c,
                      d, 2);
  input_stage(x.data() + offset, plain_wide.data(), rows, cols, nullptr, c, d, 2);
  CHECK(scale_block == scale_wide);
  CHECK(out_block == out_wide);
  CHECK(plain_block == plain_wide);
  c.x_row_stride = cols - 1;  // shorter than a row
  CHECK_THROWS(input_stage(x.data(), plain_wide.data(), rows, cols, nullptr, c, d, 1),
               std::invalid_argument);
}

TEST_CASE(output_stage_accumulates_the_rows_without_a_bound_hit) {
  // One chunk per row (300 columns) and several (2100): both ways of accumulating; without
  // and with a bias added in the same pass.
  for (const std::int64_t cols : {std::int64_t{300}, std::int64_t{2100}}) {
    for (const bool with_bias : {false, true}) {
      const std::int64_t rows = 6, wide = cols + 40;
      std::vector<float> y(rows * cols), plain(rows * cols), acc(rows * wide), bias(cols);
      for (std::int64_t k = 0; k < rows * cols; ++k) {
        y[k] = 0.5f * std::sin(0.013f * static_cast<float>(k));
      }
      for (std::int64_t j = 0; j < cols; ++j) {
        y[3 * cols + j] = 3.0f;  // this row hits the bound
        bias[j] = 0.1f * std::cos(0.3f * static_cast<float>(j));
      }
      for (std::int64_t k = 0; k < rows * wide; ++k) {
        acc[k] = 0.25f * std::cos(0.7f * static_cast<float>(k));
      }
      const std::vector<float> acc0 = acc;
      plain = y;
      OutputStageConfig c = noisy_adc(0.01, 1.0, 0.05);
      const PeripheryDraw d = seeded(11);
      std::vector<std::uint8_t> hit_plain(rows), hit_acc(rows);
      const auto n_plain =
          output_stage(plain.data(), rows, cols, nullptr, c, d, hit_plain.data(), 1);
      c.accumulate = acc.data() + 40;
      c.accumulate_row_stride = wide;
      c.accumulate_bias = with_bias ? bias.data() : nullptr;
      const auto n_acc = output_stage(y.data(), rows, cols, nullptr, c, d, hit_acc.data(), 2);
      CHECK(n_plain == 1 && n_acc == 1);
      CHECK(hit_plain == hit_acc);
      CHECK(y == plain);
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t j = 0; j < wide; ++j) {
          const std::int64_t k = r * wide + j;
          float expected = acc0[k];
          if (r != 3 && j >= 40) {
            expected = expected + plain[r * cols + j - 40];
            if (with_bias) expected = expected + bias[j - 40];
          }
          CHECK(acc[k] == expected);
        }
      }
    }
  }
  // Without an accumulator the bias goes into y itself, on the rows without a bound hit
  // (in one column chunk and in several).
  for (const std::int64_t n : {8, 1500}) {
    std::vector<float> y(2 * n, 0.25f), bias(n);
    for (std::int64_t j = 0; j < n; ++j) bias[j] = 0.001f * static_cast<float>(j);
    y[n + 3] = 5.0f;  // row 1 hits the bound
    std::vector<float> plain = y;
    OutputStageConfig c = noisy_adc(0.01, 1.0, 0.05);
    CHECK(output_stage(plain.data(), 2, n, nullptr, c, seeded(1), nullptr, 1) == 1);
    c.accumulate_bias = bias.data();
    CHECK(output_stage(y.data(), 2, n, nullptr, c, seeded(1), nullptr, 2) == 1);
    for (std::int64_t j = 0; j < n; ++j) {
      CHECK(y[j] == plain[j] + bias[j]);
      CHECK(y[n + j] == plain[n + j]);  // left to the caller
    }
  }
}

TEST_CASE(output_stage_on_a_block_of_a_wider_matrix) {
  const std::int64_t rows = 3, cols = 1100, wide = 2500, offset = 700;
  std::vector<float> y(rows * wide), block(rows * cols);
  for (std::int64_t k = 0; k < rows * wide; ++k) y[k] = 2.0f * std::sin(0.01f * static_cast<float>(k));
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < cols; ++j) block[r * cols + j] = y[r * wide + offset + j];
  }
  OutputStageConfig c = noisy_adc(0.05, 1.5, 0.1);
  const PeripheryDraw d = seeded(5);
  std::vector<std::uint8_t> hit_block(rows), hit_wide(rows);
  const auto n_block = output_stage(block.data(), rows, cols, nullptr, c, d, hit_block.data(), 1);
  c.row_stride = wide;
  const auto n_wide = output_stage(y.data() + offset, rows, cols, nullptr, c, d, hit_wide.data(), 2);
  CHECK(n_block == n_wide);
  CHECK(hit_block == hit_wide);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < cols; ++j) CHECK(block[r * cols + j] == y[r * wide + offset + j]);
    // columns outside the block are untouched
    CHECK(y[r * wide] == 2.0f * std::sin(0.01f * static_cast<float>(r * wide)));
  }
}

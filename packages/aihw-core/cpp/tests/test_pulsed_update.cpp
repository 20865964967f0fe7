// The pulsed update against a slot-by-slot transcription of the engine contract, and its
// properties: thread-count independence, expected pulse counts, bounds, zero inputs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "aihw/periphery.hpp"
#include "aihw/philox.hpp"
#include "aihw/pulse_noise.hpp"
#include "aihw/pulsed_update.hpp"
#include "aihw/step_laws.hpp"
#include "check.hpp"
#include "dense_rows.hpp"

using namespace aihw;

namespace {

struct Tile {
  std::int64_t d_size, x_size;
  std::vector<float> w, dw_up, dw_down, w_min, w_max;
  double dw_min_std = 0.3;

  Tile(std::int64_t d, std::int64_t x, std::uint32_t seed, float dw_min = 0.001f,
       float bound = 0.6f, float dtod = 0.3f)
      : d_size(d), x_size(x) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> uni(-0.3f, 0.3f);
    const std::size_t n = static_cast<std::size_t>(d * x);
    w.resize(n);
    dw_up.resize(n);
    dw_down.resize(n);
    w_min.resize(n);
    w_max.resize(n);
    for (std::size_t e = 0; e < n; ++e) {
      w[e] = uni(gen);
      dw_up[e] = std::fabs(dw_min * (1.0f + dtod * normal(gen)));
      dw_down[e] = std::fabs(dw_min * (1.0f + dtod * normal(gen)));
      w_min[e] = -bound * (1.0f + 0.1f * std::fabs(normal(gen)));
      w_max[e] = bound * (1.0f + 0.1f * std::fabs(normal(gen)));
    }
  }
  std::vector<const float*> arrays() const {
    return {dw_up.data(), dw_down.data(), w_min.data(), w_max.data()};
  }
  std::vector<double> scalars() const { return {dw_min_std}; }
};

std::vector<float> random_vector(std::size_t n, std::uint32_t seed, float scale, bool normal,
                                 double zero_fraction = 0.0) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_real_distribution<float> ud(-1.0f, 1.0f);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::vector<float> v(n);
  for (auto& e : v) {
    e = (normal ? nd(gen) : ud(gen)) * scale;
    if (coin(gen) < zero_fraction) e = 0.0f;
  }
  return v;
}

std::int64_t run(Tile& t, const std::vector<float>& x, const std::vector<float>& d,
                 std::int64_t batch, const PulsedUpdateConfig& cfg, std::uint64_t seed,
                 std::uint32_t ui, int threads) {
  return pulsed_update(t.w.data(), t.d_size, t.x_size, x.data(), d.data(), batch,
                       ConstantStepLaw::kSpec.engine_id, t.arrays(), t.scalars(), cfg, seed, ui,
                       threads);
}

// Contract §3, written out again without sharing code with the engine.
void scales_by_hand(double x_max, double d_max, const PulsedUpdateConfig& c, std::int64_t& bl,
                    double& a, double& b) {
  const double eta = c.lr, g = c.granularity;
  const bool ublm = c.update_bl_management;
  const bool um = c.update_management || ublm;
  if (c.fixed_bl || ublm) {
    bl = c.desired_bl;
    a = b = std::sqrt(eta / (g * static_cast<double>(bl)));
  } else if (g * static_cast<double>(c.desired_bl) < eta) {
    a = b = 1.0;
    bl = std::max<std::int64_t>(static_cast<std::int64_t>(std::ceil(eta / g)), 1);
  } else {
    bl = c.desired_bl;
    a = b = std::sqrt(eta / (g * static_cast<double>(bl)));
  }
  if (um) {
    double dv = c.um_grad_scale * d_max;
    const double k = eta * x_max * dv / g;
    if (ublm) {
      bl = std::max<std::int64_t>(
          std::min<std::int64_t>(static_cast<std::int64_t>(std::ceil(k)), c.desired_bl), 1);
      a = b = std::sqrt(eta / (g * static_cast<double>(bl)));
    }
    if (k > static_cast<double>(c.desired_bl)) dv = dv * static_cast<double>(c.desired_bl) / k;
    a = a * std::sqrt(x_max / dv);
    b = b * std::sqrt(dv / x_max);
  }
}

double q_by_hand(double v, const PulsedUpdateConfig& c, PhiloxKey key, std::uint32_t elem,
                 std::uint32_t b, std::uint32_t ui, std::uint32_t stream) {
  if (c.res <= 0.0) return v;
  const double u = uniform_from_word(philox4x32_10({elem, b, ui, stream << 28}, key)[0]);
  return c.res * std::nearbyint(v / c.res + (c.sto_round ? u - 0.5 : 0.0));
}

// Slot by slot, pulse by pulse: the contract read literally.
std::int64_t update_by_hand(Tile& t, const std::vector<float>& x, const std::vector<float>& d,
                            std::int64_t batch, const PulsedUpdateConfig& cfg,
                            std::uint64_t seed, std::uint32_t ui, std::uint32_t* max_n = nullptr) {
  const PhiloxKey key = philox_key_from_seed(seed);
  const std::int64_t X = t.x_size, D = t.d_size;
  std::int64_t pulses = 0;
  for (std::int64_t b = 0; b < batch; ++b) {
    const float* xb = x.data() + b * X;
    const float* db = d.data() + b * D;
    double x_max = 0, d_max = 0;
    for (std::int64_t j = 0; j < X; ++j) x_max = std::max(x_max, std::fabs(double(xb[j])));
    for (std::int64_t i = 0; i < D; ++i) d_max = std::max(d_max, std::fabs(double(db[i])));
    if (x_max == 0 || d_max == 0) continue;
    std::int64_t bl;
    double A, B;
    scales_by_hand(x_max, d_max, cfg, bl, A, B);
    const auto u32 = [](std::int64_t v) { return static_cast<std::uint32_t>(v); };
    auto fires = [&](std::uint32_t stream, std::uint32_t round_stream, std::int64_t elem,
                     float v, double scale) {
      std::vector<char> f(static_cast<std::size_t>(bl), 0);
      const double p = q_by_hand(std::fabs(double(v)) * scale, cfg, key, u32(elem), u32(b), ui,
                                 round_stream);
      for (std::int64_t s = 0; s < bl; ++s) {  // slot s is word L % 4 of block L / 4
        const std::uint64_t L = static_cast<std::uint64_t>(elem) * static_cast<std::uint64_t>(bl) +
                                static_cast<std::uint64_t>(s);
        const std::uint64_t q = L / 4;
        const auto r = philox4x32_10(
            {static_cast<std::uint32_t>(q), u32(b), ui, (stream << 28) | static_cast<std::uint32_t>(q >> 32)},
            key);
        f[s] = uniform_from_word(r[L % 4]) < p;
      }
      return f;
    };
    std::vector<std::vector<char>> fx(X), fd(D);
    for (std::int64_t j = 0; j < X; ++j) fx[j] = fires(1, 4, j, xb[j], B);
    for (std::int64_t i = 0; i < D; ++i) fd[i] = fires(2, 5, i, db[i], A);
    // The normals: one sequence per row group of G columns, ordinals in column order.
    const auto G = static_cast<std::int64_t>(sequence_columns(bl));
    for (std::int64_t i = 0; i < D; ++i) {
      std::int64_t sequence = -1;
      std::uint32_t o = 0;
      for (std::int64_t j = 0; j < X; ++j) {
        if (i * X + (j / G) * G != sequence) {
          sequence = i * X + (j / G) * G;
          o = 0;
        }
        std::uint32_t n = 0;
        for (std::int64_t s = 0; s < bl; ++s) n += fx[j][s] && fd[i][s];
        if (xb[j] == 0 || db[i] == 0) n = 0;
        if (max_n != nullptr) *max_n = std::max(*max_n, n);
        const std::size_t e = static_cast<std::size_t>(i * X + j);
        const double sgn = (xb[j] > 0 ? 1.0 : -1.0) * (db[i] > 0 ? 1.0 : -1.0);
        for (std::uint32_t k = 0; k < n; ++k) {
          float xi = 0.0f;
          if (t.dw_min_std != 0.0) {
            const auto z = periphery_normals(
                philox4x32_10({u32(sequence), u32(b), ui, (3u << 28) | (o / 4)}, key));
            xi = z[o % 4];
          }
          ++o;
          const float factor =
              t.dw_min_std != 0.0 ? 1.0f + static_cast<float>(t.dw_min_std) * xi : 1.0f;
          const float step = sgn < 0 ? t.dw_up[e] : -t.dw_down[e];
          float w = t.w[e] + step * factor;
          w = std::min(std::max(w, t.w_min[e]), t.w_max[e]);
          t.w[e] = w;
        }
        pulses += n;
      }
    }
  }
  return pulses;
}

PulsedUpdateConfig config(double lr, bool fixed_bl, bool um, bool ublm, std::int64_t bl = 31) {
  PulsedUpdateConfig c;
  c.lr = lr;
  c.granularity = 0.001;
  c.desired_bl = bl;
  c.fixed_bl = fixed_bl;
  c.update_management = um;
  c.update_bl_management = ublm;
  return c;
}

struct Scenario {
  const char* name;
  PulsedUpdateConfig cfg;
  float d_scale;
};

std::vector<Scenario> scenarios() {
  std::vector<Scenario> s;
  s.push_back({"defaults (UM + UBLM), small d", config(0.01, true, true, true), 0.01f});
  s.push_back({"defaults (UM + UBLM), large d", config(0.01, true, true, true), 1.0f});
  s.push_back({"fixed BL, UM", config(0.01, true, true, false), 0.3f});
  s.push_back({"fixed BL, no management", config(0.01, true, false, false), 0.3f});
  s.push_back({"free BL > 64 (3 words)", config(0.15, false, false, false), 0.5f});
  s.push_back({"free BL, UM, BL 100", config(0.1, false, true, false), 0.5f});
  {
    PulsedUpdateConfig c = config(0.01, true, true, false);
    c.res = 0.05;
    c.sto_round = true;
    s.push_back({"res + sto_round", c, 0.2f});
  }
  {
    PulsedUpdateConfig c = config(0.01, true, true, true);
    c.res = 0.1;
    c.um_grad_scale = 0.5;
    s.push_back({"res, um_grad_scale", c, 0.2f});
  }
  s.push_back({"segmented train (BL 5000)", config(5.0, false, false, false), 0.05f});
  // p_d clipped to 1: up to 5000 pulses at a cross-point, more than one batch of normals
  s.push_back({"segmented train, saturated d", config(5.0, false, false, false), 2.0f});
  return s;
}

}  // namespace

TEST_CASE(scales_match_contract) {
  for (const Scenario& sc : scenarios()) {
    for (double xm : {0.01, 0.5, 1.0, 3.0}) {
      for (double dm : {1e-5, 0.01, 0.3, 2.0}) {
        std::int64_t bl;
        double a, b;
        scales_by_hand(xm, dm, sc.cfg, bl, a, b);
        const SampleScales s = sample_scales(xm, dm, sc.cfg);
        CHECK_MSG(s.active && s.bl == bl && s.a == a && s.b == b, sc.name);
      }
    }
    CHECK(!sample_scales(0.0, 1.0, sc.cfg).active);
    CHECK(!sample_scales(1.0, 0.0, sc.cfg).active);
  }
  // Hand-computed: UBLM with k = 0.01 * 1 * 0.03 / 0.001 = 0.3 -> BL 1.
  const SampleScales s = sample_scales(1.0, 0.03, config(0.01, true, true, true));
  CHECK(s.bl == 1);
  CHECK_NEAR(s.a, std::sqrt(10.0) * std::sqrt(1.0 / 0.03), 1e-12);
  CHECK_NEAR(s.b, std::sqrt(10.0) * std::sqrt(0.03), 1e-12);
}

TEST_CASE(matches_contract_bit_for_bit) {
  for (const Scenario& sc : scenarios()) {
    const bool long_train = sc.cfg.lr > 1.0;
    const std::int64_t D = long_train ? 9 : 23, X = long_train ? 7 : 37, batch = long_train ? 2 : 6;
    Tile engine(D, X, 7);
    Tile hand = engine;
    auto x = random_vector(batch * X, 11, 1.0f, false, 0.1);
    auto d = random_vector(batch * D, 12, sc.d_scale, true, 0.1);
    // One sample with x = 0 and one with d = 0: they do nothing.
    std::fill(x.begin() + 1 * X, x.begin() + 2 * X, 0.0f);
    std::fill(d.begin() + (batch - 1) * D, d.end(), 0.0f);
    if (sc.d_scale > 1.0f) {  // saturated: x near 1 gives > 4096 pulses at a cross-point
      x[0] = 0.99f;
      d[0] = 3.0f;
    }
    for (std::uint32_t ui : {0u, 3u}) {
      const std::int64_t n_engine = run(engine, x, d, batch, sc.cfg, 0x1234567890abcdefULL, ui, 2);
      std::uint32_t max_n = 0;
      const std::int64_t n_hand =
          update_by_hand(hand, x, d, batch, sc.cfg, 0x1234567890abcdefULL, ui, &max_n);
      if (sc.d_scale > 1.0f) CHECK_MSG(max_n > 4096, "expected a cross-point with > 4096 pulses");
      CHECK_MSG(n_engine == n_hand, std::string(sc.name) + ": " + std::to_string(n_engine) +
                                        " vs " + std::to_string(n_hand) + " pulses");
      CHECK_MSG(engine.w == hand.w, sc.name);
      CHECK_MSG(n_engine > 0, sc.name);
    }
  }
}

TEST_CASE(noise_free_matches_contract) {
  Tile engine(19, 29, 3);
  engine.dw_min_std = 0.0;
  Tile hand = engine;
  const auto x = random_vector(5 * 29, 1, 1.0f, false);
  const auto d = random_vector(5 * 19, 2, 0.5f, true);
  const PulsedUpdateConfig cfg = config(0.01, true, true, false);
  const std::int64_t n1 = run(engine, x, d, 5, cfg, 99, 1, 1);
  const std::int64_t n2 = update_by_hand(hand, x, d, 5, cfg, 99, 1);
  CHECK(n1 == n2);
  CHECK(engine.w == hand.w);
}

TEST_CASE(thread_count_independence) {
  for (const Scenario& sc : scenarios()) {
    const bool long_train = sc.cfg.lr > 1.0;
    const std::int64_t D = long_train ? 40 : 150, X = long_train ? 30 : 257;
    const std::int64_t batch = long_train ? 2 : 12;
    const auto x = random_vector(batch * X, 5, 1.0f, false, 0.05);
    const auto d = random_vector(batch * D, 6, sc.d_scale, true, 0.05);
    Tile base(D, X, 21);
    std::vector<float> first;
    std::int64_t first_n = -1;
    for (int threads : {1, 2, 3, 0}) {
      Tile t = base;
      const std::int64_t n = run(t, x, d, batch, sc.cfg, 77, 5, threads);
      if (first_n < 0) {
        first = t.w;
        first_n = n;
        CHECK_MSG(n > 0, sc.name);
      } else {
        CHECK_MSG(n == first_n, std::string(sc.name) + ", threads " + std::to_string(threads));
        CHECK_MSG(t.w == first, std::string(sc.name) + ", threads " + std::to_string(threads));
      }
    }
  }
}

TEST_CASE(large_batch_chunks_and_repeatability) {
  // Enough samples to span several chunks; the same call twice gives the same result, a
  // different update index or seed a different one.
  const std::int64_t D = 128, X = 1024, batch = 300;
  const auto x = random_vector(batch * X, 8, 1.0f, false);
  const auto d = random_vector(batch * D, 9, 0.05f, true);
  const PulsedUpdateConfig cfg = config(0.01, true, true, false);
  Tile a(D, X, 1), b = a, c = a, e = a;
  const std::int64_t na = run(a, x, d, batch, cfg, 5, 0, 1);
  const std::int64_t nb = run(b, x, d, batch, cfg, 5, 0, 2);
  CHECK(na == nb);
  CHECK(a.w == b.w);
  run(c, x, d, batch, cfg, 5, 1, 2);
  run(e, x, d, batch, cfg, 6, 0, 2);
  CHECK(c.w != a.w);
  CHECK(e.w != a.w);
}

TEST_CASE(expected_pulse_count) {
  // Fixed BL 31, no management: A = B = sqrt(lr / (g BL)) and p <= 0.57 < 1, so
  // E[n_ij] = BL p_x p_d = lr |x_j| |d_i| / g.
  const std::int64_t D = 64, X = 64, batch = 200;
  const auto x = random_vector(batch * X, 31, 1.0f, false);
  auto d = random_vector(batch * D, 32, 1.0f / 3.0f, true);
  for (auto& v : d) v = std::max(-1.0f, std::min(1.0f, v));
  const PulsedUpdateConfig cfg = config(0.01, true, false, false);
  Tile t(D, X, 4, 0.001f, 100.0f, 0.0f);  // wide bounds: no clipping
  const std::int64_t n = run(t, x, d, batch, cfg, 12345, 0, 0);
  double expected = 0.0;
  for (std::int64_t b = 0; b < batch; ++b) {
    double sx = 0, sd = 0;
    for (std::int64_t j = 0; j < X; ++j) sx += std::fabs(x[b * X + j]);
    for (std::int64_t i = 0; i < D; ++i) sd += std::fabs(d[b * D + i]);
    expected += cfg.lr * sx * sd / cfg.granularity;
  }
  CHECK_NEAR(static_cast<double>(n) / expected, 1.0, 0.01);
}

TEST_CASE(expected_weight_change) {
  // The same sample applied 400 times, noise-free steps of exactly dw_min, no clipping: the
  // weight change follows -lr * sum_b d_b x_b^T up to the pulse-count noise (~5 % here).
  const std::int64_t D = 32, X = 48, batch = 400;
  const auto x1 = random_vector(X, 41, 1.0f, false);
  auto d1 = random_vector(D, 42, 0.5f, true);
  for (auto& v : d1) v = std::max(-1.0f, std::min(1.0f, v));
  std::vector<float> x, d;
  for (std::int64_t b = 0; b < batch; ++b) {
    x.insert(x.end(), x1.begin(), x1.end());
    d.insert(d.end(), d1.begin(), d1.end());
  }
  const PulsedUpdateConfig cfg = config(0.01, true, true, false);
  Tile t(D, X, 5, 0.001f, 100.0f, 0.0f);
  t.dw_min_std = 0.0;
  const std::vector<float> w0 = t.w;
  run(t, x, d, batch, cfg, 777, 0, 2);
  double err = 0.0, norm = 0.0;
  for (std::int64_t i = 0; i < D; ++i) {
    for (std::int64_t j = 0; j < X; ++j) {
      const std::size_t e = static_cast<std::size_t>(i * X + j);
      const double target = -cfg.lr * batch * static_cast<double>(d1[i]) * x1[j];
      const double dw = static_cast<double>(t.w[e]) - static_cast<double>(w0[e]);
      err += (dw - target) * (dw - target);
      norm += target * target;
    }
  }
  CHECK_NEAR(std::sqrt(err / norm), 0.0, 0.1);
}

TEST_CASE(weights_stay_inside_device_bounds) {
  const std::int64_t D = 50, X = 60, batch = 40;
  Tile t(D, X, 17, 0.05f, 0.3f, 0.5f);  // big steps, narrow per-device bounds
  t.dw_min_std = 1.0;
  const auto x = random_vector(batch * X, 18, 1.0f, false);
  const auto d = random_vector(batch * D, 19, 1.0f, true);
  const PulsedUpdateConfig cfg = config(0.5, true, true, false);
  const std::int64_t n = run(t, x, d, batch, cfg, 3, 0, 2);
  CHECK(n > 0);
  bool inside = true, some_at_bound = false;
  for (std::size_t e = 0; e < t.w.size(); ++e) {
    inside = inside && t.w[e] >= t.w_min[e] && t.w[e] <= t.w_max[e];
    some_at_bound = some_at_bound || t.w[e] == t.w_min[e] || t.w[e] == t.w_max[e];
  }
  CHECK(inside);
  CHECK(some_at_bound);
}

TEST_CASE(zero_inputs_do_nothing) {
  const std::int64_t D = 16, X = 24, batch = 3;
  Tile t(D, X, 2);
  const std::vector<float> w0 = t.w;
  const std::vector<float> zx(batch * X, 0.0f), zd(batch * D, 0.0f);
  const auto x = random_vector(batch * X, 1, 1.0f, false);
  const auto d = random_vector(batch * D, 2, 1.0f, true);
  const PulsedUpdateConfig cfg = config(0.01, true, true, true);
  CHECK(run(t, zx, d, batch, cfg, 1, 0, 2) == 0);
  CHECK(run(t, x, zd, batch, cfg, 1, 0, 2) == 0);
  CHECK(run(t, zx, zd, batch, cfg, 1, 0, 2) == 0);
  PulsedUpdateConfig no_lr = cfg;
  no_lr.lr = 0.0;
  CHECK(run(t, x, d, batch, no_lr, 1, 0, 2) == 0);
  CHECK(t.w == w0);
}

TEST_CASE(pulsed_mask_marks_the_pulsed_devices) {
  const std::int64_t D = 30, X = 40, batch = 6;
  Tile plain(D, X, 4), masked(D, X, 4);
  const std::vector<float> w0 = plain.w;
  auto x = random_vector(batch * X, 5, 1.0f, false, 0.3);
  const auto d = random_vector(batch * D, 6, 1.0f, true, 0.3);
  for (std::int64_t b = 0; b < batch; ++b) x[b * X + 7] = 0.0f;  // column 7 never fires
  const PulsedUpdateConfig cfg = config(0.05, true, true, false);
  std::vector<std::uint8_t> mask(D * X, 7);  // overwritten, 0s included
  const std::int64_t n = run(plain, x, d, batch, cfg, 9, 1, 2);
  const std::int64_t n_masked =
      pulsed_update(masked.w.data(), D, X, x.data(), d.data(), batch,
                    ConstantStepLaw::kSpec.engine_id, masked.arrays(), masked.scalars(), cfg, 9,
                    1, 3, mask.data());
  CHECK(n == n_masked);
  CHECK(plain.w == masked.w);  // the mask changes nothing else
  std::int64_t marked = 0;
  for (std::int64_t e = 0; e < D * X; ++e) {
    CHECK(mask[e] == 0 || mask[e] == 1);
    if (masked.w[e] != w0[e]) CHECK(mask[e] == 1);
    if (e % X == 7) CHECK(mask[e] == 0);
    marked += mask[e];
  }
  CHECK(marked > 0 && marked <= n);
}

TEST_CASE(invalid_arguments_throw_and_change_nothing) {
  Tile t(4, 5, 1);
  const std::vector<float> w0 = t.w;
  const auto x = random_vector(5, 1, 1.0f, false);
  const auto d = random_vector(4, 2, 1.0f, true);
  const PulsedUpdateConfig cfg = config(0.01, true, true, true);
  auto call = [&](int law, std::vector<const float*> arrays, std::vector<double> scalars,
                  const PulsedUpdateConfig& c, float* w, std::int64_t ds) {
    return pulsed_update(w, ds, 5, x.data(), d.data(), 1, law, arrays, scalars, c, 1, 0, 1);
  };
  CHECK_THROWS(call(0, t.arrays(), t.scalars(), cfg, t.w.data(), 4), std::invalid_argument);
  CHECK_THROWS(call(99, t.arrays(), t.scalars(), cfg, t.w.data(), 4), std::invalid_argument);
  CHECK_THROWS(call(1, {t.dw_up.data()}, t.scalars(), cfg, t.w.data(), 4), std::invalid_argument);
  CHECK_THROWS(call(1, t.arrays(), {}, cfg, t.w.data(), 4), std::invalid_argument);
  CHECK_THROWS(call(1, {t.dw_up.data(), nullptr, t.w_min.data(), t.w_max.data()}, t.scalars(),
                    cfg, t.w.data(), 4),
               std::invalid_argument);
  CHECK_THROWS(call(1, t.arrays(), t.scalars(), cfg, nullptr, 4), std::invalid_argument);
  CHECK_THROWS(call(1, t.arrays(), t.scalars(), cfg, t.w.data(), 0), std::invalid_argument);
  PulsedUpdateConfig bad = cfg;
  bad.lr = -1.0;
  CHECK_THROWS(call(1, t.arrays(), t.scalars(), bad, t.w.data(), 4), std::invalid_argument);
  bad = cfg;
  bad.granularity = 0.0;
  CHECK_THROWS(call(1, t.arrays(), t.scalars(), bad, t.w.data(), 4), std::invalid_argument);
  bad = config(1e7, false, false, false);  // BL = lr / g = 1e10 > 2**30 slots
  CHECK_THROWS(call(1, t.arrays(), t.scalars(), bad, t.w.data(), 4), std::invalid_argument);
  CHECK(t.w == w0);
  CHECK(find_law(1) != nullptr && find_law(7) == nullptr);
}

// DeterministicImplicit and MeanCount (contract §6) without management: BL = 10, A = B = 1,
// so n_ij = rint(10 |d_i| |x_j|) and rint(rint(10 |d_i|) rint(10 |x_j|) / 10), one step each.
TEST_CASE(deterministic_pulse_kinds_count_by_hand) {
  const std::vector<float> x{1.0f, 0.5f, 0.0f, -0.25f};
  const std::vector<float> d{0.7f, -0.2f, 0.0f};
  for (PulseKind kind : {PulseKind::kDeterministicImplicit, PulseKind::kMeanCount}) {
    Tile t(3, 4, 5, 0.01f, 10.0f, 0.0f);  // identical steps, far bounds
    t.dw_min_std = 0.0;
    const std::vector<float> w0 = t.w;
    PulsedUpdateConfig cfg = config(0.1, true, false, false, 10);
    cfg.granularity = 0.01;
    cfg.pulse_kind = kind;
    std::int64_t expected_pulses = 0;
    const std::int64_t pulses = run(t, x, d, 1, cfg, 3, 0, 2);
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 4; ++j) {
        const double ax = std::fabs(static_cast<double>(x[j]));
        const double ad = std::fabs(static_cast<double>(d[i]));
        const double n = kind == PulseKind::kMeanCount
                             ? std::nearbyint(std::nearbyint(10 * ad) * std::nearbyint(10 * ax) / 10)
                             : std::nearbyint(10 * ad * ax);
        expected_pulses += static_cast<std::int64_t>(n);
        const bool up = (x[j] < 0.0f) != (d[i] < 0.0f);
        float w = w0[i * 4 + j];
        for (int k = 0; k < static_cast<int>(n); ++k) {
          w = up ? w + t.dw_up[i * 4 + j] : w - t.dw_down[i * 4 + j];
        }
        CHECK_NEAR(t.w[i * 4 + j], w, 1e-6);
      }
    }
    CHECK(pulses == expected_pulses && pulses > 0);
  }
  Tile t(3, 4, 5);
  PulsedUpdateConfig bad = config(0.1, true, false, false, 10);
  bad.pulse_kind = static_cast<PulseKind>(7);
  CHECK_THROWS(run(t, x, d, 1, bad, 3, 0, 1), std::invalid_argument);
  bad.pulse_kind = PulseKind::kDeterministicImplicit;
  bad.x_res_implicit = -1.0;
  CHECK_THROWS(run(t, x, d, 1, bad, 3, 0, 1), std::invalid_argument);
}

// The dense rows (dense_rows.hpp) and the scan-and-apply path give the same bits, pulse
// counts and pulsed masks, for every law that runs dense, with and without noise, on every
// instruction-set variant this CPU runs; samples mix dense and scanned ones (sparse x).
TEST_CASE(dense_rows_equal_the_scan_path) {
  const std::int64_t D = 21, X = 67, batch = 9;
  auto x = random_vector(batch * X, 31, 1.0f, false, 0.1);
  const auto d = random_vector(batch * D, 32, 0.3f, true, 0.1);
  for (std::int64_t j = 3; j < X; ++j) x[2 * X + j] = 0.0f;  // sample 2 is scanned
  struct LawCase {
    int id;
    int n_arrays;
    std::vector<double> scalars;
  };
  const std::vector<LawCase> laws = {
      {ConstantStepLaw::kSpec.engine_id, 4, {0.3}},
      {ConstantStepLaw::kSpec.engine_id, 4, {0.0}},
      {LinearStepLaw::kSpec.engine_id, 6, {0.3, 0.0}},
      {LinearStepLaw::kSpec.engine_id, 6, {0.2, 1.0}},
      {SoftBoundsReferenceLaw::kSpec.engine_id, 7, {0.3, 0.0}},
      {ExpStepLaw::kSpec.engine_id, 4, {0.3, 0.00081, 0.36833, 12.4, 12.8, -0.37, -0.38, 0, 0}},
      {ExpStepLaw::kSpec.engine_id, 4, {0.0, 0.00081, 0.36833, 12.4, 12.8, -0.37, -0.38, 0, 0}},
      {ExpStepLaw::kSpec.engine_id, 4, {0.2, 0.00081, 0.36833, 12.4, 12.8, 0.24, 0.24, 0.002, 0.1}},
      {PowStepLaw::kSpec.engine_id, 6, {0.3}},
      {PowStepLaw::kSpec.engine_id, 6, {0.0}},
      {PiecewiseStepLaw::kSpec.engine_id, 4, {0.3, 4, 1.0, 0.8, 0.3, 0.1, 4, 0.2, 0.5, 0.9, 1.2}},
      {PiecewiseStepLaw::kSpec.engine_id, 4, {0.0, 4, 1.0, 0.8, 0.3, 0.1, 4, 0.2, 0.5, 0.9, 1.2}},
      {PiecewiseStepLaw::kSpec.engine_id, 4, {0.3, 1, 0.7, 1, 1.3}},
  };
  Tile base(D, X, 33);
  std::vector<float> slope_up(D * X), slope_down(D * X), reference(D * X);
  std::vector<float> gamma_up(D * X), gamma_down(D * X);
  for (std::int64_t e = 0; e < D * X; ++e) {
    slope_up[e] = -0.001f / base.w_max[e];
    slope_down[e] = 0.001f / base.w_min[e];
    reference[e] = 0.01f * static_cast<float>(e % 7) - 0.03f;
    gamma_up[e] = 0.5f + 0.25f * static_cast<float>(e % 9);  // 0.5 to 2.5
    gamma_down[e] = 2.0f - 0.125f * static_cast<float>(e % 13);  // 2 to 0.5
  }
  for (const LawCase& law : laws) {
    for (const PulsedUpdateConfig& cfg :
         {config(0.01, true, true, true), config(0.1, true, true, false, 40)}) {
      std::vector<const float*> arrays = base.arrays();
      if (law.id == PowStepLaw::kSpec.engine_id) {
        arrays.push_back(gamma_up.data());
        arrays.push_back(gamma_down.data());
      } else if (law.n_arrays >= 6) {
        arrays.push_back(slope_up.data());
        arrays.push_back(slope_down.data());
      }
      if (law.n_arrays == 7) arrays.push_back(reference.data());
      auto update = [&](const char* variant, std::vector<float>& w, std::vector<std::uint8_t>& mask) {
        CHECK(detail::set_dense_rows_variant(variant));
        w = base.w;
        mask.assign(D * X, 0);
        const std::int64_t n = pulsed_update(w.data(), D, X, x.data(), d.data(), batch, law.id,
                                             arrays, law.scalars, cfg, 17, 4, 2, mask.data());
        CHECK(detail::set_dense_rows_variant("auto"));
        return n;
      };
      std::vector<float> w_scan;
      std::vector<std::uint8_t> mask_scan;
      const std::int64_t n_scan = update("off", w_scan, mask_scan);
      CHECK(n_scan > 0);
      CHECK(w_scan != base.w);
      for (const char* variant : {"portable", "avx2", "avx512"}) {
        if (!detail::set_dense_rows_variant(variant)) continue;  // not on this CPU
        std::vector<float> w;
        std::vector<std::uint8_t> mask;
        const std::string what = std::string(variant) + ", law " + std::to_string(law.id) +
                                 ", noise " + std::to_string(law.scalars[0]);
        CHECK_MSG(update(variant, w, mask) == n_scan, what);
        CHECK_MSG(w == w_scan, what);
        CHECK_MSG(mask == mask_scan, what);
      }
    }
  }
  CHECK(!detail::set_dense_rows_variant("sse9"));
}

TEST_MAIN()

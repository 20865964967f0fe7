// The SIMD kernels (chosen at run time) against their scalar definitions, and the batched
// pulse noise against PulseNoise.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "aihw/philox.hpp"
#include "aihw/pulse_noise.hpp"
#include "check.hpp"
#include "noise_batch.hpp"
#include "periphery_normals.hpp"
#include "philox_kernels.hpp"
#include "aihw/periphery.hpp"

using namespace aihw;
using namespace aihw::detail;

TEST_CASE(draw_bits16_variants_agree) {
  std::mt19937 gen(3);
  const PhiloxKey key{0x01234567u, 0x89abcdefu};
  int compared = 0;
  for (const char* name : {"sse2", "avx2"}) {
    const DrawBits16Fn fn = draw_bits16_variant(name);
    if (fn == nullptr) continue;
    for (int rep = 0; rep < 200; ++rep) {
      std::uint32_t elem[16], thr[16];
      for (int l = 0; l < 16; ++l) {
        elem[l] = gen();
        thr[l] = rep % 10 == 0 ? (l % 2 ? 0u : 0xffffffffu) : gen();
      }
      const int n_slots = 1 + static_cast<int>(gen() % 64);
      const std::int64_t s0 = 4 * static_cast<std::int64_t>(gen() % 100000);
      const std::uint32_t sample = gen();
      std::uint64_t a[16], b[16];
      draw_bits16_scalar(elem, thr, sample, 17, key, 1u << 28, s0, n_slots, a);
      fn(elem, thr, sample, 17, key, 1u << 28, s0, n_slots, b);
      for (int l = 0; l < 16; ++l) CHECK_MSG(a[l] == b[l], name);
      if (n_slots < 64) {
        for (int l = 0; l < 16; ++l) CHECK((a[l] >> n_slots) == 0);
      }
    }
    ++compared;
  }
  CHECK(compared >= 1 || draw_bits16_variant("sse2") == nullptr);
  CHECK(draw_bits16() != nullptr);
}

TEST_CASE(draw_bits16_definition) {
  // bit t - s0 of lane l: word t % 4 of the block (elem, sample, ui, c3_base | t / 4) <= thr
  const PhiloxKey key{7u, 9u};
  const std::uint32_t elem[16] = {0, 1, 2, 3, 100, 200, 300, 0xfffffffu,
                                 8, 9, 10, 11, 12, 13, 14, 15};
  const std::uint32_t thr[16] = {0x7fffffffu, 0x10000000u, 0xffffffffu, 0u,
                                 0x40000000u, 0xc0000000u, 0x00ffffffu, 0x80000000u,
                                 1u, 2u, 3u, 0xfffffffeu, 0x12345678u, 0x9abcdef0u, 0u, 5u};
  std::uint64_t bits[16];
  draw_bits16()(elem, thr, 3, 4, key, 2u << 28, 64, 37, bits);
  for (int l = 0; l < 16; ++l) {
    for (int t = 64; t < 64 + 37; ++t) {
      const PhiloxBlock r = philox4x32_10({elem[l], 3, 4, (2u << 28) | (t / 4)}, key);
      CHECK(((bits[l] >> (t - 64)) & 1u) == (r[t % 4] <= thr[l] ? 1u : 0u));
    }
  }
}

TEST_CASE(draw_bits16_direct_matches_definition) {
  CHECK(draw_bits16_direct_variant("scalar") != nullptr);
  for (const char* name : {"avx2"}) {
  const DrawBits16DirectFn fn = draw_bits16_direct_variant(name);
  if (fn == nullptr) continue;  // not on this CPU: the engine uses the general path
  std::mt19937 gen(8);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const PhiloxKey key{0x55555555u, 0xaaaaaaaau};
  for (int rep = 0; rep < 300; ++rep) {
    float v[16];
    for (float& e : v) {
      e = normal(gen);
      if (gen() % 7 == 0) e = 0.0f;
      if (gen() % 11 == 0) e = -0.0f;
      if (gen() % 13 == 0) e = 1e-30f;  // p that is tiny, not zero
    }
    // scales giving p from ~0 to > 1 (always firing)
    const double scale = std::ldexp(1.0, -12 + static_cast<int>(gen() % 14)) * 0.7;
    const int n = 1 + static_cast<int>(gen() % 16);
    const int n_slots = 1 + static_cast<int>(gen() % 64);
    const std::int64_t s0 = 64 * static_cast<std::int64_t>(gen() % 5);
    const std::uint32_t j0 = gen() % 100000;
    std::uint64_t a[16], b[16];
    draw_bits16_direct_scalar(v, j0, n, scale, 3, 4, key, 2u << 28, s0, n_slots, a);
    fn(v, j0, n, scale, 3, 4, key, 2u << 28, s0, n_slots, b);
    for (int l = 0; l < 16; ++l) CHECK_MSG(a[l] == b[l], name);
  }
  // exact threshold edges: p * 2^32 an integer, and p just above and below 1
  float v[16];
  const double edges[16] = {0.5, 0.25, 1.0, 1.0 - 1e-12, 1.0 + 1e-12, std::ldexp(1.0, -32),
                            std::ldexp(3.0, -32), 0.75, 0.125, 2.0, 1e-300, 0.999999,
                            std::ldexp(1.0, -31), 0.3, 0.6, 0.9};
  for (int l = 0; l < 16; ++l) v[l] = 1.0f;
  for (int l = 0; l < 16; ++l) {
    std::uint64_t a[16], b[16];
    draw_bits16_direct_scalar(v, 10, 16, edges[l], 1, 2, key, 1u << 28, 0, 64, a);
    fn(v, 10, 16, edges[l], 1, 2, key, 1u << 28, 0, 64, b);
    for (int k = 0; k < 16; ++k) CHECK_MSG(a[k] == b[k], name);
  }
  }
}

TEST_CASE(philox_batch_variants_agree) {
  std::mt19937 gen(4);
  const PhiloxKey key{0xdeadbeefu, 0x12345u};
  for (std::size_t count : {0u, 1u, 3u, 4u, 7u, 8u, 9u, 23u, 24u, 25u, 31u, 33u, 63u, 64u, 65u, 100u,
                            150u}) {
    std::vector<std::uint32_t> c0(count), c3(count);
    for (std::size_t m = 0; m < count; ++m) {
      c0[m] = gen();
      c3[m] = gen();
    }
    std::vector<std::uint32_t> ref(4 * count + 1);
    philox_batch_scalar(count, c0.data(), 11, 12, c3.data(), key, ref.data(), ref.data() + count,
                        ref.data() + 2 * count, ref.data() + 3 * count);
    for (std::size_t m = 0; m < count; ++m) {
      const PhiloxBlock r = philox4x32_10({c0[m], 11, 12, c3[m]}, key);
      for (int k = 0; k < 4; ++k) CHECK(ref[k * count + m] == r[k]);
    }
    for (const char* name : {"sse2", "avx2", "avx512"}) {
      const PhiloxBatchFn fn = philox_batch_variant(name);
      if (fn == nullptr) continue;
      std::vector<std::uint32_t> out(4 * count + 1);
      fn(count, c0.data(), 11, 12, c3.data(), key, out.data(), out.data() + count,
         out.data() + 2 * count, out.data() + 3 * count);
      CHECK_MSG(out == ref, name);
    }
  }
}

TEST_CASE(periphery_normals_variants_agree) {
  std::mt19937 gen(6);
  // Words at the edges of the Box-Muller's ranges: the smallest and largest radius words,
  // the quadrant boundaries of the angle word.
  const std::uint32_t edges[] = {0u, 0xFFu, 0x100u, 0xFFFFFFFFu, 0x3FFFFFFFu, 0x40000000u,
                                 0x7FFFFFFFu, 0x80000000u, 0xBFFFFFFFu, 0xC0000000u};
  for (std::int64_t n : {0, 1, 7, 8, 9, 31, 32, 33, 40, 100, 256}) {
    std::vector<std::uint32_t> r(4 * static_cast<std::size_t>(n) + 1);
    for (std::size_t i = 0; i < r.size(); ++i) {
      r[i] = i % 5 == 0 ? edges[(i / 5) % (sizeof edges / sizeof edges[0])] : gen();
    }
    const std::uint32_t* w[4] = {r.data(), r.data() + n, r.data() + 2 * n, r.data() + 3 * n};
    std::vector<float> ref(4 * static_cast<std::size_t>(n) + 1, -7.0f);
    periphery_normals_scalar(w[0], w[1], w[2], w[3], n, ref.data());
    for (std::int64_t m = 0; m < n; ++m) {
      const auto z = periphery_normals({w[0][m], w[1][m], w[2][m], w[3][m]});
      for (int k = 0; k < 4; ++k) CHECK(ref[static_cast<std::size_t>(4 * m + k)] == z[k]);
    }
    CHECK(ref.back() == -7.0f);  // nothing written past the end
    for (const char* name : {"scalar", "avx2"}) {
      const PeripheryNormalsFn fn = periphery_normals_variant(name);
      if (fn == nullptr) continue;
      std::vector<float> out(ref.size(), -7.0f);
      fn(w[0], w[1], w[2], w[3], n, out.data());
      // Bit for bit (memcmp semantics through the integer patterns).
      bool same = true;
      for (std::size_t i = 0; i < out.size(); ++i) same = same && float_bits(out[i]) == float_bits(ref[i]);
      CHECK_MSG(same, name);
    }
  }
  CHECK(periphery_normals_variant("scalar") != nullptr);
  CHECK(periphery_normals_variant("no-such-variant") == nullptr);
}

TEST_CASE(noise_batch_matches_pulse_noise) {
  const PhiloxKey key = philox_key_from_seed(0xabcdef0123ULL);
  std::mt19937 gen(5);
  NoiseBatch batch;
  for (int rep = 0; rep < 50; ++rep) {
    batch.clear();
    struct Run {
      std::uint32_t sequence, first, end;
      std::size_t at;
    };
    std::vector<Run> runs;
    for (int h = 0; h < 1 + static_cast<int>(gen() % 20); ++h) {
      const auto first = static_cast<std::uint32_t>(gen() % 3 == 0 ? gen() % 9 : 0);
      const auto end = first + static_cast<std::uint32_t>(1 + gen() % 11);
      const auto sequence = static_cast<std::uint32_t>(gen() % 100000);
      runs.push_back({sequence, first, end, batch.add_run(sequence, first, end)});
    }
    std::vector<float> out(batch.size());
    batch.draw(key, 6, 8, out.data());
    for (const Run& run : runs) {
      PulseNoise source(key, run.sequence, 6, 8, run.first);
      for (std::uint32_t o = run.first; o < run.end; ++o) {
        CHECK(out[run.at + (o - run.first)] == source.next());
      }
    }
  }
}

TEST_CASE(sincos_is_sin_and_cos) {
  // NoiseBatch uses glibc's sincos for pairs; it must return exactly std::sin and std::cos
  // (volatile keeps the compiler from fusing the reference calls into sincos too).
#if defined(__GLIBC__)
  std::mt19937 gen(6);
  long mismatches = 0;
  for (int k = 0; k < 1000000; ++k) {
    volatile double theta = box_muller_angle(static_cast<std::uint32_t>(gen()));
    double s, c;
    ::sincos(theta, &s, &c);
    volatile double t2 = theta;
    const double s2 = std::sin(t2);
    volatile double t3 = theta;
    const double c2 = std::cos(t3);
    mismatches += (s != s2) || (c != c2);
  }
  CHECK(mismatches == 0);
#endif
}

TEST_MAIN()

// The SIMD kernels (chosen at run time) against their scalar definitions, and the batched
// pulse noise against PulseNoise.
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "aihw/philox.hpp"
#include "aihw/pulse_noise.hpp"
#include "check.hpp"
#include "coincidence_scan.hpp"
#include "noise_batch.hpp"
#include "periphery_normals.hpp"
#include "philox_kernels.hpp"
#include "aihw/periphery.hpp"

using namespace aihw;
using namespace aihw::detail;

TEST_CASE(philox_run_definition_and_variants) {
  // words[4 i + k] = word k of the block (lo32(q0 + i), c1, c2, c3_base | hi32(q0 + i)),
  // including runs across a wrap of the low counter word
  const PhiloxKey key{0x01234567u, 0x89abcdefu};
  std::mt19937 gen(3);
  const std::uint64_t starts[] = {0u, 5u, 0xFFFFFFF0ull, (7ull << 32) + 0xFFFFFFC1ull,
                                  (3ull << 32) + 12345u};
  int compared = 0;
  for (std::uint64_t q0 : starts) {
    for (std::size_t count : {1u, 3u, 8u, 15u, 16u, 17u, 24u, 63u, 64u, 65u, 100u, 300u}) {
      std::vector<std::uint32_t> ref(4 * count);
      philox_run_scalar(q0, count, 11u, 12u, 2u << 28, key, ref.data());
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t q = q0 + i;
        const PhiloxBlock r = philox4x32_10(
            {static_cast<std::uint32_t>(q), 11u, 12u, (2u << 28) | static_cast<std::uint32_t>(q >> 32)},
            key);
        for (int k = 0; k < 4; ++k) CHECK(ref[4 * i + k] == r[k]);
      }
      for (const char* name : {"avx2", "avx512"}) {
        const PhiloxRunFn fn = philox_run_variant(name);
        if (fn == nullptr) continue;
        std::vector<std::uint32_t> got(4 * count + 1, 0xdeadbeefu);
        fn(q0, count, 11u, 12u, 2u << 28, key, got.data());
        for (std::size_t m = 0; m < 4 * count; ++m) CHECK_MSG(got[m] == ref[m], name);
        CHECK_MSG(got[4 * count] == 0xdeadbeefu, name);  // nothing written beyond
        ++compared;
      }
    }
  }
  CHECK(philox_run() != nullptr);
  (void)gen;
  (void)compared;
}

TEST_CASE(philox_lanes_definition_and_variants) {
  const PhiloxKey key{0x0badf00du, 0x12345678u};
  std::mt19937 gen(5);
  for (std::size_t count : {0u, 1u, 7u, 8u, 15u, 16u, 17u, 23u, 24u, 25u, 63u, 64u, 65u, 130u}) {
    std::vector<std::uint32_t> c0(count), c1(count), c3(count);
    for (std::size_t i = 0; i < count; ++i) {
      c0[i] = gen();
      c1[i] = gen();
      c3[i] = gen();
    }
    std::vector<std::uint32_t> ref(4 * count);
    philox_lanes_scalar(count, c0.data(), c1.data(), 77u, c3.data(), key, ref.data());
    for (std::size_t i = 0; i < count; ++i) {
      const PhiloxBlock r = philox4x32_10({c0[i], c1[i], 77u, c3[i]}, key);
      for (int k = 0; k < 4; ++k) CHECK(ref[4 * i + k] == r[k]);
    }
    for (const char* name : {"avx2", "avx512"}) {
      const PhiloxLanesFn fn = philox_lanes_variant(name);
      if (fn == nullptr) continue;
      std::vector<std::uint32_t> got(4 * count + 1, 0xdeadbeefu);
      fn(count, c0.data(), c1.data(), 77u, c3.data(), key, got.data());
      for (std::size_t m = 0; m < 4 * count; ++m) CHECK_MSG(got[m] == ref[m], name);
      CHECK_MSG(got[4 * count] == 0xdeadbeefu, name);
    }
    for (const char* name : {"scalar", "avx2", "avx512"}) {  // the same blocks, by position
      const PhiloxLanesPlanarFn fn = philox_lanes_planar_variant(name);
      if (fn == nullptr) continue;
      std::vector<std::uint32_t> r(4 * count + 1, 0xdeadbeefu);
      fn(count, c0.data(), c1.data(), 77u, c3.data(), key, r.data(), r.data() + count,
         r.data() + 2 * count, r.data() + 3 * count);
      for (std::size_t i = 0; i < count; ++i) {
        for (int k = 0; k < 4; ++k) CHECK_MSG(r[k * count + i] == ref[4 * i + k], name);
      }
      CHECK_MSG(r[4 * count] == 0xdeadbeefu, name);
    }
  }
  CHECK(philox_lanes() != nullptr);
}

namespace {

// The firing elements of a run by the definition: (index | sign bit, bits) in order.
std::vector<std::pair<std::uint32_t, std::uint64_t>> trains_by_hand(const std::vector<float>& v,
                                                                    std::uint32_t j0, double scale,
                                                                    const std::uint32_t* words,
                                                                    int n) {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
  for (std::size_t l = 0; l < v.size(); ++l) {
    const double p = std::fabs(static_cast<double>(v[l])) * scale;
    std::uint64_t bits = 0;
    for (int t = 0; t < n; ++t) {
      if (p > 0.0 && uniform_from_word(words[l * n + t]) < p) bits |= std::uint64_t{1} << t;
    }
    if (bits != 0) out.push_back({(j0 + static_cast<std::uint32_t>(l)) | (v[l] < 0.0f ? 0x80000000u : 0u), bits});
  }
  return out;
}

void check_train_bits(const std::vector<float>& v, double scale, const std::uint32_t* words, int n) {
  const std::uint32_t j0 = 500;
  const auto want = trains_by_hand(v, j0, scale, words, n);
  for (const char* name : {"scalar", "avx2", "avx512"}) {
    const TrainBitsFn fn = train_bits_variant(name);
    if (fn == nullptr) continue;
    const auto m = static_cast<std::int64_t>(v.size());
    std::vector<std::uint32_t> idx(v.size() + 1, 0x5a5a5a5au);
    std::vector<std::uint64_t> masks(v.size() + 1, 0x5a5a5a5au);
    const std::int64_t k = fn(v.data(), j0, m, scale, words, n, idx.data(), masks.data());
    CHECK_MSG(k == static_cast<std::int64_t>(want.size()), name);
    for (std::size_t i = 0; i < want.size() && static_cast<std::int64_t>(i) < k; ++i) {
      CHECK_MSG(idx[i] == want[i].first && masks[i] == want[i].second, name);
    }
    CHECK_MSG(idx[v.size()] == 0x5a5a5a5au && masks[v.size()] == 0x5a5a5a5au, name);  // nothing beyond
  }
}

}  // namespace

TEST_CASE(train_bits_definition_and_variants) {
  std::mt19937 gen(8);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int rep = 0; rep < 400; ++rep) {
    const int n = rep % 5 == 0 ? 1 : 1 + static_cast<int>(gen() % 64);
    const std::int64_t elems = 1 + static_cast<std::int64_t>(gen() % 40);
    std::vector<float> v(static_cast<std::size_t>(elems));
    for (float& e : v) {
      e = normal(gen);
      if (gen() % 7 == 0) e = 0.0f;
      if (gen() % 11 == 0) e = -0.0f;
      if (gen() % 13 == 0) e = 1e-30f;  // p that is tiny, not zero
    }
    const double scale = std::ldexp(1.0, -12 + static_cast<int>(gen() % 14)) * 0.7;
    std::vector<std::uint32_t> words(static_cast<std::size_t>(elems * n + 8));
    for (auto& w : words) w = gen();
    if (rep % 3 == 0) {  // words at the threshold's edges
      for (std::size_t m = 0; m < words.size(); ++m) words[m] = m % 2 ? 0u : 0xffffffffu;
    }
    check_train_bits(v, scale, words.data(), n);
  }
  // exact threshold edges: p * 2^32 an integer, and p just above and below 1
  const double edges[] = {0.5, 0.25, 1.0, 1.0 - 1e-12, 1.0 + 1e-12, std::ldexp(1.0, -32),
                          std::ldexp(3.0, -32), 0.75, 2.0, 1e-300, 0.999999, std::ldexp(1.0, -31)};
  const std::vector<float> ones(8, -1.0f);
  for (double p : edges) {
    const auto thr = static_cast<std::uint32_t>(std::min(std::ceil(p * 4294967296.0), 4294967296.0) - 1.0);
    const std::uint32_t words[8 + 8] = {0u, thr, thr + 1u, thr - 1u, 0xffffffffu, 1u, 0x80000000u, 7u};
    check_train_bits(ones, p, words, 1);
  }
}

// Every scan variant finds the coincidences of the definition (contract §3: n = popcount of
// the two trains' common slots, kept where n > 0, columns in order) and writes nothing more.
TEST_CASE(scan_row_definition_and_variants) {
  std::mt19937 gen(12);
  for (int rep = 0; rep < 300; ++rep) {
    const std::int64_t n_x = static_cast<std::int64_t>(gen() % 41);
    std::vector<std::uint32_t> idx(static_cast<std::size_t>(n_x));
    std::vector<std::uint64_t> masks(static_cast<std::size_t>(n_x));
    std::uint32_t column = gen() % 5;
    for (std::int64_t c = 0; c < n_x; ++c) {
      column += 1 + gen() % 3;
      idx[c] = column | (gen() % 2 ? 0x80000000u : 0u);
      masks[c] = rep % 4 == 0 ? 1u : (std::uint64_t{gen()} << 32 | gen()) & (gen() % 3 ? ~0ull : 0xF0ull);
    }
    const std::uint64_t md = rep % 4 == 0 ? 1u : (std::uint64_t{gen()} << 32 | gen());
    const std::uint32_t e_row = 1000u * (gen() % 50);
    const std::uint32_t d_sign = gen() % 2 ? 0x80000000u : 0u;
    std::vector<std::uint32_t> want_e, want_n;
    std::vector<std::uint8_t> want_up;
    for (std::int64_t c = 0; c < n_x; ++c) {
      const int n = __builtin_popcountll(masks[c] & md);
      if (n == 0) continue;
      want_e.push_back(e_row + (idx[c] & 0x7FFFFFFFu));
      want_up.push_back(static_cast<std::uint8_t>(((idx[c] ^ d_sign) >> 31) & 1u));
      want_n.push_back(static_cast<std::uint32_t>(n));
    }
    for (const char* name : {"scalar", "sse2", "avx2", "avx512"}) {
      const ScanRowFn fn = scan_row_variant(name);
      if (fn == nullptr) continue;
      const std::size_t room = static_cast<std::size_t>(n_x) + 1;
      std::vector<std::uint32_t> e(room, 0x5a5a5a5au), n(room, 0x5a5a5a5au);
      std::vector<std::uint8_t> up(room, 0x5a);
      const std::int64_t k = fn(idx.data(), masks.data(), n_x, md, e_row, d_sign, e.data(),
                                up.data(), n.data());
      CHECK_MSG(k == static_cast<std::int64_t>(want_e.size()), name);
      if (k != static_cast<std::int64_t>(want_e.size())) continue;
      for (std::int64_t h = 0; h < k; ++h) {
        CHECK_MSG(e[h] == want_e[h] && up[h] == want_up[h] && n[h] == want_n[h], name);
      }
      CHECK_MSG(e[k] == 0x5a5a5a5au && n[k] == 0x5a5a5a5au && up[k] == 0x5a, name);  // nothing beyond
    }
  }
  CHECK(scan_row() != nullptr);
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
      std::uint32_t sequence, sample, first, end;
      std::size_t at;
    };
    std::vector<Run> runs;
    for (int h = 0; h < 1 + static_cast<int>(gen() % 20); ++h) {
      const auto first = static_cast<std::uint32_t>(gen() % 3 == 0 ? gen() % 9 : 0);
      const auto end = first + static_cast<std::uint32_t>(1 + gen() % 11);
      const auto sequence = static_cast<std::uint32_t>(gen() % 100000);
      const auto sample = static_cast<std::uint32_t>(gen() % 3 == 0 ? 6 : gen() % 64);
      runs.push_back({sequence, sample, first, end, batch.add_run(sequence, sample, first, end)});
    }
    std::vector<float> out(batch.size());
    batch.draw(key, 8, out.data());
    for (const Run& run : runs) {
      PulseNoise source(key, run.sequence, run.sample, 8, run.first);
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

// Philox4x32-10 known answers and the statistics of the derived numbers.
#include <cmath>
#include <cstdint>
#include <vector>

#include "aihw/periphery.hpp"
#include "aihw/philox.hpp"
#include "aihw/pulse_noise.hpp"
#include "check.hpp"

using namespace aihw;

TEST_CASE(philox_known_answers) {
  CHECK((philox4x32_10({0, 0, 0, 0}, {0, 0}) ==
         PhiloxBlock{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  CHECK((philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                       {0xffffffffu, 0xffffffffu}) ==
         PhiloxBlock{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  CHECK((philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                       {0xa4093822u, 0x299f31d0u}) ==
         PhiloxBlock{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST_CASE(philox_lanes_match_scalar) {
  constexpr int L = 8;
  std::uint32_t c0[L], c1[L], c2[L], c3[L];
  const PhiloxKey key{0x12345678u, 0x9abcdef0u};
  for (int l = 0; l < L; ++l) {
    c0[l] = 1000u * l + 7u;
    c1[l] = 0xdeadbeefu ^ l;
    c2[l] = 3u * l;
    c3[l] = 0xf0000000u | l;
  }
  PhiloxCounter in[L];
  for (int l = 0; l < L; ++l) in[l] = {c0[l], c1[l], c2[l], c3[l]};
  philox4x32_10_lanes<L>(c0, c1, c2, c3, key);
  for (int l = 0; l < L; ++l) {
    CHECK((philox4x32_10(in[l], key) == PhiloxBlock{c0[l], c1[l], c2[l], c3[l]}));
  }
}

TEST_CASE(seed_to_key) {
  const PhiloxKey k = philox_key_from_seed(0x0123456789abcdefULL);
  CHECK(k[0] == 0x89abcdefu);
  CHECK(k[1] == 0x01234567u);
}

TEST_CASE(uniform_conversion) {
  CHECK(uniform_from_word(0) == 0.0);
  CHECK(uniform_from_word(0x80000000u) == 0.5);
  CHECK(uniform_from_word(0xffffffffu) < 1.0);
  // Uniform statistics over many blocks.
  const PhiloxKey key = philox_key_from_seed(42);
  double sum = 0.0, sum2 = 0.0;
  const int n = 100000;
  for (int i = 0; i < n / 4; ++i) {
    const PhiloxBlock r = philox4x32_10({static_cast<std::uint32_t>(i), 1, 2, 3}, key);
    for (std::uint32_t w : r) {
      const double u = uniform_from_word(w);
      CHECK(u >= 0.0 && u < 1.0);
      sum += u;
      sum2 += u * u;
    }
  }
  const double mean = sum / n;
  CHECK_NEAR(mean, 0.5, 0.005);
  CHECK_NEAR(sum2 / n - mean * mean, 1.0 / 12.0, 0.002);
}

TEST_CASE(box_muller_formula) {
  // The extremes: ra = 0xffffffff gives u1 = 1, rho = 0.
  CHECK(box_muller(0xffffffffu, 123u)[0] == 0.0);
  // rb = 0 gives theta = 0: z_a = rho, z_b = 0.
  const auto z = box_muller(0u, 0u);
  CHECK(z[0] == std::sqrt(-2.0 * std::log(std::ldexp(1.0, -32))));
  CHECK(z[1] == 0.0);
  // The block ordering: (z0, z1) from (r0, r1), (z2, z3) from (r2, r3).
  const PhiloxBlock r{11u, 2222222u, 0x80000000u, 0x40000000u};
  const auto n4 = normals_from_block(r);
  volatile double theta_a = 2.0 * 3.14159265358979323846 * 2222222.0 * std::ldexp(1.0, -32);
  volatile double rho_a = std::sqrt(-2.0 * std::log(12.0 * std::ldexp(1.0, -32)));
  CHECK(n4[0] == rho_a * std::cos(theta_a));
  CHECK(n4[1] == rho_a * std::sin(theta_a));
  const auto pair = box_muller(r[2], r[3]);
  CHECK(n4[2] == pair[0]);
  CHECK(n4[3] == pair[1]);
}

TEST_CASE(normal_statistics) {
  const PhiloxKey key = philox_key_from_seed(2024);
  const int n = 100000;
  double sum = 0.0, sum2 = 0.0;
  for (int i = 0; i < n / 4; ++i) {
    const auto z = normals_from_block(philox4x32_10({static_cast<std::uint32_t>(i), 0, 0, 0}, key));
    for (double v : z) {
      sum += v;
      sum2 += v * v;
    }
  }
  const double mean = sum / n;
  CHECK_NEAR(mean, 0.0, 0.01);
  CHECK_NEAR(std::sqrt(sum2 / n - mean * mean), 1.0, 0.01);
}

TEST_CASE(pulse_noise_addresses) {
  // Ordinal o of sequence `key_e` in sample b: normal o % 4 of block (key_e, b, ui, 3<<28 | o/4),
  // by the periphery's float32 Box-Muller (update contract 3).
  const PhiloxKey key = philox_key_from_seed(0xfeedbeefcafeULL);
  const std::uint32_t seq = 77, b = 5, ui = 9;
  for (std::uint32_t first : {0u, 1u, 2u, 3u, 5u, 1000003u}) {
    PulseNoise noise(key, seq, b, ui, first);
    for (std::uint32_t o = first; o < first + 9; ++o) {
      const auto z = periphery_normals(philox4x32_10({seq, b, ui, (3u << 28) | (o / 4)}, key));
      CHECK(noise.next() == z[o % 4]);
    }
  }
}

TEST_CASE(sequence_columns_bound_the_ordinals) {
  // G * BL <= 2^30 < 2 G * BL: a group's pulses never pass the 28-bit block index.
  for (std::int64_t bl : {1LL, 2LL, 3LL, 31LL, 100LL, 4096LL, 5000LL, 1LL << 29, 1LL << 30}) {
    const std::uint64_t g = sequence_columns(bl);
    CHECK(g >= 1 && (g & (g - 1)) == 0);
    CHECK(g * static_cast<std::uint64_t>(bl) <= kSequenceNormals);
    CHECK(2 * g * static_cast<std::uint64_t>(bl) > kSequenceNormals);
  }
}

TEST_MAIN()

// The random numbers of the element-wise device operations (engine contract §9), chunk by
// chunk: element e of a weight array takes number e % 4 of the Philox block with counter
// (e / 4, op, call_index, stream 0). Shared by device_ops.cpp and hwa_modify.cpp (internal).
#pragma once

#include <algorithm>
#include <cstdint>

#include "aihw/device_ops.hpp"
#include "aihw/periphery.hpp"
#include "aihw/philox.hpp"
#include "periphery_normals.hpp"
#include "philox_kernels.hpp"

namespace aihw {
namespace {

constexpr std::int64_t kChunk = 4096;  // elements per task (a multiple of 4)
// Blocks one chunk can touch when it does not start at a multiple of 4.
constexpr std::int64_t kChunkBlocks = kChunk / 4 + 1;

// Numbers of elements [begin, begin + count) (count <= kChunk): element e takes number
// e % 4 of block e / 4. `out` receives them starting at out[begin % 4].
struct ChunkNumbers {
  alignas(32) std::uint32_t words[4 * kChunkBlocks];
  alignas(32) float normals[4 * kChunkBlocks];

  void draw_words(std::int64_t begin, std::int64_t count, PhiloxKey key, std::uint32_t op,
                  std::uint32_t call_index) {
    const std::int64_t first = begin / 4;
    const std::int64_t last = (begin + count - 1) / 4;
    // Consecutive counters (block, op, call_index, stream): a run, SIMD where the CPU has it.
    static const detail::PhiloxRunFn run = detail::philox_run();
    run(static_cast<std::uint64_t>(first), static_cast<std::size_t>(last - first + 1), op,
        call_index, device_op_numbers::kStream << 28, key, words);
  }

  void draw_normals(std::int64_t begin, std::int64_t count, PhiloxKey key, std::uint32_t op,
                    std::uint32_t call_index) {
    const std::int64_t n_blocks = (begin + count - 1) / 4 - begin / 4 + 1;
    // The counters (block, op, call_index, stream) are a row's pattern: the fused AVX-512
    // pass gives the same normals without the word buffer.
    static const detail::PeripheryRowNormalsFn fused = detail::periphery_row_normals();
    if (fused != nullptr) {
      fused(static_cast<std::uint32_t>(begin / 4), n_blocks, op, call_index,
            device_op_numbers::kStream << 28, key, normals);
      return;
    }
    draw_words(begin, count, key, op, call_index);
    for (std::int64_t b = 0; b < n_blocks; ++b) {
      const std::uint32_t* r = words + 4 * b;
      float* z = normals + 4 * b;
      periphery_box_muller(r[0], r[1], z[0], z[1]);
      periphery_box_muller(r[2], r[3], z[2], z[3]);
    }
  }
};

}  // namespace
}  // namespace aihw

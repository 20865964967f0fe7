// Step laws: the per-pulse rules of docs/architecture/engine-contract.md §4.
//
// A law is one struct:
//   - `kSpec`: engine id, name, number of per-cross-point float arrays and of double scalars
//     (in the order of the contract);
//   - a constructor from the arrays (float32 [d_size, x_size], row-major) and the scalars;
//   - `draws_noise()`: whether `apply_pulses` calls `noise.next()` (then exactly once per
//     pulse; the engine draws the normals ahead, several cross-points at a time);
//   - `apply_pulses(w, n, up, e, noise)`: applies `n >= 1` pulses in one direction to the
//     weight `w` of cross-point `e = i * x_size + j`, one after another (each with its own
//     noise and clip), and returns the new weight. `noise.next()` gives the float32 normal
//     of the next pulse (engine contract §2).
// Adding a law means writing its struct and listing it in `StepLaws` below; the update
// loop (pulsed_update.cpp) is shared by all laws.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace aihw {

struct LawSpec {
  int engine_id;
  const char* name;
  int n_arrays;
  int n_scalars;
};

/// constant_step (engine id 1, spec C.4).
/// Arrays: dw_up, dw_down, w_min, w_max. Scalars: dw_min_std.
struct ConstantStepLaw {
  static constexpr LawSpec kSpec{1, "constant_step", 4, 1};

  ConstantStepLaw(const float* const* arrays, const double* scalars) noexcept
      : dw_up_(arrays[0]), dw_down_(arrays[1]), w_min_(arrays[2]), w_max_(arrays[3]),
        noisy_(scalars[0] != 0.0), sigma_(static_cast<float>(scalars[0])) {}

  bool draws_noise() const noexcept { return noisy_; }

  template <class Noise>
  inline float apply_pulses(float w, std::uint32_t n, bool up, std::size_t e,
                            Noise& noise) const noexcept {
    const float step = up ? dw_up_[e] : -dw_down_[e];
    const float lo = w_min_[e];
    const float hi = w_max_[e];
    if (!noisy_) {
      for (std::uint32_t k = 0; k < n; ++k) w = std::min(std::max(w + step, lo), hi);
    } else {
      for (std::uint32_t k = 0; k < n; ++k) {
        const float factor = 1.0f + sigma_ * noise.next();
        w = std::min(std::max(w + step * factor, lo), hi);
      }
    }
    return w;
  }

 private:
  const float* dw_up_;
  const float* dw_down_;
  const float* w_min_;
  const float* w_max_;
  bool noisy_;
  float sigma_;
};

template <class... Laws>
struct LawList {};

/// Every law the engine executes.
using StepLaws = LawList<ConstantStepLaw>;

/// The spec of the law with this engine id, or nullptr.
const LawSpec* find_law(int engine_id) noexcept;

}  // namespace aihw

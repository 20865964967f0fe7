// Step laws: the per-pulse rules of docs/architecture/engine-contract.md §4.
//
// A law is one struct:
//   - `kSpec`: engine id, name, number of per-cross-point float arrays and of double scalars
//     (in the order of the contract; -1 scalars: a variable number, sequences flattened
//     each after its length, checked by `check_scalars`);
//   - `check_scalars(scalars, count)`: an empty string when the engine can run the law with
//     these scalars, else why not (called before anything changes);
//   - a constructor from the arrays (float32 [d_size, x_size], row-major) and the scalars;
//   - `draws_noise()`: whether `apply_pulses` calls `noise.next()` (then exactly once per
//     pulse; the engine draws the normals ahead, several cross-points at a time);
//   - `apply_pulses(w, n, up, e, noise)`: applies `n >= 1` pulses in one direction to the
//     weight `w` of cross-point `e = i * x_size + j`, one after another (each with its own
//     noise and clip), and returns the new weight. `noise.next()` gives the float32 normal
//     of the next pulse (engine contract §2); when the law draws noise it is called once
//     per pulse even where the weight cannot move (the normals are pre-drawn in order).
// Every law computes in float32, operation by operation in the order of the contract's §7
// (the reference steps of aihw/core/laws.py); the engine is built without FMA contraction.
// Adding a law means writing its struct and listing it in `StepLaws` below; the update
// loop (pulsed_update.cpp) is shared by all laws.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace aihw {

struct LawSpec {
  int engine_id;
  const char* name;
  int n_arrays;
  int n_scalars;  // -1: variable (sequences flattened, see check_scalars)
};

namespace detail {
inline float clip(float w, float lo, float hi) noexcept { return std::min(std::max(w, lo), hi); }

/// The cycle-to-cycle factor f = 1 + s * xi (contract §7).
template <class Noise>
inline float noise_factor(float sigma, Noise& noise) noexcept {
  return 1.0f + sigma * noise.next();
}

/// Consumes the normals of n pulses that change nothing.
template <class Noise>
inline void skip_noise(bool noisy, std::uint32_t n, Noise& noise) noexcept {
  if (noisy) {
    for (std::uint32_t k = 0; k < n; ++k) (void)noise.next();
  }
}

inline std::string count_must_be(std::size_t count, int expected) {
  if (static_cast<int>(count) == expected) return {};
  return "takes " + std::to_string(expected) + " scalars, got " + std::to_string(count);
}
/// What every law reads first (contract §4): the per-device step magnitudes and bounds
/// (arrays 0-3) and the cycle-to-cycle spread dw_min_std (scalar 0).
class CommonArrays {
 public:
  CommonArrays(const float* const* arrays, const double* scalars) noexcept
      : dw_up_(arrays[0]), dw_down_(arrays[1]), w_min_(arrays[2]), w_max_(arrays[3]),
        noisy_(scalars[0] != 0.0), sigma_(static_cast<float>(scalars[0])) {}

  bool draws_noise() const noexcept { return noisy_; }

 protected:
  const float* dw_up_;
  const float* dw_down_;
  const float* w_min_;
  const float* w_max_;
  bool noisy_;
  float sigma_;
};
}  // namespace detail

/// constant_step (engine id 1, docs/physics/devices.md#constant-step).
/// Arrays: dw_up, dw_down, w_min, w_max. Scalars: dw_min_std.
struct ConstantStepLaw : detail::CommonArrays {
  static constexpr LawSpec kSpec{1, "constant_step", 4, 1};

  ConstantStepLaw(const float* const* arrays, const double* scalars) noexcept
      : CommonArrays(arrays, scalars) {}

  static std::string check_scalars(const double*, std::size_t count) {
    return detail::count_must_be(count, kSpec.n_scalars);
  }

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
};

namespace detail {

/// The step of linear_step and soft_bounds_reference: per-device step and slope, the slope
/// acting on the weight itself or, kReferenced, on the device weight w + reference.
/// Arrays: dw_up, dw_down, w_min, w_max, slope_up, slope_down (, reference). Scalars:
/// dw_min_std, mult_noise (0: the noise scales dw only; else it scales dw + slope * v).
template <bool kReferenced>
class LinearStepCore : public CommonArrays {
 public:
  LinearStepCore(const float* const* arrays, const double* scalars) noexcept
      : CommonArrays(arrays, scalars), slope_up_(arrays[4]), slope_down_(arrays[5]),
        reference_(kReferenced ? arrays[6] : nullptr), mult_(scalars[1] != 0.0) {}

  static std::string check_scalars(const double*, std::size_t count) {
    return count_must_be(count, 2);
  }

  template <class Noise>
  inline float apply_pulses(float w, std::uint32_t n, bool up, std::size_t e,
                            Noise& noise) const noexcept {
    const float dw = up ? dw_up_[e] : dw_down_[e];
    const float slope = up ? slope_up_[e] : slope_down_[e];
    const float ref = kReferenced ? reference_[e] : 0.0f;
    const float lo = w_min_[e];
    const float hi = w_max_[e];
    for (std::uint32_t k = 0; k < n; ++k) {
      const float lin = kReferenced ? slope * (w + ref) : slope * w;
      float step;
      if (mult_) {
        step = dw + lin;
        if (noisy_) step = step * noise_factor(sigma_, noise);
      } else {
        step = lin + (noisy_ ? dw * noise_factor(sigma_, noise) : dw);
      }
      w = clip(up ? w + step : w - step, lo, hi);
    }
    return w;
  }

 private:
  const float* slope_up_;
  const float* slope_down_;
  const float* reference_;
  bool mult_;
};

}  // namespace detail

/// linear_step (engine id 2, docs/physics/devices.md#linear-step, #soft-bounds; soft bounds is this
/// law with per-device slopes).
struct LinearStepLaw : detail::LinearStepCore<false> {
  static constexpr LawSpec kSpec{2, "linear_step", 6, 2};
  using LinearStepCore::LinearStepCore;
};

/// exp_step (engine id 3, docs/physics/devices.md#exponential-step).
/// Arrays: dw_up, dw_down, w_min, w_max. Scalars: dw_min_std, A_up, A_down, gamma_up,
/// gamma_down, a, b, dw_min_std_add, dw_min_std_slope.
struct ExpStepLaw : detail::CommonArrays {
  static constexpr LawSpec kSpec{3, "exp_step", 4, 9};

  ExpStepLaw(const float* const* arrays, const double* scalars) noexcept
      : CommonArrays(arrays, scalars), a_up_(static_cast<float>(scalars[1])),
        a_down_(static_cast<float>(scalars[2])),
        gamma_up_(static_cast<float>(scalars[3])),
        neg_gamma_down_(-static_cast<float>(scalars[4])),
        two_a_(2.0f * static_cast<float>(scalars[5])), b_(static_cast<float>(scalars[6])),
        add_(static_cast<float>(scalars[7])), slope_(static_cast<float>(scalars[8])),
        spread_noise_(scalars[7] != 0.0 || scalars[8] != 0.0) {}

  static std::string check_scalars(const double*, std::size_t count) {
    return detail::count_must_be(count, kSpec.n_scalars);
  }

  template <class Noise>
  inline float apply_pulses(float w, std::uint32_t n, bool up, std::size_t e,
                            Noise& noise) const noexcept {
    const float lo = w_min_[e];
    const float hi = w_max_[e];
    const float range = hi - lo;
    if (!(range > 0.0f)) {  // a dead device: the weight does not move
      detail::skip_noise(noisy_, n, noise);
      return w;
    }
    const float dw = up ? dw_up_[e] : dw_down_[e];
    const float amp = up ? a_up_ : a_down_;
    const float gamma = up ? gamma_up_ : neg_gamma_down_;
    for (std::uint32_t k = 0; k < n; ++k) {
      const float z = two_a_ * w / range + b_;
      const float y = std::max(1.0f - amp * std::exp(gamma * z), 0.0f);
      float step = up ? y * dw : -(y * dw);
      if (noisy_) {
        if (spread_noise_) {
          const float spread = std::fabs(step) + add_ + slope_ * std::fabs(w);
          step = step + sigma_ * spread * noise.next();
        } else {
          step = step * detail::noise_factor(sigma_, noise);
        }
      }
      w = detail::clip(w + step, lo, hi);
    }
    return w;
  }

 private:
  float a_up_, a_down_, gamma_up_, neg_gamma_down_, two_a_, b_, add_, slope_;
  bool spread_noise_;
};

/// pow_step (engine id 4, docs/physics/devices.md#power-step).
/// Arrays: dw_up, dw_down, w_min, w_max, gamma_up, gamma_down. Scalars: dw_min_std.
struct PowStepLaw : detail::CommonArrays {
  static constexpr LawSpec kSpec{4, "pow_step", 6, 1};

  PowStepLaw(const float* const* arrays, const double* scalars) noexcept
      : CommonArrays(arrays, scalars), gamma_up_(arrays[4]), gamma_down_(arrays[5]) {}

  static std::string check_scalars(const double*, std::size_t count) {
    return detail::count_must_be(count, kSpec.n_scalars);
  }

  template <class Noise>
  inline float apply_pulses(float w, std::uint32_t n, bool up, std::size_t e,
                            Noise& noise) const noexcept {
    const float lo = w_min_[e];
    const float hi = w_max_[e];
    const float range = hi - lo;
    if (!(range > 0.0f)) {  // a dead device: the weight does not move
      detail::skip_noise(noisy_, n, noise);
      return w;
    }
    const float dw = up ? dw_up_[e] : dw_down_[e];
    const float gamma = up ? gamma_up_[e] : gamma_down_[e];
    for (std::uint32_t k = 0; k < n; ++k) {
      const float base = (up ? hi - w : w - lo) / range;
      float step = dw * std::pow(base, gamma);
      if (noisy_) step = step * detail::noise_factor(sigma_, noise);
      w = detail::clip(up ? w + step : w - step, lo, hi);
    }
    return w;
  }

 private:
  const float* gamma_up_;
  const float* gamma_down_;
};

/// piecewise_step (engine id 5, docs/physics/devices.md#piecewise-step).
/// Arrays: dw_up, dw_down, w_min, w_max. Scalars, flattened: dw_min_std, len(up), up...,
/// len(down), down... (two tables of the same length >= 1).
struct PiecewiseStepLaw : detail::CommonArrays {
  static constexpr LawSpec kSpec{5, "piecewise_step", 4, -1};

  PiecewiseStepLaw(const float* const* arrays, const double* scalars)
      : CommonArrays(arrays, scalars) {
    const auto n = static_cast<std::size_t>(scalars[1]);
    for (std::size_t k = 0; k < n; ++k) table_up_.push_back(static_cast<float>(scalars[2 + k]));
    for (std::size_t k = 0; k < n; ++k) {
      table_down_.push_back(static_cast<float>(scalars[3 + n + k]));
    }
    segments_ = static_cast<int>(n) - 1;
  }

  static std::string check_scalars(const double* s, std::size_t count) {
    auto is_length = [](double v) { return v >= 1.0 && v <= 1e6 && v == std::floor(v); };
    if (count < 4 || !is_length(s[1])) {
      return "takes dw_min_std, len(piecewise_up), piecewise_up..., len(piecewise_down), "
             "piecewise_down... with tables of length >= 1";
    }
    const auto n = static_cast<std::size_t>(s[1]);
    if (count < 3 + n || s[2 + n] != s[1] || count != 3 + 2 * n) {
      return "takes two tables of the same length (piecewise_up has " + std::to_string(n) +
             " values; " + std::to_string(count) + " scalars in all)";
    }
    return {};
  }

  template <class Noise>
  inline float apply_pulses(float w, std::uint32_t n, bool up, std::size_t e,
                            Noise& noise) const noexcept {
    const float lo = w_min_[e];
    const float hi = w_max_[e];
    const float dw = up ? dw_up_[e] : dw_down_[e];
    const float* v = up ? table_up_.data() : table_down_.data();
    const float range = hi - lo;
    const bool interpolate = segments_ > 0 && range > 0.0f;
    const auto last = static_cast<float>(segments_ - 1);
    const auto segs = static_cast<float>(segments_);
    for (std::uint32_t k = 0; k < n; ++k) {
      float r = v[0];
      if (interpolate) {
        const float s = std::max((w - lo) / range * segs, 0.0f);
        const float kf = std::min(std::floor(s), last);
        const float t = std::min(s - kf, 1.0f);
        // kf is in [0, segments - 1] unless w is NaN (then any valid index will do)
        const int idx = kf >= 0.0f && kf <= last ? static_cast<int>(kf) : 0;
        r = (1.0f - t) * v[idx] + t * v[idx + 1];
      }
      float step = dw * r;
      if (noisy_) step = step * detail::noise_factor(sigma_, noise);
      w = detail::clip(up ? w + step : w - step, lo, hi);
    }
    return w;
  }

 private:
  std::vector<float> table_up_, table_down_;
  int segments_ = 0;
};

/// soft_bounds_reference (engine id 6, docs/physics/devices.md#soft-bounds-reference): linear_step
/// read against a per-device reference (a seventh array). The step is the linear_step of the
/// device's own weight v = w + reference, so additive noise stays dw * s * xi however far the
/// reference shifts it; w_min, w_max bound the read weight w (the device's bounds minus the
/// reference), so clipping w to them is clipping v to the device's bounds.
struct SoftBoundsReferenceLaw : detail::LinearStepCore<true> {
  static constexpr LawSpec kSpec{6, "soft_bounds_reference", 7, 2};
  using LinearStepCore::LinearStepCore;
};

template <class... Laws>
struct LawList {};

/// Every law the engine executes.
using StepLaws = LawList<ConstantStepLaw, LinearStepLaw, ExpStepLaw, PowStepLaw,
                         PiecewiseStepLaw, SoftBoundsReferenceLaw>;

/// The spec of the law with this engine id, or nullptr.
const LawSpec* find_law(int engine_id) noexcept;

/// An empty string when the law with this engine id takes these scalars, else why not.
std::string check_law_scalars(int engine_id, const double* scalars, std::size_t count);

}  // namespace aihw

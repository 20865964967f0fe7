// Step laws: the per-pulse rules of docs/architecture/engine-contract.md §4.
//
// A law is one struct:
//   - `kSpec`: engine id, name, number of per-cross-point float arrays and of double scalars
//     (in the order of the contract; -1 scalars: a variable number, sequences flattened
//     each after its length, checked by `check_scalars`);
//   - `check_scalars(scalars, count)`: an empty string when the engine can run the law with
//     these scalars, else why not (called before anything changes);
//   - a constructor from the arrays (float32 [d_size, x_size], row-major) and the scalars;
//   - `draws_noise()`: whether a pulse reads a cycle-to-cycle normal (contract §2);
//   - `Cell` and `cell(e, up)`: what the pulses of cross-point `e = i * x_size + j` in one
//     direction read from the arrays, loaded once;
//   - `step(cell, w, z)`: one pulse on weight `w` with the float32 normal `z` (ignored when
//     the law draws no noise), clip included; branch-light, so that the engine can run the
//     pulses of many cross-points side by side.
// `apply_pulses(w, n, up, e, noise)` (from Stepwise) applies n >= 1 pulses one after another,
// `noise.next()` giving each pulse's normal (the normals are addressed by pulse, so one is
// read per pulse even where the weight cannot move).
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

#include "aihw/f32_math.hpp"
#include "aihw/hd.hpp"

namespace aihw {

struct LawSpec {
  int engine_id;
  const char* name;
  int n_arrays;
  int n_scalars;  // -1: variable (sequences flattened, see check_scalars)
};

namespace detail {
AIHW_HD inline float clip(float w, float lo, float hi) noexcept { return std::min(std::max(w, lo), hi); }

/// The cycle-to-cycle factor f = 1 + s * xi (contract §7).
AIHW_HD inline float noise_factor(float sigma, float xi) noexcept { return 1.0f + sigma * xi; }

/// `apply_pulses` of a law from its `cell` and `step`.
template <class Law>
struct Stepwise {
  template <class Noise>
  AIHW_HD inline float apply_pulses(float w, std::uint32_t n, bool up, std::size_t e,
                            Noise& noise) const noexcept {
    const Law& law = static_cast<const Law&>(*this);
    const typename Law::Cell c = law.cell(e, up);
    if (law.draws_noise()) {
      for (std::uint32_t k = 0; k < n; ++k) w = law.step(c, w, noise.next());
    } else {
      for (std::uint32_t k = 0; k < n; ++k) w = law.step(c, w, 0.0f);
    }
    return w;
  }
};

inline std::string count_must_be(std::size_t count, int expected) {
  if (static_cast<int>(count) == expected) return {};
  return "takes " + std::to_string(expected) + " scalars, got " + std::to_string(count);
}
/// What every law reads first (contract §4): the per-device step magnitudes and bounds
/// (arrays 0-3) and the cycle-to-cycle spread dw_min_std (scalar 0).
class CommonArrays {
 public:
  AIHW_HD CommonArrays(const float* const* arrays, const double* scalars) noexcept
      : dw_up_(arrays[0]), dw_down_(arrays[1]), w_min_(arrays[2]), w_max_(arrays[3]),
        noisy_(scalars[0] != 0.0), sigma_(static_cast<float>(scalars[0])) {}

  AIHW_HD bool draws_noise() const noexcept { return noisy_; }

  /// Asks for cross-point e's cells ahead of its pulses (sparse updates touch cross-points
  /// scattered over arrays larger than the caches).
  inline void prefetch(std::size_t e) const noexcept {
    __builtin_prefetch(dw_up_ + e);
    __builtin_prefetch(dw_down_ + e);
    __builtin_prefetch(w_min_ + e);
    __builtin_prefetch(w_max_ + e);
  }

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
struct ConstantStepLaw : detail::CommonArrays, detail::Stepwise<ConstantStepLaw> {
  static constexpr LawSpec kSpec{1, "constant_step", 4, 1};

  AIHW_HD ConstantStepLaw(const float* const* arrays, const double* scalars) noexcept
      : CommonArrays(arrays, scalars) {}

  static std::string check_scalars(const double*, std::size_t count) {
    return detail::count_must_be(count, kSpec.n_scalars);
  }

  struct Cell {
    float step, lo, hi;  // step: +dw_up or -dw_down
  };

  // Both steps are loaded and one selected by a bit mask: no branch on the direction,
  // which is random (GCC made the plain ternary a branch).
  AIHW_HD inline Cell cell(std::size_t e, bool up) const noexcept {
    const float dw_up = dw_up_[e];
    const float dw_down = dw_down_[e];
    return {pick_f32(up, dw_up, -dw_down), w_min_[e], w_max_[e]};
  }

  // Noise-free, step * 1.0f is step itself: the same bits as w + step.
  AIHW_HD inline float step(const Cell& c, float w, float z) const noexcept {
    const float factor = noisy_ ? 1.0f + sigma_ * z : 1.0f;
    return std::min(std::max(w + c.step * factor, c.lo), c.hi);
  }
};

namespace detail {

/// The step of linear_step and soft_bounds_reference: per-device step and slope, the slope
/// acting on the weight itself or, kReferenced, on the device weight w + reference.
/// Arrays: dw_up, dw_down, w_min, w_max, slope_up, slope_down (, reference). Scalars:
/// dw_min_std, mult_noise (0: the noise scales dw only; else it scales dw + slope * v).
template <bool kReferenced>
class LinearStepCore : public CommonArrays, public Stepwise<LinearStepCore<kReferenced>> {
 public:
  AIHW_HD LinearStepCore(const float* const* arrays, const double* scalars) noexcept
      : CommonArrays(arrays, scalars), slope_up_(arrays[4]), slope_down_(arrays[5]),
        reference_(kReferenced ? arrays[6] : nullptr), mult_(scalars[1] != 0.0) {}

  static std::string check_scalars(const double*, std::size_t count) {
    return count_must_be(count, 2);
  }

  struct Cell {
    float dw, slope, ref, lo, hi;
    bool up;
  };

  // Both directions are loaded and one selected (no branch on the direction).
  AIHW_HD inline Cell cell(std::size_t e, bool up) const noexcept {
    const float dw_up = dw_up_[e], dw_down = dw_down_[e];
    const float slope_up = slope_up_[e], slope_down = slope_down_[e];
    return {up ? dw_up : dw_down, up ? slope_up : slope_down,
            kReferenced ? reference_[e] : 0.0f, w_min_[e], w_max_[e], up};
  }

  // Both noise forms are computed and one selected, so that loops over cross-points
  // vectorise; noise-free the factor is exactly 1, and multiplying by it changes no bit.
  // soft_bounds_reference selects by bit masks (with float ternaries GCC kept its noisy
  // pass scalar); linear_step keeps the ternaries, which GCC unswitches (measured faster).
  AIHW_HD inline float step(const Cell& c, float w, float z) const noexcept {
    const float lin = kReferenced ? c.slope * (w + c.ref) : c.slope * w;
    const float noisy = noise_factor(sigma_, z);
    const float factor = kReferenced ? pick_f32(noisy_, noisy, 1.0f) : (noisy_ ? noisy : 1.0f);
    const float scaled_both = (c.dw + lin) * factor;  // mult_noise: the noise scales dw + lin
    const float scaled_dw = lin + c.dw * factor;      // else it scales dw only
    const float step = kReferenced ? pick_f32(mult_, scaled_both, scaled_dw)
                                   : (mult_ ? scaled_both : scaled_dw);
    return clip(c.up ? w + step : w - step, c.lo, c.hi);
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
struct ExpStepLaw : detail::CommonArrays, detail::Stepwise<ExpStepLaw> {
  static constexpr LawSpec kSpec{3, "exp_step", 4, 9};

  AIHW_HD ExpStepLaw(const float* const* arrays, const double* scalars) noexcept
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

  struct Cell {
    float lo, hi, range, dw, amp, gamma;
    bool up;
  };

  // Both directions are loaded and one selected (no branch on the direction).
  AIHW_HD inline Cell cell(std::size_t e, bool up) const noexcept {
    const float dw_up = dw_up_[e], dw_down = dw_down_[e];
    return {w_min_[e], w_max_[e], w_max_[e] - w_min_[e], pick_f32(up, dw_up, dw_down),
            pick_f32(up, a_up_, a_down_), pick_f32(up, gamma_up_, neg_gamma_down_), up};
  }

  // exp is exp_f32 (argument clamped to [-87, 88]; contract §7 says why that changes no
  // step). Every noise form is computed and one selected, and a dead device (R <= 0) keeps
  // w by a select, so that loops over cross-points vectorise.
  AIHW_HD inline float step(const Cell& c, float w, float xi) const noexcept {
    // (a dead device divides by 1: exp_f32 then gets a finite argument, as the reference)
    const float z = two_a_ * w / pick_f32(c.range > 0.0f, c.range, 1.0f) + b_;
    const float y = std::max(1.0f - c.amp * exp_f32(c.gamma * z), 0.0f);
    const float dw = y * c.dw;
    const float step = pick_f32(c.up, dw, -dw);
    const float spread = abs_f32(step) + add_ + slope_ * abs_f32(w);
    const float spread_step = step + sigma_ * spread * xi;
    const float factor_step = step * detail::noise_factor(sigma_, xi);
    const float noisy = pick_f32(spread_noise_, spread_step, factor_step);
    const float moved = detail::clip(w + pick_f32(noisy_, noisy, step), c.lo, c.hi);
    return pick_f32(c.range > 0.0f, moved, w);  // a dead device: the weight does not move
  }

 private:
  float a_up_, a_down_, gamma_up_, neg_gamma_down_, two_a_, b_, add_, slope_;
  bool spread_noise_;
};

/// pow_step (engine id 4, docs/physics/devices.md#power-step).
/// Arrays: dw_up, dw_down, w_min, w_max, gamma_up, gamma_down. Scalars: dw_min_std.
struct PowStepLaw : detail::CommonArrays, detail::Stepwise<PowStepLaw> {
  static constexpr LawSpec kSpec{4, "pow_step", 6, 1};

  AIHW_HD PowStepLaw(const float* const* arrays, const double* scalars) noexcept
      : CommonArrays(arrays, scalars), gamma_up_(arrays[4]), gamma_down_(arrays[5]) {}

  static std::string check_scalars(const double*, std::size_t count) {
    return detail::count_must_be(count, kSpec.n_scalars);
  }

  struct Cell {
    float lo, hi, range, dw, gamma;
    bool up;
  };

  // Both directions are loaded and one selected (no branch on the direction).
  AIHW_HD inline Cell cell(std::size_t e, bool up) const noexcept {
    const float dw_up = dw_up_[e], dw_down = dw_down_[e];
    const float gamma_up = gamma_up_[e], gamma_down = gamma_down_[e];
    return {w_min_[e], w_max_[e], w_max_[e] - w_min_[e], pick_f32(up, dw_up, dw_down),
            pick_f32(up, gamma_up, gamma_down), up};
  }

  // pow is pow_f32 of the distance to the bound, floored at 0 (a weight beyond the bound it
  // moves toward does not step: pow of a negative base would be NaN). The noise and a dead
  // device (R <= 0) are selects, so that loops over cross-points vectorise.
  AIHW_HD inline float step(const Cell& c, float w, float z) const noexcept {
    const float distance = pick_f32(c.up, c.hi - w, w - c.lo);
    const float base = std::max(distance / c.range, 0.0f);
    const float step = c.dw * pow_f32(base, c.gamma);
    const float noisy = step * detail::noise_factor(sigma_, z);
    const float signed_step = pick_f32(noisy_, noisy, step);
    const float moved = detail::clip(w + pick_f32(c.up, signed_step, -signed_step), c.lo, c.hi);
    return pick_f32(c.range > 0.0f, moved, w);  // a dead device: the weight does not move
  }

 private:
  const float* gamma_up_;
  const float* gamma_down_;
};

namespace detail {
/// piecewise_step's per-pulse rule over two tables that live elsewhere (`tables`: the n
/// values of the up table, then the n of the down table, float32), so that the same struct
/// runs on the CPU (PiecewiseStepLaw owns the tables) and on a GPU (tables in device memory).
class PiecewiseStepCore : public CommonArrays, public Stepwise<PiecewiseStepCore> {
 public:
  AIHW_HD PiecewiseStepCore(const float* const* arrays, const double* scalars,
                            const float* tables) noexcept
      : CommonArrays(arrays, scalars), table_(tables),
        down_(static_cast<int>(scalars[1])), segments_(static_cast<int>(scalars[1]) - 1) {}

  struct Cell {
    float lo, hi, range, dw;
    int table;  // where the pulse's table starts in table_: 0 (up) or n (down)
    bool up;
  };

  // Both directions are loaded and one selected (no branch on the direction).
  AIHW_HD inline Cell cell(std::size_t e, bool up) const noexcept {
    const float dw_up = dw_up_[e], dw_down = dw_down_[e];
    return {w_min_[e], w_max_[e], w_max_[e] - w_min_[e], pick_f32(up, dw_up, dw_down),
            down_ & (static_cast<int>(up) - 1), up};  // 0 (up) or down_, by a mask
  }

  // The interpolation is computed for every device and selected (a dead device, R <= 0, or
  // a one-value table takes v[0]); the noise and the direction are selects too, so that loops
  // over cross-points vectorise (the table reads become gathers).
  AIHW_HD inline float step(const Cell& c, float w, float z) const noexcept {
    const auto last = static_cast<float>(segments_ - 1);
    const float s = std::max((w - c.lo) / c.range * static_cast<float>(segments_), 0.0f);
    const float kf = std::min(std::floor(s), last);
    const float t = std::min(s - kf, 1.0f);
    // kf is in [0, segments - 1] unless w is NaN, the device dead or the table one value
    // long (then index 0 will do: its result is not kept, or NaN anyway)
    float k = pick_f32(kf >= 0.0f, kf, 0.0f);
    k = pick_f32(k <= last, k, 0.0f);
    // (int offsets from the one table pointer: the reads vectorise as gathers)
    const int at = c.table + static_cast<int>(k);
    const int next = at + static_cast<int>(segments_ > 0);  // within the table however long
    const float interp = (1.0f - t) * table_[at] + t * table_[next];
    const float first = table_[c.table];
    float r = pick_f32(c.range > 0.0f, interp, first);
    r = pick_f32(segments_ > 0, r, first);
    const float step = c.dw * r;
    const float noisy = step * detail::noise_factor(sigma_, z);
    const float signed_step = pick_f32(noisy_, noisy, step);
    return detail::clip(w + pick_f32(c.up, signed_step, -signed_step), c.lo, c.hi);
  }

 protected:
  void point_at(const float* tables) noexcept { table_ = tables; }

 private:
  const float* table_;  // the up table, then the down table
  int down_;            // where the down table starts
  int segments_;
};

/// The tables of piecewise_step from its flattened scalars (checked by check_scalars):
/// up then down, rounded to float32.
inline std::vector<float> piecewise_tables(const double* scalars) {
  const auto n = static_cast<std::size_t>(scalars[1]);
  std::vector<float> tables;
  tables.reserve(2 * n);
  for (std::size_t k = 0; k < n; ++k) tables.push_back(static_cast<float>(scalars[2 + k]));
  for (std::size_t k = 0; k < n; ++k) tables.push_back(static_cast<float>(scalars[3 + n + k]));
  return tables;
}

/// Owns piecewise_step's tables (a base of PiecewiseStepLaw, built before the core).
struct PiecewiseTables {
  explicit PiecewiseTables(const double* scalars) : tables_(piecewise_tables(scalars)) {}
  std::vector<float> tables_;
};
}  // namespace detail

/// piecewise_step (engine id 5, docs/physics/devices.md#piecewise-step).
/// Arrays: dw_up, dw_down, w_min, w_max. Scalars, flattened: dw_min_std, len(up), up...,
/// len(down), down... (two tables of the same length >= 1).
struct PiecewiseStepLaw : private detail::PiecewiseTables, detail::PiecewiseStepCore {
  static constexpr LawSpec kSpec{5, "piecewise_step", 4, -1};

  PiecewiseStepLaw(const float* const* arrays, const double* scalars)
      : PiecewiseTables(scalars), PiecewiseStepCore(arrays, scalars, tables_.data()) {}
  // The core points into tables_: a copy points into its own.
  PiecewiseStepLaw(const PiecewiseStepLaw& other)
      : PiecewiseTables(other), PiecewiseStepCore(other) {
    point_at(tables_.data());
  }
  PiecewiseStepLaw& operator=(const PiecewiseStepLaw&) = delete;

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

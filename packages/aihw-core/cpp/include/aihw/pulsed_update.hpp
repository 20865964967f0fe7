// The pulsed update of docs/architecture/engine-contract.md §2-§4 and §6
// (pulse types StochasticCompressed / Stochastic, DeterministicImplicit, MeanCount).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "aihw/hd.hpp"

namespace aihw {

/// How pulse counts are made (docs/physics/pulsed-update.md#pulse-types, contract §6). Stochastic
/// is StochasticCompressed and Stochastic (the same numbers); the others are the deterministic
/// types.
enum class PulseKind : int { kStochastic = 0, kDeterministicImplicit = 1, kMeanCount = 2 };

/// Update parameters (docs/physics/pulsed-update.md#update-parameters, contract §3).
struct PulsedUpdateConfig {
  double lr = 0.01;           // eta > 0
  double granularity = 0.001; // g > 0 (dw_min for constant step)
  std::int64_t desired_bl = 31;
  bool fixed_bl = true;
  bool update_management = true;
  bool update_bl_management = true;  // forces update_management on
  double um_grad_scale = 1.0;
  double res = 0.0;
  bool sto_round = false;
  PulseKind pulse_kind = PulseKind::kStochastic;
  double x_res_implicit = 0.0;  // bin widths of DeterministicImplicit (contract §6)
  double d_res_implicit = 0.0;
};

/// Pulse-train length and scales of one sample (contract §3).
struct SampleScales {
  bool active = false;  // false: x_max or d_max is 0, the sample does nothing
  std::int64_t bl = 0;
  double a = 0.0;  // scale of |d|
  double b = 0.0;  // scale of |x|
};

/// The longest pulse train the counters can address (28-bit block index, 4 slots a block).
constexpr std::int64_t kMaxPulseTrainLength = std::int64_t(1) << 30;

/// Contract §3 steps 1-3 for a sample with these maxima of |x| and |d| (in double; shared
/// by the CPU engine and the CUDA kernels).
AIHW_HD inline SampleScales sample_scales(double x_max, double d_max,
                                          const PulsedUpdateConfig& c) noexcept {
  SampleScales s;
  if (x_max == 0.0 || d_max == 0.0) return s;
  s.active = true;
  const double eta = c.lr;
  const double g = c.granularity;
  const double desired = static_cast<double>(c.desired_bl);
  const bool ublm = c.update_bl_management;
  const bool um = c.update_management || ublm;
  constexpr double kTooLong = static_cast<double>(kMaxPulseTrainLength + 1);

  if (c.fixed_bl || ublm || !(g * desired < eta)) {
    s.bl = c.desired_bl;
    s.a = s.b = std::sqrt(eta / (g * desired));
  } else {
    s.a = s.b = 1.0;
    const double bl = std::max(std::ceil(eta / g), 1.0);
    s.bl = static_cast<std::int64_t>(std::min(bl, kTooLong));
  }
  if (um) {
    double dv = c.um_grad_scale * d_max;
    const double k = eta * x_max * dv / g;
    if (ublm) {
      const double bl = std::max(std::min(std::ceil(k), desired), 1.0);
      s.bl = static_cast<std::int64_t>(bl);
      s.a = s.b = std::sqrt(eta / (g * bl));
    }
    if (k > desired) dv = dv * desired / k;
    s.a = s.a * std::sqrt(x_max / dv);
    s.b = s.b * std::sqrt(dv / x_max);
  }
  return s;
}

/// The longest train any sample of an update with `config` can get, known before the data
/// (contract §3 step 2; update-BL management only shortens it).
inline std::int64_t longest_pulse_train(const PulsedUpdateConfig& c) noexcept {
  const double desired = static_cast<double>(c.desired_bl);
  if (c.fixed_bl || c.update_bl_management || !(c.granularity * desired < c.lr)) {
    return c.desired_bl;
  }
  const double bl = std::max(std::ceil(c.lr / c.granularity), 1.0);
  return static_cast<std::int64_t>(
      std::min(bl, static_cast<double>(kMaxPulseTrainLength + 1)));
}

/// Throws std::invalid_argument, as pulsed_update does, unless the law, its arrays (null
/// pointers refused) and scalars, the sizes and `config` are valid; reads no array.
void check_pulsed_update(std::int64_t d_size, std::int64_t x_size, std::int64_t batch,
                         int law, const std::vector<const float*>& law_arrays,
                         const std::vector<double>& law_scalars,
                         const PulsedUpdateConfig& config);

/// Applies one pulsed update in place and returns the number of pulses applied.
///
/// `weights` and every array of `law_arrays` are float32 [d_size, x_size] row-major, `x` is
/// [batch, x_size] and `d` is [batch, d_size]. `law` is the engine id of a step law
/// (step_laws.hpp); `law_arrays` and `law_scalars` are its arrays and scalars in the
/// contract's order. Results do not depend on `num_threads` (<= 0: one per hardware core).
///
/// `pulsed_mask` (optional, uint8 [d_size, x_size]) is overwritten with 1 for every
/// cross-point that received at least one pulse (even when the bounds kept w unchanged)
/// and 0 elsewhere; write noise (contract §10) redraws those devices.
///
/// `config.pulse_kind` picks the stochastic trains of §3 or the deterministic counts of §6.
///
/// Throws std::invalid_argument (before changing anything) for an unknown law, wrong
/// numbers of arrays or scalars, null pointers, non-positive or too large sizes, a
/// non-positive or non-finite lr or granularity, desired_bl < 1, or a sample whose pulse
/// train would exceed kMaxPulseTrainLength.
std::int64_t pulsed_update(float* weights, std::int64_t d_size, std::int64_t x_size,
                           const float* x, const float* d, std::int64_t batch, int law,
                           const std::vector<const float*>& law_arrays,
                           const std::vector<double>& law_scalars,
                           const PulsedUpdateConfig& config, std::uint64_t seed,
                           std::uint32_t update_index, int num_threads,
                           std::uint8_t* pulsed_mask = nullptr);

}  // namespace aihw

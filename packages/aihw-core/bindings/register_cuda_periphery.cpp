// The periphery stages and device operations of the CUDA back-end (contract §11.2): the
// kernels as `*_cuda` (builds with CUDA only; device addresses and torch's stream) and their
// host emulations as `*_cuda_emulated` (always; host addresses), with the same arguments
// otherwise, so that aihw/core/engine_cuda.py drives both through one code path.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "buffers.hpp"
#include "device_ops_emulated.hpp"
#include "periphery_emulated.hpp"
#include "register.hpp"

#if defined(AIHW_WITH_CUDA)
#include "cuda_engine.hpp"
#endif

namespace py = pybind11;

namespace aihw_bindings {
namespace {

// Which implementation a binding calls: the kernels (on `stream`) or the emulation.
enum class Target { kCuda, kEmulated };

aihw::PeripheryDraw draw_of(const py::int_& seed, std::uint32_t call_index, std::uint32_t sub,
                            std::uintptr_t row_ids_ptr) {
  aihw::PeripheryDraw draw;
  draw.seed = seed_value(seed);
  draw.call_index = call_index;
  draw.sub = sub;
  draw.row_ids = optional_buffer<const std::uint32_t>(row_ids_ptr);
  return draw;
}

aihw::DeviceBounds bounds_of(std::uintptr_t w_min_ptr, std::uintptr_t w_max_ptr) {
  return {optional_buffer<const float>(w_min_ptr), optional_buffer<const float>(w_max_ptr)};
}

aihw::OutputStageConfig output_call(const aihw::OutputStageConfig& config,
                                    std::uintptr_t noise_per_output_ptr, int w_noise_mode,
                                    std::uintptr_t w_noise_std_ptr) {
  if (w_noise_mode < 0 || w_noise_mode > 2) {
    throw py::value_error("w_noise_mode=" + std::to_string(w_noise_mode) +
                          " is invalid; allowed: 0, 1, 2");
  }
  aihw::OutputStageConfig call = config;
  call.noise_per_output = optional_buffer<const float>(noise_per_output_ptr);
  call.w_noise_mode = w_noise_mode;
  call.w_noise_std = optional_buffer<const float>(w_noise_std_ptr);
  if (w_noise_mode != 0) required_buffer<const float>(w_noise_std_ptr, "w_noise_std_ptr");
  return call;
}

// One implementation's calls; `stream` is ignored by the emulation.
template <Target kTarget>
struct Calls {
  static void input_stage(const aihw::InputStageConfig& config, std::uintptr_t x_ptr,
                          std::uintptr_t out_ptr, std::int64_t n_rows, std::int64_t n_cols,
                          std::uintptr_t row_scale_ptr, const py::int_& seed,
                          std::uint32_t call_index, std::uint32_t sub,
                          std::uintptr_t row_ids_ptr, std::uintptr_t stream) {
    const aihw::PeripheryDraw draw = draw_of(seed, call_index, sub, row_ids_ptr);
    const float* x = required_buffer<const float>(x_ptr, "x_ptr");
    float* out = required_buffer<float>(out_ptr, "out_ptr");
    const float* scale = optional_buffer<const float>(row_scale_ptr);
    py::gil_scoped_release release;
    if constexpr (kTarget == Target::kEmulated) {
      (void)stream;
      aihw::cuda::emulated::input_stage(x, out, n_rows, n_cols, scale, config, draw);
    } else {
#if defined(AIHW_WITH_CUDA)
      aihw::cuda::input_stage(x, out, n_rows, n_cols, scale, config, draw, stream);
#endif
    }
  }

  static void output_stage(const aihw::OutputStageConfig& config, std::uintptr_t y_ptr,
                           std::int64_t n_rows, std::int64_t n_cols,
                           std::uintptr_t row_scale_ptr, std::uintptr_t noise_per_output_ptr,
                           int w_noise_mode, std::uintptr_t w_noise_std_ptr,
                           const py::int_& seed, std::uint32_t call_index, std::uint32_t sub,
                           std::uintptr_t row_ids_ptr, std::uintptr_t hit_ptr,
                           std::uintptr_t stream) {
    const aihw::OutputStageConfig call =
        output_call(config, noise_per_output_ptr, w_noise_mode, w_noise_std_ptr);
    const aihw::PeripheryDraw draw = draw_of(seed, call_index, sub, row_ids_ptr);
    float* y = required_buffer<float>(y_ptr, "y_ptr");
    const float* scale = optional_buffer<const float>(row_scale_ptr);
    auto* hit = required_buffer<std::uint8_t>(hit_ptr, "hit_ptr");
    py::gil_scoped_release release;
    if constexpr (kTarget == Target::kEmulated) {
      (void)stream;
      aihw::cuda::emulated::output_stage(y, n_rows, n_cols, scale, call, draw, hit);
    } else {
#if defined(AIHW_WITH_CUDA)
      aihw::cuda::output_stage(y, n_rows, n_cols, scale, call, draw, hit, stream);
#endif
    }
  }

  static void decay(std::uintptr_t weights_ptr, std::int64_t n, std::uintptr_t decay_scale_ptr,
                    std::uintptr_t reset_bias_ptr, std::uintptr_t w_min_ptr,
                    std::uintptr_t w_max_ptr, double alpha, std::uintptr_t stream) {
    float* w = required_buffer<float>(weights_ptr, "weights_ptr");
    const auto* kappa = required_buffer<const float>(decay_scale_ptr, "decay_scale_ptr");
    const auto* r0 = optional_buffer<const float>(reset_bias_ptr);
    const aihw::DeviceBounds bounds = bounds_of(w_min_ptr, w_max_ptr);
    py::gil_scoped_release release;
    if constexpr (kTarget == Target::kEmulated) {
      (void)stream;
      aihw::cuda::emulated::decay_weights(w, n, kappa, r0, bounds, alpha);
    } else {
#if defined(AIHW_WITH_CUDA)
      aihw::cuda::decay_weights(w, n, kappa, r0, bounds, alpha, stream);
#endif
    }
  }

  static void diffuse(std::uintptr_t weights_ptr, std::int64_t n, std::uintptr_t rate_ptr,
                      std::uintptr_t w_min_ptr, std::uintptr_t w_max_ptr, const py::int_& seed,
                      std::uint32_t call_index, std::uintptr_t stream) {
    float* w = required_buffer<float>(weights_ptr, "weights_ptr");
    const auto* rate = required_buffer<const float>(rate_ptr, "rate_ptr");
    const aihw::DeviceBounds bounds = bounds_of(w_min_ptr, w_max_ptr);
    const std::uint64_t key_seed = seed_value(seed);
    py::gil_scoped_release release;
    if constexpr (kTarget == Target::kEmulated) {
      (void)stream;
      aihw::cuda::emulated::diffuse_weights(w, n, rate, bounds, key_seed, call_index);
    } else {
#if defined(AIHW_WITH_CUDA)
      aihw::cuda::diffuse_weights(w, n, rate, bounds, key_seed, call_index, stream);
#endif
    }
  }

  static void reset(std::uintptr_t weights_ptr, std::int64_t d_size, std::int64_t x_size,
                    std::int64_t first_column, std::int64_t n_columns,
                    std::uintptr_t reset_bias_ptr, std::uintptr_t w_min_ptr,
                    std::uintptr_t w_max_ptr, double reset_std, double reset_prob,
                    const py::int_& seed, std::uint32_t call_index, std::uintptr_t stream) {
    float* w = required_buffer<float>(weights_ptr, "weights_ptr");
    const auto* r0 = optional_buffer<const float>(reset_bias_ptr);
    const aihw::DeviceBounds bounds = bounds_of(w_min_ptr, w_max_ptr);
    const std::uint64_t key_seed = seed_value(seed);
    py::gil_scoped_release release;
    if constexpr (kTarget == Target::kEmulated) {
      (void)stream;
      aihw::cuda::emulated::reset_columns(w, d_size, x_size, first_column, n_columns, r0, bounds,
                                          reset_std, reset_prob, key_seed, call_index);
    } else {
#if defined(AIHW_WITH_CUDA)
      aihw::cuda::reset_columns(w, d_size, x_size, first_column, n_columns, r0, bounds,
                                reset_std, reset_prob, key_seed, call_index, stream);
#endif
    }
  }

  static void write_noise(std::uintptr_t visible_ptr, std::uintptr_t hidden_ptr, std::int64_t n,
                          std::uintptr_t mask_ptr, float noise_std, const py::int_& seed,
                          std::uint32_t call_index, std::uintptr_t stream) {
    float* visible = required_buffer<float>(visible_ptr, "visible_ptr");
    const auto* hidden = required_buffer<const float>(hidden_ptr, "hidden_ptr");
    const auto* mask = optional_buffer<const std::uint8_t>(mask_ptr);
    const std::uint64_t key_seed = seed_value(seed);
    py::gil_scoped_release release;
    if constexpr (kTarget == Target::kEmulated) {
      (void)stream;
      aihw::cuda::emulated::write_noise(visible, hidden, n, mask, noise_std, key_seed,
                                        call_index);
    } else {
#if defined(AIHW_WITH_CUDA)
      aihw::cuda::write_noise(visible, hidden, n, mask, noise_std, key_seed, call_index, stream);
#endif
    }
  }
};

// Registers one implementation's functions under `name + suffix`; the emulation's stream
// argument is kept (ignored) so that both have one signature.
template <Target kTarget>
void define(py::module_& m, const std::string& suffix, const char* where) {
  using C = Calls<kTarget>;
  const std::string on = std::string(" (") + where + ")";
  m.def(("input_stage" + suffix).c_str(), &C::input_stage, py::arg("config"), py::arg("x_ptr"),
        py::arg("out_ptr"), py::arg("n_rows"), py::arg("n_cols"), py::arg("row_scale_ptr"),
        py::arg("seed"), py::arg("call_index"), py::arg("sub"), py::arg("row_ids_ptr"),
        py::arg("stream"), ("The input stage (DAC) of contract §8" + on).c_str());
  m.def(("output_stage" + suffix).c_str(), &C::output_stage, py::arg("config"),
        py::arg("y_ptr"), py::arg("n_rows"), py::arg("n_cols"), py::arg("row_scale_ptr"),
        py::arg("noise_per_output_ptr"), py::arg("w_noise_mode"), py::arg("w_noise_std_ptr"),
        py::arg("seed"), py::arg("call_index"), py::arg("sub"), py::arg("row_ids_ptr"),
        py::arg("hit_ptr"), py::arg("stream"),
        ("The output stage (ADC) of contract §8, in place; hit_ptr must hold zeros, rows that "
         "hit a bound get a 1" + on).c_str());
  m.def(("decay_weights" + suffix).c_str(), &C::decay, py::arg("weights_ptr"), py::arg("n"),
        py::arg("decay_scale_ptr"), py::arg("reset_bias_ptr"), py::arg("w_min_ptr"),
        py::arg("w_max_ptr"), py::arg("alpha"), py::arg("stream"),
        ("Decay toward the reset bias (contract §9)" + on).c_str());
  m.def(("diffuse_weights" + suffix).c_str(), &C::diffuse, py::arg("weights_ptr"), py::arg("n"),
        py::arg("rate_ptr"), py::arg("w_min_ptr"), py::arg("w_max_ptr"), py::arg("seed"),
        py::arg("call_index"), py::arg("stream"), ("Diffusion (contract §9)" + on).c_str());
  m.def(("reset_columns" + suffix).c_str(), &C::reset, py::arg("weights_ptr"),
        py::arg("d_size"), py::arg("x_size"), py::arg("first_column"), py::arg("n_columns"),
        py::arg("reset_bias_ptr"), py::arg("w_min_ptr"), py::arg("w_max_ptr"),
        py::arg("reset_std"), py::arg("reset_prob"), py::arg("seed"), py::arg("call_index"),
        py::arg("stream"), ("Column reset (contract §9)" + on).c_str());
  m.def(("write_noise" + suffix).c_str(), &C::write_noise, py::arg("visible_ptr"),
        py::arg("hidden_ptr"), py::arg("n"), py::arg("mask_ptr"), py::arg("std"),
        py::arg("seed"), py::arg("call_index"), py::arg("stream"),
        ("Write noise (contract §10)" + on).c_str());
}

}  // namespace

void register_cuda_periphery(py::module_& m) {
  define<Target::kEmulated>(m, "_cuda_emulated",
                            "host emulation of the CUDA kernels: host memory, stream ignored");
#if defined(AIHW_WITH_CUDA)
  define<Target::kCuda>(m, "_cuda", "CUDA kernels: device memory, on the stream");
#endif
}

}  // namespace aihw_bindings

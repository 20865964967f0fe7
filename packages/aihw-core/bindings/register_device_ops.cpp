// Decay, diffusion, column reset and write noise (engine contract §9, §10) on raw
// float32 buffers.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "aihw/device_ops.hpp"
#include "aihw/hwa_modify.hpp"
#include "buffers.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace aihw_bindings {
namespace {

aihw::DeviceBounds bounds_of(std::uintptr_t w_min_ptr, std::uintptr_t w_max_ptr) {
  return {optional_buffer<const float>(w_min_ptr), optional_buffer<const float>(w_max_ptr)};
}

}  // namespace

void register_device_ops(py::module_& m) {
  m.def(
      "decay_weights_cpu",
      [](std::uintptr_t weights_ptr, std::int64_t n, std::uintptr_t decay_scale_ptr,
         std::uintptr_t reset_bias_ptr, std::uintptr_t w_min_ptr, std::uintptr_t w_max_ptr,
         double alpha, int num_threads) {
        float* w = required_buffer<float>(weights_ptr, "weights_ptr");
        const aihw::DeviceBounds bounds = bounds_of(w_min_ptr, w_max_ptr);
        py::gil_scoped_release release;
        aihw::decay_weights(w, n, optional_buffer<const float>(decay_scale_ptr),
                            optional_buffer<const float>(reset_bias_ptr), bounds, alpha,
                            num_threads);
      },
      py::arg("weights_ptr"), py::arg("n"), py::arg("decay_scale_ptr"),
      py::arg("reset_bias_ptr"), py::arg("w_min_ptr"), py::arg("w_max_ptr"), py::arg("alpha"),
      py::arg("num_threads"),
      "Decay toward the reset bias (contract §9); reset_bias_ptr and both bounds may be 0.");
  m.def(
      "diffuse_weights_cpu",
      [](std::uintptr_t weights_ptr, std::int64_t n, std::uintptr_t rate_ptr,
         std::uintptr_t w_min_ptr, std::uintptr_t w_max_ptr, const py::int_& seed,
         std::uint32_t call_index, int num_threads) {
        float* w = required_buffer<float>(weights_ptr, "weights_ptr");
        const aihw::DeviceBounds bounds = bounds_of(w_min_ptr, w_max_ptr);
        const std::uint64_t key_seed = seed_value(seed);
        py::gil_scoped_release release;
        aihw::diffuse_weights(w, n, optional_buffer<const float>(rate_ptr), bounds, key_seed,
                              call_index, num_threads);
      },
      py::arg("weights_ptr"), py::arg("n"), py::arg("rate_ptr"), py::arg("w_min_ptr"),
      py::arg("w_max_ptr"), py::arg("seed"), py::arg("call_index"), py::arg("num_threads"),
      "Diffusion, one normal per weight (contract §9); both bounds may be 0.");
  m.def(
      "reset_columns_cpu",
      [](std::uintptr_t weights_ptr, std::int64_t d_size, std::int64_t x_size,
         std::int64_t first_column, std::int64_t n_columns, std::uintptr_t reset_bias_ptr,
         std::uintptr_t w_min_ptr, std::uintptr_t w_max_ptr, double reset_std, double reset_prob,
         const py::int_& seed, std::uint32_t call_index, int num_threads) {
        float* w = required_buffer<float>(weights_ptr, "weights_ptr");
        const aihw::DeviceBounds bounds = bounds_of(w_min_ptr, w_max_ptr);
        const std::uint64_t key_seed = seed_value(seed);
        py::gil_scoped_release release;
        aihw::reset_columns(w, d_size, x_size, first_column, n_columns,
                            optional_buffer<const float>(reset_bias_ptr), bounds, reset_std,
                            reset_prob, key_seed, call_index, num_threads);
      },
      py::arg("weights_ptr"), py::arg("d_size"), py::arg("x_size"), py::arg("first_column"),
      py::arg("n_columns"), py::arg("reset_bias_ptr"), py::arg("w_min_ptr"),
      py::arg("w_max_ptr"), py::arg("reset_std"), py::arg("reset_prob"), py::arg("seed"),
      py::arg("call_index"), py::arg("num_threads"),
      "Reset of a range of columns (contract §9); reset_bias_ptr and both bounds may be 0.");
  m.def(
      "write_noise_cpu",
      [](std::uintptr_t visible_ptr, std::uintptr_t hidden_ptr, std::int64_t n,
         std::uintptr_t mask_ptr, double noise_std, const py::int_& seed, std::uint32_t call_index,
         int num_threads) {
        float* visible = required_buffer<float>(visible_ptr, "visible_ptr");
        const float* hidden = required_buffer<const float>(hidden_ptr, "hidden_ptr");
        const std::uint64_t key_seed = seed_value(seed);
        py::gil_scoped_release release;
        aihw::write_noise(visible, hidden, n,
                          optional_buffer<const std::uint8_t>(mask_ptr),
                          static_cast<float>(noise_std), key_seed, call_index, num_threads);
      },
      py::arg("visible_ptr"), py::arg("hidden_ptr"), py::arg("n"), py::arg("mask_ptr"),
      py::arg("std"), py::arg("seed"), py::arg("call_index"), py::arg("num_threads"),
      "Write noise (contract §10): visible = hidden + float32(std) * xi where the uint8 "
      "mask is non-zero (mask_ptr 0: every element); the other visible weights stay.");
  m.def(
      "modify_weights_cpu",
      [](std::uintptr_t weights_ptr, std::uintptr_t out_ptr, std::int64_t n, int kind,
         double amax, double factor, double res, double scale, bool sto_round, double pdrop,
         const std::vector<double>& coeffs, const std::vector<double>& pcm,
         const std::vector<py::int_>& seeds, std::uint32_t call_index, int num_threads) {
        const float* w = required_buffer<const float>(weights_ptr, "weights_ptr");
        float* out = required_buffer<float>(out_ptr, "out_ptr");
        if (coeffs.size() > static_cast<std::size_t>(aihw::kMaxModifierCoeffs)) {
          throw std::invalid_argument("coeffs: " + std::to_string(coeffs.size()) +
                                      " coefficients; at most 16");
        }
        if (!pcm.empty() && pcm.size() != 12) {
          throw std::invalid_argument("pcm: " + std::to_string(pcm.size()) +
                                      " values; 12 (PcmSettings) or none");
        }
        if (seeds.size() != static_cast<std::size_t>(aihw::kModifierStreams)) {
          throw std::invalid_argument("seeds: " + std::to_string(seeds.size()) +
                                      " seeds; one per stream, 7");
        }
        aihw::ModifierSettings settings;
        settings.kind = static_cast<aihw::ModifierKind>(kind);
        settings.amax = static_cast<float>(amax);
        settings.factor = static_cast<float>(factor);
        settings.res = static_cast<float>(res);
        settings.scale = static_cast<float>(scale);
        settings.sto_round = sto_round;
        settings.pdrop = static_cast<float>(pdrop);
        settings.n_coeffs = static_cast<int>(coeffs.size());
        for (std::size_t k = 0; k < coeffs.size(); ++k) {
          settings.coeffs[k] = static_cast<float>(coeffs[k]);
        }
        if (!pcm.empty()) {
          aihw::PcmSettings& p = settings.pcm;
          const auto f = [&pcm](int k) { return static_cast<float>(pcm[k]); };
          p.g_max = f(0);
          p.to_conductance = f(1);
          p.to_weight = f(2);
          p.inv_g_max = f(3);
          p.prog_factor = f(4);
          p.zero_threshold = f(5);
          p.p_reset = f(6);
          p.p_gmax_end = f(7);
          p.p_random_end = f(8);
          p.drift = pcm[9] > 0.0;
          p.neg_log2_t = f(10);
          p.read_factor = f(11);
        }
        aihw::ModifierSeeds stream_seeds;
        for (int k = 0; k < aihw::kModifierStreams; ++k) {
          stream_seeds.stream[k] = seed_value(seeds[k]);
        }
        py::gil_scoped_release release;
        aihw::modify_weights(w, out, n, settings, stream_seeds, call_index, num_threads);
      },
      py::arg("weights_ptr"), py::arg("out_ptr"), py::arg("n"), py::arg("kind"),
      py::arg("amax"), py::arg("factor"), py::arg("res"), py::arg("scale"),
      py::arg("sto_round"), py::arg("pdrop"), py::arg("coeffs"), py::arg("pcm"),
      py::arg("seeds"), py::arg("call_index"), py::arg("num_threads"),
      "The weight modifier of hardware-aware training in one pass (contract §12): out = the "
      "modified copy of the n weights; every double is rounded to float32 first; pcm: the 12 "
      "values of PcmSettings in order (PCMNoise) or none; seeds: one per stream (7).");
}

}  // namespace aihw_bindings

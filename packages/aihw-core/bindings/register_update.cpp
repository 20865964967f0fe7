// The pulsed update (engine contract §5).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "aihw/pulsed_update.hpp"
#include "aihw/step_laws.hpp"
#include "buffers.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace aihw_bindings {
namespace {

aihw::PulsedUpdateConfig make_update_config(double lr, double granularity,
                                            std::int64_t desired_bl, bool fixed_bl,
                                            bool update_management, bool update_bl_management,
                                            double um_grad_scale, double res, bool sto_round,
                                            int pulse_kind, double x_res_implicit,
                                            double d_res_implicit) {
  if (pulse_kind < 0 || pulse_kind > 2) {
    throw py::value_error("pulse_kind=" + std::to_string(pulse_kind) +
                          " is unknown; allowed: 0 (stochastic), 1 (DeterministicImplicit), "
                          "2 (MeanCount)");
  }
  aihw::PulsedUpdateConfig config;
  config.lr = lr;
  config.granularity = granularity;
  config.desired_bl = desired_bl;
  config.fixed_bl = fixed_bl;
  config.update_management = update_management;
  config.update_bl_management = update_bl_management;
  config.um_grad_scale = um_grad_scale;
  config.res = res;
  config.sto_round = sto_round;
  config.pulse_kind = static_cast<aihw::PulseKind>(pulse_kind);
  config.x_res_implicit = x_res_implicit;
  config.d_res_implicit = d_res_implicit;
  return config;
}

std::int64_t pulsed_update_cpu(const aihw::PulsedUpdateConfig& config,
                               std::uintptr_t weights_ptr, std::int64_t d_size,
                               std::int64_t x_size, std::uintptr_t x_ptr, std::uintptr_t d_ptr,
                               std::int64_t batch, int law,
                               const std::vector<std::uintptr_t>& param_ptrs,
                               const std::vector<double>& scalars, const py::int_& seed,
                               const py::int_& update_index, int num_threads,
                               std::uintptr_t pulsed_mask_ptr) {
  const aihw::LawSpec* spec = aihw::find_law(law);
  if (spec == nullptr) {
    throw py::value_error("unknown step law engine id " + std::to_string(law) +
                          " (known: 1 = constant_step, 2 = linear_step, 3 = exp_step, "
                          "4 = pow_step, 5 = piecewise_step, 6 = soft_bounds_reference)");
  }
  if (static_cast<int>(param_ptrs.size()) != spec->n_arrays) {
    throw py::value_error(std::string("step law ") + spec->name + " takes " +
                          std::to_string(spec->n_arrays) + " parameter arrays, got " +
                          std::to_string(param_ptrs.size()));
  }
  if (spec->n_scalars >= 0 && static_cast<int>(scalars.size()) != spec->n_scalars) {
    throw py::value_error(std::string("step law ") + spec->name + " takes " +
                          std::to_string(spec->n_scalars) + " scalars, got " +
                          std::to_string(scalars.size()));
  }
  float* weights = required_buffer<float>(weights_ptr, "weights_ptr");
  const float* x = required_buffer<const float>(x_ptr, "x_ptr");
  const float* d = required_buffer<const float>(d_ptr, "d_ptr");
  std::vector<const float*> arrays;
  arrays.reserve(param_ptrs.size());
  for (std::size_t k = 0; k < param_ptrs.size(); ++k) {
    const std::string what = "param_ptrs[" + std::to_string(k) + "]";
    arrays.push_back(required_buffer<const float>(param_ptrs[k], what.c_str()));
  }
  const std::uint64_t seed64 = unsigned_int(seed, UINT64_MAX, "seed");
  const auto index32 =
      static_cast<std::uint32_t>(unsigned_int(update_index, UINT32_MAX, "update_index"));
  py::gil_scoped_release release;
  return aihw::pulsed_update(weights, d_size, x_size, x, d, batch, law, arrays, scalars, config,
                             seed64, index32, num_threads,
                             optional_buffer<std::uint8_t>(pulsed_mask_ptr));
}

}  // namespace

void register_update(py::module_& m) {
  // pybind11 turns the engine's std::invalid_argument into ValueError, std::bad_alloc into
  // MemoryError and any other std::exception into RuntimeError.
  py::class_<aihw::PulsedUpdateConfig>(m, "PulsedUpdateConfig",
                                       "The settings of one pulsed update (contract §3, §6).")
      .def(py::init(&make_update_config), py::arg("lr"), py::arg("granularity"),
           py::arg("desired_bl"), py::arg("fixed_bl"), py::arg("update_management"),
           py::arg("update_bl_management"), py::arg("um_grad_scale"), py::arg("res"),
           py::arg("sto_round"), py::arg("pulse_kind") = 0, py::arg("x_res_implicit") = 0.0,
           py::arg("d_res_implicit") = 0.0)
      .def_readonly("lr", &aihw::PulsedUpdateConfig::lr)
      .def_readonly("granularity", &aihw::PulsedUpdateConfig::granularity)
      .def_readonly("desired_bl", &aihw::PulsedUpdateConfig::desired_bl)
      .def_readonly("fixed_bl", &aihw::PulsedUpdateConfig::fixed_bl)
      .def_readonly("update_management", &aihw::PulsedUpdateConfig::update_management)
      .def_readonly("update_bl_management", &aihw::PulsedUpdateConfig::update_bl_management)
      .def_readonly("um_grad_scale", &aihw::PulsedUpdateConfig::um_grad_scale)
      .def_readonly("res", &aihw::PulsedUpdateConfig::res)
      .def_readonly("sto_round", &aihw::PulsedUpdateConfig::sto_round)
      .def_property_readonly(
          "pulse_kind",
          [](const aihw::PulsedUpdateConfig& c) { return static_cast<int>(c.pulse_kind); })
      .def_readonly("x_res_implicit", &aihw::PulsedUpdateConfig::x_res_implicit)
      .def_readonly("d_res_implicit", &aihw::PulsedUpdateConfig::d_res_implicit);
  m.def("pulsed_update_cpu", &pulsed_update_cpu, py::arg("config"), py::arg("weights_ptr"),
        py::arg("d_size"), py::arg("x_size"), py::arg("x_ptr"), py::arg("d_ptr"),
        py::arg("batch"), py::arg("law"), py::arg("param_ptrs"), py::arg("scalars"),
        py::arg("seed"), py::arg("update_index"), py::arg("num_threads"),
        py::arg("pulsed_mask_ptr") = 0,
        "Applies one pulsed update (config: a PulsedUpdateConfig) in place to float32 "
        "weights [d_size, x_size] at weights_ptr, from x [batch, x_size] and d [batch, "
        "d_size]; returns the number of pulses applied. pulsed_mask_ptr (0: not wanted): a "
        "uint8 [d_size, x_size] buffer set to 1 where a pulse was applied, 0 elsewhere. See "
        "docs/architecture/engine-contract.md.");
  m.def(
      "pulse_kinds",
      []() {
        py::dict kinds;
        kinds["StochasticCompressed"] = 0;
        kinds["Stochastic"] = 0;
        kinds["DeterministicImplicit"] = 1;
        kinds["MeanCount"] = 2;
        return kinds;
      },
      "The pulse types the engine executes, with their pulse_kind codes.");
  m.def(
      "law_info",
      [](int law) -> py::object {
        const aihw::LawSpec* spec = aihw::find_law(law);
        if (spec == nullptr) return py::none();
        return py::make_tuple(spec->name, spec->n_arrays, spec->n_scalars);
      },
      py::arg("law"),
      "(name, number of arrays, number of scalars) of the step law with this engine id, or "
      "None. The number of scalars is -1 for a law with sequence scalars (each flattened "
      "after its length).");
}

}  // namespace aihw_bindings

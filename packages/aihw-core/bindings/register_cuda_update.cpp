// The pulsed update on CUDA (cpp/cuda/cuda_update.hpp, contract §11.1): the entry point on
// device memory (CUDA builds only), and what every build has: its scratch size, the law
// table and the host emulation of the kernels.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "buffers.hpp"
#include "cuda_update.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace aihw_bindings {
namespace {

aihw::cuda::UpdateCall make_call(const aihw::PulsedUpdateConfig& config,
                                 std::uintptr_t weights_ptr, std::int64_t d_size,
                                 std::int64_t x_size, std::uintptr_t x_ptr, std::uintptr_t d_ptr,
                                 std::int64_t batch, int law,
                                 const std::vector<std::uintptr_t>& param_ptrs,
                                 const std::vector<double>& scalars, const py::int_& seed,
                                 const py::int_& update_index, std::uintptr_t pulsed_mask_ptr) {
  aihw::cuda::UpdateCall call{};
  call.weights = required_buffer<float>(weights_ptr, "weights_ptr");
  call.d_size = d_size;
  call.x_size = x_size;
  call.x = required_buffer<const float>(x_ptr, "x_ptr");
  call.d = required_buffer<const float>(d_ptr, "d_ptr");
  call.batch = batch;
  call.law = law;
  for (std::size_t k = 0; k < param_ptrs.size(); ++k) {
    const std::string what = "param_ptrs[" + std::to_string(k) + "]";
    call.law_arrays.push_back(required_buffer<const float>(param_ptrs[k], what.c_str()));
  }
  call.law_scalars = scalars;
  call.config = config;
  call.seed = unsigned_int(seed, UINT64_MAX, "seed");
  call.update_index =
      static_cast<std::uint32_t>(unsigned_int(update_index, UINT32_MAX, "update_index"));
  call.pulsed_mask = optional_buffer<std::uint8_t>(pulsed_mask_ptr);
  return call;
}

}  // namespace

void register_cuda_update(py::module_& m) {
  m.def(
      "pulsed_update_cuda_scratch_bytes",
      [](const aihw::PulsedUpdateConfig& config, std::int64_t d_size, std::int64_t x_size,
         std::int64_t batch) {
        return aihw::cuda::pulsed_update_scratch_bytes(config, d_size, x_size, batch);
      },
      py::arg("config"), py::arg("d_size"), py::arg("x_size"), py::arg("batch"),
      "Bytes of device scratch pulsed_update_cuda needs for this update.");
  m.def("pulsed_update_law_table", &aihw::cuda::pulsed_update_law_table, py::arg("law"),
        py::arg("scalars"),
        "The float32 values pulsed_update_cuda reads from law_table_ptr: piecewise_step's "
        "tables (up, then down); empty for the other laws.");
  m.def(
      "pulsed_update_cuda_emulated",
      [](const aihw::PulsedUpdateConfig& config, std::uintptr_t weights_ptr, std::int64_t d_size,
         std::int64_t x_size, std::uintptr_t x_ptr, std::uintptr_t d_ptr, std::int64_t batch,
         int law, const std::vector<std::uintptr_t>& param_ptrs,
         const std::vector<double>& scalars, const py::int_& seed, const py::int_& update_index,
         std::uintptr_t pulsed_mask_ptr) {
        const aihw::cuda::UpdateCall call =
            make_call(config, weights_ptr, d_size, x_size, x_ptr, d_ptr, batch, law, param_ptrs,
                      scalars, seed, update_index, pulsed_mask_ptr);
        py::gil_scoped_release release;
        return aihw::cuda::pulsed_update_emulated(call);
      },
      py::arg("config"), py::arg("weights_ptr"), py::arg("d_size"), py::arg("x_size"),
      py::arg("x_ptr"), py::arg("d_ptr"), py::arg("batch"), py::arg("law"),
      py::arg("param_ptrs"), py::arg("scalars"), py::arg("seed"), py::arg("update_index"),
      py::arg("pulsed_mask_ptr") = 0,
      "pulsed_update_cuda's kernels run on the CPU (host memory, single thread), as "
      "pulsed_update_cpu's arguments; returns the number of pulses.");
#if defined(AIHW_WITH_CUDA)
  m.def(
      "pulsed_update_cuda",
      [](const aihw::PulsedUpdateConfig& config, std::uintptr_t weights_ptr, std::int64_t d_size,
         std::int64_t x_size, std::uintptr_t x_ptr, std::uintptr_t d_ptr, std::int64_t batch,
         int law, const std::vector<std::uintptr_t>& param_ptrs,
         const std::vector<double>& scalars, const py::int_& seed, const py::int_& update_index,
         std::uintptr_t pulsed_mask_ptr, std::uintptr_t law_table_ptr, std::uintptr_t scratch_ptr,
         std::int64_t scratch_bytes, std::uintptr_t pulses_ptr, std::uintptr_t stream) {
        const aihw::cuda::UpdateCall call =
            make_call(config, weights_ptr, d_size, x_size, x_ptr, d_ptr, batch, law, param_ptrs,
                      scalars, seed, update_index, pulsed_mask_ptr);
        auto* scratch = required_buffer<void>(scratch_ptr, "scratch_ptr");
        auto* pulses = required_buffer<std::int64_t>(pulses_ptr, "pulses_ptr");
        py::gil_scoped_release release;
        aihw::cuda::pulsed_update_cuda(call, optional_buffer<const float>(law_table_ptr),
                                       scratch, scratch_bytes, pulses, stream);
      },
      py::arg("config"), py::arg("weights_ptr"), py::arg("d_size"), py::arg("x_size"),
      py::arg("x_ptr"), py::arg("d_ptr"), py::arg("batch"), py::arg("law"),
      py::arg("param_ptrs"), py::arg("scalars"), py::arg("seed"), py::arg("update_index"),
      py::arg("pulsed_mask_ptr"), py::arg("law_table_ptr"), py::arg("scratch_ptr"),
      py::arg("scratch_bytes"), py::arg("pulses_ptr"), py::arg("stream"),
      "Enqueues one pulsed update on the stream (device memory; arguments as "
      "pulsed_update_cpu, plus the law table, scratch of pulsed_update_cuda_scratch_bytes "
      "bytes and an int64 that receives the number of pulses). Never synchronises.");
#endif
}

}  // namespace aihw_bindings

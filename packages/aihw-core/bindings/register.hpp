// The registration functions of the private module aihw.core._core (one file per area).
#pragma once

#include <pybind11/pybind11.h>

namespace aihw_bindings {
void register_random(pybind11::module_& m);
void register_update(pybind11::module_& m);
void register_periphery(pybind11::module_& m);
void register_device_ops(pybind11::module_& m);
void register_cuda(pybind11::module_& m);
void register_cuda_periphery(pybind11::module_& m);
void register_cuda_update(pybind11::module_& m);
}  // namespace aihw_bindings

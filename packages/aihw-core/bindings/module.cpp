// aihw.core._core: the compiled engine. Private: the friendly, validating API is the Python
// package aihw.core. This module never links libtorch; it takes raw buffers (addresses from
// torch's tensor.data_ptr()) that the Python layer has checked.
#include <pybind11/pybind11.h>

#include <string>

#include "aihw/thread_pool.hpp"
#include "register.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "aihw's native engine (private; use aihw.core).";
  aihw_bindings::register_random(m);
  aihw_bindings::register_update(m);
  aihw_bindings::register_periphery(m);
  aihw_bindings::register_device_ops(m);
  aihw_bindings::register_cuda(m);
  m.def("hardware_threads", &aihw::hardware_threads,
        "The number of hardware threads (what num_threads <= 0 means).");
  m.def(
      "engine_pool", [] { return std::string(aihw::engine_pool()); },
      "Where parallel loops run: 'openmp' (the OpenMP team of the runtime torch loaded) or "
      "'own' (the engine's own workers; also with AIHW_ENGINE_POOL=own).");
  m.def("cores_busy", &aihw::cores_busy,
        "Whether parallel loops run on the calling thread alone for now: a recent loop on "
        "the OpenMP team waited for a descheduled thread (more runnable threads than cores).");
}

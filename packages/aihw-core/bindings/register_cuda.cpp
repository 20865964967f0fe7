// The CUDA back-end's entry points (cpp/cuda/cuda_engine.hpp), when the build has them.
// Like the CPU functions they take raw addresses (here of device memory) that
// aihw/core/engine_cuda.py has checked, plus torch's current stream as an integer.
#include <pybind11/pybind11.h>

#include <cstdint>

#include "buffers.hpp"
#include "register.hpp"

#if defined(AIHW_WITH_CUDA)
#include "cuda_engine.hpp"
#endif

namespace py = pybind11;

namespace aihw_bindings {

#if defined(AIHW_WITH_CUDA)
namespace {
constexpr bool kCudaCompiled = true;

void register_cuda_random(py::module_& m) {
  m.def(
      "philox4x32_10_cuda",
      [](std::uintptr_t counters, std::int64_t n, const py::tuple& key, std::uintptr_t out,
         std::uintptr_t stream) {
        const auto k = words<2>(key, "key");
        const auto* c = required_buffer<const std::uint32_t>(counters, "counters");
        auto* o = required_buffer<std::uint32_t>(out, "out");
        py::gil_scoped_release release;
        aihw::cuda::philox_blocks(c, n, {k[0], k[1]}, o, stream);
      },
      py::arg("counters_ptr"), py::arg("n"), py::arg("key"), py::arg("out_ptr"),
      py::arg("stream"),
      "Philox4x32-10 blocks of n counters (uint32 [n, 4], device memory) on the stream.");
  m.def(
      "periphery_normals_cuda",
      [](std::uintptr_t words_ptr, std::int64_t n, std::uintptr_t out, std::uintptr_t stream) {
        const auto* w = required_buffer<const std::uint32_t>(words_ptr, "words");
        auto* o = required_buffer<float>(out, "out");
        py::gil_scoped_release release;
        aihw::cuda::periphery_normals(w, n, o, stream);
      },
      py::arg("words_ptr"), py::arg("n"), py::arg("out_ptr"), py::arg("stream"),
      "The periphery's float32 normals of n word blocks (device memory) on the stream.");
}
}  // namespace
#else
namespace {
constexpr bool kCudaCompiled = false;
}  // namespace
#endif

void register_cuda(py::module_& m) {
  m.def(
      "cuda_compiled", [] { return kCudaCompiled; },
      "Whether this build contains the CUDA kernels (aihw-core built with AIHW_CUDA=AUTO "
      "finding nvcc, or ON).");
#if defined(AIHW_WITH_CUDA)
  m.def("cuda_device_count", &aihw::cuda::device_count,
        "CUDA devices the runtime sees (0 without a driver or a GPU).");
  register_cuda_random(m);
#else
  m.def(
      "cuda_device_count", [] { return 0; }, "0: this build has no CUDA kernels.");
#endif
  register_cuda_periphery(m);  // the kernels when compiled, their emulations always
  register_cuda_update(m);  // its emulation exists in every build
}

}  // namespace aihw_bindings

// Philox4x32-10 and the Box-Muller normals of the engine contract §1, for tests.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>

#include "aihw/philox.hpp"
#include "buffers.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace aihw_bindings {

void register_random(py::module_& m) {
  m.def(
      "philox4x32_10",
      [](const py::tuple& counter, const py::tuple& key) {
        const aihw::PhiloxBlock r =
            aihw::philox4x32_10(words<4>(counter, "counter"), words<2>(key, "key"));
        return py::make_tuple(r[0], r[1], r[2], r[3]);
      },
      py::arg("counter"), py::arg("key"),
      "Philox4x32-10 of a counter (4 words) under a key (2 words); returns 4 words.");
  m.def(
      "normals_from_block",
      [](const py::tuple& block) {
        const auto z = aihw::normals_from_block(words<4>(block, "words"));
        return py::make_tuple(z[0], z[1], z[2], z[3]);
      },
      py::arg("words"),
      "The four Box-Muller normals (double) of one Philox block: (z0, z1) from (r0, r1), "
      "(z2, z3) from (r2, r3).");
}

}  // namespace aihw_bindings

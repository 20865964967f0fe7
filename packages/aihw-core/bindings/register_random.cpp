// Philox4x32-10 and the Box-Muller normals of the engine contract §1, for tests.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cstdint>

#include "aihw/philox.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace aihw_bindings {
namespace {

std::uint32_t word(const py::handle& value, const char* what) {
  if (!py::isinstance<py::int_>(value) || py::isinstance<py::bool_>(value)) {
    throw py::type_error(std::string(what) + " must hold ints");
  }
  const py::int_ v = py::reinterpret_borrow<py::int_>(value);
  if (v < py::int_(0) || v > py::int_(0xFFFFFFFFu)) {
    throw py::value_error(std::string(what) + " must hold 32-bit unsigned ints (0 to 2**32 - 1), got " +
                          py::str(value).cast<std::string>());
  }
  return v.cast<std::uint32_t>();
}

template <std::size_t N>
std::array<std::uint32_t, N> words(const py::tuple& t, const char* what) {
  if (t.size() != N) {
    throw py::value_error(std::string(what) + " must be a tuple of " + std::to_string(N) +
                          " ints, got " + std::to_string(t.size()));
  }
  std::array<std::uint32_t, N> out{};
  for (std::size_t k = 0; k < N; ++k) out[k] = word(t[k], what);
  return out;
}

}  // namespace

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

// Conversions shared by every register_*.cpp: Python ints to buffer addresses, seeds,
// counters and stream ids. The Python side (aihw/core/engine.py) has checked the tensors
// behind the addresses (float32, contiguous, on the CPU, the right shapes); these helpers
// only refuse values no caller may pass (a null required buffer, an out-of-range integer),
// with a ValueError naming the argument (a TypeError for a value of the wrong type).
#pragma once

#include <pybind11/pybind11.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace aihw_bindings {

// A buffer the engine reads or writes; 0 is refused.
template <class T>
T* required_buffer(std::uintptr_t address, const char* what) {
  if (address == 0) throw pybind11::value_error(std::string(what) + " is a null pointer (0)");
  return reinterpret_cast<T*>(address);
}

// A buffer the engine may do without; 0 becomes nullptr.
template <class T>
T* optional_buffer(std::uintptr_t address) {
  return reinterpret_cast<T*>(address);
}

// An unsigned integer in [0, max], e.g. a seed (max 2**64 - 1) or a 32-bit counter.
inline std::uint64_t unsigned_int(const pybind11::int_& value, std::uint64_t max,
                                  const char* what) {
  if (value < pybind11::int_(0) || value > pybind11::int_(max)) {
    throw pybind11::value_error(std::string(what) + "=" +
                                pybind11::str(value).cast<std::string>() +
                                " is out of range; allowed: 0 to " + std::to_string(max));
  }
  return value.cast<std::uint64_t>();
}

// A tile seed, the Philox key: 0 to 2**64 - 1.
inline std::uint64_t seed_value(const pybind11::int_& seed) {
  if (seed < pybind11::int_(0) || seed > pybind11::int_(UINT64_MAX)) {
    throw pybind11::value_error("seed is out of range; allowed: 0 to 2**64 - 1");
  }
  return seed.cast<std::uint64_t>();
}

// A random-number stream id (the top 4 bits of the counter's last word): 1 to 15.
inline std::uint32_t stream_id(int stream, const char* what) {
  if (stream < 1 || stream > 15) {
    throw pybind11::value_error(std::string(what) + "=" + std::to_string(stream) +
                                " is out of range; allowed: 1 to 15");
  }
  return static_cast<std::uint32_t>(stream);
}

// Rows of a buffer with n_cols columns lie `stride` elements apart; 0 means n_cols.
inline void check_row_stride(const char* name, std::int64_t stride, std::int64_t n_cols) {
  if (stride != 0 && stride < n_cols) {
    throw pybind11::value_error(std::string(name) + "=" + std::to_string(stride) +
                                " is invalid; allowed: 0 or >= n_cols (" +
                                std::to_string(n_cols) + ")");
  }
}

// A 32-bit word of a Philox counter or key: a Python int (not a bool) in [0, 2**32).
inline std::uint32_t word(const pybind11::handle& value, const char* what) {
  if (!pybind11::isinstance<pybind11::int_>(value) ||
      pybind11::isinstance<pybind11::bool_>(value)) {
    throw pybind11::type_error(std::string(what) + " must hold ints");
  }
  const auto v = pybind11::reinterpret_borrow<pybind11::int_>(value);
  if (v < pybind11::int_(0) || v > pybind11::int_(0xFFFFFFFFu)) {
    throw pybind11::value_error(std::string(what) +
                                " must hold 32-bit unsigned ints (0 to 2**32 - 1), got " +
                                pybind11::str(value).cast<std::string>());
  }
  return v.cast<std::uint32_t>();
}

// A tuple of N such words.
template <std::size_t N>
std::array<std::uint32_t, N> words(const pybind11::tuple& t, const char* what) {
  if (t.size() != N) {
    throw pybind11::value_error(std::string(what) + " must be a tuple of " + std::to_string(N) +
                                " ints, got " + std::to_string(t.size()));
  }
  std::array<std::uint32_t, N> out{};
  for (std::size_t k = 0; k < N; ++k) out[k] = word(t[k], what);
  return out;
}

}  // namespace aihw_bindings

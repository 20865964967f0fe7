// The fused periphery passes (engine contract §6) on raw float32 buffers.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "aihw/periphery.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace aihw_bindings {
namespace {

template <class T>
T* optional_pointer(std::uintptr_t address) {
  return reinterpret_cast<T*>(address);
}

template <class T>
T* required_pointer(std::uintptr_t address, const char* what) {
  if (address == 0) throw py::value_error(std::string(what) + " is a null pointer (0)");
  return reinterpret_cast<T*>(address);
}

std::uint32_t stream_id(int stream, const char* what) {
  if (stream < 1 || stream > 15) {
    throw py::value_error(std::string(what) + "=" + std::to_string(stream) +
                          " is out of range; allowed: 1 to 15");
  }
  return static_cast<std::uint32_t>(stream);
}

// Rows of a buffer with n_cols columns lie `stride` elements apart; 0 means n_cols.
void check_row_stride(const char* name, std::int64_t stride, std::int64_t n_cols) {
  if (stride != 0 && stride < n_cols) {
    throw py::value_error(std::string(name) + "=" + std::to_string(stride) +
                          " is invalid; allowed: 0 or >= n_cols (" + std::to_string(n_cols) +
                          ")");
  }
}

aihw::PeripheryDraw make_draw(const py::int_& seed, std::uint32_t call_index, std::uint32_t sub,
                              std::uintptr_t row_ids_ptr) {
  if (seed < py::int_(0) || seed > py::int_(UINT64_MAX)) {
    throw py::value_error("seed is out of range; allowed: 0 to 2**64 - 1");
  }
  aihw::PeripheryDraw draw;
  draw.seed = seed.cast<std::uint64_t>();
  draw.call_index = call_index;
  draw.sub = sub;
  draw.row_ids = optional_pointer<const std::uint32_t>(row_ids_ptr);
  return draw;
}

aihw::InputStageConfig make_input_config(double step, bool sto_round, double bound,
                                         double noise, double asymmetry, int noise_stream,
                                         int round_stream, std::int64_t n_cols,
                                         std::int64_t x_row_stride) {
  check_row_stride("x_row_stride", x_row_stride, n_cols);
  aihw::InputStageConfig config;
  config.step = step;
  config.sto_round = sto_round;
  config.bound = bound;
  config.noise = noise;
  config.asymmetry = asymmetry;
  config.noise_stream = stream_id(noise_stream, "noise_stream");
  config.round_stream = stream_id(round_stream, "round_stream");
  config.x_row_stride = x_row_stride;
  return config;
}

}  // namespace

void register_periphery(py::module_& m) {
  m.def(
      "periphery_input_stage",
      [](std::uintptr_t x_ptr, std::uintptr_t out_ptr, std::int64_t n_rows, std::int64_t n_cols,
         std::uintptr_t row_scale_ptr, double step, bool sto_round, double bound, double noise,
         double asymmetry, int noise_stream, int round_stream, const py::int_& seed,
         std::uint32_t call_index, std::uint32_t sub, std::uintptr_t row_ids_ptr,
         int num_threads, std::int64_t x_row_stride) {
        const aihw::InputStageConfig config =
            make_input_config(step, sto_round, bound, noise, asymmetry, noise_stream,
                              round_stream, n_cols, x_row_stride);
        const aihw::PeripheryDraw draw = make_draw(seed, call_index, sub, row_ids_ptr);
        const float* x = required_pointer<const float>(x_ptr, "x_ptr");
        float* out = required_pointer<float>(out_ptr, "out_ptr");
        const float* scale = optional_pointer<const float>(row_scale_ptr);
        py::gil_scoped_release release;
        aihw::input_stage(x, out, n_rows, n_cols, scale, config, draw, num_threads);
      },
      py::arg("x_ptr"), py::arg("out_ptr"), py::arg("n_rows"), py::arg("n_cols"),
      py::arg("row_scale_ptr"), py::arg("step"), py::arg("sto_round"), py::arg("bound"),
      py::arg("noise"), py::arg("asymmetry"), py::arg("noise_stream"), py::arg("round_stream"),
      py::arg("seed"), py::arg("call_index"), py::arg("sub"), py::arg("row_ids_ptr"),
      py::arg("num_threads"), py::arg("x_row_stride") = 0,
      "The fused input stage (DAC) of contract §6 on raw float32 buffers "
      "(row_scale_ptr and row_ids_ptr may be 0); x_row_stride (0: n_cols) lets it read a "
      "block of columns of a wider x.");
  m.def(
      "periphery_abs_max_input_stage",
      [](std::uintptr_t x_ptr, std::uintptr_t out_ptr, std::uintptr_t nm_scale_ptr,
         std::int64_t n_rows, std::int64_t n_cols, double nm_thres, double step, bool sto_round,
         double bound, double noise, double asymmetry, int noise_stream, int round_stream,
         const py::int_& seed, std::uint32_t call_index, std::uint32_t sub,
         std::uintptr_t row_ids_ptr, int num_threads, std::int64_t x_row_stride) {
        const aihw::InputStageConfig config =
            make_input_config(step, sto_round, bound, noise, asymmetry, noise_stream,
                              round_stream, n_cols, x_row_stride);
        const aihw::PeripheryDraw draw = make_draw(seed, call_index, sub, row_ids_ptr);
        const float* x = required_pointer<const float>(x_ptr, "x_ptr");
        float* out = required_pointer<float>(out_ptr, "out_ptr");
        float* nm_scale = required_pointer<float>(nm_scale_ptr, "nm_scale_ptr");
        py::gil_scoped_release release;
        return aihw::abs_max_input_stage(x, out, nm_scale, n_rows, n_cols, nm_thres, config,
                                         draw, num_threads);
      },
      py::arg("x_ptr"), py::arg("out_ptr"), py::arg("nm_scale_ptr"), py::arg("n_rows"),
      py::arg("n_cols"), py::arg("nm_thres"), py::arg("step"), py::arg("sto_round"),
      py::arg("bound"), py::arg("noise"), py::arg("asymmetry"), py::arg("noise_stream"),
      py::arg("round_stream"), py::arg("seed"), py::arg("call_index"), py::arg("sub"),
      py::arg("row_ids_ptr"), py::arg("num_threads"), py::arg("x_row_stride") = 0,
      "Abs-max noise management and the input stage in one pass (contract §6); returns the "
      "number of rows whose scale is <= 0 (left unwritten). x_row_stride as in "
      "periphery_input_stage.");
  m.def(
      "periphery_output_stage",
      [](std::uintptr_t y_ptr, std::int64_t n_rows, std::int64_t n_cols,
         std::uintptr_t row_scale_ptr, double step, bool sto_round, double bound,
         bool test_negative_bound, double noise, std::uintptr_t noise_per_output_ptr,
         double asymmetry, int w_noise_mode, std::uintptr_t w_noise_std_ptr, int noise_stream,
         int round_stream, int w_noise_stream, const py::int_& seed, std::uint32_t call_index,
         std::uint32_t sub, std::uintptr_t row_ids_ptr, std::uintptr_t hit_ptr,
         int num_threads, std::int64_t y_row_stride, std::uintptr_t accumulate_ptr,
         std::int64_t accumulate_row_stride, std::uintptr_t accumulate_bias_ptr) {
        if (w_noise_mode < 0 || w_noise_mode > 2) {
          throw py::value_error("w_noise_mode=" + std::to_string(w_noise_mode) +
                                " is invalid; allowed: 0, 1, 2");
        }
        aihw::OutputStageConfig config;
        config.step = step;
        config.sto_round = sto_round;
        config.bound = bound;
        config.test_negative_bound = test_negative_bound;
        config.noise = noise;
        config.noise_per_output = optional_pointer<const float>(noise_per_output_ptr);
        config.asymmetry = asymmetry;
        config.w_noise_mode = w_noise_mode;
        config.w_noise_std = optional_pointer<const float>(w_noise_std_ptr);
        if (w_noise_mode != 0) required_pointer<const float>(w_noise_std_ptr, "w_noise_std_ptr");
        config.noise_stream = stream_id(noise_stream, "noise_stream");
        config.round_stream = stream_id(round_stream, "round_stream");
        config.w_noise_stream = stream_id(w_noise_stream, "w_noise_stream");
        check_row_stride("y_row_stride", y_row_stride, n_cols);
        config.row_stride = y_row_stride;
        check_row_stride("accumulate_row_stride", accumulate_row_stride, n_cols);
        config.accumulate = optional_pointer<float>(accumulate_ptr);
        config.accumulate_row_stride = accumulate_row_stride;
        config.accumulate_bias = optional_pointer<const float>(accumulate_bias_ptr);
        if (config.accumulate_bias != nullptr && config.accumulate == nullptr) {
          throw py::value_error("accumulate_bias_ptr needs accumulate_ptr (it is added into "
                                "that buffer); got accumulate_ptr=0");
        }
        const aihw::PeripheryDraw draw = make_draw(seed, call_index, sub, row_ids_ptr);
        float* y = required_pointer<float>(y_ptr, "y_ptr");
        const float* scale = optional_pointer<const float>(row_scale_ptr);
        auto* hit = optional_pointer<std::uint8_t>(hit_ptr);
        py::gil_scoped_release release;
        return aihw::output_stage(y, n_rows, n_cols, scale, config, draw, hit, num_threads);
      },
      py::arg("y_ptr"), py::arg("n_rows"), py::arg("n_cols"), py::arg("row_scale_ptr"),
      py::arg("step"), py::arg("sto_round"), py::arg("bound"), py::arg("test_negative_bound"),
      py::arg("noise"), py::arg("noise_per_output_ptr"), py::arg("asymmetry"),
      py::arg("w_noise_mode"), py::arg("w_noise_std_ptr"), py::arg("noise_stream"),
      py::arg("round_stream"), py::arg("w_noise_stream"), py::arg("seed"),
      py::arg("call_index"), py::arg("sub"), py::arg("row_ids_ptr"), py::arg("hit_ptr"),
      py::arg("num_threads"), py::arg("y_row_stride") = 0, py::arg("accumulate_ptr") = 0,
      py::arg("accumulate_row_stride") = 0, py::arg("accumulate_bias_ptr") = 0,
      "The fused output stage (ADC) of contract §6, in place; returns the number of rows "
      "that hit a bound (flags in hit_ptr when it is not 0). y_row_stride (0: n_cols) "
      "lets it work on a block of columns of a wider y. With accumulate_ptr, the rows that "
      "did not hit a bound are also added into that float32 buffer (rows "
      "accumulate_row_stride apart, 0: n_cols), with accumulate_bias_ptr ([n_cols] "
      "float32) as acc = (acc + y) + bias.");
  m.def(
      "row_abs_max",
      [](std::uintptr_t x_ptr, std::uintptr_t out_ptr, std::int64_t n_rows, std::int64_t n_cols,
         int num_threads) {
        const float* x = required_pointer<const float>(x_ptr, "x_ptr");
        float* out = required_pointer<float>(out_ptr, "out_ptr");
        py::gil_scoped_release release;
        aihw::row_abs_max(x, out, n_rows, n_cols, num_threads);
      },
      py::arg("x_ptr"), py::arg("out_ptr"), py::arg("n_rows"), py::arg("n_cols"),
      py::arg("num_threads"), "out[r] = max_j |x[r, j]| on raw float32 buffers.");
  m.def(
      "periphery_normals",
      [](std::uint32_t r0, std::uint32_t r1, std::uint32_t r2, std::uint32_t r3) {
        const auto z = aihw::periphery_normals({r0, r1, r2, r3});
        return py::make_tuple(z[0], z[1], z[2], z[3]);
      },
      py::arg("r0"), py::arg("r1"), py::arg("r2"), py::arg("r3"),
      "The periphery's four float32 normals of one Philox block (contract §6).");
}

}  // namespace aihw_bindings

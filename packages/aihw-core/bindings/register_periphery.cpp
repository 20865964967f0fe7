// The fused periphery stages (engine contract §6): their typed configurations
// (InputStageConfig, OutputStageConfig, built once per periphery) and the stage calls,
// which take a configuration plus the buffers of one call.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "aihw/im2col.hpp"
#include "aihw/periphery.hpp"
#include "buffers.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace aihw_bindings {
namespace {

aihw::PeripheryDraw make_draw(const py::int_& seed, std::uint32_t call_index, std::uint32_t sub,
                              std::uintptr_t row_ids_ptr) {
  aihw::PeripheryDraw draw;
  draw.seed = seed_value(seed);
  draw.call_index = call_index;
  draw.sub = sub;
  draw.row_ids = optional_buffer<const std::uint32_t>(row_ids_ptr);
  return draw;
}

aihw::InputStageConfig with_stride(const aihw::InputStageConfig& config, std::int64_t n_cols,
                                   std::int64_t x_row_stride) {
  check_row_stride("x_row_stride", x_row_stride, n_cols);
  aihw::InputStageConfig strided = config;
  strided.x_row_stride = x_row_stride;
  return strided;
}

void register_configs(py::module_& m) {
  py::class_<aihw::InputStageConfig>(m, "InputStageConfig",
                                     "The fixed settings of an input stage (DAC).")
      .def(py::init([](double step, bool sto_round, double bound, double noise,
                       double asymmetry, int noise_stream, int round_stream) {
             aihw::InputStageConfig config;
             config.step = step;
             config.sto_round = sto_round;
             config.bound = bound;
             config.noise = noise;
             config.asymmetry = asymmetry;
             config.noise_stream = stream_id(noise_stream, "noise_stream");
             config.round_stream = stream_id(round_stream, "round_stream");
             return config;
           }),
           py::arg("step"), py::arg("sto_round"), py::arg("bound"), py::arg("noise"),
           py::arg("asymmetry"), py::arg("noise_stream"), py::arg("round_stream"))
      .def_readonly("step", &aihw::InputStageConfig::step)
      .def_readonly("sto_round", &aihw::InputStageConfig::sto_round)
      .def_readonly("bound", &aihw::InputStageConfig::bound)
      .def_readonly("noise", &aihw::InputStageConfig::noise)
      .def_readonly("asymmetry", &aihw::InputStageConfig::asymmetry)
      .def_readonly("noise_stream", &aihw::InputStageConfig::noise_stream)
      .def_readonly("round_stream", &aihw::InputStageConfig::round_stream)
      .def(py::pickle(
          [](const aihw::InputStageConfig& c) {
            return py::make_tuple(c.step, c.sto_round, c.bound, c.noise, c.asymmetry,
                                  c.noise_stream, c.round_stream);
          },
          [](const py::tuple& t) {
            aihw::InputStageConfig c;
            c.step = t[0].cast<double>();
            c.sto_round = t[1].cast<bool>();
            c.bound = t[2].cast<double>();
            c.noise = t[3].cast<double>();
            c.asymmetry = t[4].cast<double>();
            c.noise_stream = stream_id(t[5].cast<int>(), "noise_stream");
            c.round_stream = stream_id(t[6].cast<int>(), "round_stream");
            return c;
          }));
  py::class_<aihw::OutputStageConfig>(m, "OutputStageConfig",
                                      "The fixed settings of an output stage (ADC).")
      .def(py::init([](double step, bool sto_round, double bound, bool test_negative_bound,
                       double noise, double asymmetry, int noise_stream, int round_stream,
                       int w_noise_stream) {
             aihw::OutputStageConfig config;
             config.step = step;
             config.sto_round = sto_round;
             config.bound = bound;
             config.test_negative_bound = test_negative_bound;
             config.noise = noise;
             config.asymmetry = asymmetry;
             config.noise_stream = stream_id(noise_stream, "noise_stream");
             config.round_stream = stream_id(round_stream, "round_stream");
             config.w_noise_stream = stream_id(w_noise_stream, "w_noise_stream");
             return config;
           }),
           py::arg("step"), py::arg("sto_round"), py::arg("bound"),
           py::arg("test_negative_bound"), py::arg("noise"), py::arg("asymmetry"),
           py::arg("noise_stream"), py::arg("round_stream"), py::arg("w_noise_stream"))
      .def_readonly("step", &aihw::OutputStageConfig::step)
      .def_readonly("sto_round", &aihw::OutputStageConfig::sto_round)
      .def_readonly("bound", &aihw::OutputStageConfig::bound)
      .def_readonly("test_negative_bound", &aihw::OutputStageConfig::test_negative_bound)
      .def_readonly("noise", &aihw::OutputStageConfig::noise)
      .def_readonly("asymmetry", &aihw::OutputStageConfig::asymmetry)
      .def_readonly("noise_stream", &aihw::OutputStageConfig::noise_stream)
      .def_readonly("round_stream", &aihw::OutputStageConfig::round_stream)
      .def_readonly("w_noise_stream", &aihw::OutputStageConfig::w_noise_stream)
      .def(py::pickle(
          [](const aihw::OutputStageConfig& c) {
            return py::make_tuple(c.step, c.sto_round, c.bound, c.test_negative_bound, c.noise,
                                  c.asymmetry, c.noise_stream, c.round_stream, c.w_noise_stream);
          },
          [](const py::tuple& t) {
            aihw::OutputStageConfig c;
            c.step = t[0].cast<double>();
            c.sto_round = t[1].cast<bool>();
            c.bound = t[2].cast<double>();
            c.test_negative_bound = t[3].cast<bool>();
            c.noise = t[4].cast<double>();
            c.asymmetry = t[5].cast<double>();
            c.noise_stream = stream_id(t[6].cast<int>(), "noise_stream");
            c.round_stream = stream_id(t[7].cast<int>(), "round_stream");
            c.w_noise_stream = stream_id(t[8].cast<int>(), "w_noise_stream");
            return c;
          }));
}

// A first pass's DAC with everything fixed but the input's address and the counter
// (engine.PreparedInputStage builds it once per input shape): a call converts two
// arguments instead of twelve, which the small inference forwards notice.
class BoundInputStage {
 public:
  BoundInputStage(const aihw::InputStageConfig& config, bool abs_max, double nm_thres,
                  std::uintptr_t out_ptr, std::uintptr_t nm_scale_ptr, std::int64_t n_rows,
                  std::int64_t n_cols, const py::int_& seed, int num_threads,
                  std::int64_t x_row_stride)
      : config_(with_stride(config, n_cols, x_row_stride)),
        abs_max_(abs_max),
        nm_thres_(nm_thres),
        out_(required_buffer<float>(out_ptr, "out_ptr")),
        nm_scale_(abs_max ? required_buffer<float>(nm_scale_ptr, "nm_scale_ptr") : nullptr),
        n_rows_(n_rows),
        n_cols_(n_cols),
        seed_(seed_value(seed)),
        num_threads_(num_threads) {
    if (n_rows < 0 || n_cols < 0) throw py::value_error("n_rows and n_cols must be >= 0");
  }

  std::int64_t operator()(std::uintptr_t x_ptr, std::uint32_t call_index) const {
    const float* x = required_buffer<const float>(x_ptr, "x_ptr");
    aihw::PeripheryDraw draw;
    draw.seed = seed_;
    draw.call_index = call_index;
    py::gil_scoped_release release;
    if (abs_max_) {
      return aihw::abs_max_input_stage(x, out_, nm_scale_, n_rows_, n_cols_, nm_thres_, config_,
                                       draw, num_threads_);
    }
    aihw::input_stage(x, out_, n_rows_, n_cols_, nullptr, config_, draw, num_threads_);
    return 0;
  }

 private:
  aihw::InputStageConfig config_;
  bool abs_max_;
  double nm_thres_;
  float* out_;
  float* nm_scale_;
  std::int64_t n_rows_, n_cols_;
  std::uint64_t seed_;
  int num_threads_;
};

// A first pass's ADC on a block of columns with everything fixed but the buffers'
// addresses and the counter (engine.PreparedOutputStage builds it once per input shape).
class BoundOutputStage {
 public:
  BoundOutputStage(const aihw::OutputStageConfig& config, std::int64_t n_rows,
                   std::int64_t n_cols, std::uintptr_t row_scale_ptr, std::uintptr_t hit_ptr,
                   const py::int_& seed, int num_threads, std::int64_t row_stride)
      : config_(config),
        n_rows_(n_rows),
        n_cols_(n_cols),
        scale_(optional_buffer<const float>(row_scale_ptr)),
        hit_(required_buffer<std::uint8_t>(hit_ptr, "hit_ptr")),
        seed_(seed_value(seed)),
        num_threads_(num_threads) {
    if (n_rows < 0 || n_cols < 0) throw py::value_error("n_rows and n_cols must be >= 0");
    check_row_stride("row_stride", row_stride, n_cols);
    config_.row_stride = row_stride;
    config_.accumulate_row_stride = row_stride;
    config_.w_noise_mode = 0;  // a first pass has no weight noise
    config_.w_noise_std = nullptr;
  }

  std::int64_t operator()(std::uintptr_t y_ptr, std::uintptr_t noise_per_output_ptr,
                          std::uint32_t call_index, std::uintptr_t accumulate_ptr,
                          std::uintptr_t bias_ptr) const {
    aihw::OutputStageConfig call = config_;
    call.noise_per_output = optional_buffer<const float>(noise_per_output_ptr);
    call.accumulate = optional_buffer<float>(accumulate_ptr);
    call.accumulate_bias = optional_buffer<const float>(bias_ptr);
    float* y = required_buffer<float>(y_ptr, "y_ptr");
    aihw::PeripheryDraw draw;
    draw.seed = seed_;
    draw.call_index = call_index;
    py::gil_scoped_release release;
    return aihw::output_stage(y, n_rows_, n_cols_, scale_, call, draw, hit_, num_threads_);
  }

 private:
  aihw::OutputStageConfig config_;
  std::int64_t n_rows_, n_cols_;
  const float* scale_;
  std::uint8_t* hit_;
  std::uint64_t seed_;
  int num_threads_;
};

void register_bound_stages(py::module_& m) {
  py::class_<BoundInputStage>(m, "BoundInputStage",
                              "A DAC call with its configuration and buffers fixed.")
      .def(py::init<const aihw::InputStageConfig&, bool, double, std::uintptr_t, std::uintptr_t,
                    std::int64_t, std::int64_t, const py::int_&, int, std::int64_t>(),
           py::arg("config"), py::arg("abs_max"), py::arg("nm_thres"), py::arg("out_ptr"),
           py::arg("nm_scale_ptr"), py::arg("n_rows"), py::arg("n_cols"), py::arg("seed"),
           py::arg("num_threads"), py::arg("x_row_stride"))
      .def("__call__", &BoundInputStage::operator(), py::arg("x_ptr"), py::arg("call_index"),
           "input_stage (abs_max_input_stage with abs_max) on the input at x_ptr; returns "
           "the number of rows skipped (0 without abs_max).");
  py::class_<BoundOutputStage>(m, "BoundOutputStage",
                               "An ADC call with its configuration and buffers fixed.")
      .def(py::init<const aihw::OutputStageConfig&, std::int64_t, std::int64_t, std::uintptr_t,
                    std::uintptr_t, const py::int_&, int, std::int64_t>(),
           py::arg("config"), py::arg("n_rows"), py::arg("n_cols"), py::arg("row_scale_ptr"),
           py::arg("hit_ptr"), py::arg("seed"), py::arg("num_threads"), py::arg("row_stride"))
      .def("__call__", &BoundOutputStage::operator(), py::arg("y_ptr"),
           py::arg("noise_per_output_ptr"), py::arg("call_index"), py::arg("accumulate_ptr"),
           py::arg("bias_ptr"),
           "output_stage on the block at y_ptr (rows row_stride apart, the accumulate buffer's "
           "too); returns the number of rows that hit a bound.");
}

}  // namespace

void register_periphery(py::module_& m) {
  register_configs(m);
  register_bound_stages(m);
  m.def(
      "input_stage",
      [](const aihw::InputStageConfig& config, std::uintptr_t x_ptr, std::uintptr_t out_ptr,
         std::int64_t n_rows, std::int64_t n_cols, std::uintptr_t row_scale_ptr,
         const py::int_& seed, std::uint32_t call_index, std::uint32_t sub,
         std::uintptr_t row_ids_ptr, int num_threads, std::int64_t x_row_stride) {
        const aihw::InputStageConfig strided = with_stride(config, n_cols, x_row_stride);
        const aihw::PeripheryDraw draw = make_draw(seed, call_index, sub, row_ids_ptr);
        const float* x = required_buffer<const float>(x_ptr, "x_ptr");
        float* out = required_buffer<float>(out_ptr, "out_ptr");
        const float* scale = optional_buffer<const float>(row_scale_ptr);
        py::gil_scoped_release release;
        aihw::input_stage(x, out, n_rows, n_cols, scale, strided, draw, num_threads);
      },
      py::arg("config"), py::arg("x_ptr"), py::arg("out_ptr"), py::arg("n_rows"),
      py::arg("n_cols"), py::arg("row_scale_ptr"), py::arg("seed"), py::arg("call_index"),
      py::arg("sub"), py::arg("row_ids_ptr"), py::arg("num_threads"),
      py::arg("x_row_stride") = 0,
      "The fused input stage (DAC) of contract §6 on float32 buffers (row_scale_ptr and "
      "row_ids_ptr may be 0); x_row_stride (0: n_cols) reads a block of columns of a wider x.");
  m.def(
      "abs_max_input_stage",
      [](const aihw::InputStageConfig& config, double nm_thres, std::uintptr_t x_ptr,
         std::uintptr_t out_ptr, std::uintptr_t nm_scale_ptr, std::int64_t n_rows,
         std::int64_t n_cols, const py::int_& seed, std::uint32_t call_index, std::uint32_t sub,
         std::uintptr_t row_ids_ptr, int num_threads, std::int64_t x_row_stride) {
        const aihw::InputStageConfig strided = with_stride(config, n_cols, x_row_stride);
        const aihw::PeripheryDraw draw = make_draw(seed, call_index, sub, row_ids_ptr);
        const float* x = required_buffer<const float>(x_ptr, "x_ptr");
        float* out = required_buffer<float>(out_ptr, "out_ptr");
        float* nm_scale = required_buffer<float>(nm_scale_ptr, "nm_scale_ptr");
        py::gil_scoped_release release;
        return aihw::abs_max_input_stage(x, out, nm_scale, n_rows, n_cols, nm_thres, strided,
                                         draw, num_threads);
      },
      py::arg("config"), py::arg("nm_thres"), py::arg("x_ptr"), py::arg("out_ptr"),
      py::arg("nm_scale_ptr"), py::arg("n_rows"), py::arg("n_cols"), py::arg("seed"),
      py::arg("call_index"), py::arg("sub"), py::arg("row_ids_ptr"), py::arg("num_threads"),
      py::arg("x_row_stride") = 0,
      "Abs-max noise management and the input stage in one pass (contract §6); returns the "
      "number of rows whose scale is <= 0 or that hold a NaN or an infinity (left "
      "unwritten).");
  m.def(
      "output_stage",
      [](const aihw::OutputStageConfig& config, std::uintptr_t y_ptr, std::int64_t n_rows,
         std::int64_t n_cols, std::uintptr_t row_scale_ptr, std::uintptr_t noise_per_output_ptr,
         int w_noise_mode, std::uintptr_t w_noise_std_ptr, const py::int_& seed,
         std::uint32_t call_index, std::uint32_t sub, std::uintptr_t row_ids_ptr,
         std::uintptr_t hit_ptr, int num_threads, std::int64_t y_row_stride,
         std::uintptr_t accumulate_ptr, std::int64_t accumulate_row_stride,
         std::uintptr_t accumulate_bias_ptr) {
        if (w_noise_mode < 0 || w_noise_mode > 2) {
          throw py::value_error("w_noise_mode=" + std::to_string(w_noise_mode) +
                                " is invalid; allowed: 0, 1, 2");
        }
        aihw::OutputStageConfig call = config;
        call.noise_per_output = optional_buffer<const float>(noise_per_output_ptr);
        call.w_noise_mode = w_noise_mode;
        call.w_noise_std = optional_buffer<const float>(w_noise_std_ptr);
        if (w_noise_mode != 0) required_buffer<const float>(w_noise_std_ptr, "w_noise_std_ptr");
        check_row_stride("y_row_stride", y_row_stride, n_cols);
        call.row_stride = y_row_stride;
        check_row_stride("accumulate_row_stride", accumulate_row_stride, n_cols);
        call.accumulate = optional_buffer<float>(accumulate_ptr);
        call.accumulate_row_stride = accumulate_row_stride;
        call.accumulate_bias = optional_buffer<const float>(accumulate_bias_ptr);
        const aihw::PeripheryDraw draw = make_draw(seed, call_index, sub, row_ids_ptr);
        float* y = required_buffer<float>(y_ptr, "y_ptr");
        const float* scale = optional_buffer<const float>(row_scale_ptr);
        auto* hit = optional_buffer<std::uint8_t>(hit_ptr);
        py::gil_scoped_release release;
        return aihw::output_stage(y, n_rows, n_cols, scale, call, draw, hit, num_threads);
      },
      py::arg("config"), py::arg("y_ptr"), py::arg("n_rows"), py::arg("n_cols"),
      py::arg("row_scale_ptr"), py::arg("noise_per_output_ptr"), py::arg("w_noise_mode"),
      py::arg("w_noise_std_ptr"), py::arg("seed"), py::arg("call_index"), py::arg("sub"),
      py::arg("row_ids_ptr"), py::arg("hit_ptr"), py::arg("num_threads"),
      py::arg("y_row_stride") = 0, py::arg("accumulate_ptr") = 0,
      py::arg("accumulate_row_stride") = 0, py::arg("accumulate_bias_ptr") = 0,
      "The fused output stage (ADC) of contract §6, in place; returns the number of rows "
      "that hit a bound (flags in hit_ptr when it is not 0). y_row_stride (0: n_cols) works "
      "on a block of columns of a wider y. With accumulate_ptr, the rows that did not hit a "
      "bound are also added into that float32 buffer (rows accumulate_row_stride apart, 0: "
      "n_cols), with accumulate_bias_ptr ([n_cols] float32) as acc = (acc + y) + bias; "
      "without accumulate_ptr, accumulate_bias_ptr is added into those rows of y.");
  m.def(
      "row_abs_max",
      [](std::uintptr_t x_ptr, std::uintptr_t out_ptr, std::int64_t n_rows, std::int64_t n_cols,
         int num_threads) {
        const float* x = required_buffer<const float>(x_ptr, "x_ptr");
        float* out = required_buffer<float>(out_ptr, "out_ptr");
        py::gil_scoped_release release;
        aihw::row_abs_max(x, out, n_rows, n_cols, num_threads);
      },
      py::arg("x_ptr"), py::arg("out_ptr"), py::arg("n_rows"), py::arg("n_cols"),
      py::arg("num_threads"), "out[r] = max_j |x[r, j]| on float32 buffers.");
  auto conv_shape = [](std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w,
                       std::int64_t kh, std::int64_t kw, std::int64_t sh, std::int64_t sw,
                       std::int64_t dh, std::int64_t dw, std::int64_t oh, std::int64_t ow) {
    const aihw::Conv2dShape s{n, c, h, w, kh, kw, sh, sw, dh, dw, oh, ow};
    aihw::check_conv2d_shape(s);  // before the GIL is released: a ValueError
    return s;
  };
  m.def(
      "im2col_2d",
      [conv_shape](std::uintptr_t x_ptr, std::uintptr_t patches_ptr, std::int64_t n,
                   std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t kh,
                   std::int64_t kw, std::int64_t sh, std::int64_t sw, std::int64_t dh,
                   std::int64_t dw, std::int64_t oh, std::int64_t ow, int num_threads) {
        const aihw::Conv2dShape s = conv_shape(n, c, h, w, kh, kw, sh, sw, dh, dw, oh, ow);
        const float* x = required_buffer<const float>(x_ptr, "x_ptr");
        float* patches = required_buffer<float>(patches_ptr, "patches_ptr");
        py::gil_scoped_release release;
        aihw::im2col_2d(x, patches, s, num_threads);
      },
      py::arg("x_ptr"), py::arg("patches_ptr"), py::arg("n"), py::arg("c"), py::arg("h"),
      py::arg("w"), py::arg("kh"), py::arg("kw"), py::arg("sh"), py::arg("sw"), py::arg("dh"),
      py::arg("dw"), py::arg("oh"), py::arg("ow"), py::arg("num_threads"),
      "The patches [n oh ow, c kh kw] of a float32 input [n, c, h, w] (im2col).");
  m.def(
      "col2im_2d",
      [conv_shape](std::uintptr_t patches_ptr, std::uintptr_t grad_x_ptr, std::int64_t n,
                   std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t kh,
                   std::int64_t kw, std::int64_t sh, std::int64_t sw, std::int64_t dh,
                   std::int64_t dw, std::int64_t oh, std::int64_t ow, int num_threads) {
        const aihw::Conv2dShape s = conv_shape(n, c, h, w, kh, kw, sh, sw, dh, dw, oh, ow);
        const float* patches = required_buffer<const float>(patches_ptr, "patches_ptr");
        float* grad_x = required_buffer<float>(grad_x_ptr, "grad_x_ptr");
        py::gil_scoped_release release;
        aihw::col2im_2d(patches, grad_x, s, num_threads);
      },
      py::arg("patches_ptr"), py::arg("grad_x_ptr"), py::arg("n"), py::arg("c"), py::arg("h"),
      py::arg("w"), py::arg("kh"), py::arg("kw"), py::arg("sh"), py::arg("sw"), py::arg("dh"),
      py::arg("dw"), py::arg("oh"), py::arg("ow"), py::arg("num_threads"),
      "The adjoint of im2col_2d: grad_x [n, c, h, w] from the patches' gradient (col2im).");
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

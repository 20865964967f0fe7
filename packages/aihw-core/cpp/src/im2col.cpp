#include "aihw/im2col.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "aihw/thread_pool.hpp"

namespace aihw {

void check_conv2d_shape(const Conv2dShape& s) {
  auto positive = [](std::int64_t v, const char* name) {
    if (v < 1) {
      throw std::invalid_argument(std::string(name) + "=" + std::to_string(v) +
                                  " is invalid; allowed: >= 1");
    }
  };
  if (s.n < 0 || s.c < 0) {
    throw std::invalid_argument("n=" + std::to_string(s.n) + ", c=" + std::to_string(s.c) +
                                " are invalid; allowed: >= 0");
  }
  positive(s.h, "h");
  positive(s.w, "w");
  positive(s.kh, "kh");
  positive(s.kw, "kw");
  positive(s.sh, "sh");
  positive(s.sw, "sw");
  positive(s.dh, "dh");
  positive(s.dw, "dw");
  const std::int64_t span_h = s.dh * (s.kh - 1) + 1, span_w = s.dw * (s.kw - 1) + 1;
  if (span_h > s.h || span_w > s.w) {
    throw std::invalid_argument("the dilated kernel " + std::to_string(span_h) + "x" +
                                std::to_string(span_w) + " is larger than the input " +
                                std::to_string(s.h) + "x" + std::to_string(s.w));
  }
  const std::int64_t oh = (s.h - span_h) / s.sh + 1, ow = (s.w - span_w) / s.sw + 1;
  if (s.oh != oh || s.ow != ow) {
    throw std::invalid_argument("oh, ow = " + std::to_string(s.oh) + ", " + std::to_string(s.ow) +
                                " do not match the geometry; allowed: " + std::to_string(oh) +
                                ", " + std::to_string(ow));
  }
}

namespace {

// The patch rows of output row y of one image; KW > 0: the kernel width known at compile
// time (the short copies of a kernel row are then inline moves, not calls of memcpy,
// which cost more than the copy for a few floats), 0: read from s.
template <int KW>
void im2col_row(const float* image, float* out, std::int64_t y, std::int64_t cols,
                const Conv2dShape& s) {
  const std::int64_t kw = KW > 0 ? KW : s.kw;
  for (std::int64_t xo = 0; xo < s.ow; ++xo, out += cols) {
    float* o = out;
    for (std::int64_t ch = 0; ch < s.c; ++ch) {
      const float* plane = image + ch * s.h * s.w;
      for (std::int64_t i = 0; i < s.kh; ++i) {
        const float* row = plane + (y * s.sh + i * s.dh) * s.w + xo * s.sw;
        if (KW > 0) {
          for (int j = 0; j < KW; ++j) o[j] = row[j];
        } else if (s.dw == 1) {
          std::memcpy(o, row, static_cast<std::size_t>(kw) * sizeof(float));
        } else {
          for (std::int64_t j = 0; j < kw; ++j) o[j] = row[j * s.dw];
        }
        o += kw;
      }
    }
  }
}

// The kernel width whose own copy loop (im2col_row<KW>, col2im_image<KW>) serves `s`: the
// common widths 1 to 5 and 7 without width dilation; 0: the general loop. At most 7.
int copy_loop_width(const Conv2dShape& s) {
  if (s.dw != 1 && s.kw != 1) return 0;
  return (s.kw >= 1 && s.kw <= 5) || s.kw == 7 ? static_cast<int>(s.kw) : 0;
}

// The gradient of one image from its patch rows, in their order; KW as in im2col_row.
template <int KW>
void col2im_image(const float* in, float* image, std::int64_t cols, const Conv2dShape& s) {
  const std::int64_t kw = KW > 0 ? KW : s.kw;
  for (std::int64_t y = 0; y < s.oh; ++y) {
    for (std::int64_t xo = 0; xo < s.ow; ++xo, in += cols) {
      const float* p = in;
      for (std::int64_t ch = 0; ch < s.c; ++ch) {
        float* plane = image + ch * s.h * s.w;
        for (std::int64_t i = 0; i < s.kh; ++i) {
          float* row = plane + (y * s.sh + i * s.dh) * s.w + xo * s.sw;
          if (KW > 0) {
            for (int j = 0; j < KW; ++j) row[j] += p[j];
          } else {
            for (std::int64_t j = 0; j < kw; ++j) row[j * s.dw] += p[j];
          }
          p += kw;
        }
      }
    }
  }
}

}  // namespace

void im2col_2d(const float* x, float* patches, const Conv2dShape& s, int num_threads) {
  check_conv2d_shape(s);
  const std::int64_t cols = s.c * s.kh * s.kw;
  if (s.n == 0 || cols == 0) return;
  using RowFn = void (*)(const float*, float*, std::int64_t, std::int64_t, const Conv2dShape&);
  constexpr RowFn kRowFns[] = {im2col_row<0>, im2col_row<1>, im2col_row<2>, im2col_row<3>,
                               im2col_row<4>, im2col_row<5>, im2col_row<0>, im2col_row<7>};
  const RowFn row_fn = kRowFns[copy_loop_width(s)];
  // A task is one output row (y) of one image: ow patch rows, written in order.
  parallel_for(resolve_threads(num_threads), s.n * s.oh, [&](std::int64_t task) {
    const std::int64_t b = task / s.oh, y = task % s.oh;
    row_fn(x + b * s.c * s.h * s.w, patches + task * s.ow * cols, y, cols, s);
  });
}

void col2im_2d(const float* patches, float* grad_x, const Conv2dShape& s, int num_threads) {
  check_conv2d_shape(s);
  const std::int64_t cols = s.c * s.kh * s.kw;
  const std::int64_t image_size = s.c * s.h * s.w;
  if (s.n == 0 || image_size == 0) return;
  // A task is one image: its gradient is written by that task alone, patch rows in order,
  // so the sums are taken in the same order whatever the number of threads.
  using ImageFn = void (*)(const float*, float*, std::int64_t, const Conv2dShape&);
  constexpr ImageFn kImageFns[] = {col2im_image<0>, col2im_image<1>, col2im_image<2>,
                                   col2im_image<3>, col2im_image<4>, col2im_image<5>,
                                   col2im_image<0>, col2im_image<7>};
  const ImageFn image_fn = kImageFns[copy_loop_width(s)];
  parallel_for(resolve_threads(num_threads), s.n, [&](std::int64_t b) {
    float* image = grad_x + b * image_size;
    std::fill_n(image, image_size, 0.0f);
    image_fn(patches + b * s.oh * s.ow * cols, image, cols, s);
  });
}

}  // namespace aihw

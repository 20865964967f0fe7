// The patches of a 2-d convolution (im2col) and their adjoint (col2im), for the analog
// convolution layers: one pass each, written in the row layout the tiles read, where torch's
// unfold and fold need a transposing copy on each side.
#pragma once

#include <cstdint>

namespace aihw {

/// A 2-d convolution's geometry: input [n, c, h, w], kernel kh x kw, strides sh, sw,
/// dilations dh, dw (no padding: the caller pads), output oh x ow.
struct Conv2dShape {
  std::int64_t n, c, h, w;
  std::int64_t kh, kw, sh, sw, dh, dw;
  std::int64_t oh, ow;
};

/// Throws std::invalid_argument unless every size is positive (n and c may be 0) and the
/// output sizes are those of the input, kernel, strides and dilations.
void check_conv2d_shape(const Conv2dShape& s);

/// patches[(b oh + y) ow + x, (ch kh + i) kw + j] = x[b, ch, y sh + i dh, x sw + j dw]
/// (float32, contiguous; patches is [n oh ow, c kh kw]).
void im2col_2d(const float* x, float* patches, const Conv2dShape& s, int num_threads);

/// The adjoint: grad_x[b, ch, y sh + i dh, x sw + j dw] = the sum of the patches' entries
/// that read it (grad_x [n, c, h, w] is overwritten).
void col2im_2d(const float* patches, float* grad_x, const Conv2dShape& s, int num_threads);

}  // namespace aihw

// A convolution's input, weight and bias gradients from libtorch's own kernels
// (`at::convolution_backward`, what PyTorch's autograd calls), for the `tch` training path.
// tch-rs does not bind it: its generator skips functions with a `bool[3]` argument.
#include <ATen/ATen.h>

#include <array>
#include <exception>
#include <string>

extern "C" {

// Writes the requested gradients (mask[i] != 0) as new tensors into out[0..3], leaving the
// others null. In bf16 mode grad, input and weight are cast to bfloat16 and the gradients back
// to float. Returns null, or an error message valid until the thread's next call.
const char *ansel_convolution_backward(const at::Tensor *grad, const at::Tensor *input,
                                       const at::Tensor *weight, int64_t bias_channels,
                                       int transposed, const int64_t *stride,
                                       const int64_t *padding, const int64_t *dilation,
                                       const int64_t *output_padding, int64_t groups, int bf16,
                                       const int *mask, at::Tensor **out) {
  thread_local std::string error;
  try {
    auto cast = [&](const at::Tensor &t) { return bf16 ? t.to(at::kBFloat16) : t; };
    std::array<int64_t, 1> bias_sizes{bias_channels};
    auto grads = at::convolution_backward(
        cast(*grad), cast(*input), cast(*weight), at::IntArrayRef(bias_sizes),
        at::IntArrayRef(stride, 2), at::IntArrayRef(padding, 2), at::IntArrayRef(dilation, 2),
        transposed != 0, at::IntArrayRef(output_padding, 2), groups,
        {mask[0] != 0, mask[1] != 0, mask[2] != 0});
    at::Tensor results[3] = {std::get<0>(grads), std::get<1>(grads), std::get<2>(grads)};
    for (int i = 0; i < 3; ++i) {
      out[i] = mask[i] ? new at::Tensor(results[i].to(at::kFloat)) : nullptr;
    }
    return nullptr;
  } catch (const std::exception &e) {
    error = e.what();
    return error.c_str();
  }
}
}

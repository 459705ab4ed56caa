// CpuBackend's fusion, reduction and optimiser ops (ops_fusion.cpp, ops_optim.cpp).
#include "cpu_backend.h"
#include "ops.h"

namespace af::cpu {

namespace {
OpContext context(CpuBackend& be) { return {be.pool(), be.gemm_config(), kernels_for(be.gemm_config().isa)}; }
}  // namespace

void CpuBackend::fusion_softmax_forward(float* probs, const float* scores, const float* row_bias, int T, int N,
                                        float inv_temperature, DropoutSpec dropout) {
  cpu::fusion_softmax_forward(context(*this), probs, scores, row_bias, T, N, inv_temperature, dropout);
}
void CpuBackend::fusion_softmax_backward(float* dscores, float* drow_bias, const float* dprobs, const float* probs,
                                         int T, int N, float inv_temperature, DropoutSpec dropout) {
  cpu::fusion_softmax_backward(context(*this), dscores, drow_bias, dprobs, probs, T, N, inv_temperature, dropout);
}
void CpuBackend::block_dot(float* out, const float* a, const float* b, const int32_t* offsets, int T, int R, int N,
                           bool accumulate) {
  cpu::block_dot(context(*this), out, a, b, offsets, T, R, N, accumulate);
}
void CpuBackend::block_scale(float* out, const float* in, const float* scale, const int32_t* offsets, int T, int R,
                             int N) {
  cpu::block_scale(context(*this), out, in, scale, offsets, T, R, N);
}
void CpuBackend::copy_rows(float* dst, size_t dst_stride, const float* src, size_t src_stride, int rows, int cols,
                           bool accumulate) {
  cpu::copy_rows(context(*this), dst, dst_stride, src, src_stride, rows, cols, accumulate);
}
double CpuBackend::sum_squares(const float* x, size_t n) { return cpu::sum_squares(context(*this), x, n); }
void CpuBackend::scale(float* x, size_t n, float s) { cpu::scale(context(*this), x, n, s); }
double CpuBackend::identity_regularizer(float* grad, const float* W, int D, float coeff) {
  return cpu::identity_regularizer(context(*this), grad, W, D, coeff);
}
void CpuBackend::adamw_update(float* p, const float* g, float* m, float* v, size_t n, float lr, float beta1,
                              float beta2, float eps, float weight_decay, float bc1, float bc2) {
  cpu::adamw_update(context(*this), p, g, m, v, n, lr, beta1, beta2, eps, weight_decay, bc1, bc2);
}

}  // namespace af::cpu

// Hot float32 elementwise kernels of Ember's CPU backend, in C so that they can use AVX2/FMA
// through per-function target attributes with run-time dispatch: no compiler flags are needed,
// and the package stays usable as a dependency (SwiftPM refuses a version-based dependency whose
// targets use unsafeFlags such as -target-cpu; a C function with __attribute__((target("avx2,fma")))
// needs no flag: https://clang.llvm.org/docs/AttributeReference.html#target).
#ifndef EMBER_KERNELS_H
#define EMBER_KERNELS_H
#include <stddef.h>

/// y[i] = exp(x[i]) (Cephes polynomial, a few ulp).
void ember_exp_f32(const float *x, float *y, ptrdiff_t n);
/// y[i] = 1 / (1 + exp(-x[i])).
void ember_sigmoid_f32(const float *x, float *y, ptrdiff_t n);
/// y[i] = tanh(x[i]).
void ember_tanh_f32(const float *x, float *y, ptrdiff_t n);
/// y[i] = x[i] * sigmoid(x[i]).
void ember_silu_f32(const float *x, float *y, ptrdiff_t n);
/// GELU, tanh approximation (book ch. 4): 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).
void ember_gelu_tanh_f32(const float *x, float *y, ptrdiff_t n);
/// Gradient of the tanh-approximation GELU: y[i] = g[i] · d gelu(x[i]) / dx.
void ember_gelu_tanh_backward_f32(const float *x, const float *g, float *y, ptrdiff_t n);
/// Softmax of one row of n values (max-subtracted); an all -inf row gives NaN as PyTorch.
void ember_softmax_row_f32(const float *x, float *y, ptrdiff_t n);
/// log-softmax of one row.
void ember_log_softmax_row_f32(const float *x, float *y, ptrdiff_t n);
/// A spin-wait hint to the CPU (x86 `pause`, ARM `yield`): the thread pool's workers call it while
/// they wait for the next job, so a spinning core yields pipeline resources and power.
static inline void ember_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
/// Whether the AVX2+FMA variants are in use (for diagnostics).
int ember_kernels_use_avx2(void);

#endif

// Matrix products whose weight operand is stored in bfloat16 or float16 and read as such, with
// float32 arithmetic: the memory-bound decode step of generation reads half the bytes of float32
// weights. AVX2+FMA(+F16C) by target attribute with run-time dispatch, and a portable fallback.
#ifndef EMBER_HALF_KERNELS_H
#define EMBER_HALF_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/// C[i, j] = Σ_p A[i, p] · W[j, p] for rows i < m and columns j0 ≤ j < j1 (x · Wᵀ, the layout of
/// `Linear`): A is float32 [m, k] with row stride lda, W is bfloat16 bit patterns [n, k] with row
/// stride ldw, C is float32 with row stride ldc. Each W element widens exactly to float32 (<< 16);
/// products are summed in float32 (fused multiply-add), in an order that differs from a BLAS.
void ember_gemm_a_wt_bf16(const float *a, ptrdiff_t lda, const uint16_t *w, ptrdiff_t ldw,
                          float *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t k, ptrdiff_t j0, ptrdiff_t j1);
/// As ``ember_gemm_a_wt_bf16`` with W in IEEE float16 (binary16) bit patterns, widened exactly.
void ember_gemm_a_wt_f16(const float *a, ptrdiff_t lda, const uint16_t *w, ptrdiff_t ldw,
                         float *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t k, ptrdiff_t j0, ptrdiff_t j1);
/// y[i] = float32(x[i]) for bfloat16 bit patterns x (exact).
void ember_bf16_to_f32(const uint16_t *x, float *y, ptrdiff_t n);
/// y[i] = float32(x[i]) for float16 bit patterns x (exact, subnormals, infinities and NaN included).
void ember_f16_to_f32(const uint16_t *x, float *y, ptrdiff_t n);
/// y[i] = bfloat16(x[i]): round to nearest even, NaN kept quiet (as `BFloat16.init(_:)`, PyTorch's rounding).
void ember_f32_to_bf16(const float *x, uint16_t *y, ptrdiff_t n);
/// y[i] = float16(x[i]): IEEE round to nearest even, overflow to infinity, subnormals, quiet NaN.
void ember_f32_to_f16(const float *x, uint16_t *y, ptrdiff_t n);
/// Which variant runs: 2 = AVX2+FMA+F16C, 0 = portable (for diagnostics).
int ember_half_kernels_level(void);
/// For tests: 0 runs the portable variants even where AVX2 is available; any other value
/// restores run-time detection (it can never select a variant the CPU lacks).
void ember_half_kernels_force_level(int level);

#endif

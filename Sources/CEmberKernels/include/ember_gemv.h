// The float32 decode-step product of generation: one row times a transposed, row-contiguous weight.
#ifndef EMBER_GEMV_H
#define EMBER_GEMV_H
#include <stddef.h>

/// y[j] = Σ_p x[p] · W[j, p] for j0 ≤ j < j1 (x · Wᵀ, the layout of `Linear`): x float32 [k], W float32
/// [n, k] with row stride ldw, y float32 [n]. Products summed in float32 with fused multiply-adds, in an
/// order that differs from a BLAS (results agree to float32 rounding, not bit for bit).
void ember_gemv_wt_f32(const float *x, const float *w, ptrdiff_t ldw, float *y, ptrdiff_t k, ptrdiff_t j0, ptrdiff_t j1);

#endif

#include "include/ember_kernels.h"   // ember_kernels_use_avx2: one CPU check for all kernels
#include "include/ember_optim.h"
#include <math.h>

// No contraction: the formula's separate multiply and add must stay separate roundings.
#pragma clang fp contract(off)

static void adam_base(float *p, const float *g, float *m, float *v, ptrdiff_t lo, ptrdiff_t n, float w,
                      float b2, float c2, float factor, float negStep, float bc2, float eps) {
    for (ptrdiff_t i = lo; i < n; i++) {
        float gi = g[i];
        float mi = fmaf(w, gi - m[i], m[i]);
        m[i] = mi;
        float vi = fmaf(c2 * gi, gi, v[i] * b2);
        v[i] = vi;
        p[i] = p[i] * factor + (negStep * mi) / (sqrtf(vi) / bc2 + eps);
    }
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define AVX_ATTR __attribute__((target("avx2,fma")))

AVX_ATTR static void adam_avx2(float *p, const float *g, float *m, float *v, ptrdiff_t n, float w,
                               float b2, float c2, float factor, float negStep, float bc2, float eps) {
    const __m256 W = _mm256_set1_ps(w), B2 = _mm256_set1_ps(b2), C2 = _mm256_set1_ps(c2);
    const __m256 F = _mm256_set1_ps(factor), S = _mm256_set1_ps(negStep);
    const __m256 BC2 = _mm256_set1_ps(bc2), EPS = _mm256_set1_ps(eps);
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i), mi = _mm256_loadu_ps(m + i), vi = _mm256_loadu_ps(v + i);
        mi = _mm256_fmadd_ps(W, _mm256_sub_ps(gi, mi), mi);
        vi = _mm256_fmadd_ps(_mm256_mul_ps(C2, gi), gi, _mm256_mul_ps(vi, B2));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), BC2), EPS);
        __m256 upd = _mm256_div_ps(_mm256_mul_ps(S, mi), denom);
        _mm256_storeu_ps(p + i, _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), F), upd));
    }
    adam_base(p, g, m, v, i, n, w, b2, c2, factor, negStep, bc2, eps);
}

#endif

void ember_adam_step_f32(float *p, const float *g, float *m, float *v, ptrdiff_t n, float w, float b2,
                         float c2, float factor, float negStep, float bc2, float eps) {
#if defined(__x86_64__) && defined(__clang__)
    if (ember_kernels_use_avx2()) { adam_avx2(p, g, m, v, n, w, b2, c2, factor, negStep, bc2, eps); return; }
#endif
    adam_base(p, g, m, v, 0, n, w, b2, c2, factor, negStep, bc2, eps);
}

// y[j] = Σ_p x[p] · W[j, p] over columns j0 ≤ j < j1: the decode step of generation (one token, x · Wᵀ
// with Linear's row-contiguous W). It only streams W once from memory, so its speed is memory
// bandwidth; OpenBLAS's sgemv reaches about half of that on this kind of machine. AVX2+FMA by
// target attribute with run-time dispatch, and a portable fallback.
#include "include/ember_kernels.h"   // ember_kernels_use_avx2: one CPU check for all kernels
#include "include/ember_gemv.h"

static void gemv_base(const float *x, const float *w, ptrdiff_t ldw, float *y, ptrdiff_t k, ptrdiff_t j0, ptrdiff_t j1) {
    for (ptrdiff_t j = j0; j < j1; j++) {
        const float *wr = w + j * ldw;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        ptrdiff_t p = 0;
        for (; p + 4 <= k; p += 4) {
            s0 += x[p] * wr[p]; s1 += x[p + 1] * wr[p + 1];
            s2 += x[p + 2] * wr[p + 2]; s3 += x[p + 3] * wr[p + 3];
        }
        for (; p < k; p++) s0 += x[p] * wr[p];
        y[j] = (s0 + s1) + (s2 + s3);
    }
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define AVX_ATTR __attribute__((target("avx2,fma")))

AVX_ATTR static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Four W rows at a time, two accumulators each (eight independent FMA chains), x from L1.
AVX_ATTR static void gemv_avx2(const float *x, const float *w, ptrdiff_t ldw, float *y, ptrdiff_t k,
                               ptrdiff_t j0, ptrdiff_t j1) {
    ptrdiff_t j = j0;
    // Eight W rows at a time: eight streams in flight per core keep more cache-line fetches going.
    for (; j + 8 <= j1; j += 8) {
        const float *r[8];
        for (int q = 0; q < 8; q++) r[q] = w + (j + q) * ldw;
        __m256 c[8];
        for (int q = 0; q < 8; q++) c[q] = _mm256_setzero_ps();
        ptrdiff_t p = 0;
        for (; p + 8 <= k; p += 8) {
            __m256 a = _mm256_loadu_ps(x + p);
            for (int q = 0; q < 8; q++) c[q] = _mm256_fmadd_ps(a, _mm256_loadu_ps(r[q] + p), c[q]);
        }
        for (int q = 0; q < 8; q++) {
            float s = hsum8(c[q]);
            for (ptrdiff_t t = p; t < k; t++) s += x[t] * r[q][t];
            y[j + q] = s;
        }
    }
    for (; j + 4 <= j1; j += 4) {
        const float *w0 = w + j * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
        __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, d0 = c0, d1 = c0, d2 = c0, d3 = c0;
        ptrdiff_t p = 0;
        for (; p + 16 <= k; p += 16) {
            __m256 a = _mm256_loadu_ps(x + p), b = _mm256_loadu_ps(x + p + 8);
            c0 = _mm256_fmadd_ps(a, _mm256_loadu_ps(w0 + p), c0); d0 = _mm256_fmadd_ps(b, _mm256_loadu_ps(w0 + p + 8), d0);
            c1 = _mm256_fmadd_ps(a, _mm256_loadu_ps(w1 + p), c1); d1 = _mm256_fmadd_ps(b, _mm256_loadu_ps(w1 + p + 8), d1);
            c2 = _mm256_fmadd_ps(a, _mm256_loadu_ps(w2 + p), c2); d2 = _mm256_fmadd_ps(b, _mm256_loadu_ps(w2 + p + 8), d2);
            c3 = _mm256_fmadd_ps(a, _mm256_loadu_ps(w3 + p), c3); d3 = _mm256_fmadd_ps(b, _mm256_loadu_ps(w3 + p + 8), d3);
        }
        float s0 = hsum8(_mm256_add_ps(c0, d0)), s1 = hsum8(_mm256_add_ps(c1, d1));
        float s2 = hsum8(_mm256_add_ps(c2, d2)), s3 = hsum8(_mm256_add_ps(c3, d3));
        for (; p < k; p++) { float a = x[p]; s0 += a * w0[p]; s1 += a * w1[p]; s2 += a * w2[p]; s3 += a * w3[p]; }
        y[j] = s0; y[j + 1] = s1; y[j + 2] = s2; y[j + 3] = s3;
    }
    for (; j < j1; j++) {
        const float *wr = w + j * ldw;
        __m256 c0 = _mm256_setzero_ps();
        ptrdiff_t p = 0;
        for (; p + 8 <= k; p += 8) c0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p), _mm256_loadu_ps(wr + p), c0);
        float s = hsum8(c0);
        for (; p < k; p++) s += x[p] * wr[p];
        y[j] = s;
    }
}

#endif

void ember_gemv_wt_f32(const float *x, const float *w, ptrdiff_t ldw, float *y, ptrdiff_t k, ptrdiff_t j0, ptrdiff_t j1) {
#if defined(__x86_64__) && defined(__clang__)
    if (ember_kernels_use_avx2()) { gemv_avx2(x, w, ldw, y, k, j0, j1); return; }
#endif
    gemv_base(x, w, ldw, y, k, j0, j1);
}

#include "ember_half_kernels.h"
#include <stdlib.h>
#include <string.h>

// Weight-streaming products for half-precision weights (bfloat16, float16) with float32
// arithmetic. Batch-1 decoding computes x · Wᵀ with one row x: every weight is used once, so the
// time is the time to read W, and W in 16 bits halves it. Each routine is written once as a macro
// body and compiled for AVX2+FMA+F16C (target attribute) and for baseline C; public entry points
// dispatch at run time, as kernels.c does.

// ---- portable scalar conversions ----

static inline float bf16_bits_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

// IEEE binary16 -> binary32, exact: renormalises subnormals, keeps infinities and NaN payloads.
static inline float f16_bits_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t man = h & 0x3FFu;
    uint32_t u;
    if (exp == 0x1Fu) {
        u = sign | 0x7F800000u | (man << 13);
    } else if (exp != 0) {
        u = sign | ((exp + 112u) << 23) | (man << 13);      // rebias 15 -> 127
    } else if (man == 0) {
        u = sign;
    } else {
        // Subnormal: value = man · 2^-24; shift the leading 1 up to bit 10.
        int e = -1;
        do { man <<= 1; e++; } while ((man & 0x400u) == 0);
        u = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3FFu) << 13);
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

// float32 -> bfloat16, round to nearest even; NaN stays a quiet NaN (BFloat16.init(_:) in Swift).
static inline uint16_t f32_to_bf16_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if (f != f) return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

// float32 -> IEEE binary16, round to nearest even, with overflow to infinity, subnormals, and NaN
// kept quiet with its top payload bits (as compiler-rt's __truncsfhf2 and F16C's vcvtps2ph).
static inline uint16_t f32_to_f16_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return sign | 0x7E00u | (uint16_t)((a >> 13) & 0x3FFu);   // NaN
    if (a >= 0x477FF000u) return sign | 0x7C00u;                  // rounds to ≥ 65520: infinity
    if (a >= 0x38800000u) {                                       // normal in half precision
        uint32_t r = a + 0xFFFu + ((a >> 13) & 1u) - 0x38000000u; // rebias 127 -> 15, round
        return sign | (uint16_t)(r >> 13);
    }
    if (a < 0x33000000u) return sign;                             // below half the smallest subnormal
    // Subnormal result: shift the significand (with its implicit 1) right, rounding to even.
    uint32_t e = a >> 23, man = (a & 0x7FFFFFu) | 0x800000u;
    uint32_t shift = 126u - e;                                    // 14 + (113 - e)
    uint32_t q = man >> shift, rem = man & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return sign | (uint16_t)q;
}

static void f32_to_bf16_base(const float *x, uint16_t *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = f32_to_bf16_bits(x[i]);
}
static void f32_to_f16_base(const float *x, uint16_t *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = f32_to_f16_bits(x[i]);
}

static void bf16_to_f32_base(const uint16_t *x, float *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = bf16_bits_to_f32(x[i]);
}
static void f16_to_f32_base(const uint16_t *x, float *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = f16_bits_to_f32(x[i]);
}

// Portable product: one dot product per (i, j), four float32 partial sums.
#define DEFINE_BASE_GEMM(NAME, CVT)                                                               \
static void NAME(const float *a, ptrdiff_t lda, const uint16_t *w, ptrdiff_t ldw, float *c,      \
                 ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t k, ptrdiff_t j0, ptrdiff_t j1) {          \
    for (ptrdiff_t j = j0; j < j1; j++) {                                                         \
        const uint16_t *wr = w + j * ldw;                                                         \
        for (ptrdiff_t i = 0; i < m; i++) {                                                       \
            const float *ar = a + i * lda;                                                        \
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                                 \
            ptrdiff_t p = 0;                                                                      \
            for (; p + 4 <= k; p += 4) {                                                          \
                s0 += ar[p] * CVT(wr[p]);         s1 += ar[p + 1] * CVT(wr[p + 1]);               \
                s2 += ar[p + 2] * CVT(wr[p + 2]); s3 += ar[p + 3] * CVT(wr[p + 3]);               \
            }                                                                                     \
            for (; p < k; p++) s0 += ar[p] * CVT(wr[p]);                                          \
            c[i * ldc + j] = (s0 + s1) + (s2 + s3);                                               \
        }                                                                                         \
    }                                                                                             \
}
DEFINE_BASE_GEMM(gemm_bf16_base, bf16_bits_to_f32)
DEFINE_BASE_GEMM(gemm_f16_base, f16_bits_to_f32)

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define AVX_ATTR __attribute__((target("avx2,fma,f16c")))

AVX_ATTR static inline __m256 load8_bf16(const uint16_t *p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}
AVX_ATTR static inline __m256 load8_f16(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}
AVX_ATTR static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// One A row (the decode step): four W rows at a time, read straight from their 16-bit form with
// two accumulators per row (16 elements per step, eight FMA chains in flight); W is read once.
// Several A rows: the four W rows are widened once into a float32 buffer (L1/L2-resident) and
// pairs of A rows pass over it with 4×2 accumulators, so the widening is not repeated per row.
#define DEFINE_AVX_GEMM(NAME, LOAD8, CVT, WIDEN)                                                  \
AVX_ATTR static void NAME(const float *a, ptrdiff_t lda, const uint16_t *w, ptrdiff_t ldw,       \
                          float *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t k, ptrdiff_t j0,       \
                          ptrdiff_t j1) {                                                         \
    ptrdiff_t j = j0;                                                                             \
    if (m == 1) {                                                                                 \
        for (; j + 4 <= j1; j += 4) {                                                             \
            const uint16_t *w0 = w + j * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;     \
            __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;                           \
            __m256 d0 = c0, d1 = c0, d2 = c0, d3 = c0;                                            \
            ptrdiff_t p = 0;                                                                      \
            for (; p + 16 <= k; p += 16) {                                                        \
                __m256 x = _mm256_loadu_ps(a + p), y = _mm256_loadu_ps(a + p + 8);                \
                c0 = _mm256_fmadd_ps(x, LOAD8(w0 + p), c0); d0 = _mm256_fmadd_ps(y, LOAD8(w0 + p + 8), d0); \
                c1 = _mm256_fmadd_ps(x, LOAD8(w1 + p), c1); d1 = _mm256_fmadd_ps(y, LOAD8(w1 + p + 8), d1); \
                c2 = _mm256_fmadd_ps(x, LOAD8(w2 + p), c2); d2 = _mm256_fmadd_ps(y, LOAD8(w2 + p + 8), d2); \
                c3 = _mm256_fmadd_ps(x, LOAD8(w3 + p), c3); d3 = _mm256_fmadd_ps(y, LOAD8(w3 + p + 8), d3); \
            }                                                                                     \
            for (; p + 8 <= k; p += 8) {                                                          \
                __m256 x = _mm256_loadu_ps(a + p);                                                \
                c0 = _mm256_fmadd_ps(x, LOAD8(w0 + p), c0);                                       \
                c1 = _mm256_fmadd_ps(x, LOAD8(w1 + p), c1);                                       \
                c2 = _mm256_fmadd_ps(x, LOAD8(w2 + p), c2);                                       \
                c3 = _mm256_fmadd_ps(x, LOAD8(w3 + p), c3);                                       \
            }                                                                                     \
            float s0 = hsum8(_mm256_add_ps(c0, d0)), s1 = hsum8(_mm256_add_ps(c1, d1));           \
            float s2 = hsum8(_mm256_add_ps(c2, d2)), s3 = hsum8(_mm256_add_ps(c3, d3));           \
            for (; p < k; p++) {                                                                  \
                float x = a[p];                                                                   \
                s0 += x * CVT(w0[p]); s1 += x * CVT(w1[p]);                                       \
                s2 += x * CVT(w2[p]); s3 += x * CVT(w3[p]);                                       \
            }                                                                                     \
            c[j] = s0; c[j + 1] = s1; c[j + 2] = s2; c[j + 3] = s3;                               \
        }                                                                                         \
    } else if (j + 4 <= j1) {                                                                     \
        float *buf = (float *)malloc((size_t)(4 * k) * sizeof(float));                           \
        if (buf) {                                                                                \
            const float *b0 = buf, *b1 = buf + k, *b2 = buf + 2 * k, *b3 = buf + 3 * k;           \
            for (; j + 4 <= j1; j += 4) {                                                         \
                for (int r = 0; r < 4; r++) WIDEN(w + (j + r) * ldw, buf + r * k, k);            \
                ptrdiff_t i = 0;                                                                  \
                for (; i + 2 <= m; i += 2) {                                                      \
                    const float *x0 = a + i * lda, *x1 = x0 + lda;                                \
                    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;                   \
                    __m256 d0 = c0, d1 = c0, d2 = c0, d3 = c0;                                    \
                    ptrdiff_t p = 0;                                                              \
                    for (; p + 8 <= k; p += 8) {                                                  \
                        __m256 v0 = _mm256_loadu_ps(b0 + p), v1 = _mm256_loadu_ps(b1 + p);        \
                        __m256 v2 = _mm256_loadu_ps(b2 + p), v3 = _mm256_loadu_ps(b3 + p);        \
                        __m256 x = _mm256_loadu_ps(x0 + p);                                       \
                        c0 = _mm256_fmadd_ps(x, v0, c0); c1 = _mm256_fmadd_ps(x, v1, c1);         \
                        c2 = _mm256_fmadd_ps(x, v2, c2); c3 = _mm256_fmadd_ps(x, v3, c3);         \
                        x = _mm256_loadu_ps(x1 + p);                                              \
                        d0 = _mm256_fmadd_ps(x, v0, d0); d1 = _mm256_fmadd_ps(x, v1, d1);         \
                        d2 = _mm256_fmadd_ps(x, v2, d2); d3 = _mm256_fmadd_ps(x, v3, d3);         \
                    }                                                                             \
                    float s[8] = {hsum8(c0), hsum8(c1), hsum8(c2), hsum8(c3),                     \
                                  hsum8(d0), hsum8(d1), hsum8(d2), hsum8(d3)};                    \
                    for (; p < k; p++) {                                                          \
                        float y0 = x0[p], y1 = x1[p];                                             \
                        s[0] += y0 * b0[p]; s[1] += y0 * b1[p]; s[2] += y0 * b2[p]; s[3] += y0 * b3[p]; \
                        s[4] += y1 * b0[p]; s[5] += y1 * b1[p]; s[6] += y1 * b2[p]; s[7] += y1 * b3[p]; \
                    }                                                                             \
                    float *r0 = c + i * ldc + j, *r1 = r0 + ldc;                                  \
                    r0[0] = s[0]; r0[1] = s[1]; r0[2] = s[2]; r0[3] = s[3];                       \
                    r1[0] = s[4]; r1[1] = s[5]; r1[2] = s[6]; r1[3] = s[7];                       \
                }                                                                                 \
                for (; i < m; i++) {                                                              \
                    const float *x0 = a + i * lda;                                                \
                    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;                   \
                    ptrdiff_t p = 0;                                                              \
                    for (; p + 8 <= k; p += 8) {                                                  \
                        __m256 x = _mm256_loadu_ps(x0 + p);                                       \
                        c0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b0 + p), c0);                     \
                        c1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b1 + p), c1);                     \
                        c2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b2 + p), c2);                     \
                        c3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b3 + p), c3);                     \
                    }                                                                             \
                    float s0 = hsum8(c0), s1 = hsum8(c1), s2 = hsum8(c2), s3 = hsum8(c3);         \
                    for (; p < k; p++) {                                                          \
                        float y = x0[p];                                                          \
                        s0 += y * b0[p]; s1 += y * b1[p]; s2 += y * b2[p]; s3 += y * b3[p];       \
                    }                                                                             \
                    float *r0 = c + i * ldc + j;                                                  \
                    r0[0] = s0; r0[1] = s1; r0[2] = s2; r0[3] = s3;                               \
                }                                                                                 \
            }                                                                                     \
            free(buf);                                                                            \
        }                                                                                         \
    }                                                                                             \
    /* Leftover W rows (and every row if the buffer could not be allocated). */                   \
    for (; j < j1; j++) {                                                                         \
        const uint16_t *w0 = w + j * ldw;                                                         \
        for (ptrdiff_t i = 0; i < m; i++) {                                                       \
            const float *ar = a + i * lda;                                                        \
            __m256 c0 = _mm256_setzero_ps();                                                      \
            ptrdiff_t p = 0;                                                                      \
            for (; p + 8 <= k; p += 8) c0 = _mm256_fmadd_ps(_mm256_loadu_ps(ar + p), LOAD8(w0 + p), c0); \
            float s0 = hsum8(c0);                                                                 \
            for (; p < k; p++) s0 += ar[p] * CVT(w0[p]);                                          \
            c[i * ldc + j] = s0;                                                                  \
        }                                                                                         \
    }                                                                                             \
}
AVX_ATTR static void bf16_to_f32_avx2(const uint16_t *x, float *y, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load8_bf16(x + i));
    for (; i < n; i++) y[i] = bf16_bits_to_f32(x[i]);
}
AVX_ATTR static void f16_to_f32_avx2(const uint16_t *x, float *y, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load8_f16(x + i));
    for (; i < n; i++) y[i] = f16_bits_to_f32(x[i]);
}

AVX_ATTR static void f32_to_bf16_avx2(const float *x, uint16_t *y, ptrdiff_t n) {
    const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7FFF), quiet = _mm256_set1_epi32(0x40);
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i r[2];
        for (int h = 0; h < 2; h++) {
            __m256 f = _mm256_loadu_ps(x + i + 8 * h);
            __m256i u = _mm256_castps_si256(f);
            __m256i top = _mm256_srli_epi32(u, 16);
            __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(bias, _mm256_and_si256(top, one))), 16);
            __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(f, f, _CMP_UNORD_Q));
            r[h] = _mm256_blendv_epi8(rounded, _mm256_or_si256(top, quiet), nan);
        }
        // packus interleaves 128-bit lanes; the permute puts the 16 results back in order.
        __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r[0], r[1]), 0xD8);
        _mm256_storeu_si256((__m256i *)(y + i), packed);
    }
    for (; i < n; i++) y[i] = f32_to_bf16_bits(x[i]);
}
AVX_ATTR static void f32_to_f16_avx2(const float *x, uint16_t *y, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) y[i] = f32_to_f16_bits(x[i]);
}

DEFINE_AVX_GEMM(gemm_bf16_avx2, load8_bf16, bf16_bits_to_f32, bf16_to_f32_avx2)
// One A row with bfloat16 W (the decode step): a 32-byte load holds 16 weights, and read as eight
// 32-bit lanes, lane i carries element 2i in its low half and 2i+1 in its high half. So `lane << 16`
// is the float32 of the even element and `lane & 0xFFFF0000` the float32 of the odd one: two
// cheap integer µops widen 16 weights, with no lane-crossing shuffle. x is split once into
// even/odd halves per 16-element block to match. W is read one row at a time, front to back:
// measured on this machine, one sequential stream per core reads bf16 W at 36.7 GB/s with two
// threads where passes over 4 or 8 rows at once reached 12–19 GB/s.
AVX_ATTR static void gemv_bf16_avx2(const float *x, const uint16_t *w, ptrdiff_t ldw, float *y,
                                    ptrdiff_t k, ptrdiff_t j0, ptrdiff_t j1) {
    ptrdiff_t kb = k / 16 * 16, k32 = k / 32 * 32;
    float stackbuf[4096] __attribute__((aligned(32)));
    float *xs = kb <= 4096 ? stackbuf : (float *)aligned_alloc(32, (size_t)kb * sizeof(float));
    if (!xs) { gemm_bf16_avx2(x, k, w, ldw, y, 1, 1, k, j0, j1); return; }
    for (ptrdiff_t p = 0; p < kb; p += 16)
        for (int i = 0; i < 8; i++) { xs[p + i] = x[p + 2 * i]; xs[p + 8 + i] = x[p + 2 * i + 1]; }
    const __m256i hi = _mm256_set1_epi32((int)0xFFFF0000u);
#define BF16_EVEN(v) _mm256_castsi256_ps(_mm256_slli_epi32(v, 16))
#define BF16_ODD(v) _mm256_castsi256_ps(_mm256_and_si256(v, hi))
    for (ptrdiff_t j = j0; j < j1; j++) {
        const uint16_t *r = w + j * ldw;
        __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;      // four independent FMA chains
        ptrdiff_t p = 0;
        for (; p < k32; p += 32) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(r + p));
            __m256i u = _mm256_loadu_si256((const __m256i *)(r + p + 16));
            a = _mm256_fmadd_ps(_mm256_load_ps(xs + p), BF16_EVEN(v), a);
            b = _mm256_fmadd_ps(_mm256_load_ps(xs + p + 8), BF16_ODD(v), b);
            c = _mm256_fmadd_ps(_mm256_load_ps(xs + p + 16), BF16_EVEN(u), c);
            d = _mm256_fmadd_ps(_mm256_load_ps(xs + p + 24), BF16_ODD(u), d);
        }
        if (p < kb) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(r + p));
            a = _mm256_fmadd_ps(_mm256_load_ps(xs + p), BF16_EVEN(v), a);
            b = _mm256_fmadd_ps(_mm256_load_ps(xs + p + 8), BF16_ODD(v), b);
        }
        float s = hsum8(_mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
        for (p = kb; p < k; p++) s += x[p] * bf16_bits_to_f32(r[p]);
        y[j] = s;
    }
#undef BF16_EVEN
#undef BF16_ODD
    if (xs != stackbuf) free(xs);
}

DEFINE_AVX_GEMM(gemm_f16_avx2, load8_f16, f16_bits_to_f32, f16_to_f32_avx2)


static int forced_level = -1;
void ember_half_kernels_force_level(int level) { forced_level = level; }

int ember_half_kernels_level(void) {
    static int cached = -1;
    if (forced_level == 0) return 0;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                  && __builtin_cpu_supports("f16c")) ? 2 : 0;
    }
    return cached;
}
#define HALF_DISPATCH(name, ...) do { if (ember_half_kernels_level() == 2) name##_avx2(__VA_ARGS__); else name##_base(__VA_ARGS__); } while (0)
#else
void ember_half_kernels_force_level(int level) { (void)level; }
int ember_half_kernels_level(void) { return 0; }
#define HALF_DISPATCH(name, ...) name##_base(__VA_ARGS__)
#endif

void ember_gemm_a_wt_bf16(const float *a, ptrdiff_t lda, const uint16_t *w, ptrdiff_t ldw,
                          float *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t k, ptrdiff_t j0, ptrdiff_t j1) {
#if defined(__x86_64__) && defined(__clang__)
    if (m == 1 && ember_half_kernels_level() == 2) { gemv_bf16_avx2(a, w, ldw, c, k, j0, j1); return; }
#endif
    HALF_DISPATCH(gemm_bf16, a, lda, w, ldw, c, ldc, m, k, j0, j1);
}
void ember_gemm_a_wt_f16(const float *a, ptrdiff_t lda, const uint16_t *w, ptrdiff_t ldw,
                         float *c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t k, ptrdiff_t j0, ptrdiff_t j1) {
    HALF_DISPATCH(gemm_f16, a, lda, w, ldw, c, ldc, m, k, j0, j1);
}
void ember_bf16_to_f32(const uint16_t *x, float *y, ptrdiff_t n) { HALF_DISPATCH(bf16_to_f32, x, y, n); }
void ember_f16_to_f32(const uint16_t *x, float *y, ptrdiff_t n) { HALF_DISPATCH(f16_to_f32, x, y, n); }
void ember_f32_to_bf16(const float *x, uint16_t *y, ptrdiff_t n) { HALF_DISPATCH(f32_to_bf16, x, y, n); }
void ember_f32_to_f16(const float *x, uint16_t *y, ptrdiff_t n) { HALF_DISPATCH(f32_to_f16, x, y, n); }

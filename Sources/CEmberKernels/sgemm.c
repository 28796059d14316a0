// Ember's built-in float32 GEMM (see ember_gemm.h): the GotoBLAS/BLIS loop nest.
//
//   for jc in n by NC:            B panel  KC×NC  packed once per (jc, pc)      (L3)
//     for pc in k by KC:
//       pack B[pc, jc] into NR-column slivers
//       for ic in m by MC:        A block  MC×KC  packed once per (jc, pc, ic)  (L2)
//         pack A[ic, pc] into MR-row slivers
//         for jr in nc by NR:     B sliver KC×NR stays in L1
//           for ir in mc by MR:   micro-kernel: MR×NR of C in registers, KC rank-1 updates
//
// Transposed operands are read through their strides while packing; edge tiles (m or n not a
// multiple of the micro-tile) are computed into a stack tile and merged. Buffers are per thread.
#include "ember_gemm.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define EMBER_GEMM_X86 1
#endif

#define AVX2_ATTR __attribute__((target("avx2,fma")))
#define AVX512_ATTR __attribute__((target("avx512f,avx2,fma")))

static inline ptrdiff_t min_pd(ptrdiff_t a, ptrdiff_t b) { return a < b ? a : b; }
static inline ptrdiff_t ceil_div(ptrdiff_t a, ptrdiff_t b) { return (a + b - 1) / b; }

// MARK: - Per-thread packing buffers

static pthread_key_t buffer_key;
static pthread_once_t buffer_once = PTHREAD_ONCE_INIT;
typedef struct { float *data; size_t capacity; } gemm_buffer;

static void buffer_free(void *p) {
    gemm_buffer *b = p;
    free(b->data);
    free(b);
}
static void buffer_key_create(void) { pthread_key_create(&buffer_key, buffer_free); }

/// A 64-byte aligned buffer of at least `count` floats owned by the calling thread, or NULL when
/// out of memory.
static float *thread_buffer(size_t count) {
    pthread_once(&buffer_once, buffer_key_create);
    gemm_buffer *b = pthread_getspecific(buffer_key);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b) return NULL;
        pthread_setspecific(buffer_key, b);
    }
    if (b->capacity < count) {
        free(b->data);
        b->data = NULL;
        b->capacity = 0;
        void *p = NULL;
        if (posix_memalign(&p, 64, count * sizeof(float)) != 0) return NULL;
        b->data = p;
        b->capacity = count;
    }
    return b->data;
}

// MARK: - Packing (generic bodies, instantiated per instruction set with constant MR/NR)

/// Packs the mc×kc block of op(A) at (i0, p0) into MR-row slivers: sliver s holds
/// ap[s·MR·kc + p·MR + r] = op(A)(i0 + s·MR + r, p0 + p), rows past mc zero.
static inline void pack_a_body(int ta, const float *a, ptrdiff_t lda, ptrdiff_t i0, ptrdiff_t p0,
                               ptrdiff_t mc, ptrdiff_t kc, float *ap, const int MR) {
    for (ptrdiff_t ir = 0; ir < mc; ir += MR) {
        ptrdiff_t mr = min_pd(MR, mc - ir);
        float *dst = ap + ir * kc;
        if (!ta) {
            const float *src = a + (i0 + ir) * lda + p0;
            if (mr == MR) {
                for (ptrdiff_t p = 0; p < kc; p++)
                    for (int r = 0; r < MR; r++) dst[p * MR + r] = src[r * lda + p];
            } else {
                for (ptrdiff_t p = 0; p < kc; p++)
                    for (int r = 0; r < MR; r++) dst[p * MR + r] = r < mr ? src[r * lda + p] : 0.0f;
            }
        } else {
            const float *src = a + p0 * lda + i0 + ir;
            if (mr == MR) {
                for (ptrdiff_t p = 0; p < kc; p++)
                    for (int r = 0; r < MR; r++) dst[p * MR + r] = src[p * lda + r];
            } else {
                for (ptrdiff_t p = 0; p < kc; p++)
                    for (int r = 0; r < MR; r++) dst[p * MR + r] = r < mr ? src[p * lda + r] : 0.0f;
            }
        }
    }
}

/// Packs the kc×nc block of op(B) at (p0, j0) into NR-column slivers: sliver s holds
/// bp[s·NR·kc + p·NR + j] = op(B)(p0 + p, j0 + s·NR + j), columns past nc zero. `transpose8` (may
/// be NULL) moves an 8×8 block from 8 rows of the stored Bᵀ into 8 packed rows.
static inline void pack_b_body(int tb, const float *b, ptrdiff_t ldb, ptrdiff_t p0, ptrdiff_t j0,
                               ptrdiff_t kc, ptrdiff_t nc, float *bp, const int NR,
                               void (*transpose8)(const float *, ptrdiff_t, float *, ptrdiff_t)) {
    for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
        ptrdiff_t nr = min_pd(NR, nc - jr);
        float *dst = bp + jr * kc;
        if (!tb) {
            const float *src = b + p0 * ldb + j0 + jr;
            if (nr == NR) {
                for (ptrdiff_t p = 0; p < kc; p++)
                    for (int j = 0; j < NR; j++) dst[p * NR + j] = src[p * ldb + j];
            } else {
                for (ptrdiff_t p = 0; p < kc; p++)
                    for (int j = 0; j < NR; j++) dst[p * NR + j] = j < nr ? src[p * ldb + j] : 0.0f;
            }
        } else {
            const float *src = b + (j0 + jr) * ldb + p0;
            ptrdiff_t p = 0;
            if (nr == NR && transpose8) {
                for (; p + 8 <= kc; p += 8)
                    for (int j = 0; j < NR; j += 8) transpose8(src + j * ldb + p, ldb, dst + p * NR + j, NR);
            }
            if (nr == NR) {
                for (; p < kc; p++)
                    for (int j = 0; j < NR; j++) dst[p * NR + j] = src[j * ldb + p];
            } else {
                for (; p < kc; p++)
                    for (int j = 0; j < NR; j++) dst[p * NR + j] = j < nr ? src[j * ldb + p] : 0.0f;
            }
        }
    }
}

// MARK: - The loop nest (generic body, instantiated per instruction set)

typedef void (*micro_kernel)(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc, int acc);
typedef void (*pack_a_fn)(int, const float *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, float *);
typedef void (*pack_b_fn)(int, const float *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, float *);

/// Splits `total` into the fewest blocks of at most `limit`, of equal size rounded up to `unit`
/// (a k of 257 gives two blocks of 129 and 128 rather than 256 and 1).
static inline ptrdiff_t balanced_block(ptrdiff_t total, ptrdiff_t limit, ptrdiff_t unit) {
    ptrdiff_t blocks = ceil_div(total, limit);
    ptrdiff_t size = ceil_div(ceil_div(total, blocks), unit) * unit;
    return size < limit ? size : limit;
}

static inline int gemm_body(int ta, int tb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                            const float *b, ptrdiff_t ldb, int accumulate, float *c, ptrdiff_t ldc,
                            const int MR, const int NR, const ptrdiff_t MC, const ptrdiff_t KC, const ptrdiff_t NC,
                            micro_kernel kernel, pack_a_fn pack_a, pack_b_fn pack_b, float *tile) {
    ptrdiff_t kcMax = balanced_block(k, KC, 4);
    ptrdiff_t mcMax = balanced_block(m, MC, MR);
    ptrdiff_t ncMax = balanced_block(n, NC, NR);
    size_t aSize = (size_t)(ceil_div(mcMax, MR) * MR * kcMax);
    size_t bSize = (size_t)(ceil_div(ncMax, NR) * NR * kcMax);
    float *buf = thread_buffer(aSize + bSize + 16);
    if (!buf) return -1;
    float *ap = buf, *bp = buf + ((aSize + 15) & ~(size_t)15);
    for (ptrdiff_t jc = 0; jc < n; jc += ncMax) {
        ptrdiff_t nc = min_pd(ncMax, n - jc);
        for (ptrdiff_t pc = 0; pc < k; pc += kcMax) {
            ptrdiff_t kc = min_pd(kcMax, k - pc);
            int acc = accumulate || pc > 0;
            pack_b(tb, b, ldb, pc, jc, kc, nc, bp);
            for (ptrdiff_t ic = 0; ic < m; ic += mcMax) {
                ptrdiff_t mc = min_pd(mcMax, m - ic);
                pack_a(ta, a, lda, ic, pc, mc, kc, ap);
                for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
                    ptrdiff_t nr = min_pd(NR, nc - jr);
                    const float *bs = bp + jr * kc;
                    for (ptrdiff_t ir = 0; ir < mc; ir += MR) {
                        ptrdiff_t mr = min_pd(MR, mc - ir);
                        const float *as = ap + ir * kc;
                        float *cs = c + (ic + ir) * ldc + jc + jr;
                        if (mr == MR && nr == NR) {
                            kernel(kc, as, bs, cs, ldc, acc);
                        } else {
                            kernel(kc, as, bs, tile, NR, 0);
                            for (ptrdiff_t i = 0; i < mr; i++) {
                                if (acc) {
                                    for (ptrdiff_t j = 0; j < nr; j++) cs[i * ldc + j] += tile[i * NR + j];
                                } else {
                                    for (ptrdiff_t j = 0; j < nr; j++) cs[i * ldc + j] = tile[i * NR + j];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return 0;
}

// MARK: - Portable micro-kernel (4×8 in 4-float vectors of the compiler's vector extension:
// SSE2 on baseline x86-64, NEON on arm64; https://clang.llvm.org/docs/LanguageExtensions.html#vectors-and-extended-vectors)

enum { P_MR = 4, P_NR = 8, P_MC = 128, P_KC = 256, P_NC = 2048 };
typedef float v4f __attribute__((vector_size(16)));

static inline v4f v4_load(const float *p) { v4f v; memcpy(&v, p, sizeof v); return v; }
static inline void v4_store(float *p, v4f v) { memcpy(p, &v, sizeof v); }

static void kernel_portable(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc, int acc) {
    v4f t00 = {0, 0, 0, 0}, t01 = t00, t10 = t00, t11 = t00, t20 = t00, t21 = t00, t30 = t00, t31 = t00;
    for (ptrdiff_t p = 0; p < kc; p++) {
        v4f b0 = v4_load(b), b1 = v4_load(b + 4);
        t00 += a[0] * b0; t01 += a[0] * b1;
        t10 += a[1] * b0; t11 += a[1] * b1;
        t20 += a[2] * b0; t21 += a[2] * b1;
        t30 += a[3] * b0; t31 += a[3] * b1;
        a += P_MR;
        b += P_NR;
    }
    if (acc) {
        t00 += v4_load(c); t01 += v4_load(c + 4);
        t10 += v4_load(c + ldc); t11 += v4_load(c + ldc + 4);
        t20 += v4_load(c + 2 * ldc); t21 += v4_load(c + 2 * ldc + 4);
        t30 += v4_load(c + 3 * ldc); t31 += v4_load(c + 3 * ldc + 4);
    }
    v4_store(c, t00); v4_store(c + 4, t01);
    v4_store(c + ldc, t10); v4_store(c + ldc + 4, t11);
    v4_store(c + 2 * ldc, t20); v4_store(c + 2 * ldc + 4, t21);
    v4_store(c + 3 * ldc, t30); v4_store(c + 3 * ldc + 4, t31);
}
static void pack_a_portable(int ta, const float *a, ptrdiff_t lda, ptrdiff_t i0, ptrdiff_t p0, ptrdiff_t mc,
                            ptrdiff_t kc, float *ap) {
    pack_a_body(ta, a, lda, i0, p0, mc, kc, ap, P_MR);
}
static void pack_b_portable(int tb, const float *b, ptrdiff_t ldb, ptrdiff_t p0, ptrdiff_t j0, ptrdiff_t kc,
                            ptrdiff_t nc, float *bp) {
    pack_b_body(tb, b, ldb, p0, j0, kc, nc, bp, P_NR, NULL);
}
static int gemm_portable(int ta, int tb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                         const float *b, ptrdiff_t ldb, int accumulate, float *c, ptrdiff_t ldc) {
    float tile[P_MR * P_NR] __attribute__((aligned(64)));
    return gemm_body(ta, tb, m, n, k, a, lda, b, ldb, accumulate, c, ldc, P_MR, P_NR, P_MC, P_KC, P_NC,
                     kernel_portable, pack_a_portable, pack_b_portable, tile);
}

#if EMBER_GEMM_X86
// MARK: - 8×8 transpose (packing Bᵀ), AVX

/// dst[q·ldd + j] = src[j·lds + q] for q, j < 8.
AVX2_ATTR static void transpose8_avx2(const float *src, ptrdiff_t lds, float *dst, ptrdiff_t ldd) {
    __m256 r0 = _mm256_loadu_ps(src + 0 * lds), r1 = _mm256_loadu_ps(src + 1 * lds);
    __m256 r2 = _mm256_loadu_ps(src + 2 * lds), r3 = _mm256_loadu_ps(src + 3 * lds);
    __m256 r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// MARK: - AVX2 + FMA micro-kernel: 6×16 (12 ymm accumulators, 2 B loads, 1 broadcast)

enum { A2_MR = 6, A2_NR = 16, A2_MC = 144, A2_KC = 256, A2_NC = 2048 };

#define A2_ROW(R)                                                       \
    {                                                                   \
        __m256 av = _mm256_broadcast_ss(a + (R));                       \
        c##R##0 = _mm256_fmadd_ps(av, b0, c##R##0);                     \
        c##R##1 = _mm256_fmadd_ps(av, b1, c##R##1);                     \
    }
#define A2_STEP                                                         \
    {                                                                   \
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);      \
        A2_ROW(0) A2_ROW(1) A2_ROW(2) A2_ROW(3) A2_ROW(4) A2_ROW(5)     \
        a += A2_MR;                                                     \
        b += A2_NR;                                                     \
    }
#define A2_STORE(R)                                                                                  \
    if (acc) {                                                                                       \
        c##R##0 = _mm256_add_ps(c##R##0, _mm256_loadu_ps(c + (R) * ldc));                           \
        c##R##1 = _mm256_add_ps(c##R##1, _mm256_loadu_ps(c + (R) * ldc + 8));                       \
    }                                                                                                \
    _mm256_storeu_ps(c + (R) * ldc, c##R##0);                                                        \
    _mm256_storeu_ps(c + (R) * ldc + 8, c##R##1);

AVX2_ATTR static void kernel_avx2(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc, int acc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int r = 0; r < A2_MR; r++) _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
    ptrdiff_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(b + 8 * A2_NR), _MM_HINT_T0);
        A2_STEP A2_STEP A2_STEP A2_STEP
    }
    for (; p < kc; p++) A2_STEP
    A2_STORE(0) A2_STORE(1) A2_STORE(2) A2_STORE(3) A2_STORE(4) A2_STORE(5)
}
AVX2_ATTR static void pack_a_avx2(int ta, const float *a, ptrdiff_t lda, ptrdiff_t i0, ptrdiff_t p0, ptrdiff_t mc,
                                  ptrdiff_t kc, float *ap) {
    pack_a_body(ta, a, lda, i0, p0, mc, kc, ap, A2_MR);
}
AVX2_ATTR static void pack_b_avx2(int tb, const float *b, ptrdiff_t ldb, ptrdiff_t p0, ptrdiff_t j0, ptrdiff_t kc,
                                  ptrdiff_t nc, float *bp) {
    pack_b_body(tb, b, ldb, p0, j0, kc, nc, bp, A2_NR, transpose8_avx2);
}
AVX2_ATTR static int gemm_avx2(int ta, int tb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                               const float *b, ptrdiff_t ldb, int accumulate, float *c, ptrdiff_t ldc) {
    float tile[A2_MR * A2_NR] __attribute__((aligned(64)));
    return gemm_body(ta, tb, m, n, k, a, lda, b, ldb, accumulate, c, ldc, A2_MR, A2_NR, A2_MC, A2_KC, A2_NC,
                     kernel_avx2, pack_a_avx2, pack_b_avx2, tile);
}

// MARK: - AVX-512F micro-kernel: 14×32 (28 zmm accumulators, 2 B loads, 1 broadcast)
// Written plainly (loops the compiler unrolls fully); checked for correctness only where the CPU
// has AVX-512F (the test suite runs every supported instruction set).

enum { A5_MR = 14, A5_NR = 32, A5_MC = 168, A5_KC = 256, A5_NC = 2048 };

AVX512_ATTR static void kernel_avx512(ptrdiff_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc, int acc) {
    __m512 t[A5_MR][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < A5_MR; r++) { t[r][0] = _mm512_setzero_ps(); t[r][1] = _mm512_setzero_ps(); }
    for (ptrdiff_t p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma clang loop unroll(full)
        for (int r = 0; r < A5_MR; r++) {
            __m512 av = _mm512_set1_ps(a[r]);
            t[r][0] = _mm512_fmadd_ps(av, b0, t[r][0]);
            t[r][1] = _mm512_fmadd_ps(av, b1, t[r][1]);
        }
        a += A5_MR;
        b += A5_NR;
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < A5_MR; r++) {
        if (acc) {
            t[r][0] = _mm512_add_ps(t[r][0], _mm512_loadu_ps(c + r * ldc));
            t[r][1] = _mm512_add_ps(t[r][1], _mm512_loadu_ps(c + r * ldc + 16));
        }
        _mm512_storeu_ps(c + r * ldc, t[r][0]);
        _mm512_storeu_ps(c + r * ldc + 16, t[r][1]);
    }
}
AVX512_ATTR static void pack_a_avx512(int ta, const float *a, ptrdiff_t lda, ptrdiff_t i0, ptrdiff_t p0,
                                      ptrdiff_t mc, ptrdiff_t kc, float *ap) {
    pack_a_body(ta, a, lda, i0, p0, mc, kc, ap, A5_MR);
}
AVX512_ATTR static void pack_b_avx512(int tb, const float *b, ptrdiff_t ldb, ptrdiff_t p0, ptrdiff_t j0,
                                      ptrdiff_t kc, ptrdiff_t nc, float *bp) {
    pack_b_body(tb, b, ldb, p0, j0, kc, nc, bp, A5_NR, transpose8_avx2);
}
AVX512_ATTR static int gemm_avx512(int ta, int tb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a,
                                   ptrdiff_t lda, const float *b, ptrdiff_t ldb, int accumulate, float *c,
                                   ptrdiff_t ldc) {
    float tile[A5_MR * A5_NR] __attribute__((aligned(64)));
    return gemm_body(ta, tb, m, n, k, a, lda, b, ldb, accumulate, c, ldc, A5_MR, A5_NR, A5_MC, A5_KC, A5_NC,
                     kernel_avx512, pack_a_avx512, pack_b_avx512, tile);
}
#endif

// MARK: - Dispatch

int ember_gemm_isa_supported(int isa) {
    switch (isa) {
    case EMBER_GEMM_ISA_AUTO:
    case EMBER_GEMM_ISA_PORTABLE: return 1;
#if EMBER_GEMM_X86
    case EMBER_GEMM_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case EMBER_GEMM_ISA_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    default: return 0;
    }
}

int ember_gemm_best_isa(void) {
    static int cached = 0;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v == 0) {
        v = ember_gemm_isa_supported(EMBER_GEMM_ISA_AVX512) ? EMBER_GEMM_ISA_AVX512
            : ember_gemm_isa_supported(EMBER_GEMM_ISA_AVX2) ? EMBER_GEMM_ISA_AVX2
                                                              : EMBER_GEMM_ISA_PORTABLE;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

static int resolve_isa(int isa) {
    if (isa == EMBER_GEMM_ISA_AUTO || !ember_gemm_isa_supported(isa)) return ember_gemm_best_isa();
    return isa;
}

void ember_gemm_tile(int isa, int *mr, int *nr) {
    switch (resolve_isa(isa)) {
#if EMBER_GEMM_X86
    case EMBER_GEMM_ISA_AVX512: *mr = A5_MR; *nr = A5_NR; return;
    case EMBER_GEMM_ISA_AVX2: *mr = A2_MR; *nr = A2_NR; return;
#endif
    default: *mr = P_MR; *nr = P_NR; return;
    }
}

/// The naive product, used only when the packing buffer cannot be allocated.
static void gemm_unpacked(int ta, int tb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                          const float *b, ptrdiff_t ldb, int accumulate, float *c, ptrdiff_t ldc) {
    for (ptrdiff_t i = 0; i < m; i++) {
        for (ptrdiff_t j = 0; j < n; j++) {
            float s = 0.0f;
            for (ptrdiff_t p = 0; p < k; p++)
                s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
        }
    }
}

void ember_sgemm(int isa, int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                 const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                 int accumulate, float *c, ptrdiff_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate)
            for (ptrdiff_t i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    int status;
    switch (resolve_isa(isa)) {
#if EMBER_GEMM_X86
    case EMBER_GEMM_ISA_AVX512:
        status = gemm_avx512(trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
        break;
    case EMBER_GEMM_ISA_AVX2:
        status = gemm_avx2(trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
        break;
#endif
    default:
        status = gemm_portable(trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
        break;
    }
    if (status != 0) gemm_unpacked(trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
}

// Ember's built-in float32 GEMM: a packed, cache-blocked GEMM in the GotoBLAS/BLIS scheme
// (K. Goto, R. van de Geijn, "Anatomy of high-performance matrix multiplication", ACM TOMS 34(3),
// 2008; F. Van Zee, R. van de Geijn, "BLIS: A Framework for Rapidly Instantiating BLAS
// Functionality", ACM TOMS 41(3), 2015, https://github.com/flame/blis/blob/master/docs/KernelsHowTo.md).
// Micro-kernels for AVX-512F (14×32), AVX2+FMA (6×16) and portable C (4×8), chosen at run time with
// __builtin_cpu_supports; the x86 kernels are compiled through per-function target attributes, so
// the package needs no compiler flags.
#ifndef EMBER_GEMM_H
#define EMBER_GEMM_H
#include <stddef.h>

/// The instruction sets of the GEMM's micro-kernels.
enum {
    EMBER_GEMM_ISA_AUTO = 0,      ///< the best one this CPU supports
    EMBER_GEMM_ISA_PORTABLE = 1,  ///< plain C (vectorised by the compiler for the baseline target)
    EMBER_GEMM_ISA_AVX2 = 2,      ///< AVX2 + FMA, 6×16 micro-kernel
    EMBER_GEMM_ISA_AVX512 = 3,    ///< AVX-512F, 14×32 micro-kernel
};

/// Whether this CPU can run the kernels of `isa` (AUTO and PORTABLE: always 1).
int ember_gemm_isa_supported(int isa);
/// The instruction set AUTO resolves to on this CPU.
int ember_gemm_best_isa(void);

/// C[m×n] = op(A)·op(B) (+ C when `accumulate` ≠ 0), float32, row-major with leading dimensions
/// (elements between consecutive rows of the stored matrices). op(A) is m×k: A stored m×k
/// (`trans_a` = 0, A(i,p) = a[i·lda + p]) or k×m (`trans_a` ≠ 0, A(i,p) = a[p·lda + i]); op(B) is
/// k×n: B stored k×n (B(p,j) = b[p·ldb + j]) or n×k (`trans_b` ≠ 0, B(p,j) = b[j·ldb + p]).
/// Transposed operands are read during packing, never copied. Single-threaded: callers split C
/// into blocks of rows or columns across threads. `isa` is one of the EMBER_GEMM_ISA_* values
/// (an unsupported one falls back to the best supported). With k = 0, C is zeroed (or left as it
/// is when accumulating). Packing buffers are per thread and reused across calls.
void ember_sgemm(int isa, int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                 const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                 int accumulate, float *c, ptrdiff_t ldc);

/// The micro-tile (rows × columns of C per micro-kernel call) of `isa`, so that callers split C
/// across threads at tile boundaries.
void ember_gemm_tile(int isa, int *mr, int *nr);

#endif

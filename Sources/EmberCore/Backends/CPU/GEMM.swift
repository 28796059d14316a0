import Dispatch

/// Float32/float64 GEMM on the CPU through the run-time-loaded BLAS (see BLAS.swift), single-threaded inside OpenBLAS with the
/// rows of C split across Ember's own threads: same speed as OpenBLAS's threads, without its worker
/// spinning after each call and slowing the next kernel (measured: the worker spins about 74 ms after
/// every call, so Ember's 2-thread kernels that run next get 1-thread speed; `OPENBLAS_THREAD_TIMEOUT`
/// helps only when set before the process starts).
enum CPUGEMM {
    /// One call of the BLAS (or the fallback) on a block of rows or columns.
    static func callS(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                      _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        if let lib = BLAS.library {
            lib.sgemm(BLAS.rowMajor, ta ? BLAS.trans : BLAS.noTrans, tb ? BLAS.trans : BLAS.noTrans,
                      Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        } else {
            fallbackGEMM(m: m, n: n, k: k, a: a, lda: lda, transA: ta, b: b, ldb: ldb, transB: tb, c: c, ldc: ldc, accumulate: beta != 0)
        }
    }

    /// C[m×n] = A[m×k]·B[k×n] (+ C when `accumulate`), row-major with leading dimensions; `transA`/
    /// `transB` read A or B transposed from their storage.
    static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool,
                      b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                      c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false) {
        if m == 0 || n == 0 { return }
        if k == 0 { if !accumulate { for i in 0..<m { (c + i * ldc).initialize(repeating: 0, count: n) } }; return }
        let ta = transA, tb = transB
        let beta: Float = accumulate ? 1 : 0
        let threads = Threads.count
        let flops = 2 * m * n * k
        if threads <= 1 || flops < 2_000_000 || BLAS.library == nil {
            callS(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)
            return
        }
        let P = UncheckedSendable((a, b, c))
        if m >= threads * 16 {
            // Split rows of C (and A).
            let per = (m + threads - 1) / threads
            ThreadPool.shared.run(iterations: threads) { t in
                let (a, b, c) = P.value
                let lo = t * per, hi = Swift.min(m, lo + per)
                guard lo < hi else { return }
                let aOff = transA ? lo : lo * lda
                callS(ta, tb, hi - lo, n, k, a + aOff, lda, b, ldb, beta, c + lo * ldc, ldc)
            }
        } else {
            // Few rows (e.g. generation with batch 1): split columns of C (and B).
            let per = ((n + threads - 1) / threads + 15) / 16 * 16
            ThreadPool.shared.run(iterations: threads) { t in
                let (a, b, c) = P.value
                let lo = t * per, hi = Swift.min(n, lo + per)
                guard lo < hi else { return }
                let bOff = transB ? lo * ldb : lo
                callS(ta, tb, m, hi - lo, k, a, lda, b + bOff, ldb, beta, c + lo, ldc)
            }
        }
    }

    static func dgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Double>, lda: Int, transA: Bool,
                      b: UnsafePointer<Double>, ldb: Int, transB: Bool,
                      c: UnsafeMutablePointer<Double>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 { for i in 0..<m { (c + i * ldc).initialize(repeating: 0, count: n) }; return }
        if let lib = BLAS.library {
            lib.dgemm(BLAS.rowMajor, transA ? BLAS.trans : BLAS.noTrans, transB ? BLAS.trans : BLAS.noTrans,
                      Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
        } else {
            fallbackGEMM(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB, c: c, ldc: ldc, accumulate: false)
        }
    }
}

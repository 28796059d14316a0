import CBLAS
import Dispatch

/// Float32/float64 GEMM on the CPU through OpenBLAS, single-threaded inside OpenBLAS with the
/// rows of C split across Ember's own threads: same speed as OpenBLAS's threads, without its worker
/// spinning after each call and slowing the next kernel (../shared/notes/cpu-kernels.md §1.2).
enum CPUGEMM {
    static let configured: Void = { openblas_set_num_threads(1) }()

    /// C[m×n] = A[m×k]·B[k×n] (+ C when `accumulate`), row-major with leading dimensions; `transA`/
    /// `transB` read A or B transposed from their storage.
    static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool,
                      b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                      c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false) {
        _ = configured
        if m == 0 || n == 0 { return }
        if k == 0 { if !accumulate { for i in 0..<m { (c + i * ldc).initialize(repeating: 0, count: n) } }; return }
        let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
        let beta: Float = accumulate ? 1 : 0
        let threads = Threads.count
        let flops = 2 * m * n * k
        if threads <= 1 || flops < 2_000_000 {
            cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            return
        }
        let P = UncheckedSendable((a, b, c))
        if m >= threads * 16 {
            // Split rows of C (and A).
            let per = (m + threads - 1) / threads
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let (a, b, c) = P.value
                let lo = t * per, hi = Swift.min(m, lo + per)
                guard lo < hi else { return }
                let aOff = transA ? lo : lo * lda
                cblas_sgemm(CblasRowMajor, ta, tb, Int32(hi - lo), Int32(n), Int32(k), 1, a + aOff, Int32(lda),
                            b, Int32(ldb), beta, c + lo * ldc, Int32(ldc))
            }
        } else {
            // Few rows (e.g. generation with batch 1): split columns of C (and B).
            let per = ((n + threads - 1) / threads + 15) / 16 * 16
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let (a, b, c) = P.value
                let lo = t * per, hi = Swift.min(n, lo + per)
                guard lo < hi else { return }
                let bOff = transB ? lo * ldb : lo
                cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(hi - lo), Int32(k), 1, a, Int32(lda),
                            b + bOff, Int32(ldb), beta, c + lo, Int32(ldc))
            }
        }
    }

    static func dgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Double>, lda: Int, transA: Bool,
                      b: UnsafePointer<Double>, ldb: Int, transB: Bool,
                      c: UnsafeMutablePointer<Double>, ldc: Int) {
        _ = configured
        if m == 0 || n == 0 { return }
        if k == 0 { for i in 0..<m { (c + i * ldc).initialize(repeating: 0, count: n) }; return }
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }
}

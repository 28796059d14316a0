import CEmberKernels
import Dispatch

/// Float32/float64 GEMM on the CPU: Ember's built-in packed GEMM (`Sources/CEmberKernels/sgemm.c`,
/// AVX-512F / AVX2+FMA / portable micro-kernels chosen at run time), or OpenBLAS when
/// `EMBER_BLAS=openblas` (see ``GEMMSelection``). Either runs single-threaded per block, with C split
/// into blocks of rows or columns across Ember's own threads: the same speed as OpenBLAS's threads,
/// without its worker spinning after each call and slowing the next kernel (measured: the worker
/// spins about 74 ms after every call, so Ember's 2-thread kernels that run next get 1-thread
/// speed; `OPENBLAS_THREAD_TIMEOUT` helps only when set before the process starts).
enum CPUGEMM {
    /// The kernels one product runs on.
    enum Kernels: Equatable {
        /// Ember's C GEMM with the micro-kernels of one instruction set (an `EMBER_GEMM_ISA_*`).
        case builtIn(isa: Int32)
        /// The run-time loaded BLAS (``BLAS/openBLAS``); the caller checks it is there.
        case blas

        /// What ``GEMMSelection/current`` selects, with the best instruction set of this CPU.
        static var selected: Kernels {
            GEMMSelection.current == .openBLAS ? .blas : .builtIn(isa: Int32(EMBER_GEMM_ISA_AUTO))
        }

        /// The micro-tile (rows, columns) blocks are aligned to when C is split across threads.
        var tile: (rows: Int, columns: Int) {
            guard case .builtIn(let isa) = self else { return (16, 16) }
            var mr: Int32 = 0, nr: Int32 = 0
            ember_gemm_tile(isa, &mr, &nr)
            return (Int(mr), Int(nr))
        }
    }

    /// One single-threaded call on a block of C.
    static func callS(_ kernels: Kernels, _ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int,
                      _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
                      _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        switch kernels {
        case .blas:
            guard let lib = BLAS.openBLAS else { preconditionFailure("CPUGEMM: .blas without OpenBLAS loaded") }
            lib.sgemm(BLAS.rowMajor, ta ? BLAS.trans : BLAS.noTrans, tb ? BLAS.trans : BLAS.noTrans,
                      Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        case .builtIn(let isa):
            ember_sgemm(isa, ta ? 1 : 0, tb ? 1 : 0, m, n, k, a, lda, b, ldb, beta != 0 ? 1 : 0, c, ldc)
        }
    }

    /// One single-threaded call with the selected kernels (HalfWeightGEMM's per-thread panels).
    static func callS(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                      _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        callS(.selected, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)
    }

    /// C[m×n] = A[m×k]·B[k×n] (+ C when `accumulate`), row-major with leading dimensions; `transA`/
    /// `transB` read A or B transposed from their storage (no copies).
    ///
    /// Threads: C is split along its longer side into one block per thread, at micro-tile
    /// boundaries. Each block packs its own panels, so a row split packs B once per thread and a
    /// column split packs A once per thread: splitting the longer side repacks the smaller operand.
    static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool,
                      b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                      c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false,
                      kernels: Kernels = .selected) {
        if m == 0 || n == 0 { return }
        if k == 0 { if !accumulate { for i in 0..<m { (c + i * ldc).initialize(repeating: 0, count: n) } }; return }
        let ta = transA, tb = transB
        let beta: Float = accumulate ? 1 : 0
        let threads = Threads.count
        let flops = 2 * m * n * k
        let tile = kernels.tile
        let rowBlocks = m / tile.rows, columnBlocks = n / tile.columns
        if threads <= 1 || flops < 2_000_000 || Swift.max(rowBlocks, columnBlocks) < 2 {
            callS(kernels, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)
            return
        }
        let P = UncheckedSendable((a, b, c))
        if m >= n ? rowBlocks >= 2 : columnBlocks < 2 {
            let chunks = Swift.min(threads, rowBlocks)
            let per = (m + chunks * tile.rows - 1) / (chunks * tile.rows) * tile.rows
            ThreadPool.shared.run(iterations: chunks) { t in
                let (a, b, c) = P.value
                let lo = t * per, hi = Swift.min(m, lo + per)
                guard lo < hi else { return }
                let aOff = ta ? lo : lo * lda
                callS(kernels, ta, tb, hi - lo, n, k, a + aOff, lda, b, ldb, beta, c + lo * ldc, ldc)
            }
        } else {
            let chunks = Swift.min(threads, columnBlocks)
            let per = (n + chunks * tile.columns - 1) / (chunks * tile.columns) * tile.columns
            ThreadPool.shared.run(iterations: chunks) { t in
                let (a, b, c) = P.value
                let lo = t * per, hi = Swift.min(n, lo + per)
                guard lo < hi else { return }
                let bOff = tb ? lo * ldb : lo
                callS(kernels, ta, tb, m, hi - lo, k, a, lda, b + bOff, ldb, beta, c + lo, ldc)
            }
        }
    }

    /// The float64 product: OpenBLAS's dgemm when selected, else the portable threaded loop
    /// (float64 is used by tests and reference computations, not by the models' hot paths).
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

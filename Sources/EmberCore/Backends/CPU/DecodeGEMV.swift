import CEmberKernels

/// The float32 product of one row with a transposed weight, `x · Wᵀ` (`Linear` in the decode step
/// of generation with a KV cache): a C kernel streams W's rows once, the columns split across
/// ``Threads``. Memory-bound, so it runs at the machine's read bandwidth, where a one-row BLAS
/// sgemm/sgemv reaches about half of it (issue #6: cached decoding against the bandwidth bound).
enum DecodeGEMV {
    /// y[0..<n] = x[0..<k] · Wᵀ with W `[n, k]` float32 at row stride `ldw`.
    static func product(x: UnsafePointer<Float>, w: UnsafePointer<Float>, ldw: Int, y: UnsafeMutablePointer<Float>, k: Int, n: Int) {
        parallelColumns(n, k: k) { cols in ember_gemv_wt_f32(x, w, ldw, y, k, cols.lowerBound, cols.upperBound) }
    }
}

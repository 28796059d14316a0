import CEmberKernels
import Dispatch

/// The float32 product of one row with a transposed weight, `x · Wᵀ` (`Linear` in the decode step
/// of generation with a KV cache): a C kernel streams W's rows once, the columns split across
/// ``Threads``. Memory-bound, so it runs at the machine's read bandwidth, where a one-row BLAS
/// sgemm/sgemv reaches about half of it (issue #6: cached decoding against the bandwidth bound).
enum DecodeGEMV {
    /// y[0..<n] = x[0..<k] · Wᵀ with W `[n, k]` float32 at row stride `ldw`.
    static func product(x: UnsafePointer<Float>, w: UnsafePointer<Float>, ldw: Int, y: UnsafeMutablePointer<Float>, k: Int, n: Int) {
        // Enough weights per thread to pay for the dispatch (≈ 64K).
        let threads = Swift.max(1, Swift.min(Threads.count, n * k / 65_536))
        // Four column blocks per thread, claimed dynamically (ThreadPool): a thread that starts late
        // takes fewer blocks instead of leaving the others waiting at the end.
        let blocks = threads == 1 ? 1 : Swift.min(2 * threads, Swift.max(threads, n / 64))
        let per = ((n + blocks - 1) / blocks + 15) / 16 * 16
        let P = UncheckedSendable((x, w, y))
        let body: @Sendable (Int) -> Void = { t in
            let (x, w, y) = P.value
            let lo = t * per, hi = Swift.min(n, lo + per)
            if lo < hi { ember_gemv_wt_f32(x, w, ldw, y, k, lo, hi) }
        }
        if blocks == 1 { body(0) } else { ThreadPool.shared.run(iterations: blocks, body) }
    }
}

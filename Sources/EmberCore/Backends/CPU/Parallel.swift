import Dispatch
import Foundation

/// The CPU thread count Ember uses for large ops (all cores by default), like `torch.get_num_threads()`.
public enum Threads {
    nonisolated(unsafe) private static var _count = ProcessInfo.processInfo.activeProcessorCount
    public static var count: Int {
        get { _count }
        set { _count = Swift.max(1, newValue) }
    }

    /// Runs `body(i)` for every `i` in `0..<iterations` on up to ``count`` threads (the caller
    /// included) and returns when all have run: `DispatchQueue.concurrentPerform` on Ember's
    /// own workers, which stay awake between the many short parallel ops of a model step. A call
    /// from inside a running `body` (or from a second thread meanwhile) runs serially.
    public static func concurrentPerform(iterations: Int, _ body: (Int) -> Void) {
        ThreadPool.shared.run(iterations: iterations, body)
    }
}

/// Splits `0..<n` into up to `Threads.count` contiguous chunks of at least `grain` items and runs
/// `body` on each, concurrently when there is more than one chunk.
@inlinable
func parallelFor(_ n: Int, grain: Int = 32_768, _ body: (Range<Int>) -> Void) {
    let chunks = Swift.min(Threads.count, Swift.max(1, n / Swift.max(grain, 1)))
    if chunks <= 1 {
        if n > 0 { body(0..<n) }
        return
    }
    let per = (n + chunks - 1) / chunks
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendable(body)
        ThreadPool.shared.run(iterations: chunks) { c in
            let lo = c * per
            let hi = Swift.min(n, lo + per)
            if lo < hi { box.value(lo..<hi) }
        }
    }
}

/// Splits the columns `0..<n` of a weight-streaming product (`x · Wᵀ` with W `[n, k]`, the decode
/// step) into blocks of whole 16-column groups and runs `body` on each: one thread when W has fewer
/// than ≈ 64K weights per thread (the dispatch would cost more), else two blocks per thread,
/// claimed dynamically by the ``ThreadPool`` so a thread that starts late takes fewer of them.
func parallelColumns(_ n: Int, k: Int, _ body: (Range<Int>) -> Void) {
    let threads = Swift.max(1, Swift.min(Threads.count, n * k / 65_536))
    if threads == 1 {
        if n > 0 { body(0..<n) }
        return
    }
    let blocks = Swift.min(2 * threads, Swift.max(threads, n / 64))
    let per = ((n + blocks - 1) / blocks + 15) / 16 * 16
    ThreadPool.shared.run(iterations: blocks) { t in
        let lo = t * per, hi = Swift.min(n, lo + per)
        if lo < hi { body(lo..<hi) }
    }
}

/// Wraps a value that is safe to share across the chunks of one `parallelFor` (pointers into disjoint
/// ranges); Swift 6 cannot see that, so the wrapper says it.
@usableFromInline
struct UncheckedSendable<T>: @unchecked Sendable {
    @usableFromInline var value: T
    @inlinable init(_ v: T) { value = v }
}

import Dispatch
import Foundation

/// The CPU thread count Ember uses for large ops (all cores by default), like `torch.get_num_threads()`.
public enum Threads {
    nonisolated(unsafe) private static var _count = ProcessInfo.processInfo.activeProcessorCount
    public static var count: Int {
        get { _count }
        set { _count = Swift.max(1, newValue) }
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
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * per
            let hi = Swift.min(n, lo + per)
            if lo < hi { box.value(lo..<hi) }
        }
    }
}

/// Wraps a value that is safe to share across the chunks of one `parallelFor` (pointers into disjoint
/// ranges); Swift 6 cannot see that, so the wrapper says it.
@usableFromInline
struct UncheckedSendable<T>: @unchecked Sendable {
    @usableFromInline var value: T
    @inlinable init(_ v: T) { value = v }
}

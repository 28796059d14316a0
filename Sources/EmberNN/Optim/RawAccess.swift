import Dispatch
import EmberCore

/// Raw float32 access for the optimizers' and losses' fused loops. EmberCore keeps its element
/// pointers internal, so EmberNN reads `storage.data + storageOffset` of contiguous CPU tensors.

extension Tensor {
    /// Whether fused float32 loops may run on this tensor: CPU, float32, contiguous.
    var isDenseFloat32: Bool { device == .cpu && dtype == .float32 && isContiguous && storage.data != nil }

    /// Pointer to element 0 of a dense float32 tensor (see ``isDenseFloat32``).
    var floatPointer: UnsafeMutablePointer<Float> {
        storage.data!.assumingMemoryBound(to: Float.self) + storageOffset
    }

    /// Pointer to element 0 of a contiguous CPU float64 tensor.
    var doublePointer: UnsafeMutablePointer<Double> {
        storage.data!.assumingMemoryBound(to: Double.self) + storageOffset
    }

    /// Records an in-place write made through raw pointers: bumps the storage's version counter
    /// (autograd's saved-tensor check), by the one public in-place op that touches no element —
    /// `zero_()` on an empty tensor sharing the storage. EmberCore has no public bump.
    func markWrittenInPlace() {
        Tensor(storage: storage, dtype: dtype, shape: [0]).zero_()
    }
}

/// Runs `body` on contiguous chunks of `0..<n` (at least `grain` items each), concurrently when
/// there is more than one chunk; the optimizers and losses use it for their elementwise loops.
@inlinable
func parallelChunks(_ n: Int, grain: Int = 1 << 15, _ body: @Sendable (Range<Int>) -> Void) {
    let chunks = Swift.min(Threads.count, Swift.max(1, n / Swift.max(grain, 1)))
    if chunks <= 1 {
        if n > 0 { body(0..<n) }
        return
    }
    let per = (n + chunks - 1) / chunks
    Threads.concurrentPerform(iterations: chunks) { c in
        let lo = c * per, hi = Swift.min(n, lo + per)
        if lo < hi { body(lo..<hi) }
    }
}

/// Pointers shared by the chunks of one `parallelChunks` call; each chunk writes a disjoint range.
@usableFromInline
struct SendablePointers<T>: @unchecked Sendable {
    @usableFromInline let value: T
    @inlinable init(_ v: T) { value = v }
}

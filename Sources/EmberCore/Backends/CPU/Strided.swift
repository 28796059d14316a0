/// Strided iteration over tensor layouts: the CPU backend's way to read views without copying them first.

/// A layout with adjacent dimensions merged where they are contiguous with each other, so iteration
/// runs over as few and as long inner loops as possible.
@usableFromInline
struct CollapsedLayout {
    @usableFromInline var shape: [Int]
    @usableFromInline var strides: [[Int]]   // one stride list per operand

    /// Merges dimension d into d+1 when every operand has stride[d] == stride[d+1] * shape[d+1].
    @inlinable
    init(shape: [Int], strides: [[Int]]) {
        var sh: [Int] = []
        var st: [[Int]] = Array(repeating: [], count: strides.count)
        for d in 0..<shape.count where shape[d] != 1 {
            if let last = sh.last {
                var mergeable = true
                for k in 0..<strides.count where st[k].last! != strides[k][d] * shape[d] {
                    mergeable = false
                    break
                }
                if mergeable {
                    sh[sh.count - 1] = last * shape[d]
                    for k in 0..<strides.count { st[k][st[k].count - 1] = strides[k][d] }
                    continue
                }
            }
            sh.append(shape[d])
            for k in 0..<strides.count { st[k].append(strides[k][d]) }
        }
        if sh.isEmpty {
            sh = [1]
            for k in 0..<strides.count { st[k] = [1] }
        }
        self.shape = sh
        self.strides = st
    }
}

/// Calls `body(outer, offsets)` for each run of the innermost dimension: `offsets[k]` is operand k's
/// element offset of the run's first element; the run has `inner` elements with stride `innerStride[k]`.
/// Runs are visited in row-major order; `startRun..<endRun` restricts to a subset (for parallel splits).
@inlinable
func forEachRun(_ layout: CollapsedLayout, startRun: Int = 0, endRun: Int? = nil,
                _ body: (_ runIndex: Int, _ offsets: UnsafePointer<Int>) -> Void) {
    let nd = layout.shape.count
    let nops = layout.strides.count
    let outerDims = nd - 1
    var totalRuns = 1
    for d in 0..<outerDims { totalRuns *= layout.shape[d] }
    let end = Swift.min(endRun ?? totalRuns, totalRuns)
    if startRun >= end { return }
    var counter = [Int](repeating: 0, count: Swift.max(outerDims, 1))
    var offsets = [Int](repeating: 0, count: nops)
    // Position the counter at startRun.
    var rem = startRun
    for d in Swift.stride(from: outerDims - 1, through: 0, by: -1) {
        counter[d] = rem % layout.shape[d]
        rem /= layout.shape[d]
    }
    for k in 0..<nops {
        var o = 0
        for d in 0..<outerDims { o += counter[d] * layout.strides[k][d] }
        offsets[k] = o
    }
    offsets.withUnsafeMutableBufferPointer { off in
        for run in startRun..<end {
            body(run, UnsafePointer(off.baseAddress!))
            // Advance the odometer.
            var d = outerDims - 1
            while d >= 0 {
                counter[d] += 1
                for k in 0..<nops { off[k] += layout.strides[k][d] }
                if counter[d] < layout.shape[d] { break }
                for k in 0..<nops { off[k] -= layout.strides[k][d] * layout.shape[d] }
                counter[d] = 0
                d -= 1
            }
        }
    }
}

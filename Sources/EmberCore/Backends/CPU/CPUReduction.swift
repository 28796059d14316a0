/// The CPU backend's reductions: rows of a contiguous [outer, reduced] layout, summed with SIMD
/// lanes and double-precision block totals.

extension Tensor {
    /// Runs a reduction on the CPU into `out` (already shaped).
    func cpuReduce(_ op: ReduceOp, _ dims: [Int], into out: Tensor) {
        let kt: DType = (op == .all || op == .any) ? .bool : kernelType(out.dtype)
        let len = dims.reduce(1) { $0 * shape[$1] }
        let rows = numel / Swift.max(len, 1)
        let res = Tensor(shape: [rows], dtype: kt, device: .cpu, zeroed: false)
        // Fast path: reducing the leading dims of a contiguous float32 tensor sums whole rows
        // (bias gradients); no transpose copy.
        let leading = dims == Array(0..<dims.count)
        if kt == .float32 && dtype == .float32 && isContiguous && leading && (op == .sum || op == .mean) && len > 1 && rows > 1 {
            let p = pointer(Float.self), q = res.pointer(Float.self)
            let P = UncheckedSendable((p, q))
            parallelFor(rows, grain: 256) { r in
                let (p, q) = P.value
                for j in r { q[j] = 0 }
                for i in 0..<len {
                    let row = p + i * rows
                    for j in r { q[j] += row[j] }
                }
                if op == .mean { for j in r { q[j] /= Float(len) } }
            }
            cpuCopy(from: res.rawReshape(out.shape), to: out)
            return
        }
        let (x, _, _) = rowsForReduction(dims, as: kt == .bool ? .bool : kt)
        switch kt {
        case .float32:
            let p = x.pointer(Float.self), q = res.pointer(Float.self)
            let P = UncheckedSendable((p, q))
            parallelFor(rows, grain: Swift.max(1, 65536 / Swift.max(len, 1))) { r in
                let (p, q) = P.value
                for row in r { q[row] = reduceFloatRow(p + row * len, len, op) }
            }
        case .float64:
            let p = x.pointer(Double.self), q = res.pointer(Double.self)
            for row in 0..<rows {
                var acc: Double = op == .prod ? 1 : 0
                for i in 0..<len { if op == .prod { acc *= p[row * len + i] } else { acc += p[row * len + i] } }
                q[row] = op == .mean ? acc / Double(len) : acc
            }
        case .int64:
            let p = x.pointer(Int64.self), q = res.pointer(Int64.self)
            for row in 0..<rows {
                var acc: Int64 = op == .prod ? 1 : 0
                for i in 0..<len { if op == .prod { acc = acc &* p[row * len + i] } else { acc = acc &+ p[row * len + i] } }
                q[row] = acc
            }
        default:
            let p = x.pointer(Bool.self), q = res.pointer(Bool.self)
            for row in 0..<rows {
                var acc = op == .all
                for i in 0..<len { if op == .all { if !p[row * len + i] { acc = false; break } } else if p[row * len + i] { acc = true; break } }
                q[row] = acc
            }
        }
        cpuCopy(from: res.rawReshape(out.shape), to: out)
    }
}

/// Sums (or multiplies) one contiguous float32 row. Sums use 16 float lanes per block and add
/// the blocks in double, close to PyTorch's cascade summation in accuracy.
@inline(__always)
func reduceFloatRow(_ p: UnsafePointer<Float>, _ len: Int, _ op: ReduceOp) -> Float {
    if op == .prod {
        var acc: Float = 1
        for i in 0..<len { acc *= p[i] }
        return acc
    }
    var total = 0.0
    var i = 0
    while i + 256 <= len {
        var acc = SIMD16<Float>(repeating: 0)
        for k in Swift.stride(from: i, to: i + 256, by: 16) { acc += UnsafeRawPointer(p + k).loadUnaligned(as: SIMD16<Float>.self) }
        total += Double(acc.sum())
        i += 256
    }
    var tail: Float = 0
    while i < len { tail += p[i]; i += 1 }
    total += Double(tail)
    return op == .mean ? Float(total / Double(len)) : Float(total)
}

/// Max (or min) along `dim` with int64 indices of the first occurrence; NaN wins, as in PyTorch.
func cpuExtremum(_ t: Tensor, dim: Int?, largest: Bool, values: Tensor, indices: Tensor) {
    let kt = kernelType(t.dtype)
    let (x, rows, len) = t.rowsForReduction(dim.map { [$0] } ?? [], as: kt)
    let ip = indices.pointer(Int64.self)
    let vals = Tensor(shape: [rows], dtype: kt, device: .cpu, zeroed: false)
    struct V: DTypeVisitor {
        let x: Tensor, vals: Tensor, ip: UnsafeMutablePointer<Int64>, rows: Int, len: Int, largest: Bool
        func visit<T: TensorScalar>(_: T.Type) {
            if T.self == Float.self { run(Float.self) } else if T.self == Double.self { run(Double.self) }
            else if T.self == Int64.self { runInt() } else { runBool() }
        }
        func run<F: BinaryFloatingPoint & TensorScalar>(_: F.Type) {
            let p = x.pointer(F.self), vp = vals.pointer(F.self)
            for r in 0..<rows {
                let row = p + r * len
                var best = row[0], bi = 0
                if !best.isNaN {
                    for i in 1..<Swift.max(len, 1) {
                        let v = row[i]
                        if v.isNaN { best = v; bi = i; break }
                        if largest ? v > best : v < best { best = v; bi = i }
                    }
                }
                vp[r] = best; ip[r] = Int64(bi)
            }
        }
        func runInt() {
            let p = x.pointer(Int64.self), vp = vals.pointer(Int64.self)
            for r in 0..<rows {
                let row = p + r * len
                var best = row[0], bi = 0
                for i in 1..<Swift.max(len, 1) where largest ? row[i] > best : row[i] < best { best = row[i]; bi = i }
                vp[r] = best; ip[r] = Int64(bi)
            }
        }
        func runBool() {
            let p = x.pointer(Bool.self), vp = vals.pointer(Bool.self)
            for r in 0..<rows {
                let row = p + r * len
                var best = row[0], bi = 0
                for i in 1..<Swift.max(len, 1) where (largest ? (row[i] && !best) : (!row[i] && best)) { best = row[i]; bi = i }
                vp[r] = best; ip[r] = Int64(bi)
            }
        }
    }
    visitDType(kt, V(x: x, vals: vals, ip: ip, rows: rows, len: len, largest: largest))
    cpuCopy(from: vals.rawReshape(values.shape), to: values)
}

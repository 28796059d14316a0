/// The CPU backend's reductions: rows of a contiguous [outer, reduced] layout, float32 rows summed
/// in PyTorch's cascade order (``cascadeSum(_:_:)``).

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
            cascadeColumnSums(pointer(Float.self), rows: len, columns: rows, into: res.pointer(Float.self))
            if op == .mean {
                let q = res.pointer(Float.self)
                for j in 0..<rows { q[j] /= Float(len) }
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

/// Sums (or multiplies) one contiguous float32 row. Sums follow PyTorch's float32 cascade sum
/// (``cascadeSum(_:_:)``), so printed results match PyTorch's bit for bit; a mean divides that
/// float32 sum by the length in float32, as ATen's CPU `mean` (`sum_out(...).div_(n)`).
@inline(__always)
func reduceFloatRow(_ p: UnsafePointer<Float>, _ len: Int, _ op: ReduceOp) -> Float {
    if op == .prod {
        var acc: Float = 1
        for i in 0..<len { acc *= p[i] }
        return acc
    }
    let total = cascadeSum(p, len)
    return op == .mean ? total / Float(len) : total
}

/// The sum of `n` contiguous floats in the order of ATen's CPU `sum` (SumKernel.cpp, one thread,
/// AVX-512 vectors of 16 floats — the capability PyTorch picks on the x86-64 CPUs this project's
/// fixtures come from): rows of ≥ 16 elements as 16-lane vectors in four interleaved cascade
/// accumulators (`vectorized_inner_sum` → `row_sum` → `multi_row_sum`), then the tail elements,
/// then the 16 lanes in turn; shorter rows as four interleaved scalar accumulators
/// (`scalar_inner_sum`). Source: aten/src/ATen/native/cpu/SumKernel.cpp.
func cascadeSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    guard n >= 16 else {
        let scalar: (Int) -> Float = { i in p[i] }
        return 0 + interleavedCascade(n, scalar)
    }
    let vectors = n / 16
    let vector: (Int) -> SIMD16<Float> = { i in UnsafeRawPointer(p + i * 16).loadUnaligned(as: SIMD16<Float>.self) }
    let lanes = interleavedCascade(vectors, vector)
    var total: Float = 0
    for k in (vectors * 16)..<n { total += p[k] }
    for k in 0..<16 { total += lanes[k] }
    return 0 + total
}

/// Column sums of a contiguous `[rows, columns]` float32 matrix (reducing leading dims: bias
/// gradients) in the order of ATen's CPU `sum` over an outer dimension (SumKernel.cpp, one thread,
/// 16-float vectors): with ≥ 16 columns, blocks of 64 columns sum each column as one cascade
/// (`vectorized_outer_sum` → `multi_row_sum`), the following 16-column blocks and the last
/// columns as four interleaved cascades (`row_sum`); with fewer than 16 columns, groups of 4 as one
/// cascade and the rest interleaved (`scalar_outer_sum`). Columns are independent, so blocks of
/// 16 run in parallel.
func cascadeColumnSums(_ p: UnsafePointer<Float>, rows: Int, columns: Int, into q: UnsafeMutablePointer<Float>) {
    let plainLimit = columns >= 16 ? columns / 64 * 64 : columns / 4 * 4
    let vectorBlocks = columns >= 16 ? columns / 16 : 0
    let P = UncheckedSendable((p, q))
    parallelFor(vectorBlocks, grain: Swift.max(1, 4096 / Swift.max(rows, 1))) { r in
        let (p, q) = P.value
        for b in r {
            let j = b * 16
            let load: (Int) -> SIMD16<Float> = { i in UnsafeRawPointer(p + i * columns + j).loadUnaligned(as: SIMD16<Float>.self) }
            let sum: SIMD16<Float> = j < plainLimit ? cascade(rows, load) : interleavedCascade(rows, load)
            for k in 0..<16 { q[j + k] = 0 + sum[k] }
        }
    }
    for j in (vectorBlocks * 16)..<columns {
        let load: (Int) -> Float = { i in p[i * columns + j] }
        let sum: Float = j < plainLimit ? cascade(rows, load) : interleavedCascade(rows, load)
        q[j] = 0 + sum
    }
}

/// One running cascade over `size` values (`multi_row_sum` for one row).
@inline(__always)
private func cascade<T: CascadeSummand>(_ size: Int, _ load: (Int) -> T) -> T {
    let first: (Int, Int) -> T = { i, k in k == 0 ? load(i) : T.cascadeZero }
    return multiRowSum(size, first).0
}

/// ATen's `row_sum`: the values as rows of four, four cascades (`multi_row_sum`), the leftover
/// values added to the first, then the four folded in turn.
@inline(__always)
private func interleavedCascade<T: CascadeSummand>(_ size: Int, _ load: (Int) -> T) -> T {
    let groups = size / 4
    let rows: (Int, Int) -> T = { i, k in load(4 * i + k) }
    var partial = multiRowSum(groups, rows)
    for i in (groups * 4)..<size { partial.0 += load(i) }
    partial.0 += partial.1
    partial.0 += partial.2
    partial.0 += partial.3
    return partial.0
}

/// ATen's `multi_row_sum` with four rows: `load(i, k)` is element i of row k; each row sums into
/// four levels of accumulators, a level passed up every `2^levelPower` additions, so only numbers of
/// similar magnitude meet.
@inline(__always)
private func multiRowSum<T: CascadeSummand>(_ size: Int, _ load: (Int, Int) -> T) -> (T, T, T, T) {
    let ceilLog2 = size <= 2 ? 1 : UInt64(size - 1).bitWidth - UInt64(size - 1).leadingZeroBitCount
    let levelPower = Swift.max(4, ceilLog2 / 4)
    let levelStep = 1 << levelPower, levelMask = levelStep - 1
    var l0 = Quad<T>(), l1 = Quad<T>(), l2 = Quad<T>(), l3 = Quad<T>()
    var i = 0
    while i + levelStep <= size {
        for _ in 0..<levelStep {
            l0.a += load(i, 0); l0.b += load(i, 1); l0.c += load(i, 2); l0.d += load(i, 3)
            i += 1
        }
        l1.add(l0); l0 = Quad()
        if i & (levelMask << levelPower) != 0 { continue }
        l2.add(l1); l1 = Quad()
        if i & (levelMask << (2 * levelPower)) != 0 { continue }
        l3.add(l2); l2 = Quad()
    }
    while i < size {
        l0.a += load(i, 0); l0.b += load(i, 1); l0.c += load(i, 2); l0.d += load(i, 3)
        i += 1
    }
    l0.add(l1); l0.add(l2); l0.add(l3)
    return (l0.a, l0.b, l0.c, l0.d)
}

/// What ``multiRowSum(_:_:)`` adds: floats, or 16 floats at once (one AVX-512 vector's lanes).
protocol CascadeSummand {
    static var cascadeZero: Self { get }
    static func += (a: inout Self, b: Self)
}
extension Float: CascadeSummand { static var cascadeZero: Float { 0 } }
extension SIMD16: CascadeSummand where Scalar == Float { static var cascadeZero: SIMD16<Float> { SIMD16(repeating: 0) } }

/// Four accumulators of ``multiRowSum(_:_:)``, one per row.
private struct Quad<T: CascadeSummand> {
    var a = T.cascadeZero, b = T.cascadeZero, c = T.cascadeZero, d = T.cascadeZero
    @inline(__always) mutating func add(_ o: Quad) { a += o.a; b += o.b; c += o.c; d += o.d }
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

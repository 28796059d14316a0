import Foundation

/// Reductions over dimensions: sum, mean, var/std, prod, max/min, argmax/argmin, all/any,
/// logsumexp, cumsum. Source: https://pytorch.org/docs/stable/torch.html#reduction-ops

extension Tensor {
    /// Normalised, sorted, de-duplicated dims (all dims when empty/nil).
    func reductionDims(_ dims: [Int]?) -> [Int]? {
        guard let dims, !dims.isEmpty else { return Array(0..<ndim) }
        var out: [Int] = []
        for d in dims {
            guard let x = checkedDim(d) else { return nil }
            if ndim == 0 { continue }
            if out.contains(x) {
                _ = raiseError("dim \(x) appears multiple times in the list of dims")
                return nil
            }
            out.append(x)
        }
        return out.sorted()
    }

    /// Shape after reducing `dims`.
    func reducedShape(_ dims: [Int], keepdim: Bool) -> [Int] {
        var s: [Int] = []
        for i in 0..<ndim {
            if dims.contains(i) { if keepdim { s.append(1) } } else { s.append(shape[i]) }
        }
        return s
    }

    /// A contiguous [outer, reduce] matrix view of self with `dims` moved last (copies when needed).
    func rowsForReduction(_ dims: [Int], as dt: DType) -> (Tensor, rows: Int, len: Int) {
        let keep = (0..<ndim).filter { !dims.contains($0) }
        let perm = keep + dims
        var x = self.rawCast(dt)
        if perm != Array(0..<ndim) {
            x = Tensor(storage: x.storage, shape: perm.map { x.shape[$0] }, strides: perm.map { x.strides[$0] },
                       storageOffset: x.storageOffset, dtype: dt)
        }
        if !x.isContiguous {
            let c = Tensor(shape: x.shape, dtype: dt, device: .cpu, zeroed: false)
            cpuCopy(from: x, to: c)
            x = c
        }
        let len = dims.reduce(1) { $0 * shape[$1] }
        return (x, numel / Swift.max(len, 1), len)
    }

    /// `sum(dims, keepdim)`; all dims when `dims` is nil. Integer and bool inputs sum to int64.
    public func sum(dims: [Int]? = nil, keepdim: Bool = false, dtype outDType: DType? = nil) -> Tensor {
        guard let ds = reductionDims(dims) else { return Tensor(metaShape: [], dtype: dtype) }
        let dt = outDType ?? (dtype.isFloatingPoint ? dtype : .int64)
        let outShape = reducedShape(ds, keepdim: keepdim)
        let out = Tensor(shape: outShape, dtype: dt, device: device, zeroed: false)
        if isMeta { return out }
        cpuReduce(.sum, ds, into: out)
        if Tensor.needsGrad([self]) {
            let inShape = shape
            // PyTorch: `t.sum()` is SumBackward0, `t.sum(dim)` SumBackward1 (two overloads).
            out.recordGrad(dims == nil ? "SumBackward0" : "SumBackward1", [self]) { g in
                var gg = g
                if !keepdim { for d in ds { gg = gg.unsqueeze(d) } }
                return [gg.expand(inShape).contiguousIfExpanded()]
            }
        }
        return out
    }
    public func sum(_ dim: Int, keepdim: Bool = false) -> Tensor { sum(dims: [dim], keepdim: keepdim) }

    /// Materialises an expanded (stride-0) gradient so later in-place accumulation is safe.
    func contiguousIfExpanded() -> Tensor { strides.contains(0) ? contiguous() : self }

    /// `mean(dims, keepdim)`: floating dtypes only, as in PyTorch.
    public func mean(dims: [Int]? = nil, keepdim: Bool = false) -> Tensor {
        guard dtype.isFloatingPoint else {
            return raiseError("mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: \(dtype.scalarTypeName)", shape: [], dtype: dtype)
        }
        guard let ds = reductionDims(dims) else { return Tensor(metaShape: [], dtype: dtype) }
        let n = ds.reduce(1) { $0 * shape[$1] }
        let outShape = reducedShape(ds, keepdim: keepdim)
        let out = Tensor(shape: outShape, dtype: dtype, device: device, zeroed: false)
        if isMeta { return out }
        cpuReduce(.mean, ds, into: out)
        if Tensor.needsGrad([self]) {
            let inShape = shape
            out.recordGrad(dims == nil ? "MeanBackward0" : "MeanBackward1", [self]) { g in
                var gg = g
                if !keepdim { for d in ds { gg = gg.unsqueeze(d) } }
                return [(gg / Double(n)).expand(inShape).contiguousIfExpanded()]
            }
        }
        return out
    }
    public func mean(_ dim: Int, keepdim: Bool = false) -> Tensor { mean(dims: [dim], keepdim: keepdim) }

    /// `var(dims, correction, keepdim)`; `unbiased: false` is `correction: 0` (the book's LayerNorm).
    public func variance(dims: [Int]? = nil, unbiased: Bool = true, keepdim: Bool = false) -> Tensor {
        // Half types: in float32, rounded once, as PyTorch's var kernel accumulates (bf16-bench branch).
        if dtype == .float16 || dtype == .bfloat16 { return to(.float32).variance(dims: dims, unbiased: unbiased, keepdim: keepdim).to(dtype) }
        let m = mean(dims: dims, keepdim: true)
        let d = self - m
        let n = (reductionDims(dims) ?? []).reduce(1) { $0 * shape[$1] }
        let s = (d * d).sum(dims: dims, keepdim: keepdim)
        return s / Double(Swift.max(n - (unbiased ? 1 : 0), 0))
    }
    public func `var`(_ dim: Int, unbiased: Bool = true, keepdim: Bool = false) -> Tensor { variance(dims: [dim], unbiased: unbiased, keepdim: keepdim) }
    public func `var`(unbiased: Bool = true) -> Tensor { variance(dims: nil, unbiased: unbiased) }
    /// `std(dims, unbiased, keepdim)`.
    public func std(dims: [Int]? = nil, unbiased: Bool = true, keepdim: Bool = false) -> Tensor {
        variance(dims: dims, unbiased: unbiased, keepdim: keepdim).sqrt()
    }
    public func std(_ dim: Int, unbiased: Bool = true, keepdim: Bool = false) -> Tensor { std(dims: [dim], unbiased: unbiased, keepdim: keepdim) }

    /// `prod(dim)`.
    public func prod(dims: [Int]? = nil, keepdim: Bool = false) -> Tensor {
        guard let ds = reductionDims(dims) else { return Tensor(metaShape: [], dtype: dtype) }
        let dt = dtype.isFloatingPoint ? dtype : .int64
        let out = Tensor(shape: reducedShape(ds, keepdim: keepdim), dtype: dt, device: device, zeroed: false)
        if isMeta { return out }
        cpuReduce(.prod, ds, into: out)
        if Tensor.needsGrad([self]) {
            let x = self, y = out.detach()   // a detached alias: the graph holds no cycle
            out.recordGrad("ProdBackward1", [x], saving: [x], savingOutput: true) { g in
                var gg = g, o = y
                if !keepdim { for d in ds { gg = gg.unsqueeze(d); o = o.unsqueeze(d) } }
                return [gg * o / x]
            }
        }
        return out
    }
    public func prod(_ dim: Int, keepdim: Bool = false) -> Tensor { prod(dims: [dim], keepdim: keepdim) }

    /// `all()` / `all(dim)`: bool result.
    public func all(dims: [Int]? = nil, keepdim: Bool = false) -> Tensor {
        guard let ds = reductionDims(dims) else { return Tensor(metaShape: [], dtype: .bool) }
        let out = Tensor(shape: reducedShape(ds, keepdim: keepdim), dtype: .bool, device: device, zeroed: false)
        if !isMeta { cpuReduce(.all, ds, into: out) }
        return out
    }
    public func all(_ dim: Int, keepdim: Bool = false) -> Tensor { all(dims: [dim], keepdim: keepdim) }
    /// `any()` / `any(dim)`.
    public func any(dims: [Int]? = nil, keepdim: Bool = false) -> Tensor {
        guard let ds = reductionDims(dims) else { return Tensor(metaShape: [], dtype: .bool) }
        let out = Tensor(shape: reducedShape(ds, keepdim: keepdim), dtype: .bool, device: device, zeroed: false)
        if !isMeta { cpuReduce(.any, ds, into: out) }
        return out
    }
    public func any(_ dim: Int, keepdim: Bool = false) -> Tensor { any(dims: [dim], keepdim: keepdim) }

    /// `Swift.max()`: the largest element (0-d).
    public func max() -> Tensor {
        guard numel > 0 else { return raiseError("Swift.max(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.", dtype: dtype) }
        return flatten().max(0).values
    }
    /// `Swift.min()`: the smallest element (0-d).
    public func min() -> Tensor {
        guard numel > 0 else { return raiseError("Swift.min(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.", dtype: dtype) }
        return flatten().min(0).values
    }
    /// `Swift.max(dim, keepdim)`: values and int64 indices (first occurrence; NaN wins, as in PyTorch).
    public func max(_ dim: Int, keepdim: Bool = false) -> (values: Tensor, indices: Tensor) { extremum(dim, keepdim: keepdim, largest: true) }
    /// `Swift.min(dim, keepdim)`.
    public func min(_ dim: Int, keepdim: Bool = false) -> (values: Tensor, indices: Tensor) { extremum(dim, keepdim: keepdim, largest: false) }

    /// `argmax()` over all elements (flattened index) or `argmax(dim)`.
    public func argmax(_ dim: Int? = nil, keepdim: Bool = false) -> Tensor {
        guard let dim else { return flatten().extremum(0, keepdim: false, largest: true).indices }
        return extremum(dim, keepdim: keepdim, largest: true).indices
    }
    public func argmin(_ dim: Int? = nil, keepdim: Bool = false) -> Tensor {
        guard let dim else { return flatten().extremum(0, keepdim: false, largest: false).indices }
        return extremum(dim, keepdim: keepdim, largest: false).indices
    }

    func extremum(_ dim: Int, keepdim: Bool, largest: Bool) -> (values: Tensor, indices: Tensor) {
        guard let d = checkedDim(dim) else { return (Tensor(metaShape: [], dtype: dtype), Tensor(metaShape: [], dtype: .int64)) }
        let ds = ndim == 0 ? [] : [d]
        let outShape = reducedShape(ds, keepdim: keepdim)
        if ndim > 0 && shape[d] == 0 {
            let e = raiseError(.index, "\(largest ? "max" : "min")(): Expected reduction dim \(d) to have non-zero size.", shape: outShape, dtype: dtype)
            return (e, Tensor(metaShape: outShape, dtype: .int64))
        }
        let values = Tensor(shape: outShape, dtype: dtype, device: device, zeroed: false)
        let indices = Tensor(shape: outShape, dtype: .int64, device: device, zeroed: false)
        if isMeta { return (values, indices) }
        let kt = kernelType(dtype)
        let (x, rows, len) = rowsForReduction(ds, as: kt)
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
        cpuCopy(from: vals.rawReshape(outShape), to: values)
        if Tensor.needsGrad([self]) {
            let inShape = shape
            values.recordGrad(largest ? "MaxBackward0" : "MinBackward0", [self]) { g in
                var gg = g, idx = indices
                if !keepdim && self.ndim > 0 { gg = gg.unsqueeze(d); idx = idx.unsqueeze(d) }
                return [Tensor.zeros(inShape, dtype: g.dtype, device: g.device).scatter(d, idx, gg)]
            }
        }
        return (values, indices)
    }

    /// A reshaped alias of a contiguous tensor (no autograd).
    func rawReshape(_ s: [Int]) -> Tensor {
        Tensor(storage: storage, shape: s, strides: contiguousStrides(s), storageOffset: storageOffset, dtype: dtype)
    }

    /// `logsumexp(dim, keepdim)`: `log(Σ exp(x))`, computed stably.
    public func logsumexp(_ dim: Int, keepdim: Bool = false) -> Tensor {
        let m = noGrad { self.max(dim, keepdim: true).values }
        let safe = noGrad { Tensor.where(m.abs() == Double.infinity, Tensor.zerosLike(m), m) }
        let r = (self - safe).exp().sum(dim, keepdim: true).log() + safe
        return keepdim ? r : r.squeeze(dim)
    }

    /// `cumsum(dim)`: running sums along `dim`; integer inputs give int64.
    public func cumsum(_ dim: Int) -> Tensor {
        guard let d = checkedDim(dim) else { return Tensor(metaShape: shape, dtype: dtype) }
        let dt = dtype.isFloatingPoint ? dtype : .int64
        let out = Tensor(shape: shape, dtype: dt, device: device, zeroed: false)
        if isMeta || numel == 0 { return out }
        let kt = kernelType(dt)
        let moved = ndim == 0 ? self : self.transpose(d, -1)
        let (x, rows, len) = noGrad { moved.contiguous().rowsForReduction([], as: kt) }
        let len2 = ndim == 0 ? 1 : shape[d]
        _ = len
        let res = Tensor(shape: x.shape, dtype: kt, device: .cpu, zeroed: false)
        if kt == .int64 {
            let p = x.pointer(Int64.self), q = res.pointer(Int64.self)
            for r in 0..<(rows * Swift.max(len, 1) / len2) { var acc: Int64 = 0; for i in 0..<len2 { acc &+= p[r * len2 + i]; q[r * len2 + i] = acc } }
        } else if kt == .float64 {
            let p = x.pointer(Double.self), q = res.pointer(Double.self)
            for r in 0..<(numel / len2) { var acc = 0.0; for i in 0..<len2 { acc += p[r * len2 + i]; q[r * len2 + i] = acc } }
        } else {
            let p = x.pointer(Float.self), q = res.pointer(Float.self)
            for r in 0..<(numel / len2) { var acc: Float = 0; for i in 0..<len2 { acc += p[r * len2 + i]; q[r * len2 + i] = acc } }
        }
        let back = ndim == 0 ? res : Tensor(storage: res.storage, shape: res.shape, strides: res.strides, storageOffset: 0, dtype: kt).transpose(d, -1)
        noGrad { cpuCopy(from: back, to: out) }
        if Tensor.needsGrad([self]) {
            out.recordGrad("CumsumBackward0", [self]) { g in [g.flip(d).cumsum(d).flip(d)] }
        }
        return out
    }

    /// `flip(dim)`: reverses the order of elements along `dim` (a copy).
    public func flip(_ dim: Int) -> Tensor {
        guard let d = checkedDim(dim) else { return Tensor(metaShape: shape, dtype: dtype) }
        if ndim == 0 || shape[d] <= 1 { return clone() }
        let idx = Tensor.arange(shape[d] - 1, -1, -1)
        return indexSelect(d, idx)
    }
}

enum ReduceOp { case sum, mean, prod, all, any }

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

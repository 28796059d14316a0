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
        x = x.rawContiguous()
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
        backend(device)?.reduce(.sum, self, dims: ds, into: out)
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
        backend(device)?.reduce(.mean, self, dims: ds, into: out)
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
        backend(device)?.reduce(.prod, self, dims: ds, into: out)
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
        if !isMeta { backend(device)?.reduce(.all, self, dims: ds, into: out) }
        return out
    }
    public func all(_ dim: Int, keepdim: Bool = false) -> Tensor { all(dims: [dim], keepdim: keepdim) }
    /// `any()` / `any(dim)`.
    public func any(dims: [Int]? = nil, keepdim: Bool = false) -> Tensor {
        guard let ds = reductionDims(dims) else { return Tensor(metaShape: [], dtype: .bool) }
        let out = Tensor(shape: reducedShape(ds, keepdim: keepdim), dtype: .bool, device: device, zeroed: false)
        if !isMeta { backend(device)?.reduce(.any, self, dims: ds, into: out) }
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
        backend(device)?.extremum(self, dim: ndim == 0 ? nil : d, largest: largest, values: values, indices: indices)
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
        // A running sum is sequential: computed on the host for every device.
        let host = hostCopy()
        let moved = ndim == 0 ? host : host.rawTranspose(d, ndim - 1)
        let (x, rows, len) = moved.rawContiguous().rowsForReduction([], as: kt)
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
        copyElements(from: back, to: out)
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


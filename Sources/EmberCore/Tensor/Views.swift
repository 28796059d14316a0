/// View operations: new tensors over the same storage (PyTorch's view semantics).
/// Source: https://pytorch.org/docs/stable/tensor_view.html

extension Tensor {
    /// Makes a view of this tensor with the given geometry, sharing storage.
    func makeView(shape: [Int], strides: [Int], offset: Int) -> Tensor {
        let v = Tensor(storage: storage, shape: shape, strides: strides, storageOffset: offset, dtype: dtype)
        v.base = base ?? self
        return v
    }

    /// Infers a single -1 in `shape` from the element count; raises PyTorch's errors.
    func inferShape(_ shape: [Int]) -> [Int]? {
        var s = shape
        let n = numel
        var known = 1
        var inferIdx: Int? = nil
        for (i, d) in s.enumerated() {
            if d == -1 {
                if inferIdx != nil { _ = raiseError("only one dimension can be inferred"); return nil }
                inferIdx = i
            } else if d < 0 {
                _ = raiseError("invalid shape dimension \(d)"); return nil
            } else { known *= d }
        }
        if let i = inferIdx {
            if known == 0 || n % known != 0 {
                _ = raiseError("shape '\(formatShape(shape))' is invalid for input of size \(n)"); return nil
            }
            s[i] = n / known
        } else if known != n {
            _ = raiseError("shape '\(formatShape(shape))' is invalid for input of size \(n)"); return nil
        }
        return s
    }

    /// Strides for viewing this tensor as `newShape` without copying, or nil when impossible
    /// (ATen's `computeStride`).
    func viewStrides(_ newShape: [Int]) -> [Int]? {
        if numel == 0 || shape.isEmpty { return contiguousStrides(newShape) }
        var newStrides = [Int](repeating: 0, count: newShape.count)
        var viewD = newShape.count - 1
        var chunkBase = strides[ndim - 1]
        var tensorNumel = 1
        var viewNumel = 1
        var tensorD = ndim - 1
        while tensorD >= 0 {
            tensorNumel *= shape[tensorD]
            if tensorD == 0 || (shape[tensorD - 1] != 1 && strides[tensorD - 1] != tensorNumel * chunkBase) {
                while viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1) {
                    newStrides[viewD] = viewNumel * chunkBase
                    viewNumel *= newShape[viewD]
                    viewD -= 1
                }
                if viewNumel != tensorNumel { return nil }
                if tensorD > 0 {
                    chunkBase = strides[tensorD - 1]
                    tensorNumel = 1
                    viewNumel = 1
                }
            }
            tensorD -= 1
        }
        if viewD != -1 { return nil }
        return newStrides
    }

    /// `view(shape)`: same data, new shape; one dimension may be -1. Raises PyTorch's error when the
    /// layout does not allow a view (use ``reshape(_:)``).
    public func view(_ shape: [Int]) -> Tensor {
        guard let s = inferShape(shape) else { return Tensor(metaShape: shape.map { Swift.max($0, 0) }, dtype: dtype) }
        guard let st = viewStrides(s) else {
            return raiseError("view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.", shape: s, dtype: dtype)
        }
        let inShape = self.shape
        return makeView(shape: s, strides: st, offset: storageOffset)
            .recordGrad("ViewBackward0", [self]) { g in [g.reshape(inShape)] }
    }
    public func view(_ shape: Int...) -> Tensor { view(shape) }

    /// `reshape(shape)`: a view when the layout allows it, else a contiguous copy.
    public func reshape(_ shape: [Int]) -> Tensor {
        guard let s = inferShape(shape) else { return Tensor(metaShape: shape.map { Swift.max($0, 0) }, dtype: dtype) }
        if let st = viewStrides(s) {
            let inShape = self.shape
            return makeView(shape: s, strides: st, offset: storageOffset)
                .recordGrad("ViewBackward0", [self]) { g in [g.reshape(inShape)] }
        }
        let inShape = self.shape
        let c = noGrad { contiguous() }
        let r = Tensor(storage: c.storage, shape: s, strides: contiguousStrides(s), storageOffset: 0, dtype: dtype)
        return r.recordGrad("UnsafeViewBackward0", [self]) { g in [g.reshape(inShape)] }
    }
    public func reshape(_ shape: Int...) -> Tensor { reshape(shape) }

    /// `transpose(d0, d1)`: swaps two dimensions (a view).
    public func transpose(_ d0: Int, _ d1: Int) -> Tensor {
        guard let a = checkedDim(d0), let b = checkedDim(d1) else { return Tensor(metaShape: shape, dtype: dtype) }
        if ndim == 0 { return makeView(shape: [], strides: [], offset: storageOffset) }
        var sh = shape, st = strides
        sh.swapAt(a, b); st.swapAt(a, b)
        return makeView(shape: sh, strides: st, offset: storageOffset)
            .recordGrad("TransposeBackward0", [self]) { g in [g.transpose(a, b)] }
    }

    /// `permute(dims)`: reorders dimensions (a view).
    public func permute(_ dims: [Int]) -> Tensor {
        guard dims.count == ndim else {
            return raiseError("permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = \(ndim) is not equal to len(dims) = \(dims.count)", shape: shape, dtype: dtype)
        }
        var ds: [Int] = []
        for d in dims { guard let x = checkedDim(d) else { return Tensor(metaShape: shape, dtype: dtype) }; ds.append(x) }
        guard Set(ds).count == ds.count else { return raiseError("permute(): duplicate dims are not allowed.", shape: shape, dtype: dtype) }
        let sh = ds.map { shape[$0] }, st = ds.map { strides[$0] }
        var inverse = [Int](repeating: 0, count: ds.count)
        for (i, d) in ds.enumerated() { inverse[d] = i }
        return makeView(shape: sh, strides: st, offset: storageOffset)
            .recordGrad("PermuteBackward0", [self]) { g in [g.permute(inverse)] }
    }
    public func permute(_ dims: Int...) -> Tensor { permute(dims) }

    /// `.T`: reverses all dimensions (for 2-D, the transpose).
    public var T: Tensor { permute(Array((0..<ndim).reversed())) }
    /// `.mT`: transposes the last two dimensions.
    public var mT: Tensor {
        guard ndim >= 2 else { return raiseError("tensor.mT is only supported on matrices or batches of matrices. Got \(ndim)-D tensor.", shape: shape, dtype: dtype) }
        return transpose(-2, -1)
    }

    /// `t()`: transpose of a ≤2-D tensor.
    public func t() -> Tensor {
        guard ndim <= 2 else { return raiseError("t() expects a tensor with <= 2 dimensions, but self is \(ndim)D", shape: shape, dtype: dtype) }
        return ndim < 2 ? self : transpose(0, 1)
    }

    /// `narrow(dim, start, length)`: elements `start..<start+length` along `dim` (a view).
    public func narrow(_ dim: Int, start: Int, length: Int) -> Tensor {
        guard let d = checkedDim(dim) else { return Tensor(metaShape: shape, dtype: dtype) }
        let size = shape[d]
        let s = start < 0 ? start + size : start
        guard s >= 0, length >= 0, s + length <= size else {
            return raiseError("start (\(start)) + length (\(length)) exceeds dimension size (\(size)).", shape: shape, dtype: dtype)
        }
        return slice(d, start: s, end: s + length, step: 1)
    }

    /// Python slicing `t[start:end:step]` along one dimension (clamped bounds, positive step).
    public func slice(_ dim: Int, start: Int? = nil, end: Int? = nil, step: Int = 1) -> Tensor {
        guard let d = checkedDim(dim) else { return Tensor(metaShape: shape, dtype: dtype) }
        guard step > 0 else { return raiseError(.value, "step must be greater than zero", shape: shape, dtype: dtype) }
        let size = shape[d]
        func clamp(_ v: Int?, _ def: Int) -> Int {
            guard var x = v else { return def }
            if x < 0 { x += size }
            return Swift.min(Swift.max(x, 0), size)
        }
        let lo = clamp(start, 0)
        let hi = Swift.max(lo, clamp(end, size))
        let len = (hi - lo + step - 1) / step
        var sh = shape, st = strides
        sh[d] = len
        st[d] = strides[d] * step
        let inShape = shape
        return makeView(shape: sh, strides: st, offset: storageOffset + lo * strides[d])
            .recordGrad("SliceBackward0", [self]) { g in
                let z = Tensor.zeros(inShape, dtype: g.dtype, device: g.device)
                noGrad { z.slice(d, start: lo, end: hi, step: step).copy_(g) }
                return [z]
            }
    }

    /// `select(dim, index)`: removes `dim`, taking element `index` (negative counts from the end).
    public func select(_ dim: Int, _ index: Int) -> Tensor {
        guard let d = checkedDim(dim), ndim > 0 else {
            return raiseError(.index, "select() cannot be applied to a 0-dim tensor.", shape: [], dtype: dtype)
        }
        let size = shape[d]
        guard index >= -size && index < size else {
            return raiseError(.index, "select(): index \(index) out of range for tensor of size \(formatShape(shape)) at dimension \(d)", shape: shape, dtype: dtype)
        }
        let i = index < 0 ? index + size : index
        var sh = shape, st = strides
        sh.remove(at: d); st.remove(at: d)
        let inShape = shape
        return makeView(shape: sh, strides: st, offset: storageOffset + i * strides[d])
            .recordGrad("SelectBackward0", [self]) { g in
                let z = Tensor.zeros(inShape, dtype: g.dtype, device: g.device)
                noGrad { z.select(d, i).copy_(g) }
                return [z]
            }
    }

    /// `unsqueeze(dim)`: inserts a dimension of size 1.
    public func unsqueeze(_ dim: Int) -> Tensor {
        let n = ndim + 1
        guard dim >= -n && dim < n else {
            return raiseError(.index, "Dimension out of range (expected to be in range of [\(-n), \(n - 1)], but got \(dim))", shape: shape, dtype: dtype)
        }
        let d = dim < 0 ? dim + n : dim
        var sh = shape, st = strides
        let newStride = d < ndim ? shape[d] * strides[d] : 1
        sh.insert(1, at: d); st.insert(newStride, at: d)
        return makeView(shape: sh, strides: st, offset: storageOffset)
            .recordGrad("UnsqueezeBackward0", [self]) { g in [g.squeeze(d)] }
    }

    /// `squeeze()`: removes all dimensions of size 1; `squeeze(dim)` only that one if it has size 1.
    public func squeeze(_ dim: Int? = nil) -> Tensor {
        var keep: [Int] = []
        if let dim {
            guard let d = checkedDim(dim) else { return Tensor(metaShape: shape, dtype: dtype) }
            keep = (0..<ndim).filter { $0 != d || shape[$0] != 1 }
        } else {
            keep = (0..<ndim).filter { shape[$0] != 1 }
        }
        let inShape = shape
        return makeView(shape: keep.map { shape[$0] }, strides: keep.map { strides[$0] }, offset: storageOffset)
            .recordGrad("SqueezeBackward0", [self]) { g in [g.reshape(inShape)] }
    }

    /// `flatten(startDim, endDim)`: merges dimensions `startDim...endDim` (a view when possible).
    public func flatten(_ startDim: Int = 0, _ endDim: Int = -1) -> Tensor {
        if ndim == 0 { return reshape([1]) }
        guard let s = checkedDim(startDim), let e = checkedDim(endDim) else { return Tensor(metaShape: shape, dtype: dtype) }
        guard s <= e else { return raiseError("flatten() has invalid args: start_dim cannot come after end_dim", shape: shape, dtype: dtype) }
        if s == e { return self }
        var sh = Array(shape[0..<s])
        sh.append(shape[s...e].reduce(1, *))
        sh.append(contentsOf: shape[(e + 1)...])
        return reshape(sh)
    }

    /// `unflatten(dim, sizes)`.
    public func unflatten(_ dim: Int, _ sizes: [Int]) -> Tensor {
        guard let d = checkedDim(dim) else { return Tensor(metaShape: shape, dtype: dtype) }
        var sh = Array(shape[0..<d])
        sh.append(contentsOf: sizes)
        sh.append(contentsOf: shape[(d + 1)...])
        return view(sh)
    }

    /// `expand(shape)`: broadcasts size-1 dimensions (stride 0) without copying; -1 keeps a size.
    public func expand(_ newShape: [Int]) -> Tensor {
        guard newShape.count >= ndim else {
            return raiseError("expand(torch.\(dtype.scalarTypeName)Tensor{\(formatShape(shape))}, size=\(formatShape(newShape))): the number of sizes provided (\(newShape.count)) must be greater or equal to the number of dimensions in the tensor (\(ndim))", shape: shape, dtype: dtype)
        }
        let lead = newShape.count - ndim
        var sh = newShape, st = [Int](repeating: 0, count: newShape.count)
        for i in 0..<newShape.count {
            if i < lead {
                guard newShape[i] >= 0 else { return raiseError("The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension \(i)", shape: shape, dtype: dtype) }
                continue
            }
            let j = i - lead
            if newShape[i] == -1 { sh[i] = shape[j]; st[i] = strides[j]; continue }
            if shape[j] == newShape[i] { st[i] = strides[j] }
            else if shape[j] == 1 { st[i] = 0 }
            else {
                return raiseError("The expanded size of the tensor (\(newShape[i])) must match the existing size (\(shape[j])) at non-singleton dimension \(i).  Target sizes: \(formatShape(newShape)).  Tensor sizes: \(formatShape(shape))", shape: newShape, dtype: dtype)
            }
        }
        if sh == shape { return self }
        let inShape = shape
        return makeView(shape: sh, strides: st, offset: storageOffset)
            .recordGrad("ExpandBackward0", [self]) { g in [g.sumTo(inShape)] }
    }
    public func expand(_ shape: Int...) -> Tensor { expand(shape) }
    public func expandAs(_ other: Tensor) -> Tensor { expand(other.shape) }
    public func broadcastTo(_ shape: [Int]) -> Tensor { expand(shape) }

    /// `contiguous()`: self when already contiguous, else a row-major copy.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        return clone()
    }

    /// `split(size, dim)`: views of `size` elements along `dim` (the last may be smaller).
    public func split(_ size: Int, dim: Int = 0) -> [Tensor] {
        guard let d = checkedDim(dim) else { return [] }
        guard size > 0 else { _ = raiseError("split_size can only be 0 if dimension size is 0, but got dimension size of \(shape[d])"); return [] }
        return Swift.stride(from: 0, to: Swift.max(shape[d], 1), by: size).map { narrow(d, start: $0, length: Swift.min(size, shape[d] - $0)) }
    }

    /// `split([sizes], dim)`: views with the given sizes, which must sum to the dimension's size.
    public func split(sizes: [Int], dim: Int = 0) -> [Tensor] {
        guard let d = checkedDim(dim) else { return [] }
        guard sizes.reduce(0, +) == shape[d] else {
            _ = raiseError("split_with_sizes expects split_sizes to sum exactly to \(shape[d]) (input tensor's size at dimension \(d)), but got split_sizes=\(formatShape(sizes))")
            return []
        }
        var start = 0
        return sizes.map { s in defer { start += s }; return narrow(d, start: start, length: s) }
    }

    /// `chunk(chunks, dim)`: splits into `chunks` pieces of `ceil(size / chunks)`.
    public func chunk(_ chunks: Int, dim: Int = 0) -> [Tensor] {
        guard let d = checkedDim(dim) else { return [] }
        let size = (shape[d] + chunks - 1) / Swift.max(chunks, 1)
        return split(Swift.max(size, 1), dim: d)
    }

    /// `unbind(dim)`: the slices along `dim`, each without that dimension.
    public func unbind(_ dim: Int = 0) -> [Tensor] {
        guard let d = checkedDim(dim) else { return [] }
        return (0..<shape[d]).map { select(d, $0) }
    }
}

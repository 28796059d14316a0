/// Indexing: gather/scatter, index_select, nonzero, one_hot, boolean masks, integer-array indexing.
/// Source: https://pytorch.org/docs/stable/torch.html#indexing-slicing-joining-mutating-ops

extension Tensor {
    /// Validates an index tensor: int64 (or int32), same device, values within `0..<size` after
    /// wrapping negatives; returns the wrapped values.
    func indexValues(_ index: Tensor, size: Int, dim: Int, op: String) -> [Int]? {
        guard !index.dtype.isFloatingPoint && index.dtype != .bool else {
            _ = raiseError(.index, "tensors used as indices must be long, int, byte or bool tensors")
            return nil
        }
        guard index.device == device else {
            _ = raiseError("Expected all tensors to be on the same device, but found at least two devices, \(device == .cpu ? index.device : device) and \(device == .cpu ? device : index.device)!")
            return nil
        }
        if index.isMeta { return nil }
        var out: [Int] = []
        out.reserveCapacity(index.numel)
        for v in index.toInt64s() {
            let i = Int(v)
            guard i >= -size && i < size else {
                // ATen's CPU index_select words its bounds check differently from gather/scatter.
                if op == "index_select" {
                    _ = raiseError("INDICES element is out of DATA bounds, id=\(i) axis_dim=\(size)")
                    return nil
                }
                _ = raiseError(.index, "index \(i) is out of bounds for dimension \(dim) with size \(size)")
                return nil
            }
            out.append(i < 0 ? i + size : i)
        }
        return out
    }

    /// `index_select(dim, index)`: the slices at 1-D `index` along `dim` (a copy).
    public func indexSelect(_ dim: Int, _ index: Tensor) -> Tensor {
        guard let d = checkedDim(dim) else { return Tensor(metaShape: shape, dtype: dtype) }
        guard index.ndim <= 1 else { return raiseError(.index, "index_select(): Index is supposed to be a vector", dtype: dtype) }
        var outShape = shape
        if ndim > 0 { outShape[d] = index.numel }
        if isMeta || index.isMeta { return Tensor(metaShape: outShape, dtype: dtype) }
        guard let idx = indexValues(index, size: ndim == 0 ? 1 : shape[d], dim: d, op: "index_select") else {
            return Tensor(metaShape: outShape, dtype: dtype)
        }
        let out = Tensor(shape: outShape, dtype: dtype, device: device, zeroed: false)
        backend(device)?.indexSelect(self, dim: d, index: index, values: idx, into: out)
        if Tensor.needsGrad([self]) {
            let inShape = shape
            out.recordGrad("IndexSelectBackward0", [self]) { g in
                [Tensor.zeros(inShape, dtype: g.dtype, device: g.device).indexAdd(d, index, g)]
            }
        }
        return out
    }

    /// `index_add(dim, index, source)`: a copy of self with `source` slices added at `index`
    /// (repeated indices accumulate).
    public func indexAdd(_ dim: Int, _ index: Tensor, _ source: Tensor) -> Tensor {
        guard let d = checkedDim(dim) else { return Tensor(metaShape: shape, dtype: dtype) }
        let out = noGrad { self.clone() }
        if isMeta { return out }
        guard let idx = indexValues(index, size: shape[d], dim: d, op: "index_add") else { return out }
        out.indexAddInPlace(d, index, idx, source)
        if Tensor.needsGrad([self, source]) {
            out.recordGrad("IndexAddBackward0", [self, source]) { g in [g, g.indexSelect(d, index)] }
        }
        return out
    }

    /// Adds `source` slices into self at `idx` along `d` (no autograd). Contiguous float32 along
    /// dim 0 (embedding gradients) runs as row additions without temporaries.
    func indexAddInPlace(_ d: Int, _ index: Tensor, _ idx: [Int], _ source: Tensor) {
        let src = source.rawCast(dtype)
        if d == 0, backend(device)?.indexAddRows(self, index: index, values: idx, source: src) == true {
            storage.bumpVersion()
            return
        }
        noGrad {
            for (j, i) in idx.enumerated() {
                let o = select(d, i)
                o.writeValues(o + src.select(d, j))
            }
        }
    }

    /// `gather(dim, index)`: `out[i][j][k] = self[index[i][j][k]][j][k]` for dim 0, etc.
    /// `index` has self's rank; its sizes may be smaller than self's except along `dim`.
    public func gather(_ dim: Int, _ index: Tensor) -> Tensor {
        guard let d = checkedDim(dim) else { return Tensor(metaShape: index.shape, dtype: dtype) }
        guard index.ndim == ndim || (ndim == 0 && index.ndim <= 1) else {
            return raiseError("Index tensor must have the same number of dimensions as input tensor", shape: index.shape, dtype: dtype)
        }
        guard index.dtype == .int64 else { return raiseError("gather(): Expected dtype int64 for index", shape: index.shape, dtype: dtype) }
        let out = Tensor(shape: index.shape, dtype: dtype, device: device, zeroed: false)
        if isMeta { return out }
        let size = ndim == 0 ? 1 : shape[d]
        guard let idx = indexValues(index, size: size, dim: d, op: "gather") else { return out }
        if d == ndim - 1, index.shape.last == 1, Array(index.shape.dropLast()) == Array(shape.dropLast()),
           backend(device)?.gatherLast(self, index: Tensor(array: idx.map(Int64.init), shape: index.shape, device: device), into: out) == true {
            // One pick per row on the last dim (a device's gather kernel).
        } else {
            gatherOnHost(d, index, idx, into: out)
        }
        if Tensor.needsGrad([self]) {
            let inShape = shape
            out.recordGrad("GatherBackward0", [self]) { g in
                [Tensor.zeros(inShape, dtype: g.dtype, device: g.device).scatterAdd(d, index, g)]
            }
        }
        return out
    }

    /// `out = self.gather(d, index)` element by element on the host (any device): the book's models
    /// gather only small tensors.
    func gatherOnHost(_ d: Int, _ index: Tensor, _ idx: [Int], into out: Tensor) {
        let x = hostCopy()
        let result = Tensor(shape: index.shape, dtype: dtype, device: .cpu, zeroed: false)
        let ish = index.shape
        var pos = [Int](repeating: 0, count: ish.count)
        for lin in 0..<idx.count {
            var off = x.storageOffset
            if ndim > 0 {
                for k in 0..<ish.count { off += (k == d ? idx[lin] : pos[k]) * x.strides[k] }
            }
            copyElement(from: x, offset: off, to: result, index: lin)
            var k = ish.count - 1
            while k >= 0 { pos[k] += 1; if pos[k] < ish[k] { break }; pos[k] = 0; k -= 1 }
        }
        copyElements(from: result, to: out)
    }

    /// `scatter(dim, index, src)`: a copy of self with `src` values written at `index` positions.
    public func scatter(_ dim: Int, _ index: Tensor, _ src: Tensor) -> Tensor {
        scatterImpl(dim, index, src, accumulate: false)
    }
    /// `scatter_add(dim, index, src)`: like scatter, adding (repeated positions accumulate).
    public func scatterAdd(_ dim: Int, _ index: Tensor, _ src: Tensor) -> Tensor {
        scatterImpl(dim, index, src, accumulate: true)
    }

    func scatterImpl(_ dim: Int, _ index: Tensor, _ src: Tensor, accumulate: Bool) -> Tensor {
        guard let d = checkedDim(dim) else { return Tensor(metaShape: shape, dtype: dtype) }
        let out = noGrad { self.clone() }
        if isMeta { return out }
        guard let idx = indexValues(index, size: ndim == 0 ? 1 : shape[d], dim: d, op: "scatter") else { return out }
        if accumulate, d == ndim - 1, index.shape.last == 1, index.shape == src.shape,
           Array(index.shape.dropLast()) == Array(shape.dropLast()),
           backend(device)?.scatterAddLast(out, index: Tensor(array: idx.map(Int64.init), shape: index.shape, device: device),
                                           source: src.rawCast(dtype)) == true {
            // One addition per row on the last dim (a device's scatter-add kernel).
            out.storage.bumpVersion()
        } else {
            scatterOnHost(d, index, idx, src, accumulate: accumulate, into: out)
        }
        if Tensor.needsGrad([self, src]) {
            out.recordGrad(accumulate ? "ScatterAddBackward0" : "ScatterBackward0", [self, src]) { g in
                [accumulate ? g : g.scatter(d, index, Tensor.zerosLike(src).to(g.dtype)), g.gather(d, index)]
            }
        }
        return out
    }

    /// Writes (or adds) `src` into `out` at `idx` along `d`, element by element on the host (any
    /// device), written back to `out` at the end.
    func scatterOnHost(_ d: Int, _ index: Tensor, _ idx: [Int], _ src: Tensor, accumulate: Bool, into out: Tensor) {
        let sp = src.rawCast(dtype).hostCopy()
        let result = out.hostCopy()
        // Walk index positions in row-major order; src is read at the same position.
        let ish = index.shape
        var pos = [Int](repeating: 0, count: ish.count)
        for lin in 0..<idx.count {
            var dstOff = 0, srcOff = 0
            for k in 0..<ish.count {
                let p = k == d ? idx[lin] : pos[k]
                dstOff += p * result.strides[k]
                srcOff += pos[k] * sp.strides[k]
            }
            addOrSet(result, dstOff, sp, srcOff, accumulate)
            var k = ish.count - 1
            while k >= 0 { pos[k] += 1; if pos[k] < ish[k] { break }; pos[k] = 0; k -= 1 }
        }
        if result !== out { copyElements(from: result, to: out) }
    }

    /// `nonzero()`: [count, ndim] int64 coordinates of non-zero elements, row-major.
    public func nonzero() -> Tensor {
        guard checkReadable() else { return Tensor(metaShape: [0, ndim], dtype: .int64) }
        let flags = toBools()
        var coords: [Int64] = []
        let st = contiguousStrides(shape)
        for (i, f) in flags.enumerated() where f {
            var r = i
            for k in 0..<ndim { coords.append(Int64(r / Swift.max(st[k], 1))); r %= Swift.max(st[k], 1) }
        }
        return Tensor(array: coords, shape: [coords.count / Swift.max(ndim, 1), ndim]).to(device)
    }

    /// `one_hot(num_classes)` of an int64 tensor: shape + [numClasses], int64.
    public func oneHot(numClasses: Int = -1) -> Tensor {
        guard dtype == .int64 else { return raiseError("one_hot is only applicable to index tensor of type LongTensor.", dtype: .int64) }
        let vals = toInt64s()
        let n = numClasses >= 0 ? numClasses : Int((vals.max() ?? -1) + 1)
        if let bad = vals.first(where: { $0 < 0 || $0 >= n }) {
            return raiseError(bad < 0 ? "Class values must be non-negative." : "Class values must be smaller than num_classes.", dtype: .int64)
        }
        var out = [Int64](repeating: 0, count: vals.count * n)
        for (i, v) in vals.enumerated() { out[i * n + Int(v)] = 1 }
        return Tensor(array: out, shape: shape + [n]).to(device)
    }

    /// `bincount(weights, minlength)` of a 1-D non-negative integer tensor.
    public func bincount(weights: Tensor? = nil, minlength: Int = 0) -> Tensor {
        guard ndim == 1, !dtype.isFloatingPoint else { return raiseError("bincount only supports 1-d non-negative integral inputs.", dtype: .int64) }
        let vals = toInt64s()
        if vals.contains(where: { $0 < 0 }) { return raiseError("bincount only supports 1-d non-negative integral inputs.", dtype: .int64) }
        let n = Swift.max(minlength, Int((vals.max() ?? -1) + 1))
        if let weights {
            let w = weights.toDoubles()
            var out = [Double](repeating: 0, count: n)
            for (i, v) in vals.enumerated() { out[Int(v)] += w[i] }
            return Tensor(array: out, shape: [n]).to(weights.dtype == .float32 ? .float32 : .float64)
        }
        var out = [Int64](repeating: 0, count: n)
        for v in vals { out[Int(v)] += 1 }
        return Tensor(array: out, shape: [n])
    }

    /// `topk(k, dim, largest, sorted)`: the k largest (or smallest) values and their indices.
    /// Ties keep the lower index first.
    public func topk(_ k: Int, dim: Int = -1, largest: Bool = true, sorted: Bool = true) -> (values: Tensor, indices: Tensor) {
        guard let d = checkedDim(dim) else { return (Tensor(metaShape: [], dtype: dtype), Tensor(metaShape: [], dtype: .int64)) }
        let size = ndim == 0 ? 1 : shape[d]
        guard k >= 0 && k <= size else {
            return (raiseError("selected index k out of range", dtype: dtype), Tensor(metaShape: [], dtype: .int64))
        }
        var outShape = shape
        if ndim > 0 { outShape[d] = k }
        if isMeta { return (Tensor(metaShape: outShape, dtype: dtype), Tensor(metaShape: outShape, dtype: .int64)) }
        let moved = ndim == 0 ? self : self.rawTranspose(d, ndim - 1)
        let (x, rows, len) = moved.hostCopy().rowsForReduction([], as: .float64)
        _ = len
        let p = x.pointer(Double.self)
        var vals = [Double](), idxs = [Int64]()
        let nrows = x.numel / Swift.max(size, 1)
        vals.reserveCapacity(nrows * k)   // k per row (not numel × k: 20 GB for a GPT-2 row with k = vocab)
        idxs.reserveCapacity(nrows * k)
        _ = rows
        for r in 0..<nrows {
            let row = p + r * size
            let order = (0..<size).sorted { a, b in
                let va = row[a], vb = row[b]
                if va.isNaN != vb.isNaN { return largest ? va.isNaN : vb.isNaN }
                if va != vb { return largest ? va > vb : va < vb }
                return a < b
            }
            for i in order.prefix(k) { vals.append(row[i]); idxs.append(Int64(i)) }
        }
        let movedShape = moved.shape.dropLast() + [k]
        let v = Tensor(array: vals, shape: Array(movedShape)).to(dtype).to(device)
        let ix = Tensor(array: idxs, shape: Array(movedShape)).to(device)
        let values = ndim == 0 ? v.reshape([]) : v.rawTranspose(d, ndim - 1).contiguous()
        let indices = ndim == 0 ? ix.reshape([]) : ix.rawTranspose(d, ndim - 1).contiguous()
        if Tensor.needsGrad([self]) {
            let inShape = shape
            values.recordGrad("TopkBackward0", [self]) { g in
                [Tensor.zeros(inShape, dtype: g.dtype, device: g.device).scatter(d, indices, g)]
            }
        }
        return (values, indices)
    }

    /// `sort(dim, descending)`: values and indices (stable).
    public func sort(_ dim: Int = -1, descending: Bool = false) -> (values: Tensor, indices: Tensor) {
        topk(ndim == 0 ? 1 : size(dim), dim: dim, largest: descending)
    }

    /// `argsort(dim, descending)`.
    public func argsort(_ dim: Int = -1, descending: Bool = false) -> Tensor { sort(dim, descending: descending).indices }
}

/// Copies one element from `src` at absolute storage offset to `dst`'s contiguous position.
func copyElement(from src: Tensor, offset: Int, to dst: Tensor, index: Int) {
    let sz = src.dtype.itemSize
    let s = src.storage.data! + offset * sz
    let d = dst.storage.data! + (dst.storageOffset + index) * sz
    d.copyMemory(from: s, byteCount: sz)
}

/// out[dstOff] (+)= src[srcOff], both relative to their storage offsets, same dtype.
func addOrSet(_ out: Tensor, _ dstOff: Int, _ src: Tensor, _ srcOff: Int, _ accumulate: Bool) {
    struct V: DTypeVisitor {
        let out: Tensor, d: Int, src: Tensor, s: Int, acc: Bool
        func visit<T: TensorScalar>(_: T.Type) {
            let o = out.pointer(T.self), x = src.pointer(T.self)
            if acc {
                o[d] = convertScalar(o[d].doubleValue + x[s].doubleValue, to: T.self)
            } else { o[d] = x[s] }
        }
    }
    visitDType(out.dtype, V(out: out, d: dstOff, src: src, s: srcOff, acc: accumulate))
}

extension Tensor {
    /// `index_add_(dim, index, source)` in place (no autograd recorded; used by backward passes).
    @discardableResult
    public func indexAdd_(_ dim: Int, _ index: Tensor, _ source: Tensor) -> Tensor {
        guard let d = checkedDim(dim), !isMeta else { return self }
        guard let idx = indexValues(index, size: shape[d], dim: d, op: "index_add_") else { return self }
        indexAddInPlace(d, index, idx, source)
        return self
    }
}

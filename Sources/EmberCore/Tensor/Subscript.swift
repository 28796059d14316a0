/// Python-style indexing: `t[0]`, `t[..<n, ..<n]`, `t[(-2)...]`, `t[Swift.stride(from: 0, to: 6, by: 2)]`,
/// `t[.newAxis]`, `t[.ellipsis, 0]`, boolean masks `t[t == 1]`, integer arrays
/// `probas[[0, 1], [0, 1, 2], targets]`, and assignment through all of them (`t[t == 1] = 2`).
/// Source: https://pytorch.org/docs/stable/tensor_view.html, numpy indexing rules as PyTorch applies them.

/// One item of a subscript.
public enum TensorIndex {
    case index(Int)
    case slice(start: Int?, end: Int?, step: Int)
    case newAxis
    case ellipsis
    case tensor(Tensor)

    /// `:` — the whole dimension.
    public static var all: TensorIndex { .slice(start: nil, end: nil, step: 1) }
}

/// Values usable inside `tensor[...]`.
public protocol TensorIndexConvertible { var tensorIndex: TensorIndex { get } }
extension TensorIndex: TensorIndexConvertible { public var tensorIndex: TensorIndex { self } }
extension Int: TensorIndexConvertible { public var tensorIndex: TensorIndex { .index(self) } }
extension Range: TensorIndexConvertible where Bound == Int {
    public var tensorIndex: TensorIndex { .slice(start: lowerBound, end: upperBound, step: 1) }
}
extension ClosedRange: TensorIndexConvertible where Bound == Int {
    public var tensorIndex: TensorIndex { .slice(start: lowerBound, end: upperBound == -1 ? nil : upperBound + 1, step: 1) }
}
extension PartialRangeFrom: TensorIndexConvertible where Bound == Int {
    public var tensorIndex: TensorIndex { .slice(start: lowerBound, end: nil, step: 1) }
}
extension PartialRangeUpTo: TensorIndexConvertible where Bound == Int {
    public var tensorIndex: TensorIndex { .slice(start: nil, end: upperBound, step: 1) }
}
extension PartialRangeThrough: TensorIndexConvertible where Bound == Int {
    public var tensorIndex: TensorIndex { .slice(start: nil, end: upperBound == -1 ? nil : upperBound + 1, step: 1) }
}
extension StrideTo: TensorIndexConvertible where Element == Int {
    public var tensorIndex: TensorIndex {
        var it = makeIterator()
        let first = it.next()
        let second = it.next()
        let step = (first != nil && second != nil) ? second! - first! : 1
        // Recover start/end: StrideTo does not expose them, so rebuild from its elements.
        let all = Array(self)
        guard let s = all.first else { return .slice(start: 0, end: 0, step: 1) }
        return .slice(start: s, end: all.last! + 1, step: Swift.max(step, 1))
    }
}
extension Tensor: TensorIndexConvertible { public var tensorIndex: TensorIndex { .tensor(self) } }
extension Array: TensorIndexConvertible where Element == Int {
    public var tensorIndex: TensorIndex { .tensor(Tensor(self)) }
}

extension Tensor {
    public subscript(_ items: TensorIndexConvertible...) -> Tensor {
        get { index(items.map { $0.tensorIndex }) }
        set { indexPut(items.map { $0.tensorIndex }, newValue) }
    }

    /// Reads one element as a number, or assigns a number through any index: `t[t == 1] = 2`,
    /// `t[0, ..<3] = 0.5` (converted to `t`'s dtype, as PyTorch does).
    @_disfavoredOverload
    public subscript(_ items: TensorIndexConvertible...) -> Double {
        get { index(items.map { $0.tensorIndex }).item() }
        set { indexPut(items.map { $0.tensorIndex }, Tensor.full([], newValue, dtype: dtype, device: device)) }
    }

    /// Applies the basic (view) part of an index list; returns the view and the advanced indices
    /// positioned at the view's dims.
    func applyBasic(_ items: [TensorIndex]) -> (Tensor, [(dim: Int, index: Tensor)])? {
        // Expand the ellipsis and count dims consumed.
        let consumed = items.reduce(0) { n, it in
            switch it {
            case .newAxis, .ellipsis: return n
            case .tensor(let t) where t.dtype == .bool: return n + Swift.max(t.ndim, 1)
            default: return n + 1
            }
        }
        guard consumed <= ndim else {
            _ = raiseError(.index, "too many indices for tensor of dimension \(ndim)")
            return nil
        }
        var expanded: [TensorIndex] = []
        var sawEllipsis = false
        for it in items {
            if case .ellipsis = it {
                guard !sawEllipsis else { _ = raiseError(.index, "an index can only have a single ellipsis ('...')"); return nil }
                sawEllipsis = true
                expanded += Array(repeating: TensorIndex.all, count: ndim - consumed)
            } else { expanded.append(it) }
        }
        var v = self
        var dim = 0
        var advanced: [(Int, Tensor)] = []
        for it in expanded {
            switch it {
            case .index(let i):
                v = v.select(dim, i)
            case .slice(let s, let e, let step):
                v = v.slice(dim, start: s, end: e, step: step)
                dim += 1
            case .newAxis:
                v = v.unsqueeze(dim)
                dim += 1
            case .ellipsis:
                break
            case .tensor(let t):
                if t.dtype == .bool {
                    // A boolean mask over k dims becomes k integer index tensors (nonzero coordinates).
                    let k = Swift.max(t.ndim, 1)
                    guard t.ndim == 0 || Array(v.shape[dim..<(dim + k)]) == t.shape else {
                        let bad = (0..<t.ndim).first { v.shape[dim + $0] != t.shape[$0] } ?? 0
                        _ = raiseError(.index, "The shape of the mask \(formatShape(t.shape)) at index \(bad) does not match the shape of the indexed tensor \(formatShape(v.shape)) at index \(dim + bad)")
                        return nil
                    }
                    if t.ndim == 0 {
                        v = v.unsqueeze(dim)
                        advanced.append((dim, t.item() != 0 ? Tensor([0]) : Tensor(array: [Int64](), shape: [0])))
                        dim += 1
                        continue
                    }
                    let nz = t.nonzero()
                    for j in 0..<k { advanced.append((dim + j, nz.select(1, j))) }
                    dim += k
                } else {
                    guard !t.dtype.isFloatingPoint else {
                        _ = raiseError(.index, "tensors used as indices must be long, int, byte or bool tensors")
                        return nil
                    }
                    advanced.append((dim, t))
                    dim += 1
                }
            }
        }
        return (v, advanced)
    }

    /// Element offsets (relative to `v.storageOffset`) for advanced indexing, plus the result layout.
    func advancedPlan(_ v: Tensor, _ adv: [(dim: Int, index: Tensor)]) -> (positions: [[Int]], bshape: [Int], restDims: [Int], frontPlacement: Bool)? {
        var bshape: [Int] = []
        for (_, t) in adv {
            switch broadcastShapes(bshape, t.shape) {
            case .success(let s): bshape = s
            case .failure:
                _ = raiseError(.index, "shape mismatch: indexing tensors could not be broadcast together with shapes " + adv.map { formatShape($0.index.shape) }.joined(separator: ", "))
                return nil
            }
        }
        var values: [[Int]] = []
        for (d, t) in adv {
            guard let vals = v.indexValues(t.rawExpand(bshape).contiguous(), size: v.shape[d], dim: d, op: "index") else { return nil }
            values.append(vals)
        }
        let dims = adv.map { $0.dim }
        let adjacent = zip(dims.dropFirst(), dims).allSatisfy { $0 - $1 == 1 }
        let rest = (0..<v.ndim).filter { !dims.contains($0) }
        return (values, bshape, rest, !adjacent)
    }

    func index(_ items: [TensorIndex]) -> Tensor {
        guard let (v, adv) = applyBasic(items) else { return Tensor(metaShape: [], dtype: dtype) }
        if adv.isEmpty { return v }
        guard let plan = advancedPlan(v, adv) else { return Tensor(metaShape: [], dtype: dtype) }
        let count = plan.bshape.reduce(1, *)
        let advDims = adv.map { $0.dim }
        // Each position selects a sub-tensor over the rest dims.
        var pieces: [Tensor] = []
        pieces.reserveCapacity(count)
        for p in 0..<count {
            var sub = v
            for (j, d) in advDims.enumerated().reversed() { sub = sub.select(d, plan.positions[j][p]) }
            pieces.append(sub)
        }
        let restShape = plan.restDims.map { v.shape[$0] }
        let stacked = pieces.isEmpty
            ? Tensor.zeros([0] + restShape, dtype: dtype, device: device)
            : Tensor.stack(pieces, dim: 0)
        var result = stacked.reshape(plan.bshape + restShape)
        if !plan.frontPlacement, let first = advDims.first, first > 0 {
            // Move the broadcast dims to where the first advanced index stood.
            let nb = plan.bshape.count
            let before = Array(0..<first).map { nb + $0 }
            let perm = before + Array(0..<nb) + Array((nb + first)..<(nb + restShape.count))
            result = result.permute(perm)
        }
        return result
    }

    func indexPut(_ items: [TensorIndex], _ value: Tensor) {
        guard let (v, adv) = applyBasic(items) else { return }
        if adv.isEmpty {
            v.copy_(value)
            return
        }
        guard value.device == device || value.ndim == 0 else {
            _ = raiseError("Index put requires the source and destination dtypes match, got \(dtype.scalarTypeName) for the destination and \(value.dtype.scalarTypeName) for the source.")
            return
        }
        guard let plan = advancedPlan(v, adv) else { return }
        let count = plan.bshape.reduce(1, *)
        let advDims = adv.map { $0.dim }
        let restShape = plan.restDims.map { v.shape[$0] }
        let src: Tensor
        switch broadcastShapes(plan.bshape + restShape, value.shape) {
        case .success(let s) where s == plan.bshape + restShape:
            src = value.to(device == .meta ? .meta : value.device).rawExpand(s).reshape([count] + restShape)
        default:
            _ = raiseError("shape mismatch: value tensor of shape \(formatShape(value.shape)) cannot be broadcast to indexing result of shape \(formatShape(plan.bshape + restShape))")
            return
        }
        noGrad {
            for p in 0..<count {
                var sub = v
                for (j, d) in advDims.enumerated().reversed() { sub = sub.select(d, plan.positions[j][p]) }
                sub.writeValues(src.select(0, p))
            }
        }
        storage.bumpVersion()
    }
}


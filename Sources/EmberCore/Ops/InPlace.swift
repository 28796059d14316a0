/// In-place operations (`add_`, `mul_`, `copy_`, `fill_`, `zero_`, ...). Each bumps the storage's
/// version counter, so autograd detects a tensor saved for backward and modified afterwards.

extension Tensor {
    /// Whether two elements of self share one memory location (a dimension of size > 1 with
    /// stride 0, as after `expand`): PyTorch's `has_internal_overlap` answering YES.
    var hasInternalOverlap: Bool { zip(shape, strides).contains { $0.0 > 1 && $0.1 == 0 } }

    /// Raises PyTorch's error for an in-place write into a tensor whose elements overlap in memory
    /// (`assert_no_internal_overlap`) and returns false; true when self can be written.
    /// Source: aten/src/ATen/MemoryOverlap.cpp.
    func checkWritable() -> Bool {
        guard hasInternalOverlap else { return true }
        _ = raiseError("unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation.")
        return false
    }

    /// Writes `result` (same shape) into self and records the in-place op in the graph.
    /// `backward` maps the output gradient to [grad for self's previous value, grads for `others`...].
    @discardableResult
    func assignInPlace(_ result: Tensor, _ name: String, others: [Tensor],
                       _ backward: ((Tensor) -> [Tensor?])? = nil) -> Tensor {
        let tracking = Tensor.needsGrad([self] + others)
        if tracking && isLeaf && requiresGradLeaf {
            _ = raiseError("a leaf Variable that requires grad is being used in an in-place operation.")
            return self
        }
        if tracking, let b = base, b.isLeaf, b.requiresGradLeaf {
            _ = raiseError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
            return self
        }
        guard checkWritable() else { return self }
        writeValues(result)
        if tracking, let backward { recordInPlace(name, others: others, backward) }
        return self
    }

    /// Records an in-place op on self in the graph. On a view of a contiguous base, PyTorch's
    /// `CopySlices` rule applies: the base's history is rebased (its gradient passes through the op's
    /// backward on the view's region), and the view becomes a view of the base's new history.
    /// `backward` maps the output gradient to [grad for self's previous value, grads for `others`...].
    func recordInPlace(_ name: String, others: [Tensor], _ backward: @escaping (Tensor) -> [Tensor?]) {
        guard let b = base, b !== self, b.storage === storage, b.isContiguous else {
            gradFn = Node(name: name, next: [gradEdge] + others.map { $0.gradEdge }, backward: backward)
            return
        }
        let relOffset = storageOffset - b.storageOffset
        let vShape = shape, vStrides = strides, bShape = b.shape
        func regionOf(_ t: Tensor) -> Tensor {
            Tensor(storage: t.storage, shape: vShape, strides: vStrides, storageOffset: t.storageOffset + relOffset, dtype: t.dtype)
        }
        let copySlices = Node(name: "CopySlices", next: [b.gradEdge] + others.map { $0.gradEdge }) { g in
            let result = g.clone()                      // contiguous, base-shaped
            let region = regionOf(result)
            let grads = backward(region.clone())
            noGrad { region.copy_(grads.first.flatMap { $0 } ?? Tensor.zeros(vShape, dtype: g.dtype, device: g.device)) }
            return [result] + grads.dropFirst()
        }
        b.gradFn = copySlices
        gradFn = Node(name: "AsStridedBackward0", next: [copySlices]) { g in
            let z = Tensor.zeros(bShape, dtype: g.dtype, device: g.device)
            noGrad { regionOf(z).copy_(g) }
            return [z]
        }
    }

    /// Copies values of `src` (broadcast to self's shape, converted to self's dtype) into self.
    func writeValues(_ src: Tensor) {
        guard checkWritable() else { return }
        guard !isMeta else { storage.bumpVersion(); return }
        if src.isMeta { _ = raiseError("Cannot copy out of meta tensor; no data!"); return }
        // Copy through a temporary when src overlaps self's storage with a different layout.
        var s = src
        if src.storage === storage && (src.strides != strides || src.storageOffset != storageOffset) { s = src.clone() }
        copyElements(from: s.rawExpand(shape), to: self)
        storage.bumpVersion()
    }

    /// `copy_(src)`: copies values (broadcast, dtype-converted) into self; gradient flows to `src`.
    @discardableResult
    public func copy_(_ src: Tensor) -> Tensor {
        switch broadcastShapes(shape, src.shape) {
        case .success(let s) where s == shape: break
        default:
            _ = raiseError("The size of tensor a (\(shape.last ?? 0)) must match the size of tensor b (\(src.shape.last ?? 0)) at non-singleton dimension \(Swift.max(ndim - 1, 0))")
            return self
        }
        if src.device != device && !(src.device == .cpu || device == .cpu) {
            _ = raiseError("Expected all tensors to be on the same device, but found at least two devices, \(device) and \(src.device)!")
            return self
        }
        let dt = dtype
        let srcShape = src.shape
        return assignInPlace(src, "CopyBackwards", others: [src]) { g in
            [Tensor.zerosLike(g), g.sumTo(srcShape).to(src.dtype == dt ? dt : src.dtype)]
        }
    }

    /// `fill_(value)`.
    @discardableResult
    public func fill_(_ value: Double) -> Tensor {
        if Tensor.needsGrad([self]) && isLeaf {
            _ = raiseError("a leaf Variable that requires grad is being used in an in-place operation.")
            return self
        }
        if !isMeta { backend(device)?.fill(self, with: value) }
        storage.bumpVersion()
        if Tensor.needsGrad([self]) {
            recordInPlace("FillBackward0", others: []) { g in [Tensor.zerosLike(g)] }
        }
        return self
    }

    /// `zero_()`.
    @discardableResult
    public func zero_() -> Tensor { fill_(0) }

    /// `add_(other, alpha:)`: `self += alpha * other`.
    @discardableResult
    public func add_(_ other: Tensor, alpha: Double = 1) -> Tensor {
        guard checkWritable() else { return self }
        // Gradient accumulation, optimizers and bias adds: the backend's in-place kernel, if any.
        if !Tensor.needsGrad([self, other]), other.device == device, !isMeta,
           backend(device)?.addInPlace(self, other, alpha: alpha) == true {
            storage.bumpVersion()
            return self
        }
        let r = noGrad { alpha == 1 ? self + other : self + other * alpha }
        let o = other
        return assignInPlace(r, "AddBackward0", others: [other]) { g in [g, (alpha == 1 ? g : g * alpha).gradFor(o)] }
    }
    @discardableResult
    public func add_(_ value: Double) -> Tensor {
        guard checkWritable() else { return self }
        let r = noGrad { self + value }
        return assignInPlace(r, "AddBackward0", others: []) { g in [g] }
    }
    @discardableResult
    public func sub_(_ other: Tensor, alpha: Double = 1) -> Tensor { add_(other, alpha: -alpha) }
    @discardableResult
    public func mul_(_ other: Tensor) -> Tensor {
        let r = noGrad { self * other }
        let old = noGrad { self.clone() }
        let o = other
        return assignInPlace(r, "MulBackward0", others: [other]) { g in [g * o, (g * old).gradFor(o)] }
    }
    @discardableResult
    public func mul_(_ value: Double) -> Tensor {
        guard checkWritable() else { return self }
        if !Tensor.needsGrad([self]), !isMeta, backend(device)?.scaleInPlace(self, by: value) == true {
            storage.bumpVersion()
            return self
        }
        let r = noGrad { self * value }
        return assignInPlace(r, "MulBackward0", others: []) { g in [g * value] }
    }
    @discardableResult
    public func div_(_ other: Tensor) -> Tensor {
        let r = noGrad { self / other }
        let o = other
        return assignInPlace(r, "DivBackward0", others: [other]) { g in [g / o, (-g * r / o).gradFor(o)] }
    }
    @discardableResult
    public func div_(_ value: Double) -> Tensor { mul_(1 / value) }

    /// `addcmul_(t1, t2, value:)`: `self += value * t1 * t2` (no autograd; optimizer use).
    @discardableResult
    public func addcmul_(_ t1: Tensor, _ t2: Tensor, value: Double = 1) -> Tensor {
        let r = noGrad { self + t1 * t2 * value }
        writeValues(r)
        return self
    }
    /// `addcdiv_(t1, t2, value:)`: `self += value * t1 / t2` (no autograd; optimizer use).
    @discardableResult
    public func addcdiv_(_ t1: Tensor, _ t2: Tensor, value: Double = 1) -> Tensor {
        let r = noGrad { self + t1 / t2 * value }
        writeValues(r)
        return self
    }
    /// `lerp_(end, weight)`: `self += weight * (end - self)`.
    @discardableResult
    public func lerp_(_ end: Tensor, _ weight: Double) -> Tensor {
        let r = noGrad { self + (end - self) * weight }
        writeValues(r)
        return self
    }
    @discardableResult
    public func sqrt_() -> Tensor { writeValues(noGrad { sqrt() }); return self }
    @discardableResult
    public func relu_() -> Tensor { writeValues(noGrad { relu() }); return self }
}

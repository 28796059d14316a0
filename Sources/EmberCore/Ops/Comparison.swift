/// Comparisons (bool results), logical ops, `where`, `masked_fill`, `clamp`.
/// Source: https://pytorch.org/docs/stable/torch.html#comparison-ops

extension Tensor {
    public static func == (a: Tensor, b: Tensor) -> Tensor { binaryOp(.eq, a, b) }
    public static func != (a: Tensor, b: Tensor) -> Tensor { binaryOp(.ne, a, b) }
    public static func < (a: Tensor, b: Tensor) -> Tensor { binaryOp(.lt, a, b) }
    public static func <= (a: Tensor, b: Tensor) -> Tensor { binaryOp(.le, a, b) }
    public static func > (a: Tensor, b: Tensor) -> Tensor { binaryOp(.gt, a, b) }
    public static func >= (a: Tensor, b: Tensor) -> Tensor { binaryOp(.ge, a, b) }

    static func compareScalar(_ op: BinaryOp, _ t: Tensor, _ v: Double) -> Tensor {
        let integral = v == v.rounded() && !t.dtype.isFloatingPoint
        let (s, p) = scalarTensor(v, like: t, integral: integral)
        return binaryOp(op, t, s, .tensor(t.dtype, zeroDim: t.ndim == 0), p)
    }
    public static func == (a: Tensor, b: Double) -> Tensor { compareScalar(.eq, a, b) }
    public static func != (a: Tensor, b: Double) -> Tensor { compareScalar(.ne, a, b) }
    public static func < (a: Tensor, b: Double) -> Tensor { compareScalar(.lt, a, b) }
    public static func <= (a: Tensor, b: Double) -> Tensor { compareScalar(.le, a, b) }
    public static func > (a: Tensor, b: Double) -> Tensor { compareScalar(.gt, a, b) }
    public static func >= (a: Tensor, b: Double) -> Tensor { compareScalar(.ge, a, b) }
    public static func == (a: Tensor, b: Int) -> Tensor { compareScalar(.eq, a, Double(b)) }
    public static func != (a: Tensor, b: Int) -> Tensor { compareScalar(.ne, a, Double(b)) }
    public static func < (a: Tensor, b: Int) -> Tensor { compareScalar(.lt, a, Double(b)) }
    public static func <= (a: Tensor, b: Int) -> Tensor { compareScalar(.le, a, Double(b)) }
    public static func > (a: Tensor, b: Int) -> Tensor { compareScalar(.gt, a, Double(b)) }
    public static func >= (a: Tensor, b: Int) -> Tensor { compareScalar(.ge, a, Double(b)) }

    /// `&`, `|`, `^`: logical on bool tensors, bitwise on integer tensors.
    public static func & (a: Tensor, b: Tensor) -> Tensor { binaryOp(a.dtype == .bool && b.dtype == .bool ? .logicalAnd : .bitwiseAnd, a, b) }
    public static func | (a: Tensor, b: Tensor) -> Tensor { binaryOp(a.dtype == .bool && b.dtype == .bool ? .logicalOr : .bitwiseOr, a, b) }
    public static func ^ (a: Tensor, b: Tensor) -> Tensor { binaryOp(a.dtype == .bool && b.dtype == .bool ? .logicalXor : .bitwiseXor, a, b) }
    public func logicalAnd(_ o: Tensor) -> Tensor { binaryOp(.logicalAnd, self, o) }
    public func logicalOr(_ o: Tensor) -> Tensor { binaryOp(.logicalOr, self, o) }
    public func logicalXor(_ o: Tensor) -> Tensor { binaryOp(.logicalXor, self, o) }
    public func eq(_ o: Tensor) -> Tensor { self == o }

    /// `torch.equal(a, b)`: same shape and same values.
    public func equal(_ other: Tensor) -> Bool {
        guard shape == other.shape else { return false }
        return (self == other).all().item() != 0
    }

    /// `torch.allclose`: `|a - b| <= atol + rtol * |b|` everywhere.
    public func allclose(_ other: Tensor, rtol: Double = 1e-5, atol: Double = 1e-8) -> Bool {
        let a = self.to(.float64), b = other.to(.float64)
        return ((a - b).abs() <= (b.abs() * rtol + atol)).all().item() != 0
    }

    /// `torch.where(condition, self, other)`: elementwise choice with broadcasting.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard condition.dtype == .bool else {
            return raiseError("where expected condition to be a boolean tensor, but got a tensor with dtype \(condition.dtype.scalarTypeName)", shape: a.shape, dtype: a.dtype)
        }
        guard let dev = commonDevice([condition, a, b]) else { return Tensor(metaShape: a.shape, dtype: a.dtype) }
        let s1: [Int], shape: [Int]
        switch broadcastShapes(condition.shape, a.shape) { case .success(let s): s1 = s; case .failure(let e): return raiseError(e) }
        switch broadcastShapes(s1, b.shape) { case .success(let s): shape = s; case .failure(let e): return raiseError(e) }
        let dt = resultType([.tensor(a.dtype, zeroDim: a.ndim == 0), .tensor(b.dtype, zeroDim: b.ndim == 0)])
        let out = Tensor(shape: shape, dtype: dt, device: dev, zeroed: false)
        if dev == .meta { return out }
        let c = condition.rawExpand(shape)
        let x = a.rawCast(dt).rawExpand(shape), y = b.rawCast(dt).rawExpand(shape)
        backend(dev)?.select(c, x, y, into: out)
        if Tensor.needsGrad([a, b]) {
            out.recordGrad("WhereBackward0", [a, b], saving: [condition]) { g in
                let z = Tensor.zerosLike(g)
                return [Tensor.where(c, g, z).gradFor(a), Tensor.where(c, z, g).gradFor(b)]
            }
        }
        return out
    }

    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Double) -> Tensor {
        Tensor.where(condition, a, Tensor.full([], b, dtype: a.dtype, device: a.device))
    }

    /// `masked_fill(mask, value)`: a copy with `value` where `mask` is true (mask broadcasts to self).
    public func maskedFill(_ mask: Tensor, _ value: Double) -> Tensor {
        guard mask.dtype == .bool else {
            return raiseError("masked_fill_ only supports boolean masks, but got mask with dtype \(mask.dtype.scalarTypeName)", shape: shape, dtype: dtype)
        }
        guard mask.device == device else {
            return raiseError("expected self and mask to be on the same device, but got mask on \(mask.device) and self on \(device)", shape: shape, dtype: dtype)
        }
        // PyTorch expands the mask to self, so the mask is "tensor a" in its size message.
        switch broadcastShapes(mask.shape, shape) {
        case .failure(let e): return raiseError(e, shape: shape, dtype: dtype)
        case .success(let s) where s != shape:
            return raiseError("The size of tensor a (\(shape.last ?? 0)) must match the size of tensor b (\(mask.shape.last ?? 0)) at non-singleton dimension \(ndim - 1)", shape: shape, dtype: dtype)
        default: break
        }
        let fill = Tensor.full([], value, dtype: dtype, device: device)
        let out = noGrad { Tensor.where(mask, fill, self) }
        if Tensor.needsGrad([self]) {
            let x = self
            out.recordGrad("MaskedFillBackward0", [x], saving: [mask]) { g in [g.maskedFill(mask, 0)] }
        }
        return out
    }

    /// `masked_fill_(mask, value)`: in place. Device mismatch raises PyTorch's message
    /// ("expected self and mask to be on the same device, but got mask on cpu and self on meta").
    @discardableResult
    public func maskedFill_(_ mask: Tensor, _ value: Double) -> Tensor {
        guard mask.device == device else {
            _ = raiseError("expected self and mask to be on the same device, but got mask on \(mask.device) and self on \(device)")
            return self
        }
        guard checkWritable() else { return self }
        if mask.dtype == .bool, !isMeta, case .success(let s) = broadcastShapes(shape, mask.shape), s == shape {
            // Attention's causal mask: the backend writes straight into self when it can.
            let tracking = Tensor.needsGrad([self])
            if tracking && isLeaf && requiresGradLeaf {
                _ = raiseError("a leaf Variable that requires grad is being used in an in-place operation.")
                return self
            }
            if tracking, let b = base, b.isLeaf, b.requiresGradLeaf {
                _ = raiseError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
                return self
            }
            if backend(device)?.maskedFillInPlace(self, mask: mask.rawExpand(shape), value: value) == true {
                storage.bumpVersion()
                if tracking { recordInPlace("MaskedFillBackward0", others: []) { g in [g.maskedFill(mask, 0)] } }
                return self
            }
        }
        let result = noGrad { maskedFill(mask, value) }
        return assignInPlace(result, "MaskedFillBackward0", others: []) { g in [g.maskedFill(mask, 0), nil] }
    }

    /// `clamp(min, max)`.
    public func clamp(min lo: Double? = nil, max hi: Double? = nil) -> Tensor {
        var r = self
        noGrad {
            if let lo { r = arithScalar(.maximum, r, lo, integral: !dtype.isFloatingPoint && lo == lo.rounded()) }
            if let hi { r = arithScalar(.minimum, r, hi, integral: !dtype.isFloatingPoint && hi == hi.rounded()) }
            if r === self { r = clone() }
        }
        if Tensor.needsGrad([self]) {
            let x = self
            r.recordGrad("ClampBackward1", [x], saving: [x]) { g in
                var keep = Tensor.onesLike(x, dtype: .bool)
                if let lo { keep = keep & (x >= lo) }
                if let hi { keep = keep & (x <= hi) }
                return [g * keep.to(g.dtype)]
            }
        }
        return r
    }
    @discardableResult
    public func clamp_(min lo: Double? = nil, max hi: Double? = nil) -> Tensor {
        let r = noGrad { clamp(min: lo, max: hi) }
        let x = self
        return assignInPlace(r, "ClampBackward1", others: []) { g in
            var keep = Tensor.onesLike(g, dtype: .bool)
            if let lo { keep = keep & (r >= lo) }
            if let hi { keep = keep & (r <= hi) }
            _ = x
            return [g * keep.to(g.dtype), nil]
        }
    }
}

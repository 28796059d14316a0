/// PyTorch's type promotion and broadcasting rules.
/// Sources: https://pytorch.org/docs/stable/tensor_attributes.html#type-promotion-doc,
/// https://pytorch.org/docs/stable/notes/broadcasting.html

/// One operand of an op for promotion purposes: a tensor (dimensioned or 0-d) or a Swift scalar.
enum PromotionOperand {
    case tensor(DType, zeroDim: Bool)
    case scalar(DType)   // .float32 stands for "a Python float", .int64 for "a Python int", .bool
}

private func category(_ d: DType) -> Int { d == .bool ? 0 : (d.isFloatingPoint ? 2 : 1) }

/// `torch.result_type` over operands: dimensioned tensors first, then 0-d tensors and scalars only
/// when they are of a higher category.
func resultType(_ ops: [PromotionOperand]) -> DType {
    var dimT: DType? = nil, zeroT: DType? = nil, scal: DType? = nil
    for o in ops {
        switch o {
        case .tensor(let d, let z):
            if z { zeroT = zeroT.map { DType.promoted($0, d) } ?? d } else { dimT = dimT.map { DType.promoted($0, d) } ?? d }
        case .scalar(let d):
            scal = scal.map { category($0) >= category(d) ? $0 : d } ?? d
        }
    }
    var result = dimT
    if let z = zeroT {
        if let r = result { if category(z) > category(r) { result = z } } else { result = z }
    }
    if let s = scal {
        if let r = result {
            if category(s) > category(r) { result = s == .bool ? .bool : (s.isFloatingPoint ? DefaultDType.floating : .int64) }
        } else { result = s.isFloatingPoint ? DefaultDType.floating : s }
    }
    return result ?? DefaultDType.floating
}

/// `torch.get_default_dtype()` (float32).
public enum DefaultDType {
    public static let floating: DType = .float32
}

/// The broadcast shape of two shapes, or PyTorch's error message.
func broadcastShapes(_ a: [Int], _ b: [Int]) -> Result<[Int], EmberError> {
    let n = Swift.max(a.count, b.count)
    var out = [Int](repeating: 1, count: n)
    for i in 0..<n {
        let da = i < n - a.count ? 1 : a[i - (n - a.count)]
        let db = i < n - b.count ? 1 : b[i - (n - b.count)]
        if da == db || db == 1 { out[i] = da }
        else if da == 1 { out[i] = db }
        else {
            return .failure(EmberError(.runtime, "The size of tensor a (\(da)) must match the size of tensor b (\(db)) at non-singleton dimension \(i)"))
        }
    }
    return .success(out)
}

/// `torch.broadcast_shapes(...)`.
public func broadcastShapes(_ shapes: [Int]...) -> [Int] {
    var r: [Int] = []
    for s in shapes {
        switch broadcastShapes(r, s) {
        case .success(let x): r = x
        case .failure(let e): ErrorCapture.raise(e); return r
        }
    }
    return r
}

/// Checks all tensors are on one device; returns it, or raises PyTorch's message naming two devices.
func commonDevice(_ ts: [Tensor]) -> Device? {
    guard var dev = ts.first?.device else { return .cpu }
    for t in ts.dropFirst() where t.device != dev {
        let (x, y) = dev == .cpu ? (t.device, dev) : (dev, t.device)
        ErrorCapture.raise(EmberError(.runtime, "Expected all tensors to be on the same device, but found at least two devices, \(x) and \(y)!"))
        return nil
    }
    // Keep the first device; mixing is an error above.
    dev = ts[0].device
    return dev
}

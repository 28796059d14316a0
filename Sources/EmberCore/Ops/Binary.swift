import Foundation

/// Elementwise binary operations with broadcasting and type promotion (+ − × ÷, pow, maximum,
/// minimum, comparisons, logical ops). Source: https://pytorch.org/docs/stable/torch.html#pointwise-ops

enum BinaryOp {
    case add, sub, mul, div, pow, maximum, minimum, floorDivide, remainder, atan2
    case eq, ne, lt, le, gt, ge
    case logicalAnd, logicalOr, logicalXor
    case bitwiseAnd, bitwiseOr, bitwiseXor

    var isComparison: Bool {
        switch self { case .eq, .ne, .lt, .le, .gt, .ge, .logicalAnd, .logicalOr, .logicalXor: return true; default: return false }
    }
    var name: String { "\(self)" }
}

extension Tensor {
    /// An expanded view for kernels (no autograd, no checks).
    func rawExpand(_ newShape: [Int]) -> Tensor {
        if newShape == shape { return self }
        let lead = newShape.count - ndim
        var st = [Int](repeating: 0, count: newShape.count)
        for i in lead..<newShape.count where shape[i - lead] != 1 { st[i] = strides[i - lead] }
        return Tensor(storage: storage, shape: newShape, strides: st, storageOffset: storageOffset, dtype: dtype)
    }

    /// This tensor's data in `dtype` (no copy when it already is), without autograd.
    func rawCast(_ dt: DType) -> Tensor {
        if dt == dtype { return self }
        let out = Tensor(shape: shape, dtype: dt, device: device, zeroed: false)
        copyElements(from: self, to: out)
        return out
    }

    /// Self when contiguous, else a row-major copy on the same device (no autograd).
    func rawContiguous() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(shape: shape, dtype: dtype, device: device, zeroed: false)
        copyElements(from: self, to: out)
        return out
    }

    /// A 0-d tensor holding a Swift number, flagged so promotion treats it as a Python scalar.
    static func scalarTensor(_ v: Double, like t: Tensor, integral: Bool) -> (Tensor, PromotionOperand) {
        let dt: DType = integral ? .int64 : .float64
        let s = Tensor(shape: [], dtype: dt, device: t.device == .meta ? .meta : .cpu)
        if !s.isMeta { if integral { s.fill(fromInts: [Int64(v)]) } else { s.fill(fromDoubles: [v]) } }
        return (s, .scalar(integral ? .int64 : .float32))
    }
}

/// Computes `op(a, b)` elementwise with broadcasting; `pa`/`pb` say how each operand promotes.
func binaryOp(_ op: BinaryOp, _ a: Tensor, _ b: Tensor,
              _ pa: PromotionOperand? = nil, _ pb: PromotionOperand? = nil) -> Tensor {
    // A scalar operand is created on the CPU; it may join a tensor on any device (as in PyTorch).
    let aScalar: Bool = { if case .scalar = pa { return true }; return false }()
    let bScalar: Bool = { if case .scalar = pb { return true }; return false }()
    var device = a.device
    if !aScalar && !bScalar {
        guard let d = commonDevice([a, b]) else { return Tensor(metaShape: a.shape, dtype: a.dtype) }
        device = d
    } else if aScalar { device = b.device }
    let shape: [Int]
    switch broadcastShapes(a.shape, b.shape) {
    case .success(let s): shape = s
    case .failure(let e): return raiseError(e, shape: a.shape, dtype: a.dtype)
    }
    var ct = resultType([pa ?? .tensor(a.dtype, zeroDim: a.ndim == 0), pb ?? .tensor(b.dtype, zeroDim: b.ndim == 0)])
    var outType = ct
    switch op {
    case .div, .atan2:
        if !ct.isFloatingPoint { ct = DefaultDType.floating; outType = ct }
    case .eq, .ne, .lt, .le, .gt, .ge:
        outType = .bool
    case .logicalAnd, .logicalOr, .logicalXor:
        outType = .bool
    case .bitwiseAnd, .bitwiseOr, .bitwiseXor:
        if ct.isFloatingPoint {
            return raiseError("\"bitwise_\(op)_cpu\" not implemented for '\(ct.scalarTypeName)'", shape: shape, dtype: ct)
        }
    case .sub:
        if ct == .bool {
            return raiseError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead.", shape: shape, dtype: ct)
        }
        // PyTorch refuses a bool operand whatever the other one is (`int_tensor - bool_tensor`, `1 - mask`).
        if a.dtype == .bool || b.dtype == .bool {
            return raiseError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.", shape: shape, dtype: ct)
        }
    default: break
    }
    let out = Tensor(shape: shape, dtype: outType, device: device, zeroed: false)
    if device == .meta { return out }
    // A Swift-number operand lives on the CPU; it joins the other operand's device.
    let ad = aScalar && device != .cpu ? a.to(device) : a
    let bd = bScalar && device != .cpu ? b.to(device) : b
    backend(device)?.binary(op, ad, bd, computeType: ct, into: out)
    return out
}

/// The kernel type each dtype computes in: half types in float32, integers in int64.
func kernelType(_ dt: DType) -> DType {
    switch dt {
    case .float32, .float16, .bfloat16: return .float32
    case .float64: return .float64
    case .bool: return .bool
    default: return .int64
    }
}


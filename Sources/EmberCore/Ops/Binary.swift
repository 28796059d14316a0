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
        if device == .cpu { cpuCopy(from: self, to: out) }
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
    guard device == .cpu else { return raiseError("no backend computes on \(device)", shape: shape, dtype: outType) }
    cpuBinary(op, a, b, ct, out)
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

func cpuBinary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, _ ct: DType, _ out: Tensor) {
    let kt: DType = (op == .logicalAnd || op == .logicalOr || op == .logicalXor) ? .bool : kernelType(ct)
    // Operands in the compute type, rounded to `ct` first (e.g. float16 inputs stay float16 values).
    let ac = a.rawCast(ct).rawCast(kt).rawExpand(out.shape)
    let bc = b.rawCast(ct).rawCast(kt).rawExpand(out.shape)
    let target = out.dtype == kernelType(out.dtype) || out.dtype == .bool ? out
        : Tensor(shape: out.shape, dtype: kt, device: .cpu, zeroed: false)
    switch kt {
    case .float32: floatBinary(op, ac, bc, target, Float.self)
    case .float64: floatBinary(op, ac, bc, target, Double.self)
    case .int64: intBinary(op, ac, bc, target)
    default: boolBinary(op, ac, bc, target)
    }
    if target !== out { cpuCopy(from: target, to: out) }
}

func floatBinary<T: BinaryFloatingPoint & TensorScalar>(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, _ o: Tensor, _: T.Type) {
    switch op {
    case .add: staticBinaryLoop(AddF<T>.self, a, b, o)
    case .sub: staticBinaryLoop(SubF<T>.self, a, b, o)
    case .mul: staticBinaryLoop(MulF<T>.self, a, b, o)
    case .div: staticBinaryLoop(DivF<T>.self, a, b, o)
    case .pow:
        if T.self == Float.self {
            binaryLoop(a, b, o) { (x: Float, y: Float) in y == 2 ? x * x : (y == 0.5 ? x.squareRoot() : Foundation.pow(x, y)) }
        } else {
            binaryLoop(a, b, o) { (x: Double, y: Double) in y == 2 ? x * x : Foundation.pow(x, y) }
        }
    case .maximum: binaryLoop(a, b, o) { (x: T, y: T) in (x.isNaN || y.isNaN) ? T.nan : (x > y ? x : y) }
    case .minimum: binaryLoop(a, b, o) { (x: T, y: T) in (x.isNaN || y.isNaN) ? T.nan : (x < y ? x : y) }
    case .floorDivide: binaryLoop(a, b, o) { (x: T, y: T) in (x / y).rounded(.down) }
    case .remainder: binaryLoop(a, b, o) { (x: T, y: T) in let r = x.truncatingRemainder(dividingBy: y); return (r != 0 && (r < 0) != (y < 0)) ? r + y : r }
    case .atan2:
        if T.self == Float.self { binaryLoop(a, b, o) { (x: Float, y: Float) in Foundation.atan2(x, y) } }
        else { binaryLoop(a, b, o) { (x: Double, y: Double) in Foundation.atan2(x, y) } }
    case .eq: binaryLoop(a, b, o) { (x: T, y: T) in x == y }
    case .ne: binaryLoop(a, b, o) { (x: T, y: T) in x != y }
    case .lt: binaryLoop(a, b, o) { (x: T, y: T) in x < y }
    case .le: binaryLoop(a, b, o) { (x: T, y: T) in x <= y }
    case .gt: binaryLoop(a, b, o) { (x: T, y: T) in x > y }
    case .ge: binaryLoop(a, b, o) { (x: T, y: T) in x >= y }
    default: break
    }
}

func intBinary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, _ o: Tensor) {
    switch op {
    case .add: binaryLoop(a, b, o) { (x: Int64, y: Int64) in x &+ y }
    case .sub: binaryLoop(a, b, o) { (x: Int64, y: Int64) in x &- y }
    case .mul: binaryLoop(a, b, o) { (x: Int64, y: Int64) in x &* y }
    case .pow: binaryLoop(a, b, o) { (x: Int64, y: Int64) -> Int64 in
        if y < 0 { return x == 1 ? 1 : (x == -1 ? (y % 2 == 0 ? 1 : -1) : 0) }
        var r: Int64 = 1, base = x, e = y
        while e > 0 { if e & 1 == 1 { r = r &* base }; base = base &* base; e >>= 1 }
        return r
    }
    case .maximum: binaryLoop(a, b, o) { (x: Int64, y: Int64) in Swift.max(x, y) }
    case .minimum: binaryLoop(a, b, o) { (x: Int64, y: Int64) in Swift.min(x, y) }
    case .floorDivide: binaryLoop(a, b, o) { (x: Int64, y: Int64) -> Int64 in
        if y == 0 { return 0 }
        let q = x / y
        return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q
    }
    case .remainder: binaryLoop(a, b, o) { (x: Int64, y: Int64) -> Int64 in
        if y == 0 { return 0 }
        let r = x % y
        return (r != 0 && (r < 0) != (y < 0)) ? r + y : r
    }
    case .bitwiseAnd: binaryLoop(a, b, o) { (x: Int64, y: Int64) in x & y }
    case .bitwiseOr: binaryLoop(a, b, o) { (x: Int64, y: Int64) in x | y }
    case .bitwiseXor: binaryLoop(a, b, o) { (x: Int64, y: Int64) in x ^ y }
    case .eq: binaryLoop(a, b, o) { (x: Int64, y: Int64) in x == y }
    case .ne: binaryLoop(a, b, o) { (x: Int64, y: Int64) in x != y }
    case .lt: binaryLoop(a, b, o) { (x: Int64, y: Int64) in x < y }
    case .le: binaryLoop(a, b, o) { (x: Int64, y: Int64) in x <= y }
    case .gt: binaryLoop(a, b, o) { (x: Int64, y: Int64) in x > y }
    case .ge: binaryLoop(a, b, o) { (x: Int64, y: Int64) in x >= y }
    default: break
    }
}

func boolBinary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, _ o: Tensor) {
    switch op {
    case .add, .logicalOr, .bitwiseOr, .maximum: binaryLoop(a, b, o) { (x: Bool, y: Bool) in x || y }
    case .mul, .logicalAnd, .bitwiseAnd, .minimum: binaryLoop(a, b, o) { (x: Bool, y: Bool) in x && y }
    case .logicalXor, .bitwiseXor, .ne: binaryLoop(a, b, o) { (x: Bool, y: Bool) in x != y }
    case .eq: binaryLoop(a, b, o) { (x: Bool, y: Bool) in x == y }
    case .lt: binaryLoop(a, b, o) { (x: Bool, y: Bool) in !x && y }
    case .le: binaryLoop(a, b, o) { (x: Bool, y: Bool) in !x || y }
    case .gt: binaryLoop(a, b, o) { (x: Bool, y: Bool) in x && !y }
    case .ge: binaryLoop(a, b, o) { (x: Bool, y: Bool) in x || !y }
    default: break
    }
}

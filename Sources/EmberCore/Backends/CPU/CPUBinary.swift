import Foundation

/// The CPU backend's elementwise binary kernels (arithmetic, comparisons, logical and bitwise ops)
/// over broadcast, strided operands.

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

/// Arithmetic operators and their gradients (PyTorch's `add`, `sub`, `mul`, `div`, `pow`, `neg`,
/// `maximum`, `minimum`, `floor_divide`, `remainder`). Swift numbers act as Python scalars in type
/// promotion: `int64Tensor * 0.5` is float32, `float16Tensor * 2.0` stays float16.

extension Tensor {
    /// Reduces a broadcast gradient back to `shape` and to `dtype` (for backward formulas).
    func gradFor(_ input: Tensor) -> Tensor {
        var g = self
        if g.shape != input.shape { g = g.sumTo(input.shape) }
        if g.dtype != input.dtype && input.dtype.isFloatingPoint { g = g.to(input.dtype) }
        return g
    }

    /// Sums dimensions so the result has `shape` (the inverse of broadcasting).
    public func sumTo(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = ndim - target.count
        var dims: [Int] = Array(0..<Swift.max(lead, 0))
        for i in 0..<target.count where target[i] == 1 && shape[lead + i] != 1 { dims.append(lead + i) }
        var r = dims.isEmpty ? self : sum(dims: dims, keepdim: true)
        if lead > 0 { r = r.reshape(target) } else if r.shape != target { r = r.reshape(target) }
        return r
    }
}

/// The arithmetic entry point: runs the op and records its gradient.
func arith(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, _ pa: PromotionOperand? = nil, _ pb: PromotionOperand? = nil) -> Tensor {
    let out = binaryOp(op, a, b, pa, pb)
    guard Tensor.needsGrad([a, b]), out.dtype.isFloatingPoint else { return out }
    switch op {
    case .add:
        out.recordGrad("AddBackward0", [a, b]) { g in [g.gradFor(a), g.gradFor(b)] }
    case .sub:
        out.recordGrad("SubBackward0", [a, b]) { g in [g.gradFor(a), (-g).gradFor(b)] }
    case .mul:
        out.recordGrad("MulBackward0", [a, b], saving: [a, b]) { g in
            [a.requiresGrad ? (g * b).gradFor(a) : nil, b.requiresGrad ? (g * a).gradFor(b) : nil]
        }
    case .div:
        out.recordGrad("DivBackward0", [a, b], saving: [a, b]) { g in
            [a.requiresGrad ? (g / b).gradFor(a) : nil,
             b.requiresGrad ? (-g * a / (b * b)).gradFor(b) : nil]
        }
    case .pow:
        out.recordGrad("PowBackward1", [a, b], saving: [a, b]) { g in
            [a.requiresGrad ? (g * b * a.pow(b - 1)).maskedFill(b == 0, 0).gradFor(a) : nil,
             b.requiresGrad ? (g * a.pow(b) * a.log()).maskedFill((a == 0) & (b >= 0), 0).gradFor(b) : nil]
        }
    case .maximum, .minimum:
        let name = op == .maximum ? "MaximumBackward0" : "MinimumBackward0"
        out.recordGrad(name, [a, b], saving: [a, b]) { g in
            let pick = op == .maximum ? (a > b) : (a < b)
            let tie = (a == b).to(g.dtype) * 0.5
            let wa = pick.to(g.dtype) + tie
            return [(g * wa).gradFor(a), (g * (1 - wa)).gradFor(b)]
        }
    case .atan2:
        out.recordGrad("Atan2Backward0", [a, b], saving: [a, b]) { g in
            let den = a * a + b * b
            return [(g * b / den).gradFor(a), (-g * a / den).gradFor(b)]
        }
    case .remainder:
        out.recordGrad("RemainderBackward0", [a, b]) { g in [g.gradFor(a), (-g * a.floorDivide(b)).gradFor(b)] }
    default:
        break
    }
    return out
}

/// Gradient recording for ops with a Swift scalar on one side.
func arithScalar(_ op: BinaryOp, _ t: Tensor, _ s: Double, integral: Bool, scalarFirst: Bool = false) -> Tensor {
    let (st, p) = Tensor.scalarTensor(s, like: t, integral: integral)
    let tp = PromotionOperand.tensor(t.dtype, zeroDim: t.ndim == 0)
    let out = noGrad { scalarFirst ? binaryOp(op, st, t, p, tp) : binaryOp(op, t, st, tp, p) }
    guard Tensor.needsGrad([t]), out.dtype.isFloatingPoint else { return out }
    switch (op, scalarFirst) {
    case (.add, _): out.recordGrad("AddBackward0", [t]) { g in [g.gradFor(t)] }
    case (.sub, false): out.recordGrad("SubBackward0", [t]) { g in [g.gradFor(t)] }
    case (.sub, true): out.recordGrad("RsubBackward1", [t]) { g in [(-g).gradFor(t)] }
    case (.mul, _): out.recordGrad("MulBackward0", [t]) { g in [(g * s).gradFor(t)] }
    case (.div, false): out.recordGrad("DivBackward0", [t]) { g in [(g / s).gradFor(t)] }
    case (.div, true): out.recordGrad("DivBackward0", [t], saving: [t]) { g in [(-g * s / (t * t)).gradFor(t)] }
    case (.pow, false):
        out.recordGrad("PowBackward0", [t], saving: [t]) { g in
            s == 0 ? [Tensor.zerosLike(g).gradFor(t)] : [(g * s * t.pow(s - 1)).gradFor(t)]
        }
    case (.pow, true):
        let y = out.detach()   // a detached alias: the graph holds no cycle
        out.recordGrad("PowBackward1", [t], savingOutput: true) { g in [(g * y * Foundation.log(s)).gradFor(t)] }
    case (.maximum, _), (.minimum, _):
        out.recordGrad(op == .maximum ? "ClampMinBackward0" : "ClampMaxBackward0", [t], saving: [t]) { g in
            let keep = op == .maximum ? (t >= s) : (t <= s)
            return [(g * keep.to(g.dtype)).gradFor(t)]
        }
    default: break
    }
    return out
}

/// A Swift `Bool` operand of `+`/`*` (commutative, so the tensor always comes first).
func arithBoolScalar(_ op: BinaryOp, _ t: Tensor, _ s: Bool) -> Tensor {
    let st = Tensor(shape: [], dtype: .bool, device: t.device == .meta ? .meta : .cpu)
    if !st.isMeta { st.fill(fromInts: [s ? 1 : 0]) }
    let out = noGrad { binaryOp(op, t, st, .tensor(t.dtype, zeroDim: t.ndim == 0), .scalar(.bool)) }
    guard Tensor.needsGrad([t]), out.dtype.isFloatingPoint else { return out }
    if op == .add {
        out.recordGrad("AddBackward0", [t]) { g in [g.gradFor(t)] }
    } else {
        out.recordGrad("MulBackward0", [t]) { g in [(g * (s ? 1.0 : 0.0)).gradFor(t)] }
    }
    return out
}

import Foundation

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor { arith(.add, a, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { arith(.sub, a, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { arith(.mul, a, b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { arith(.div, a, b) }

    public static func + (a: Tensor, b: Double) -> Tensor { arithScalar(.add, a, b, integral: false) }
    public static func - (a: Tensor, b: Double) -> Tensor { arithScalar(.sub, a, b, integral: false) }
    public static func * (a: Tensor, b: Double) -> Tensor { arithScalar(.mul, a, b, integral: false) }
    public static func / (a: Tensor, b: Double) -> Tensor { arithScalar(.div, a, b, integral: false) }
    public static func + (a: Double, b: Tensor) -> Tensor { arithScalar(.add, b, a, integral: false, scalarFirst: true) }
    public static func - (a: Double, b: Tensor) -> Tensor { arithScalar(.sub, b, a, integral: false, scalarFirst: true) }
    public static func * (a: Double, b: Tensor) -> Tensor { arithScalar(.mul, b, a, integral: false, scalarFirst: true) }
    public static func / (a: Double, b: Tensor) -> Tensor { arithScalar(.div, b, a, integral: false, scalarFirst: true) }

    public static func + (a: Tensor, b: Float) -> Tensor { a + Double(b) }
    public static func - (a: Tensor, b: Float) -> Tensor { a - Double(b) }
    public static func * (a: Tensor, b: Float) -> Tensor { a * Double(b) }
    public static func / (a: Tensor, b: Float) -> Tensor { a / Double(b) }
    public static func + (a: Float, b: Tensor) -> Tensor { Double(a) + b }
    public static func - (a: Float, b: Tensor) -> Tensor { Double(a) - b }
    public static func * (a: Float, b: Tensor) -> Tensor { Double(a) * b }
    public static func / (a: Float, b: Tensor) -> Tensor { Double(a) / b }

    public static func + (a: Tensor, b: Int) -> Tensor { arithScalar(.add, a, Double(b), integral: true) }
    public static func - (a: Tensor, b: Int) -> Tensor { arithScalar(.sub, a, Double(b), integral: true) }
    public static func * (a: Tensor, b: Int) -> Tensor { arithScalar(.mul, a, Double(b), integral: true) }
    public static func / (a: Tensor, b: Int) -> Tensor { arithScalar(.div, a, Double(b), integral: true) }
    public static func + (a: Int, b: Tensor) -> Tensor { arithScalar(.add, b, Double(a), integral: true, scalarFirst: true) }
    public static func - (a: Int, b: Tensor) -> Tensor { arithScalar(.sub, b, Double(a), integral: true, scalarFirst: true) }
    public static func * (a: Int, b: Tensor) -> Tensor { arithScalar(.mul, b, Double(a), integral: true, scalarFirst: true) }
    public static func / (a: Int, b: Tensor) -> Tensor { arithScalar(.div, b, Double(a), integral: true, scalarFirst: true) }

    /// `tensor + True` / `tensor * True`: a Python bool scalar, which promotes as bool (an int8
    /// tensor stays int8, a bool tensor stays bool: `+` is logical or, `*` logical and).
    public static func + (a: Tensor, b: Bool) -> Tensor { arithBoolScalar(.add, a, b) }
    public static func * (a: Tensor, b: Bool) -> Tensor { arithBoolScalar(.mul, a, b) }
    public static func + (a: Bool, b: Tensor) -> Tensor { arithBoolScalar(.add, b, a) }
    public static func * (a: Bool, b: Tensor) -> Tensor { arithBoolScalar(.mul, b, a) }

    public static prefix func - (a: Tensor) -> Tensor { a.neg() }

    public static func += (a: Tensor, b: Tensor) { a.add_(b) }
    public static func -= (a: Tensor, b: Tensor) { a.sub_(b) }
    public static func *= (a: Tensor, b: Tensor) { a.mul_(b) }
    public static func /= (a: Tensor, b: Tensor) { a.div_(b) }
    public static func += (a: Tensor, b: Double) { a.add_(b) }
    public static func -= (a: Tensor, b: Double) { a.add_(-b) }
    public static func *= (a: Tensor, b: Double) { a.mul_(b) }
    public static func /= (a: Tensor, b: Double) { a.mul_(1 / b) }

    /// `add(other, alpha:)`: `self + alpha * other`.
    public func add(_ other: Tensor, alpha: Double = 1) -> Tensor { alpha == 1 ? self + other : self + other * alpha }
    public func sub(_ other: Tensor, alpha: Double = 1) -> Tensor { alpha == 1 ? self - other : self - other * alpha }
    public func mul(_ other: Tensor) -> Tensor { self * other }
    public func div(_ other: Tensor) -> Tensor { self / other }

    /// `pow(exponent)` with a tensor exponent (broadcast).
    public func pow(_ exponent: Tensor) -> Tensor { arith(.pow, self, exponent) }
    /// `pow(exponent)` with a number; `t.pow(2)` is `t * t`.
    public func pow(_ exponent: Double) -> Tensor {
        let integral = exponent == exponent.rounded() && !dtype.isFloatingPoint
        return arithScalar(.pow, self, exponent, integral: integral)
    }
    /// `torch.maximum(self, other)`: elementwise max, NaN-propagating.
    public func maximum(_ other: Tensor) -> Tensor { arith(.maximum, self, other) }
    /// `torch.minimum(self, other)`.
    public func minimum(_ other: Tensor) -> Tensor { arith(.minimum, self, other) }
    /// `torch.floor_divide` (rounds toward negative infinity, as PyTorch ≥ 1.13).
    public func floorDivide(_ other: Tensor) -> Tensor { binaryOp(.floorDivide, self, other) }
    public func floorDivide(_ other: Double) -> Tensor { arithScalar(.floorDivide, self, other, integral: !dtype.isFloatingPoint && other == other.rounded()) }
    /// `torch.remainder` (Python's modulo: the sign of the divisor).
    public func remainder(_ other: Tensor) -> Tensor { arith(.remainder, self, other) }
    public func remainder(_ other: Double) -> Tensor { arithScalar(.remainder, self, other, integral: !dtype.isFloatingPoint && other == other.rounded()) }
    public func atan2(_ other: Tensor) -> Tensor { arith(.atan2, self, other) }
}

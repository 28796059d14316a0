import Foundation
#if canImport(CEmberKernels)
import CEmberKernels
#endif

/// Elementwise unary functions and their gradients (PyTorch's pointwise ops).
/// Integer inputs to floating functions (exp, log, sqrt, ...) give float32, as in PyTorch.

enum UnaryOp: String {
    case neg, abs, exp, log, log1p, expm1, sqrt, rsqrt, tanh, sigmoid, relu, geluTanh, geluErf
    case sin, cos, erf, square, reciprocal, floor, ceil, round, trunc, sign, logicalNot, bitwiseNot
    case log2, log10, silu

    /// Whether the result is floating even for integer inputs.
    var isFloatingFunction: Bool {
        switch self {
        case .neg, .abs, .relu, .square, .floor, .ceil, .round, .trunc, .sign, .logicalNot, .bitwiseNot: return false
        default: return true
        }
    }
}

func unaryOp(_ op: UnaryOp, _ t: Tensor) -> Tensor {
    var outType = t.dtype
    if op.isFloatingFunction && !t.dtype.isFloatingPoint { outType = DefaultDType.floating }
    if op == .logicalNot { outType = .bool }
    if op == .neg && t.dtype == .bool {
        return raiseError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.", shape: t.shape, dtype: .bool)
    }
    let out = Tensor(shape: t.shape, dtype: outType, device: t.device, zeroed: false)
    if t.isMeta { return out }
    guard t.device == .cpu else { return raiseError("no backend computes on \(t.device)", shape: t.shape, dtype: outType) }
    let kt: DType = op == .logicalNot ? .bool : kernelType(outType)
    let src = t.rawCast(outType == .bool && op != .logicalNot ? .bool : (op == .logicalNot ? .bool : outType)).rawCast(kt)
    let target = out.dtype == kt ? out : Tensor(shape: t.shape, dtype: kt, device: .cpu, zeroed: false)
    switch kt {
    case .float32: floatUnary(op, src, target)
    case .float64: doubleUnary(op, src, target)
    case .int64: intUnary(op, src, target)
    default: unaryLoop(src, target) { (x: Bool) -> Bool in op == .logicalNot || op == .bitwiseNot ? !x : x }
    }
    if target !== out { cpuCopy(from: target, to: out) }
    return out
}

func floatUnary(_ op: UnaryOp, _ a: Tensor, _ o: Tensor) {
    if a.isContiguous, let k = cKernel(op) {
        let P = UncheckedSendable((UnsafePointer(a.pointer(Float.self)), o.pointer(Float.self)))
        let K = UncheckedSendable(k)
        parallelFor(o.numel, grain: 1 << 15) { r in
            let (x, y) = P.value
            K.value(x + r.lowerBound, y + r.lowerBound, r.count)
            // The polynomial kernels clamp their argument, which turns NaN into a number;
            // PyTorch propagates NaN (exp(nan) = tanh(nan) = sigmoid(nan) = nan).
            for i in r where x[i].isNaN { y[i] = x[i] }
        }
        return
    }
    if a.isContiguous, let simd = simdKernel(op) {
        parallelMapFloats(UnsafePointer(a.pointer(Float.self)), o.pointer(Float.self), o.numel, simd)
        return
    }
    switch op {
    case .neg: unaryLoop(a, o) { (x: Float) in -x }
    case .abs: unaryLoop(a, o) { (x: Float) in Swift.abs(x) }
    case .exp: unaryLoop(a, o) { (x: Float) in Foundation.exp(x) }
    case .log: unaryLoop(a, o) { (x: Float) in Foundation.log(x) }
    case .log2: unaryLoop(a, o) { (x: Float) in Foundation.log2(x) }
    case .log10: unaryLoop(a, o) { (x: Float) in Foundation.log10(x) }
    case .log1p: unaryLoop(a, o) { (x: Float) in Foundation.log1p(x) }
    case .expm1: unaryLoop(a, o) { (x: Float) in Foundation.expm1(x) }
    case .sqrt: unaryLoop(a, o) { (x: Float) in x.squareRoot() }
    case .rsqrt: unaryLoop(a, o) { (x: Float) in 1 / x.squareRoot() }
    case .tanh: unaryLoop(a, o) { (x: Float) in Foundation.tanh(x) }
    case .sigmoid: unaryLoop(a, o) { (x: Float) in 1 / (1 + Foundation.exp(-x)) }
    case .silu: unaryLoop(a, o) { (x: Float) in x / (1 + Foundation.exp(-x)) }
    case .relu: unaryLoop(a, o) { (x: Float) in x > 0 ? x : (x.isNaN ? x : 0) }
    case .geluTanh: unaryLoop(a, o) { (x: Float) in geluTanhScalar(x) }
    case .geluErf: unaryLoop(a, o) { (x: Float) in 0.5 * x * (1 + Foundation.erf(x * 0.70710678118654752)) }
    case .sin: unaryLoop(a, o) { (x: Float) in Foundation.sin(x) }
    case .cos: unaryLoop(a, o) { (x: Float) in Foundation.cos(x) }
    case .erf: unaryLoop(a, o) { (x: Float) in Foundation.erf(x) }
    case .square: unaryLoop(a, o) { (x: Float) in x * x }
    case .reciprocal: unaryLoop(a, o) { (x: Float) in 1 / x }
    case .floor: unaryLoop(a, o) { (x: Float) in x.rounded(.down) }
    case .ceil: unaryLoop(a, o) { (x: Float) in x.rounded(.up) }
    case .round: unaryLoop(a, o) { (x: Float) in x.rounded(.toNearestOrEven) }
    case .trunc: unaryLoop(a, o) { (x: Float) in x.rounded(.towardZero) }
    case .sign: unaryLoop(a, o) { (x: Float) -> Float in x > 0 ? 1 : (x < 0 ? -1 : 0) }
    case .logicalNot, .bitwiseNot: break
    }
}

/// C kernels (AVX2/FMA when the CPU has them) for the hot float32 functions, contiguous inputs.
func cKernel(_ op: UnaryOp) -> ((UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? {
    #if canImport(CEmberKernels)
    switch op {
    case .exp: return { ember_exp_f32($0, $1, $2) }
    case .tanh: return { ember_tanh_f32($0, $1, $2) }
    case .sigmoid: return { ember_sigmoid_f32($0, $1, $2) }
    case .geluTanh: return { ember_gelu_tanh_f32($0, $1, $2) }
    case .silu: return { ember_silu_f32($0, $1, $2) }
    default: return nil
    }
    #else
    return nil
    #endif
}

/// SIMD versions of the hot float32 functions (contiguous inputs only).
func simdKernel(_ op: UnaryOp) -> ((F16x) -> F16x)? {
    switch op {
    case .exp: return { vexp($0) }
    case .tanh: return { vtanh($0) }
    case .sigmoid: return { vsigmoid($0) }
    case .geluTanh: return { vgeluTanh($0) }
    case .silu: return { $0 * vsigmoid($0) }
    case .relu: return { x in var y = x; y.replace(with: 0, where: x .< 0); return y }
    case .neg: return { -$0 }
    case .square: return { $0 * $0 }
    case .sqrt: return { $0.squareRoot() }
    case .rsqrt: return { 1 / $0.squareRoot() }
    case .reciprocal: return { 1 / $0 }
    default: return nil
    }
}

func doubleUnary(_ op: UnaryOp, _ a: Tensor, _ o: Tensor) {
    switch op {
    case .neg: unaryLoop(a, o) { (x: Double) in -x }
    case .abs: unaryLoop(a, o) { (x: Double) in Swift.abs(x) }
    case .exp: unaryLoop(a, o) { (x: Double) in Foundation.exp(x) }
    case .log: unaryLoop(a, o) { (x: Double) in Foundation.log(x) }
    case .log2: unaryLoop(a, o) { (x: Double) in Foundation.log2(x) }
    case .log10: unaryLoop(a, o) { (x: Double) in Foundation.log10(x) }
    case .log1p: unaryLoop(a, o) { (x: Double) in Foundation.log1p(x) }
    case .expm1: unaryLoop(a, o) { (x: Double) in Foundation.expm1(x) }
    case .sqrt: unaryLoop(a, o) { (x: Double) in x.squareRoot() }
    case .rsqrt: unaryLoop(a, o) { (x: Double) in 1 / x.squareRoot() }
    case .tanh: unaryLoop(a, o) { (x: Double) in Foundation.tanh(x) }
    case .sigmoid: unaryLoop(a, o) { (x: Double) in 1 / (1 + Foundation.exp(-x)) }
    case .silu: unaryLoop(a, o) { (x: Double) in x / (1 + Foundation.exp(-x)) }
    case .relu: unaryLoop(a, o) { (x: Double) in x > 0 ? x : (x.isNaN ? x : 0) }
    case .geluTanh: unaryLoop(a, o) { (x: Double) in 0.5 * x * (1 + Foundation.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))) }
    case .geluErf: unaryLoop(a, o) { (x: Double) in 0.5 * x * (1 + Foundation.erf(x * 0.70710678118654752)) }
    case .sin: unaryLoop(a, o) { (x: Double) in Foundation.sin(x) }
    case .cos: unaryLoop(a, o) { (x: Double) in Foundation.cos(x) }
    case .erf: unaryLoop(a, o) { (x: Double) in Foundation.erf(x) }
    case .square: unaryLoop(a, o) { (x: Double) in x * x }
    case .reciprocal: unaryLoop(a, o) { (x: Double) in 1 / x }
    case .floor: unaryLoop(a, o) { (x: Double) in x.rounded(.down) }
    case .ceil: unaryLoop(a, o) { (x: Double) in x.rounded(.up) }
    case .round: unaryLoop(a, o) { (x: Double) in x.rounded(.toNearestOrEven) }
    case .trunc: unaryLoop(a, o) { (x: Double) in x.rounded(.towardZero) }
    case .sign: unaryLoop(a, o) { (x: Double) -> Double in x > 0 ? 1 : (x < 0 ? -1 : 0) }
    case .logicalNot, .bitwiseNot: break
    }
}

func intUnary(_ op: UnaryOp, _ a: Tensor, _ o: Tensor) {
    switch op {
    case .neg: unaryLoop(a, o) { (x: Int64) in 0 &- x }
    case .abs: unaryLoop(a, o) { (x: Int64) in x < 0 ? 0 &- x : x }
    case .relu: unaryLoop(a, o) { (x: Int64) in Swift.max(x, 0) }
    case .square: unaryLoop(a, o) { (x: Int64) in x &* x }
    case .sign: unaryLoop(a, o) { (x: Int64) -> Int64 in x > 0 ? 1 : (x < 0 ? -1 : 0) }
    case .bitwiseNot: unaryLoop(a, o) { (x: Int64) in ~x }
    default: unaryLoop(a, o) { (x: Int64) in x }   // floor/ceil/round/trunc are identities on integers
    }
}

/// Public unary functions with their gradients.
extension Tensor {
    /// What an op's backward reads, so that only that is version-checked (as PyTorch saves `self`
    /// for `log`, `result` for `exp`, nothing for `neg`): modifying anything else in place is fine.
    enum Saved { case input, output, nothing }

    /// `backward(g, x, y)` gets the output gradient, the input and the output (a detached alias).
    func unary(_ op: UnaryOp, _ name: String, saves: Saved = .input,
               _ backward: ((Tensor, Tensor, Tensor) -> Tensor)?) -> Tensor {
        let out = unaryOp(op, self)
        guard let backward, Tensor.needsGrad([self]), out.dtype.isFloatingPoint else { return out }
        let x = self, y = out.detach()
        return out.recordGrad(name, [x], saving: saves == .input ? [x] : [], savingOutput: saves == .output) { g in
            [backward(g, x, y).gradFor(x)]
        }
    }

    public func neg() -> Tensor { unary(.neg, "NegBackward0", saves: .nothing) { g, _, _ in -g } }
    public func abs() -> Tensor { unary(.abs, "AbsBackward0") { g, x, _ in g * x.sign() } }
    public func exp() -> Tensor { unary(.exp, "ExpBackward0", saves: .output) { g, _, y in g * y } }
    public func log() -> Tensor { unary(.log, "LogBackward0") { g, x, _ in g / x } }
    public func log2() -> Tensor { unary(.log2, "Log2Backward0") { g, x, _ in g / (x * 0.6931471805599453) } }
    public func log10() -> Tensor { unary(.log10, "Log10Backward0") { g, x, _ in g / (x * 2.302585092994046) } }
    public func log1p() -> Tensor { unary(.log1p, "Log1PBackward0") { g, x, _ in g / (x + 1) } }
    public func expm1() -> Tensor { unary(.expm1, "Expm1Backward0", saves: .output) { g, _, y in g * (y + 1) } }
    public func sqrt() -> Tensor { unary(.sqrt, "SqrtBackward0", saves: .output) { g, _, y in g / (2 * y) } }
    public func rsqrt() -> Tensor { unary(.rsqrt, "RsqrtBackward0", saves: .output) { g, _, y in -0.5 * g * y * y * y } }
    public func tanh() -> Tensor { unary(.tanh, "TanhBackward0", saves: .output) { g, _, y in g * (1 - y * y) } }
    public func sigmoid() -> Tensor { unary(.sigmoid, "SigmoidBackward0", saves: .output) { g, _, y in g * y * (1 - y) } }
    public func silu() -> Tensor { unary(.silu, "SiluBackward0") { g, x, _ in let s = x.sigmoid(); return g * s * (1 + x * (1 - s)) } }
    public func relu() -> Tensor { unary(.relu, "ReluBackward0", saves: .output) { g, _, y in g * (y > 0).to(g.dtype) } }
    public func sin() -> Tensor { unary(.sin, "SinBackward0") { g, x, _ in g * x.cos() } }
    public func cos() -> Tensor { unary(.cos, "CosBackward0") { g, x, _ in -g * x.sin() } }
    public func erf() -> Tensor { unary(.erf, "ErfBackward0") { g, x, _ in g * 1.1283791670955126 * (-(x * x)).exp() } }
    public func square() -> Tensor { unary(.square, "PowBackward0") { g, x, _ in 2 * g * x } }
    public func reciprocal() -> Tensor { unary(.reciprocal, "ReciprocalBackward0", saves: .output) { g, _, y in -g * y * y } }
    public func floor() -> Tensor { unary(.floor, "FloorBackward0", saves: .nothing) { g, _, _ in Tensor.zerosLike(g) } }
    public func ceil() -> Tensor { unary(.ceil, "CeilBackward0", saves: .nothing) { g, _, _ in Tensor.zerosLike(g) } }
    public func round() -> Tensor { unary(.round, "RoundBackward0", saves: .nothing) { g, _, _ in Tensor.zerosLike(g) } }
    public func trunc() -> Tensor { unary(.trunc, "TruncBackward0", saves: .nothing) { g, _, _ in Tensor.zerosLike(g) } }
    public func sign() -> Tensor { unary(.sign, "SignBackward0", saves: .nothing) { g, _, _ in Tensor.zerosLike(g) } }
    public func logicalNot() -> Tensor { unaryOp(.logicalNot, self) }
    public static prefix func ~ (t: Tensor) -> Tensor { t.dtype == .bool ? t.logicalNot() : unaryOp(.bitwiseNot, t) }

    /// GELU (`torch.nn.functional.gelu`): `approximate: "none"` is the exact erf form,
    /// `"tanh"` the approximation the book's chapter 4 writes out.
    public func gelu(approximate: String = "none") -> Tensor {
        if approximate == "tanh" {
            return unary(.geluTanh, "GeluBackward0") { g, x, _ in
                #if canImport(CEmberKernels)
                if x.dtype == .float32, g.dtype == .float32, x.isContiguous, g.isContiguous, g.shape == x.shape,
                   x.device == .cpu, !GradMode.isEnabled {
                    // Fused kernel: one pass instead of ten temporaries.
                    let out = Tensor(shape: x.shape, dtype: .float32, device: .cpu, zeroed: false)
                    let P = UncheckedSendable((UnsafePointer(x.pointer(Float.self)), UnsafePointer(g.pointer(Float.self)), out.pointer(Float.self)))
                    parallelFor(out.numel, grain: 1 << 15) { r in
                        let (xp, gp, op) = P.value
                        ember_gelu_tanh_backward_f32(xp + r.lowerBound, gp + r.lowerBound, op + r.lowerBound, r.count)
                    }
                    return out
                }
                #endif
                let k = 0.7978845608028654
                let x3 = x * x * x
                let inner = k * (x + 0.044715 * x3)
                let th = inner.tanh()
                let left = 0.5 * (1 + th)
                let right = 0.5 * x * (1 - th * th) * k * (1 + 3 * 0.044715 * x * x)
                return g * (left + right)
            }
        }
        return unary(.geluErf, "GeluBackward0") { g, x, _ in
            let cdf = 0.5 * (1 + (x * 0.70710678118654752).erf())
            let pdf = (-0.5 * x * x).exp() * 0.3989422804014327
            return g * (cdf + x * pdf)
        }
    }
}

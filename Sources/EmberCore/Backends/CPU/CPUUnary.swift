import Foundation
#if canImport(CEmberKernels)
import CEmberKernels
#endif

/// The CPU backend's elementwise unary kernels: C kernels (AVX2/FMA) for the hot float32
/// functions, SIMD for the rest of the contiguous cases, strided loops otherwise.

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
    case .logSigmoid: unaryLoop(a, o) { (x: Float) in Swift.min(x, 0) - Foundation.log1p(Foundation.exp(-Swift.abs(x))) }
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
    case .logSigmoid: unaryLoop(a, o) { (x: Double) in Swift.min(x, 0) - Foundation.log1p(Foundation.exp(-Swift.abs(x))) }
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


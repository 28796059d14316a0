import EmberCore
import Foundation

/// `torch.nn.utils.clip_grad_norm_`: scales the gradients of `params` in place so that their
/// total norm is at most `maxNorm`, and returns the total norm from before clipping.
///
/// The total norm is the `normType`-norm of all gradients viewed as one vector (the norm of the
/// per-tensor norms); `.infinity` gives the largest absolute value. The scale is PyTorch's
/// `clip_coef = max_norm / (total_norm + 1e-6)`, clamped to 1.0, computed in float32 as PyTorch
/// does (`max_norm * (1 / (total_norm + 1e-6))`); gradients are multiplied even when it is 1.
/// Parameters without a gradient are skipped; with none at all the result is `tensor(0.)`.
/// Used by the book's appendix D training loop with `maxNorm: 1`.
///
/// - Returns: a 0-d tensor of the first gradient's dtype (float32 for float32 gradients).
/// - Errors: with `errorIfNonfinite`, a NaN/inf total norm raises PyTorch's RuntimeError
///   ("The total norm of order 2.0 for gradients from `parameters` is non-finite, ...").
/// Per-tensor norms accumulate in Double, so the result can differ from PyTorch's float32
/// reduction in the last bit. Source: torch/nn/utils/clip_grad.py (PyTorch 2.13).
@discardableResult
public func clipGradNorm(_ params: [Tensor], maxNorm: Double, normType: Double = 2,
                         errorIfNonfinite: Bool = false) -> Tensor {
    let grads = params.compactMap { $0.grad }
    guard let first = grads.first else { return Tensor(0.0) }
    let norms = grads.map { vectorNorm($0, normType) }
    let total = combineNorms(norms, normType)
    let outDType = first.dtype.isFloatingPoint ? first.dtype : DType.float32
    let totalTensor = Tensor(total).to(outDType)
    if errorIfNonfinite && !total.isFinite {
        EmberError(.runtime, "The total norm of order \(normType) for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`").raise()
        return totalTensor
    }
    // float32 as PyTorch: clip_coef = max_norm / (total_norm + 1e-6) is `reciprocal(t) * max_norm`.
    let t32 = Float(total)
    var coef = Float(maxNorm) * (1 / (t32 + Float(1e-6)))
    if coef > 1 { coef = 1 }
    noGrad {
        for g in grads { g.mul_(Double(coef)) }
    }
    return totalTensor
}

/// The `p`-norm of one tensor's elements, as `torch.linalg.vector_norm` (p = ±inf, 0 and any
/// other), accumulated in Double and rounded to float32 as a float32 result would be.
func vectorNorm(_ t: Tensor, _ p: Double) -> Double {
    if t.isDenseFloat32 {
        let ptr = t.floatPointer
        return norm(t.numel, p) { Double(ptr[$0]) }
    }
    let d = t.to(.cpu).to(.float64).contiguous()   // accumulated in Double on the host
    let ptr = d.doublePointer
    return norm(d.numel, p) { ptr[$0] }
}

@inline(__always)
private func norm(_ n: Int, _ p: Double, _ x: (Int) -> Double) -> Double {
    if n == 0 { return 0 }
    var acc = p == -.infinity ? Double.infinity : 0
    for i in 0..<n {
        let a = Swift.abs(x(i))
        switch p {
        case 2: acc += a * a
        case 1: acc += a
        case .infinity: if a > acc || a.isNaN { acc = a }
        case -.infinity: if a < acc || a.isNaN { acc = a }
        case 0: if a != 0 { acc += 1 }
        default: acc += Foundation.pow(a, p)
        }
    }
    switch p {
    case 2: return Double(Float(acc.squareRoot()))
    case 1, 0, .infinity, -.infinity: return Double(Float(acc))
    default: return Double(Float(Foundation.pow(acc, 1 / p)))
    }
}

/// The `p`-norm of non-negative numbers.
func combineNorms(_ xs: [Double], _ p: Double) -> Double {
    if xs.isEmpty { return 0 }
    if p == .infinity { return xs.max()! }
    if p == -.infinity { return xs.min()! }
    if p == 0 { return Double(xs.filter { $0 != 0 }.count) }
    if p == 1 { return Double(Float(xs.reduce(0, +))) }
    if p == 2 { return Double(Float(xs.reduce(0) { $0 + $1 * $1 }.squareRoot())) }
    let s = xs.reduce(0) { $0 + Foundation.pow($1, p) }
    return Double(Float(Foundation.pow(s, 1 / p)))
}

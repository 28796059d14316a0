import Foundation

/// Elementwise unary functions and their gradients (PyTorch's pointwise ops).
/// Integer inputs to floating functions (exp, log, sqrt, ...) give float32, as in PyTorch.

enum UnaryOp: String {
    case neg, abs, exp, log, log1p, expm1, sqrt, rsqrt, tanh, sigmoid, relu, geluTanh, geluErf
    case sin, cos, erf, square, reciprocal, floor, ceil, round, trunc, sign, logicalNot, bitwiseNot
    case log2, log10, silu, logSigmoid

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
    backend(t.device)?.unary(op, t, into: out)
    return out
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
    /// `F.logsigmoid` (`torch.nn.LogSigmoid`): `log(1 / (1 + exp(−x)))`, computed as PyTorch's CPU
    /// kernel does, `min(x, 0) − log1p(exp(−|x|))`, so it never overflows; its gradient is
    /// `sigmoid(−x)` (0.5 at 0, where a composition of `min` and `abs` would give a wrong subgradient).
    /// Same shape and floating dtype as the input (integers give float32); `grad_fn` prints
    /// `LogSigmoidBackward0`. Source: https://pytorch.org/docs/stable/generated/torch.nn.functional.logsigmoid.html;
    /// the loss of the chapter-7 DPO notebook (`-F.logsigmoid(beta * logits)`).
    public func logSigmoid() -> Tensor { unary(.logSigmoid, "LogSigmoidBackward0") { g, x, _ in g * (-x).sigmoid() } }
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
                if !GradMode.isEnabled, let r = backend(x.device)?.geluTanhBackward(x, g) {
                    return r   // fused: one pass instead of ten temporaries
                }
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

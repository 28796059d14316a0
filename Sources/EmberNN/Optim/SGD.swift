import EmberCore
import OrderedCollections

/// Stochastic gradient descent with optional momentum (`torch.optim.SGD`).
///
/// Per parameter with a gradient `g` (PyTorch's single-tensor path):
/// ```
/// g = -g if maximize;  g = g + wd·p            (wd ≠ 0)
/// buf = g (first step)  |  buf = momentum·buf + (1 − dampening)·g      (momentum ≠ 0)
/// g = g + momentum·buf (nesterov)  |  g = buf
/// p = p − lr·g
/// ```
/// State: `momentum_buffer` per parameter, only when momentum ≠ 0 (as PyTorch).
/// Contiguous float32 parameters use one fused loop with ATen's FMAs (add-with-alpha is an FMA
/// there); others use tensor ops in the same order.
/// Errors (PyTorch's ValueErrors): "Invalid learning rate: …", "Invalid momentum value: …",
/// "Invalid weight_decay value: …", "Nesterov momentum requires a momentum and zero dampening".
/// Source: torch/optim/sgd.py `_single_tensor_sgd` (PyTorch 2.13; default lr 1e-3).
public final class SGD: Optimizer, @unchecked Sendable {
    /// SGD over parameter groups; options a group does not set come from these arguments.
    public init(_ groups: [ParamGroup], lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false) {
        if !(lr >= 0) { EmberError(.value, "Invalid learning rate: \(lr)").raise() }
        if !(momentum >= 0) { EmberError(.value, "Invalid momentum value: \(momentum)").raise() }
        if !(weightDecay >= 0) { EmberError(.value, "Invalid weight_decay value: \(weightDecay)").raise() }
        if nesterov && (momentum <= 0 || dampening != 0) {
            EmberError(.value, "Nesterov momentum requires a momentum and zero dampening").raise()
        }
        // PyTorch's defaults for momentum, dampening and weight_decay are the int 0.
        func number(_ x: Double) -> StateValue { x == 0 ? .int(0) : .double(x) }
        let defaults: OrderedDictionary<String, StateValue> = [
            "lr": .double(lr),
            "momentum": number(momentum),
            "dampening": number(dampening),
            "weight_decay": number(weightDecay),
            "nesterov": .bool(nesterov),
            "maximize": .bool(maximize),
            "foreach": .none,
            "differentiable": .bool(false),
            "fused": .none,
        ]
        super.init(groups, defaults: defaults)
    }

    /// SGD over one group of `params`.
    public convenience init(_ params: [Tensor], lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
                            weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false) {
        self.init([ParamGroup(params)], lr: lr, momentum: momentum, dampening: dampening,
                  weightDecay: weightDecay, nesterov: nesterov, maximize: maximize)
    }

    public override func step() {
        noGrad {
            for group in paramGroups {
                let lr = group.lr
                let momentum = group.double("momentum") ?? 0
                let dampening = group.double("dampening") ?? 0
                let wd = group.double("weight_decay") ?? 0
                let nesterov = group.bool("nesterov"), maximize = group.bool("maximize")
                for p in group.params {
                    guard let grad = p.grad else { continue }
                    let id = ObjectIdentifier(p)
                    let buf = state[id]?["momentum_buffer"]
                    let fresh = momentum != 0 && buf == nil
                    let buffer = momentum == 0 ? nil : (buf ?? Tensor.zeros(p.shape, dtype: p.dtype, device: p.device))
                    if momentum != 0, fresh, let buffer { state[id, default: [:]]["momentum_buffer"] = buffer }

                    if p.isDenseFloat32 && grad.isDenseFloat32 && grad.numel == p.numel
                        && (buffer.map { $0.isDenseFloat32 } ?? true) {
                        fusedSGDFloat32(p: p.floatPointer, g: grad.floatPointer, buf: buffer?.floatPointer,
                                        n: p.numel, lr: lr, momentum: momentum, dampening: dampening,
                                        weightDecay: wd, nesterov: nesterov, maximize: maximize, freshBuffer: fresh)
                        p.markWrittenInPlace()
                        continue
                    }
                    var g = maximize ? -grad : grad
                    if wd != 0 { g = g.add(p, alpha: wd) }
                    if let buffer {
                        if fresh { buffer.copy_(g) } else { buffer.mul_(momentum).add_(g, alpha: 1 - dampening) }
                        g = nesterov ? g.add(buffer, alpha: momentum) : buffer
                    }
                    p.add_(g, alpha: -lr)
                }
            }
        }
    }
}

/// One SGD update over contiguous float32 memory (see ``SGD``), split across threads.
func fusedSGDFloat32(p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, buf: UnsafeMutablePointer<Float>?,
                     n: Int, lr: Double, momentum: Double, dampening: Double, weightDecay: Double,
                     nesterov: Bool, maximize: Bool, freshBuffer: Bool) {
    let wd = Float(weightDecay), mom = Float(momentum), keep = Float(1 - dampening), negLR = Float(-lr)
    let P = SendablePointers((p, g, buf))
    parallelChunks(n, grain: 1 << 15) { r in
        let (p, g, buf) = P.value
        for i in r {
            var gi = g[i]
            if maximize { gi = -gi }
            if wd != 0 { gi = fmaf32(p[i], wd, gi) }
            if let buf {
                let b = freshBuffer ? gi : fmaf32(gi, keep, buf[i] * mom)
                buf[i] = b
                gi = nesterov ? fmaf32(b, mom, gi) : b
            }
            p[i] = fmaf32(gi, negLR, p[i])
        }
    }
}

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
/// The device's fused kernel runs the step when it has one (the CPU's float32 loop with ATen's
/// FMAs: add-with-alpha is an FMA there); other dtypes and layouts use tensor ops in the same order.
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

                    if p.fusedSGD_(grad: grad, momentumBuffer: buffer, freshBuffer: fresh, lr: lr, momentum: momentum,
                                   dampening: dampening, weightDecay: wd, nesterov: nesterov, maximize: maximize) {
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

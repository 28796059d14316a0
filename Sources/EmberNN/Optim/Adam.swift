import EmberCore
import Foundation
import OrderedCollections

/// Adam (`torch.optim.Adam`), and with decoupled weight decay the base of ``AdamW``.
///
/// Per parameter with a gradient `g` (PyTorch's single-tensor path, `foreach=False`), in float32:
/// ```
/// step += 1                                   (a float32 0-d tensor, as PyTorch keeps it)
/// g = -g if maximize
/// p *= 1 - lr·wd          (AdamW)   |   g = g + wd·p   (Adam, wd ≠ 0)
/// m.lerp_(g, 1 - β1);  v = v·β2 + (1 - β2)·g·g
/// denom = sqrt(v or max(v_max, v)) / sqrt(1 - β2^step) + eps
/// p += -(lr / (1 - β1^step)) · m / denom
/// ```
/// The scalars are computed in Double as Python does and rounded to float32 where ATen does; the
/// elementwise steps run in the device's fused kernel (``EmberCore/Tensor/fusedAdam_(grad:expAvg:expAvgSq:maxExpAvgSq:lr:beta1:beta2:eps:weightDecay:decoupledWeightDecay:maximize:step:)``:
/// on the CPU with ATen's fused multiply-adds, so contiguous float32 parameters get PyTorch's bits,
/// `Tests/EmberNNTests/Fixtures/optim`); other dtypes and layouts use tensor ops in the same order.
/// State per parameter: `step`, `exp_avg`, `exp_avg_sq` (+ `max_exp_avg_sq` with amsgrad).
/// Parameters whose `.grad` is nil are skipped.
/// Source: torch/optim/adam.py `_single_tensor_adam` (PyTorch 2.13).
open class Adam: Optimizer, @unchecked Sendable {
    /// Adam over parameter groups; options a group does not set come from these arguments.
    /// - Parameters: lr ≥ 0 (default 1e-3), betas in [0, 1) (default (0.9, 0.999)), eps ≥ 0
    ///   (1e-8), weightDecay ≥ 0 (0: L2 added to the gradient), amsgrad, maximize.
    ///   Invalid values raise PyTorch's ValueError ("Invalid learning rate: -1.0").
    public init(_ groups: [ParamGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
                decoupledWeightDecay: Bool = false) {
        if !(lr >= 0) { EmberError(.value, "Invalid learning rate: \(lr)").raise() }
        if !(eps >= 0) { EmberError(.value, "Invalid epsilon value: \(eps)").raise() }
        if !(betas.0 >= 0 && betas.0 < 1) { EmberError(.value, "Invalid beta parameter at index 0: \(betas.0)").raise() }
        if !(betas.1 >= 0 && betas.1 < 1) { EmberError(.value, "Invalid beta parameter at index 1: \(betas.1)").raise() }
        if !(weightDecay >= 0) { EmberError(.value, "Invalid weight_decay value: \(weightDecay)").raise() }
        let defaults: OrderedDictionary<String, StateValue> = [
            "lr": .double(lr),
            "betas": .tuple([.double(betas.0), .double(betas.1)]),
            "eps": .double(eps),
            // PyTorch's Adam default is the int 0; AdamW's is the float 0.01.
            "weight_decay": weightDecay == 0 && !decoupledWeightDecay ? .int(0) : .double(weightDecay),
            "amsgrad": .bool(amsgrad),
            "maximize": .bool(maximize),
            "foreach": .none,
            "capturable": .bool(false),
            "differentiable": .bool(false),
            "fused": .none,
            "decoupled_weight_decay": .bool(decoupledWeightDecay),
        ]
        super.init(groups, defaults: defaults)
    }

    /// Adam over one group of `params` (e.g. `model.parameters()`).
    public convenience init(_ params: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                            eps: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false) {
        self.init([ParamGroup(params)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
                  amsgrad: amsgrad, maximize: maximize, decoupledWeightDecay: false)
    }

    open override func step() {
        noGrad {
            for group in paramGroups {
                let h = Hyper(group)
                for p in group.params {
                    guard let grad = p.grad else { continue }
                    update(p, grad, h)
                }
            }
        }
    }

    /// A group's hyper-parameters, read once per step.
    struct Hyper {
        let lr, beta1, beta2, eps, weightDecay: Double
        let amsgrad, maximize, decoupled: Bool
        init(_ g: ParamGroup) {
            lr = g.lr
            (beta1, beta2) = g.betas
            eps = g.double("eps") ?? 1e-8
            weightDecay = g.double("weight_decay") ?? 0
            amsgrad = g.bool("amsgrad")
            maximize = g.bool("maximize")
            decoupled = g.bool("decoupled_weight_decay")
        }
    }

    private func update(_ p: Tensor, _ grad: Tensor, _ h: Hyper) {
        let id = ObjectIdentifier(p)
        var s = state[id] ?? [:]
        if s.isEmpty {
            // PyTorch keeps `step` as a float32 CPU scalar tensor (capturable and fused off).
            s["step"] = Tensor(0.0)
            s["exp_avg"] = Tensor.zeros(p.shape, dtype: p.dtype, device: p.device)
            s["exp_avg_sq"] = Tensor.zeros(p.shape, dtype: p.dtype, device: p.device)
            if h.amsgrad { s["max_exp_avg_sq"] = Tensor.zeros(p.shape, dtype: p.dtype, device: p.device) }
            state[id] = s
        }
        guard let stepT = s["step"], let m = s["exp_avg"], let v = s["exp_avg_sq"] else { return }
        let vMax = h.amsgrad ? s["max_exp_avg_sq"] : nil
        if h.amsgrad && vMax == nil {
            EmberError(.runtime, "amsgrad is on but the state has no 'max_exp_avg_sq'").raise()
            return
        }
        stepT.add_(1.0)
        let step = stepT.item()
        // The device's fused kernel (the CPU's float32 loop, Vulkan's AdamW shader) when it has one.
        if p.fusedAdam_(grad: grad, expAvg: m, expAvgSq: v, maxExpAvgSq: vMax, lr: h.lr, beta1: h.beta1, beta2: h.beta2,
                        eps: h.eps, weightDecay: h.weightDecay, decoupledWeightDecay: h.decoupled,
                        maximize: h.maximize, step: step) {
            return
        }
        let bc1 = 1 - Foundation.pow(h.beta1, step)
        let bc2 = 1 - Foundation.pow(h.beta2, step)
        let stepSize = h.lr / bc1
        let bc2Sqrt = Foundation.pow(bc2, 0.5)
        // Tensor ops in PyTorch's order (other dtypes, strided parameters, other devices).
        var g = h.maximize ? -grad : grad
        if h.weightDecay != 0 {
            if h.decoupled { p.mul_(1 - h.lr * h.weightDecay) } else { g = g.add(p, alpha: h.weightDecay) }
        }
        m.lerp_(g, 1 - h.beta1)
        v.mul_(h.beta2).addcmul_(g, g, value: 1 - h.beta2)
        var second = v
        if let vMax {
            vMax.copy_(vMax.maximum(v))
            second = vMax
        }
        let denom = (second.sqrt() / bc2Sqrt).add_(h.eps)
        p.addcdiv_(m, denom, value: -stepSize)
    }
}

/// `torch.optim.AdamW`: Adam with decoupled weight decay (`p *= 1 - lr·wd` before the Adam step)
/// and PyTorch's AdamW default `weightDecay = 0.01`. Its state dict says
/// `"decoupled_weight_decay": True`, as PyTorch 2.13 writes it.
/// Source: torch/optim/adamw.py (PyTorch 2.13); Loshchilov & Hutter, "Decoupled Weight Decay
/// Regularization".
public final class AdamW: Adam, @unchecked Sendable {
    /// AdamW over parameter groups (per-group `weight_decay` overrides the default: bug case B26, docs/cases.md).
    public init(_ groups: [ParamGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false) {
        super.init(groups, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad,
                   maximize: maximize, decoupledWeightDecay: true)
    }

    /// AdamW over one group of `params`, e.g. `AdamW(model.parameters(), lr: 4e-4, weightDecay: 0.1)`
    /// (the book's chapter 5 settings).
    public convenience init(_ params: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                            eps: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false) {
        self.init([ParamGroup(params)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
                  amsgrad: amsgrad, maximize: maximize)
    }
}

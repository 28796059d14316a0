import Foundation

/// Fused optimizer steps that a device's backend provides in one kernel (PyTorch's
/// `torch._fused_adamw_`): the CPU's vectorised loops and Vulkan's AdamW shader. Optimizers call
/// them first and fall back to tensor ops when they return false, so results do not depend on
/// whether a backend has the kernel.

extension Tensor {
    /// One Adam or AdamW step in place, as `torch.optim.Adam(W)`'s single-tensor path computes it:
    /// ```
    /// g = −g (maximize);  p *= 1 − lr·wd (decoupled)  |  g = g + wd·p (Adam, wd ≠ 0)
    /// m.lerp_(g, 1 − β₁);  v = v·β₂ + (1 − β₂)·g·g;  v̂ = max(vMax, v) (amsgrad, stored in vMax)
    /// p += −(lr / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + eps)
    /// ```
    /// with the scalars in Double and the elementwise steps in the tensors' dtype.
    ///
    /// - Parameters: `grad`, `expAvg` (m), `expAvgSq` (v) and `maxExpAvgSq` have self's shape, dtype
    ///   and device; `step` is t after incrementing (≥ 1).
    /// - Returns: false, changing nothing, when the device's backend has no fused kernel for these
    ///   operands (the caller then runs the tensor-op formula). Records no autograd; bumps the
    ///   version counters of the tensors it writes.
    /// Source: torch/optim/adam.py `_single_tensor_adam`;
    /// https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html
    public func fusedAdam_(grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, maxExpAvgSq: Tensor? = nil,
                           lr: Double, beta1: Double, beta2: Double, eps: Double, weightDecay: Double,
                           decoupledWeightDecay: Bool, maximize: Bool = false, step: Double) -> Bool {
        let operands = [grad, expAvg, expAvgSq] + (maxExpAvgSq.map { [$0] } ?? [])
        guard !isMeta, operands.allSatisfy({ $0.device == device && $0.shape == shape && $0.dtype == dtype }),
              let be = BackendRegistry.backend(for: device) else { return false }
        let h = AdamStep(lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay,
                         decoupled: decoupledWeightDecay, maximize: maximize, step: step)
        guard be.adam(self, grad: grad, m: expAvg, v: expAvgSq, vMax: maxExpAvgSq, h) else { return false }
        for t in [self, expAvg, expAvgSq] + (maxExpAvgSq.map { [$0] } ?? []) { t.storage.bumpVersion() }
        return true
    }

    /// One AdamW step in place (amsgrad off, not maximizing): ``fusedAdam_(grad:expAvg:expAvgSq:maxExpAvgSq:lr:beta1:beta2:eps:weightDecay:decoupledWeightDecay:maximize:step:)``
    /// with decoupled weight decay. Source: https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html
    public func fusedAdamW_(grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, lr: Double, beta1: Double, beta2: Double,
                            eps: Double, weightDecay: Double, step: Double) -> Bool {
        fusedAdam_(grad: grad, expAvg: expAvg, expAvgSq: expAvgSq, lr: lr, beta1: beta1, beta2: beta2, eps: eps,
                   weightDecay: weightDecay, decoupledWeightDecay: true, step: step)
    }

    /// One SGD step in place, as `torch.optim.SGD`'s single-tensor path computes it:
    /// ```
    /// g = −g (maximize);  g = g + wd·p (wd ≠ 0)
    /// buf = g (fresh buffer)  |  buf = momentum·buf + (1 − dampening)·g      (with a buffer)
    /// g = g + momentum·buf (nesterov)  |  g = buf;   p = p − lr·g
    /// ```
    /// - Parameters: `grad` and `momentumBuffer` (nil when momentum is 0) have self's shape, dtype
    ///   and device; `freshBuffer` says the buffer is new this step (its old values are ignored).
    /// - Returns: false, changing nothing, when the backend has no fused kernel for these operands.
    /// Source: torch/optim/sgd.py `_single_tensor_sgd`.
    public func fusedSGD_(grad: Tensor, momentumBuffer: Tensor?, freshBuffer: Bool, lr: Double, momentum: Double,
                          dampening: Double, weightDecay: Double, nesterov: Bool, maximize: Bool) -> Bool {
        let operands = [grad] + (momentumBuffer.map { [$0] } ?? [])
        guard !isMeta, operands.allSatisfy({ $0.device == device && $0.shape == shape && $0.dtype == dtype }),
              let be = BackendRegistry.backend(for: device) else { return false }
        let h = SGDStep(lr: lr, momentum: momentum, dampening: dampening, weightDecay: weightDecay,
                        nesterov: nesterov, maximize: maximize, freshBuffer: freshBuffer)
        guard be.sgd(self, grad: grad, buffer: momentumBuffer, h) else { return false }
        for t in [self] + (momentumBuffer.map { [$0] } ?? []) { t.storage.bumpVersion() }
        return true
    }
}

/// The scalars of one Adam/AdamW step (``Tensor/fusedAdam_(grad:expAvg:expAvgSq:maxExpAvgSq:lr:beta1:beta2:eps:weightDecay:decoupledWeightDecay:maximize:step:)``).
struct AdamStep {
    var lr, beta1, beta2, eps, weightDecay: Double
    var decoupled, maximize: Bool
    /// t after incrementing.
    var step: Double
    /// `1 − β₁ᵗ` and `1 − β₂ᵗ`, in Double as Python computes them.
    var biasCorrection1: Double { 1 - Foundation.pow(beta1, step) }
    var biasCorrection2: Double { 1 - Foundation.pow(beta2, step) }
    /// `lr / (1 − β₁ᵗ)` and `√(1 − β₂ᵗ)` (Python's `** 0.5`).
    var stepSize: Double { lr / biasCorrection1 }
    var biasCorrection2Sqrt: Double { Foundation.pow(biasCorrection2, 0.5) }
}

/// The scalars of one SGD step (``Tensor/fusedSGD_(grad:momentumBuffer:freshBuffer:lr:momentum:dampening:weightDecay:nesterov:maximize:)``).
struct SGDStep {
    var lr, momentum, dampening, weightDecay: Double
    var nesterov, maximize, freshBuffer: Bool
}

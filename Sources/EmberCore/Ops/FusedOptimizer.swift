import Foundation

/// Fused optimizer steps that a device's backend may provide in one kernel (PyTorch's
/// `torch._fused_adamw_`). Optimizers call them first and fall back to tensor ops when they
/// return false, so results do not depend on whether a backend has the kernel.

extension Tensor {
    /// One AdamW step in place (amsgrad off, not maximizing), as `torch.optim.AdamW` computes it:
    /// `p *= 1 − lr·wd; m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; p −= lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + eps)`.
    ///
    /// - Parameters: `grad`, `expAvg` (m), `expAvgSq` (v) have self's shape, dtype and device;
    ///   `step` is t after incrementing (≥ 1).
    /// - Returns: false, changing nothing, when the device's backend has no fused kernel for these
    ///   operands (the caller then runs the tensor-op formula). Records no autograd.
    /// Source: https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html
    public func fusedAdamW_(grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, lr: Double, beta1: Double, beta2: Double,
                            eps: Double, weightDecay: Double, step: Double) -> Bool {
        guard !isMeta, [grad, expAvg, expAvgSq].allSatisfy({ $0.device == device && $0.shape == shape && $0.dtype == dtype }),
              let be = BackendRegistry.backend(for: device) else { return false }
        let h = AdamWStep(lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay,
                          biasCorrection1: 1 - Foundation.pow(beta1, step), biasCorrection2: 1 - Foundation.pow(beta2, step))
        guard be.adamW(self, grad: grad, m: expAvg, v: expAvgSq, h) else { return false }
        for t in [self, expAvg, expAvgSq] { t.storage.bumpVersion() }
        return true
    }
}

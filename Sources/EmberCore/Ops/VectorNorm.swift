import Foundation

extension Tensor {
    /// `torch.linalg.vector_norm(self, ord)`: the `ord`-norm of all elements as one vector, a 0-d
    /// tensor of self's floating dtype (float32 for integer input).
    ///
    /// `ord` 2 (default), 1, any other finite p (`(Σ|x|ᵖ)^(1/p)`), 0 (number of non-zeros), `.infinity`
    /// (max |x|) or `-.infinity` (min |x|). On the CPU a float32 result is accumulated in float32 in
    /// ATen's order (for ord 2 sixteen lanes of `x·x`, the lanes added in turn, then the tail), so
    /// it equals PyTorch's bit for bit (`clip_grad_norm_` sums these).
    /// Gradient (finite `ord` ≠ 0): `g · sign(x)·|x|^(ord−1) / norm^(ord−1)`.
    /// Source: https://pytorch.org/docs/stable/generated/torch.linalg.vector_norm.html;
    /// aten/src/ATen/native/cpu/ReduceOpsKernel.cpp `norm_kernel_tensor_iterator_impl`.
    public func vectorNorm(_ ord: Double = 2) -> Tensor {
        let dt = dtype.isFloatingPoint ? dtype : DefaultDType.floating
        if isMeta { return Tensor(metaShape: [], dtype: dt) }
        let out = Tensor(shape: [], dtype: dt, device: device, zeroed: false)
        if numel == 0 {
            backend(device)?.fill(out, with: ord < 0 ? .infinity : 0)
            return out
        }
        backend(device)?.vectorNorm(self.to(dt), ord: ord, into: out)
        if Tensor.needsGrad([self]) && ord.isFinite && ord != 0 {
            let x = self, norm = out.detach()
            out.recordGrad("LinalgVectorNormBackward0", [self], saving: [self]) { g in
                noGrad {
                    if ord == 2 { return [x * (g / norm)] }
                    if ord == 1 { return [x.sign() * g] }
                    return [x.sign() * x.abs().pow(ord - 1) * (g / norm.pow(ord - 1))]
                }
            }
        }
        return out
    }
}

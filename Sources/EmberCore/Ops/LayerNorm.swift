extension Tensor {
    /// `F.layer_norm(self, normalizedShape, weight, bias, eps)`: `(x − mean) / √(var + eps)` over the
    /// last `normalizedShape.count` dims (biased variance), then `· weight + bias`.
    ///
    /// A device with a one-pass kernel (Vulkan: one workgroup per row, `grad_fn`
    /// `NativeLayerNormBackward0` with fused input and parameter gradients) runs it there; otherwise
    /// it is composed of tensor ops (`mean`, subtraction, `rsqrt`, …), each recorded by autograd, as
    /// on the CPU.
    /// - Parameters: `weight` and `bias` have shape `normalizedShape` (nil: no affine transform).
    /// - Errors: PyTorch's "Given normalized_shape=[…], expected input with shape [*, …], but got
    ///   input of size[…]".
    /// Source: https://pytorch.org/docs/stable/generated/torch.nn.functional.layer_norm.html
    public func nativeLayerNorm(normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil, eps: Double = 1e-5) -> Tensor {
        guard normalizedShape.count <= ndim, shape.suffix(normalizedShape.count).elementsEqual(normalizedShape) else {
            let s = { (a: [Int]) in "[" + a.map(String.init).joined(separator: ", ") + "]" }
            return raiseError("Given normalized_shape=\(s(normalizedShape)), expected input with shape [*, \(normalizedShape.map(String.init).joined(separator: ", "))], but got input of size\(s(shape))", shape: shape, dtype: dtype)
        }
        let len = normalizedShape.reduce(1, *)
        if !isMeta, dtype == .float32, len > 0,
           [weight, bias].allSatisfy({ $0 == nil || ($0!.dtype == .float32 && $0!.device == device && $0!.numel == len) }),
           let fused = backend(device)?.layerNorm(rawContiguous(), weight: weight?.rawContiguous(), bias: bias?.rawContiguous(), len: len, eps: eps) {
            let x = self, y = fused.y, mean = fused.mean, rstd = fused.rstd
            let inputs = [self] + [weight, bias].compactMap { $0 }
            guard Tensor.needsGrad(inputs) else { return y }
            return y.recordGrad("NativeLayerNormBackward0", inputs, saving: inputs) { g in
                let gc = g.rawContiguous(), xc = x.rawContiguous()
                let dx = backend(x.device)?.layerNormBackward(xc, gc, weight: weight?.rawContiguous(), mean: mean, rstd: rstd, len: len)
                let params = weight != nil || bias != nil
                    ? backend(x.device)?.layerNormParamGrad(xc, gc, mean: mean, rstd: rstd, len: len) : nil
                var grads: [Tensor?] = [dx]
                if let weight { grads.append(params?.weight.rawReshape(weight.shape)) }
                if let bias { grads.append(params?.bias.rawReshape(bias.shape)) }
                return grads
            }
        }
        let dims = Array((ndim - normalizedShape.count)..<ndim)
        let mean = self.mean(dims: dims, keepdim: true)
        let centered = self - mean
        let variance = (centered * centered).mean(dims: dims, keepdim: true)
        var y = centered * (variance + eps).rsqrt()
        if let weight { y = y * weight }
        if let bias { y = y + bias }
        return y
    }
}

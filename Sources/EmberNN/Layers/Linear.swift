import EmberCore

/// `nn.Linear(inFeatures, outFeatures, bias)`: `y = x · Wᵀ + b`.
///
/// - `weight`: [outFeatures, inFeatures], initialised by `kaiming_uniform_(a: √5)`;
///   `bias`: [outFeatures], `uniform_(±1/√inFeatures)` — PyTorch's default, bit-exact draws
///   (weight first, then bias).
/// - Input `[*, inFeatures]`, output `[*, outFeatures]`.
/// Source: https://pytorch.org/docs/stable/generated/torch.nn.Linear.html
public final class Linear: Module, UnaryLayer {
    @Parameter public var weight: Tensor
    @Parameter public var bias: Tensor?
    public let inFeatures: Int
    public let outFeatures: Int

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, device: Device = .cpu, dtype: DType = .float32) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let w = Tensor.empty([outFeatures, inFeatures], dtype: dtype, device: device)
        let b: Tensor? = bias ? Tensor.empty([outFeatures], dtype: dtype, device: device) : nil
        // Drawn from the CPU generator on every device and copied there (nothing is drawn on meta),
        // so a seed gives the same weights on the CPU and on vulkan:0.
        Init.kaimingUniform_(w, a: 5.0.squareRoot())
        if let b, inFeatures > 0 {
            let bound = 1 / Double(inFeatures).squareRoot()
            Init.uniform_(b, -bound, bound)
        }
        self.weight = w
        self.bias = b
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }

    public override var extraRepr: String { "in_features=\(inFeatures), out_features=\(outFeatures), bias=\(bias != nil ? "True" : "False")" }
}

/// `F.linear(x, weight, bias)`: `x · weightᵀ + bias` with one backward node (PyTorch's
/// `AddmmBackward0` for 2-D input, `ViewBackward0` for batched input with bias, `MmBackward0` /
/// `UnsafeViewBackward0` without bias).
/// - Parameters: x `[*, in]`, weight `[out, in]`, bias `[out]`.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    guard x.shape.last == weight.shape.last else {
        let rows = x.shape.dropLast().reduce(1, *)
        return EmberError(.runtime, "mat1 and mat2 shapes cannot be multiplied (\(rows)x\(x.shape.last ?? 0) and \(weight.shape.last ?? 0)x\(weight.shape.first ?? 0))").raise(shape: x.shape)
    }
    let out = noGrad { () -> Tensor in
        let y = x.matmul(weight.t())
        if let bias { y.add_(bias) }
        return y
    }
    var inputs = [x, weight]
    if let bias { inputs.append(bias) }
    guard Tensor.needsGrad(inputs) else { return out }
    let name = x.ndim == 2 ? (bias != nil ? "AddmmBackward0" : "MmBackward0") : (bias != nil ? "ViewBackward0" : "UnsafeViewBackward0")
    let inF = weight.shape[1]
    return out.recordGrad(name, inputs, saving: [x, weight]) { g in
        let g2 = g.reshape([-1, g.shape.last!])
        let gx: Tensor? = x.requiresGrad ? g.matmul(weight) : nil
        let gw: Tensor? = weight.requiresGrad ? g2.t().matmul(x.reshape([-1, inF])) : nil
        var r: [Tensor?] = [gx, gw]
        if let bias { r.append(bias.requiresGrad ? g2.sum(0) : nil) }
        return r
    }
}

import EmberCore

/// `nn.LayerNorm(normalizedShape, eps, elementwiseAffine, bias)`: normalises over the last
/// dimensions with the biased variance, then `· weight + bias` (weight ones, bias zeros).
/// Source: https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html
/// (The book's own LayerNorm with `scale`/`shift` lives in EmberLLM.)
public final class LayerNorm: Module, UnaryLayer {
    @Parameter public var weight: Tensor?
    @Parameter public var bias: Tensor?
    public let normalizedShape: [Int]
    public let eps: Double

    public init(_ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
        self.normalizedShape = normalizedShape
        self.eps = eps
        self.weight = elementwiseAffine ? Tensor.ones(normalizedShape) : nil
        self.bias = elementwiseAffine && bias ? Tensor.zeros(normalizedShape) : nil
        super.init()
    }
    public convenience init(_ dim: Int, eps: Double = 1e-5) { self.init([dim], eps: eps) }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        layerNorm(x, normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
    }

    public override var extraRepr: String {
        "(\(normalizedShape.map(String.init).joined(separator: ", "))\(normalizedShape.count == 1 ? "," : "")), eps=\(pythonFloat(eps)), elementwise_affine=\(weight != nil ? "True" : "False")"
    }
}

/// `F.layer_norm(x, normalizedShape, weight, bias, eps)`: `(x − mean) / √(var + eps)` over the last
/// `normalizedShape.count` dims (biased variance), then the affine transform; the device's backend
/// runs it (``EmberCore/Tensor/nativeLayerNorm(normalizedShape:weight:bias:eps:)``).
public func layerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil, eps: Double = 1e-5) -> Tensor {
    x.nativeLayerNorm(normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
}

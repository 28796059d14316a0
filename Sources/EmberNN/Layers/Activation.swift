import EmberCore

/// `nn.Dropout(p)`: in training mode zeroes each element with probability `p` and scales the rest
/// by `1/(1−p)` (the CPU bernoulli path, bit-exact masks); identity in eval mode. Book ch. 3.
public final class Dropout: Module, UnaryLayer {
    public let p: Double
    public init(_ p: Double = 0.5) {
        if p < 0 || p > 1 { EmberError(.value, "dropout probability has to be between 0 and 1, but got \(p)").raise() }
        self.p = p
        super.init()
    }
    public func callAsFunction(_ x: Tensor) -> Tensor { dropout(x, p: p, training: isTraining) }
    public override var extraRepr: String { "p=\(pythonFloat(p)), inplace=False" }
}

/// `F.dropout(x, p, training)`: `x · mask` with mask elements `1/(1−p)` or 0 (`MulBackward0`).
public func dropout(_ x: Tensor, p: Double, training: Bool = true, generator: Generator? = nil) -> Tensor {
    guard training, p > 0 else { return x }
    if x.isMeta { return Tensor.empty(x.shape, dtype: x.dtype, device: .meta) }
    let mask = Tensor.dropoutMask(x.shape, p: p, dtype: x.dtype, generator: generator)
    return x * mask.to(x.device)
}

/// `nn.GELU(approximate:)`: `"none"` (erf) or `"tanh"` (the book's chapter-4 formula).
public final class GELU: Module, UnaryLayer {
    public let approximate: String
    public init(approximate: String = "none") { self.approximate = approximate; super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.gelu(approximate: approximate) }
    public override var extraRepr: String { "approximate='\(approximate)'" }
}

/// `nn.ReLU()`.
public final class ReLU: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.relu() }
}

/// `nn.Sigmoid()`.
public final class Sigmoid: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.sigmoid() }
}

/// `nn.Tanh()`.
public final class Tanh: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.tanh() }
}

/// `nn.Identity()`.
public final class Identity: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x }
}

/// `nn.Softmax(dim)`.
public final class Softmax: Module, UnaryLayer {
    public let dim: Int
    public init(dim: Int) { self.dim = dim; super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.softmax(dim) }
    public override var extraRepr: String { "dim=\(dim)" }
}

import EmberCore

/// A module that maps one tensor to one tensor; what ``Sequential`` can chain.
public protocol UnaryLayer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// `nn.Sequential`: children named `0`, `1`, … and applied in order.
/// The book's `FeedForward.layers` and `GPTModel.trf_blocks` are Sequentials.
public final class Sequential: Module, UnaryLayer {
    public init(_ layers: [Module]) {
        super.init()
        for (i, l) in layers.enumerated() { registerModule(String(i), l) }
    }
    public convenience init(_ layers: Module...) { self.init(layers) }

    public var count: Int { registeredModules.count }
    public subscript(i: Int) -> Module { registeredModules.values[i < 0 ? i + count : i].value! }

    /// Applies every child in order. A child that is not a ``UnaryLayer`` raises an error.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for (name, m) in namedChildren() {
            guard let layer = m as? any UnaryLayer else {
                return EmberError(.type, "Sequential child (\(name)) \(m.typeName) is not a UnaryLayer").raise(shape: h.shape)
            }
            h = layer(h)
        }
        return h
    }
}

/// `nn.ModuleList`: an indexed list of registered children (`0`, `1`, …).
public final class ModuleList: Module {
    public init(_ modules: [Module] = []) {
        super.init()
        for m in modules { append(m) }
    }
    public func append(_ m: Module) { registerModule(String(registeredModules.count), m) }
    public var count: Int { registeredModules.count }
    public subscript(i: Int) -> Module { registeredModules.values[i < 0 ? i + count : i].value! }
    public var items: [Module] { registeredModules.values.compactMap { $0.value } }
}

/// `nn.ModuleDict`: named children in insertion order.
public final class ModuleDict: Module {
    public init(_ modules: [(String, Module)] = []) {
        super.init()
        for (k, m) in modules { registerModule(k, m) }
    }
    public subscript(key: String) -> Module? {
        get { registeredModules[key]?.value }
        set { registerModule(key, newValue) }
    }
    public var keys: [String] { Array(registeredModules.keys) }
}

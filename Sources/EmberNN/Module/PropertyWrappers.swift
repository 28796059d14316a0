import EmberCore

/// A value a tensor slot can hold: `Tensor` or `Tensor?` (nil as in PyTorch's
/// `register_buffer("cache_k", None)` or `Linear(bias=False)`'s `bias`).
public protocol TensorSlotValue {
    var slotValue: Tensor? { get }
}
extension Tensor: TensorSlotValue {
    public var slotValue: Tensor? { self }
}
extension Optional: TensorSlotValue where Wrapped == Tensor {
    public var slotValue: Tensor? { self }
}

/// Shared storage of a registered tensor. The property wrapper and the module's registry read the
/// same box, so assigning the property can never leave a stale registry entry behind.
public final class TensorSlot: @unchecked Sendable {
    public enum Kind: Sendable { case parameter, buffer(persistent: Bool) }
    public var value: Tensor?
    public let kind: Kind
    init(_ value: Tensor?, kind: Kind) {
        self.value = value
        self.kind = kind
    }
}

/// Shared storage of a registered child module.
public final class ModuleSlot: @unchecked Sendable {
    public var value: Module?
    /// Whether a module can be stored here: a `@Child var W_query: Linear` takes only `Linear`s (its
    /// getter casts), a registered child (`registerModule`) any module. Checked by
    /// ``Module/setChild(named:_:)`` so that a replacement can never make a typed property unreadable.
    public let accepts: @Sendable (Module) -> Bool
    init(_ value: Module?, accepts: @escaping @Sendable (Module) -> Bool = { _ in true }) {
        self.value = value
        self.accepts = accepts
    }
}

/// A trained tensor of a module (`nn.Parameter`): listed by `parameters()`, saved in `stateDict()`,
/// moved by `to(_:)`. Assigning a tensor makes it a leaf that requires grad.
///
/// ```swift
/// @Parameter var weight: Tensor        // [outFeatures, inFeatures]
/// @Parameter var bias: Tensor?         // nil when the layer has no bias
/// ```
@propertyWrapper
public struct Parameter<Value: TensorSlotValue> {
    public let slot: TensorSlot
    public init(wrappedValue: Value) {
        slot = TensorSlot(Parameter.prepare(wrappedValue.slotValue), kind: .parameter)
    }
    public var wrappedValue: Value {
        get { slot.value as! Value }
        nonmutating set { slot.value = Parameter.prepare(newValue.slotValue) }
    }
    public var projectedValue: TensorSlot { slot }

    static func prepare(_ t: Tensor?) -> Tensor? {
        guard let t else { return nil }
        let p = t.isLeaf ? t : t.detach()
        if p.isFloatingPoint && !p.requiresGrad { p.requiresGrad = true }
        p.isParameter = true
        return p
    }
}

extension Parameter where Value == Tensor? {
    public init() { slot = TensorSlot(nil, kind: .parameter) }
}

/// State of a module that is not trained but moves with `to(_:)` and, when persistent, is saved
/// in `stateDict()` (`register_buffer`). Book chapter 3: the causal `mask`.
///
/// ```swift
/// @Buffer var mask: Tensor                       // persistent
/// @Buffer(persistent: false) var cacheK: Tensor? // nil until used, never saved (KV cache)
/// ```
@propertyWrapper
public struct Buffer<Value: TensorSlotValue> {
    public let slot: TensorSlot
    public init(wrappedValue: Value, persistent: Bool = true) {
        slot = TensorSlot(wrappedValue.slotValue, kind: .buffer(persistent: persistent))
    }
    public var wrappedValue: Value {
        get { slot.value as! Value }
        nonmutating set { slot.value = newValue.slotValue }
    }
    public var projectedValue: TensorSlot { slot }
}

extension Buffer where Value == Tensor? {
    public init(persistent: Bool = true) { slot = TensorSlot(nil, kind: .buffer(persistent: persistent)) }
}

extension Buffer {
    /// A buffer declared with arguments and assigned in `init`, e.g.
    /// `@Buffer(persistent: false) var mask: Tensor`. Swift builds such a wrapper from the
    /// attribute's arguments alone, so the property is assigned after `super.init()`:
    /// ```swift
    /// super.init()
    /// mask = Tensor.ones([n, n]).triu(diagonal: 1)
    /// ```
    /// Reading a non-optional buffer before it is assigned is a programming error.
    public init(persistent: Bool) { slot = TensorSlot(nil, kind: .buffer(persistent: persistent)) }
}

/// A registered submodule: its parameters and buffers appear under `name.` in `stateDict()`.
///
/// ```swift
/// @Child var W_query: Linear
/// ```
@propertyWrapper
public struct Child<Value> {
    public let slot: ModuleSlot
    public init(wrappedValue: Value) {
        slot = ModuleSlot(Child.asModule(wrappedValue), accepts: { $0 is Value })
    }
    public var wrappedValue: Value {
        get { slot.value as! Value }
        nonmutating set { slot.value = Child.asModule(newValue) }
    }
    public var projectedValue: ModuleSlot { slot }

    static func asModule(_ v: Value) -> Module? {
        if let m = v as? Module { return m }
        return nil
    }
}

/// Lets the module registry find wrapped properties through reflection.
protocol TensorSlotCarrier { var tensorSlot: TensorSlot { get } }
protocol ModuleSlotCarrier { var moduleSlot: ModuleSlot { get } }
extension Parameter: TensorSlotCarrier { var tensorSlot: TensorSlot { slot } }
extension Buffer: TensorSlotCarrier { var tensorSlot: TensorSlot { slot } }
extension Child: ModuleSlotCarrier { var moduleSlot: ModuleSlot { slot } }

import EmberCore
import Foundation
import OrderedCollections

/// The base class of neural-network layers and models, as PyTorch's `nn.Module`.
///
/// A module owns **parameters** (trained; `@Parameter`), **buffers** (not trained, but moved by
/// ``to(_:)-(Device)`` and saved in ``stateDict(prefix:keepVars:)`` unless non-persistent; `@Buffer`)
/// and **child modules** (`@Child`). Declaration order is registration order, so state-dict keys
/// come out in PyTorch's order. Code ported from PyTorch can instead call
/// ``registerParameter(_:_:)``, ``registerBuffer(_:_:persistent:)`` and ``registerModule(_:_:)``;
/// those entries follow the declared ones.
///
/// A tensor stored in a plain `var` is not registered: it is neither moved nor saved, exactly as
/// in PyTorch. Ember says so once per property when such a module is moved or saved (the pitfall
/// of the book's "Understanding PyTorch Buffers" notebook); see ``Module/warnsAboutUnregisteredTensors``.
///
/// Source: https://pytorch.org/docs/stable/generated/torch.nn.Module.html
open class Module {
    /// Whether the module is in training mode (`module.training`); see ``train(_:)`` and ``eval()``.
    public private(set) var training = true
    var registeredParameters = OrderedDictionary<String, TensorSlot>()
    var registeredBuffers = OrderedDictionary<String, TensorSlot>()
    var registeredModules = OrderedDictionary<String, ModuleSlot>()

    public init() {}

    /// The class name used in descriptions and error messages (`GPTModel`, `Linear`).
    open var typeName: String { String(describing: type(of: self)) }

    /// Extra text inside the parentheses of the description (`in_features=3, out_features=2, bias=False`).
    open var extraRepr: String { "" }

    // MARK: - Registration

    /// Registers (or replaces) a parameter by name, as `register_parameter`. `nil` registers an
    /// absent parameter (skipped by `parameters()` and the state dict).
    public func registerParameter(_ name: String, _ tensor: Tensor?) {
        let slot = TensorSlot(nil, kind: .parameter)
        slot.value = Parameter<Tensor?>.prepare(tensor)
        registeredParameters[name] = slot
    }

    /// Registers (or replaces) a buffer by name, as `register_buffer(name, tensor, persistent=...)`.
    public func registerBuffer(_ name: String, _ tensor: Tensor?, persistent: Bool = true) {
        registeredBuffers[name] = TensorSlot(tensor, kind: .buffer(persistent: persistent))
    }

    /// Registers (or replaces) a child module by name, as `register_module` / `add_module`.
    public func registerModule(_ name: String, _ module: Module?) {
        registeredModules[name] = ModuleSlot(module)
    }

    /// A parameter or buffer registered with `register…` or declared, by its own name.
    public func tensor(named name: String) -> Tensor? {
        ownTensorSlots().first { $0.name == name }?.slot.value
    }
    /// Sets a registered parameter or buffer by name (`self.mask = ...` in ported code).
    public func setTensor(named name: String, _ value: Tensor?) {
        guard let slot = ownTensorSlots().first(where: { $0.name == name })?.slot else {
            EmberError(.type, "'\(typeName)' object has no attribute '\(name)'").raise()
            return
        }
        if case .parameter = slot.kind { slot.value = Parameter<Tensor?>.prepare(value) } else { slot.value = value }
    }

    /// Replaces the child module `name` (declared with `@Child` or registered), as `setattr(module,
    /// name, new)` does in PyTorch code such as the book's `replace_linear_with_lora` (appendix E).
    /// The slot is shared with the property, so `att.W_query` reads the new module at once.
    /// - Throws: ``EmberError`` (`AttributeError`-like `.type`) when there is no child `name`, or when
    ///   the property's declared type cannot hold `module` (a `@Child var x: Linear` cannot take a
    ///   `LinearWithLoRA`; declare it `any LinearLayer`). Nothing is changed then.
    public func setChild(named name: String, _ module: Module) throws {
        guard let slot = ownModuleSlots().first(where: { $0.name == name })?.slot else {
            throw EmberError(.type, "'\(typeName)' object has no child module '\(name)'")
        }
        guard slot.accepts(module) else {
            throw EmberError(.type, "cannot assign \(module.typeName) to \(typeName).\(name): the property's declared type does not accept it")
        }
        slot.value = module
    }

    // MARK: - Reflection (no cache, so a reassigned property can never be stale)

    /// This module's own tensor slots in registration order: declared (superclass first), then
    /// registered by name.
    func ownTensorSlots() -> [(name: String, slot: TensorSlot)] {
        var out: [(String, TensorSlot)] = []
        forEachMirrorChild { label, value in
            if let c = value as? TensorSlotCarrier { out.append((label, c.tensorSlot)) }
        }
        for (k, v) in registeredParameters { out.append((k, v)) }
        for (k, v) in registeredBuffers { out.append((k, v)) }
        return out
    }

    func ownModuleSlots() -> [(name: String, slot: ModuleSlot)] {
        var out: [(String, ModuleSlot)] = []
        forEachMirrorChild { label, value in
            if let c = value as? ModuleSlotCarrier { out.append((label, c.moduleSlot)) }
        }
        for (k, v) in registeredModules { out.append((k, v)) }
        return out
    }

    /// Visits stored properties of subclasses (superclass first) with wrapper underscores removed.
    func forEachMirrorChild(_ body: (String, Any) -> Void) {
        var mirrors: [Mirror] = []
        var m: Mirror? = Mirror(reflecting: self)
        while let mm = m, mm.subjectType != Module.self {
            mirrors.append(mm)
            m = mm.superclassMirror
        }
        for mirror in mirrors.reversed() {
            for child in mirror.children {
                guard var label = child.label else { continue }
                if label.hasPrefix("_") { label.removeFirst() }
                body(label, child.value)
            }
        }
    }

    // MARK: - Traversal (PyTorch's named_* functions)

    /// `named_parameters()`: own parameters, then each child's, with dotted names; each tensor once.
    public func namedParameters(prefix: String = "", recurse: Bool = true) -> [(String, Tensor)] {
        var seen = Set<ObjectIdentifier>()
        var out: [(String, Tensor)] = []
        for (p, m) in (recurse ? namedModules(prefix: prefix) : [(prefix, self)]) {
            for (n, slot) in m.ownTensorSlots() {
                guard case .parameter = slot.kind, let t = slot.value, seen.insert(ObjectIdentifier(t)).inserted else { continue }
                out.append((p.isEmpty ? n : p + "." + n, t))
            }
        }
        return out
    }
    /// `parameters()`.
    public func parameters(recurse: Bool = true) -> [Tensor] { namedParameters(recurse: recurse).map { $0.1 } }

    /// `named_buffers()`: persistent and non-persistent buffers that are not nil.
    public func namedBuffers(prefix: String = "", recurse: Bool = true) -> [(String, Tensor)] {
        var seen = Set<ObjectIdentifier>()
        var out: [(String, Tensor)] = []
        for (p, m) in (recurse ? namedModules(prefix: prefix) : [(prefix, self)]) {
            for (n, slot) in m.ownTensorSlots() {
                guard case .buffer = slot.kind, let t = slot.value, seen.insert(ObjectIdentifier(t)).inserted else { continue }
                out.append((p.isEmpty ? n : p + "." + n, t))
            }
        }
        return out
    }
    /// `buffers()`.
    public func buffers(recurse: Bool = true) -> [Tensor] { namedBuffers(recurse: recurse).map { $0.1 } }

    /// `named_children()`: direct submodules that are not nil.
    public func namedChildren() -> [(String, Module)] {
        var seen = Set<ObjectIdentifier>()
        return ownModuleSlots().compactMap { n, s in
            guard let m = s.value, seen.insert(ObjectIdentifier(m)).inserted else { return nil }
            return (n, m)
        }
    }
    /// `children()`.
    public func children() -> [Module] { namedChildren().map { $0.1 } }

    /// `named_modules()`: self (named `prefix`) and every descendant, depth first, each once.
    public func namedModules(prefix: String = "") -> [(String, Module)] {
        var seen = Set<ObjectIdentifier>()
        var out: [(String, Module)] = []
        func walk(_ m: Module, _ p: String) {
            guard seen.insert(ObjectIdentifier(m)).inserted else { return }
            out.append((p, m))
            for (n, c) in m.namedChildren() { walk(c, p.isEmpty ? n : p + "." + n) }
        }
        walk(self, prefix)
        return out
    }
    /// `modules()`.
    public func modules() -> [Module] { namedModules().map { $0.1 } }

    /// `apply(fn)`: calls `fn` on every submodule (children first) and then on self.
    @discardableResult
    public func apply(_ fn: (Module) -> Void) -> Self {
        for c in children() { c.apply(fn) }
        fn(self)
        return self
    }

    /// `train(mode)`: sets training mode here and in every submodule (dropout active).
    @discardableResult
    public func train(_ mode: Bool = true) -> Self {
        for m in modules() { m.training = mode }
        return self
    }
    /// `eval()`: `train(false)` (dropout becomes the identity).
    @discardableResult
    public func eval() -> Self { train(false) }
    /// Whether the module is in training mode.
    public var isTraining: Bool { training }

    /// `requires_grad_(flag)` on every parameter (freezing layers for fine-tuning).
    @discardableResult
    public func requiresGrad_(_ flag: Bool = true) -> Self {
        for p in parameters() { p.requiresGrad = flag }
        return self
    }

    /// `zero_grad(set_to_none=True)`: clears every parameter's gradient.
    public func zeroGrad(setToNone: Bool = true) {
        for p in parameters() {
            if setToNone { p.grad = nil } else { _ = noGrad { p.grad?.zero_() } }
        }
    }

    /// Total number of elements in the parameters (`sum(p.numel() for p in parameters())`);
    /// tied parameters count once.
    public func numParameters(trainableOnly: Bool = false) -> Int {
        parameters().filter { !trainableOnly || $0.requiresGrad }.reduce(0) { $0 + $1.numel }
    }
}


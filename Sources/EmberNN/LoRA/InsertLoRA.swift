import EmberCore
import OrderedCollections

/// One module's LoRA factors in the book's layout: `A` `[in, r]`, `B` `[r, out]`, and `alpha`, so that
/// the update is `(alpha / r) · x · A · B` (PEFT stores `lora_A.weight = Aᵀ`, `lora_B.weight = Bᵀ`).
public struct LoRAFactors {
    public var A: Tensor
    public var B: Tensor
    public var alpha: Double
    public init(A: Tensor, B: Tensor, alpha: Double) {
        self.A = A
        self.B = B
        self.alpha = alpha
    }
}

/// Every ``LinearWithLoRA`` of `model` with its dotted path, in `named_modules` order.
public func loraLayers(of model: Module) -> [(path: String, layer: LinearWithLoRA)] {
    model.namedModules().compactMap { p, m in (m as? LinearWithLoRA).map { (p, $0) } }
}

/// Puts saved LoRA factors into `model` (loading an adapter): the ``Linear`` at each dotted path is
/// wrapped in a ``LinearWithLoRA`` holding them; a `LinearWithLoRA` already there keeps its base layer
/// and takes the new factors. They are converted to the base weight's dtype and device; nothing is drawn.
/// - Throws: ``EmberError`` naming the path when it is not a `Linear`/`LinearWithLoRA` of `model`, the
///   factors do not fit it (`A` `[in, r]`, `B` `[r, out]`), or its property cannot hold the wrapper.
///   Everything is checked before `model` is changed.
public func insertLoRA(_ factors: OrderedDictionary<String, LoRAFactors>, into model: Module) throws {
    var modules: [String: Module] = [:]
    for (path, m) in model.namedModules() { modules[path] = m }
    var plan: [(ModuleSlot, Linear, LoRAFactors)] = []
    for (path, f) in factors {
        let dot = path.lastIndex(of: ".")
        let parentPath = dot.map { String(path[..<$0]) } ?? ""
        let name = dot.map { String(path[path.index(after: $0)...]) } ?? path
        guard let parent = modules[parentPath], let slot = parent.ownModuleSlots().first(where: { $0.name == name })?.slot,
              let child = slot.value else {
            throw EmberError(.value, "LoRA weights for module '\(path)', which \(model.typeName) does not have")
        }
        let base: Linear
        if let l = child as? Linear { base = l } else if let w = child as? LinearWithLoRA { base = w.linear } else {
            throw EmberError(.type, "LoRA weights for module '\(path)', a \(child.typeName), not a Linear")
        }
        let r = f.A.ndim == 2 ? f.A.shape[1] : 0
        guard r >= 1, f.A.shape == [base.inFeatures, r], f.B.shape == [r, base.outFeatures] else {
            throw EmberError(.value, "LoRA weights for '\(path)' have A \(f.A.shape) and B \(f.B.shape); Linear(in_features=\(base.inFeatures), out_features=\(base.outFeatures)) needs A [\(base.inFeatures), r] and B [r, \(base.outFeatures)]")
        }
        guard slot.accepts(LinearWithLoRA.placeholder) else {
            throw EmberError(.type, "cannot wrap \(path) for LoRA: \(parent.typeName).\(name) is declared as Linear; declare it `any LinearLayer`")
        }
        plan.append((slot, base, f))
    }
    for (slot, base, f) in plan {
        let w = base.weight
        let a = noGrad { f.A.to(w.device, w.dtype).contiguous() }
        let b = noGrad { f.B.to(w.device, w.dtype).contiguous() }
        slot.value = try LinearWithLoRA(base, A: a, B: b, alpha: f.alpha)
    }
}

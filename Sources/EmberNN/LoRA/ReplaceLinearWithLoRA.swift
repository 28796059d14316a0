import EmberCore
import OrderedCollections

/// The book's `replace_linear_with_lora(model, rank, alpha)` (appendix E): every ``Linear`` in
/// `module`, at any depth, becomes a ``LinearWithLoRA`` wrapping it, in recursive `named_children`
/// order — the order in which the `A` matrices are drawn, so a seeded generator gives PyTorch's
/// values. For the book's `GPTModel` that is, per block, `att.W_query`, `att.W_key`, `att.W_value`,
/// `att.out_proj`, `ff.layers.0`, `ff.layers.2`, then `out_head` (a new classification head
/// included): 2,666,528 trainable parameters for GPT-2 small with a 2-class head, rank 16.
///
/// The new `A`/`B` parameters require grad whatever the base layers do (freeze the model first, as
/// the book does, to train only them). A layer that is already a `LinearWithLoRA` is left as it is
/// (the book's function would wrap its inner `Linear` a second time).
///
/// - Parameters:
///   - rank: `r ≥ 1`; alpha: scaling numerator (`alpha / rank`).
///   - generator: the generator the `A`s are drawn from (the global one when nil).
/// - Returns: the wrapped modules' dotted paths, in drawing order (`trf_blocks.0.att.W_query`, …).
/// - Throws: ``EmberError`` (`ValueError`) for `rank < 1`; (`TypeError`) when a `Linear` sits in a
///   property declared `Linear` rather than `any LinearLayer` (it could not hold the wrapper).
///   Checked before anything is drawn or replaced: on error the module is unchanged.
@discardableResult
public func replaceLinearWithLoRA(_ module: Module, rank: Int, alpha: Double, generator: Generator? = nil) throws -> [String] {
    guard rank >= 1 else { throw EmberError(.value, "LoRA rank must be at least 1, got \(rank)") }
    let sites = childSites(of: module) { $0 is Linear } skipping: { $0 is LinearWithLoRA }
    for s in sites where !s.slot.accepts(LinearWithLoRA.placeholder) {
        throw EmberError(.type, "cannot wrap \(s.path) for LoRA: \(s.parent.typeName).\(s.name) is declared as Linear; declare it `any LinearLayer`")
    }
    for s in sites {
        s.slot.value = LinearWithLoRA(s.slot.value as! Linear, rank: rank, alpha: alpha, generator: generator)
    }
    return sites.map(\.path)
}

/// Merges every ``LinearWithLoRA`` in `module` into a plain ``Linear`` in place:
/// `weight' = W + (alpha / rank) · (A · B)ᵀ`, same bias (the book's merged model in appendix E; PEFT's
/// `merge_and_unload`). The merged model computes the same logits up to float32 rounding and has
/// the original architecture's state-dict keys (`…W_query.weight`).
/// - Returns: the merged modules' dotted paths.
/// - Throws: ``EmberError`` (`TypeError`) when a wrapper sits in a property that cannot hold a
///   `Linear`; checked first, the module is then unchanged.
@discardableResult
public func mergeLoRA(_ module: Module) throws -> [String] {
    let sites = childSites(of: module) { $0 is LinearWithLoRA } skipping: { _ in false }
    let probe = Linear(1, 1, bias: false, device: .meta)
    for s in sites where !s.slot.accepts(probe) {
        throw EmberError(.type, "cannot merge \(s.path): \(s.parent.typeName).\(s.name) cannot hold a Linear")
    }
    for s in sites { s.slot.value = (s.slot.value as! LinearWithLoRA).merged() }
    return sites.map(\.path)
}

/// The state dict the model would have after ``mergeLoRA(_:)``, without changing it: every
/// `LinearWithLoRA`'s `…linear.weight`/`…linear.bias`/`…lora.A`/`…lora.B` become the merged
/// `…weight`/`…bias`, in place of the wrapper's entries. Other entries are the model's own
/// (detached, sharing memory). Load it into a model of the original architecture (built on
/// `meta`, `loadStateDict(_:assign: true)`) to get a merged copy.
public func mergedLoRAStateDict(_ module: Module) -> OrderedDictionary<String, Tensor> {
    var wrappers: [String: LinearWithLoRA] = [:]
    for (path, m) in module.namedModules() { if let w = m as? LinearWithLoRA { wrappers[path] = w } }
    var out = OrderedDictionary<String, Tensor>()
    var merged: [String: Linear] = [:]
    for (key, t) in module.stateDict() {
        // `a.b.W_query.linear.weight` → wrapper `a.b.W_query`, leaf `linear.weight`.
        let parts = key.split(separator: ".").map(String.init)
        guard parts.count >= 2, let w = wrappers[parts.dropLast(2).joined(separator: ".")] else {
            out[key] = t
            continue
        }
        let prefix = parts.dropLast(2).joined(separator: ".")
        guard parts[parts.count - 2] == "linear" else { continue }     // lora.A / lora.B fold into weight
        let m = merged[prefix] ?? w.merged()
        merged[prefix] = m
        let leaf = parts[parts.count - 1]
        out[prefix.isEmpty ? leaf : prefix + "." + leaf] = (leaf == "weight" ? m.weight : m.bias!).detach()
    }
    return out
}

/// Python's `f"{n:,}"`: an integer with commas between groups of three digits, as the book prints
/// parameter counts ("Total trainable LoRA parameters: 2,666,528").
public func formatThousands(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}

/// A child slot found by ``childSites(of:where:skipping:)``.
struct ChildSite {
    let parent: Module
    let name: String
    let path: String
    let slot: ModuleSlot
}

/// Child slots holding a module that satisfies `match`, in recursive `named_children` order (as the
/// book's recursion visits them), not descending into matches or into modules that satisfy `skip`.
func childSites(of module: Module, where match: (Module) -> Bool, skipping skip: (Module) -> Bool) -> [ChildSite] {
    var out: [ChildSite] = []
    var seen = Set<ObjectIdentifier>()
    func walk(_ m: Module, _ prefix: String) {
        for (name, slot) in m.ownModuleSlots() {
            guard let child = slot.value, seen.insert(ObjectIdentifier(child)).inserted else { continue }
            let path = prefix.isEmpty ? name : prefix + "." + name
            if match(child) {
                out.append(ChildSite(parent: m, name: name, path: path, slot: slot))
            } else if !skip(child) {
                walk(child, path)
            }
        }
    }
    walk(module, "")
    return out
}

extension LinearWithLoRA {
    /// A shape-only instance to ask a slot whether it can hold a wrapper (nothing allocated or drawn).
    static var placeholder: LinearWithLoRA {
        LinearWithLoRA(Linear(1, 1, bias: false, device: .meta), rank: 1, alpha: 1)
    }
}

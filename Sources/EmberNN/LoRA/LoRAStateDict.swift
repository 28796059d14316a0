import EmberCore
import OrderedCollections

/// The LoRA factors of `model` under the book's state-dict keys, and nothing else:
/// `trf_blocks.0.att.W_query.lora.A` `[in, r]`, `….lora.B` `[r, out]`, … in `named_modules` order
/// (the entries `torch.save({k: v for k, v in model.state_dict().items() if ".lora." in k})` would
/// write for the book's appendix E model). Values are detached and share memory with the model.
/// Save with `save(_:to:)` (`.pth`) or `saveSafetensors`; the full model's `stateDict()` has these
/// keys too, beside `….linear.weight`.
public func loraStateDict(_ model: Module) -> OrderedDictionary<String, Tensor> {
    var out = OrderedDictionary<String, Tensor>()
    for (path, l) in loraLayers(of: model) {
        let p = path.isEmpty ? "" : path + "."
        out[p + "lora.A"] = l.lora.A.detach()
        out[p + "lora.B"] = l.lora.B.detach()
    }
    return out
}

/// Loads factors saved by ``loraStateDict(_:)`` (book keys `<module>.lora.A` / `<module>.lora.B`) into
/// `model`: a module already wrapped takes them (keeping its alpha unless `alpha` is given), a plain
/// `Linear` is wrapped with them and `alpha` (the book keeps alpha outside the state dict).
/// - Throws: ``EmberError`` for a key that is not `….lora.A`/`….lora.B`, a module with only one of
///   them, a plain `Linear` when `alpha` is nil, and what ``insertLoRA(_:into:)`` throws; `model` is
///   then unchanged.
public func loadLoRAStateDict(_ stateDict: OrderedDictionary<String, Tensor>, into model: Module, alpha: Double? = nil) throws {
    var a: [String: Tensor] = [:], b: [String: Tensor] = [:], order: [String] = []
    for (key, t) in stateDict {
        let isA = key.hasSuffix("lora.A"), isB = key.hasSuffix("lora.B")
        guard isA || isB, key == "lora.A" || key == "lora.B" || key.hasSuffix(".lora.A") || key.hasSuffix(".lora.B") else {
            throw EmberError(.value, "'\(key)' is not a LoRA key (<module>.lora.A or <module>.lora.B)")
        }
        let path = String(key.dropLast("lora.A".count)).trimmingSuffix(".")
        if !order.contains(path) { order.append(path) }
        if isA { a[path] = t } else { b[path] = t }
    }
    var existing: [String: LinearWithLoRA] = [:]
    for (p, l) in loraLayers(of: model) { existing[p] = l }
    var factors = OrderedDictionary<String, LoRAFactors>()
    for path in order {
        guard let fa = a[path], let fb = b[path] else {
            throw EmberError(.value, "'\(path.isEmpty ? "" : path + ".")lora.\(a[path] == nil ? "A" : "B")' is missing")
        }
        guard let al = alpha ?? existing[path]?.lora.alpha else {
            throw EmberError(.value, "'\(path)' is not wrapped yet: give the alpha the factors were trained with")
        }
        factors[path] = LoRAFactors(A: fa, B: fb, alpha: al)
    }
    try insertLoRA(factors, into: model)
}

extension String {
    fileprivate func trimmingSuffix(_ s: String) -> String { hasSuffix(s) ? String(dropLast(s.count)) : self }
}

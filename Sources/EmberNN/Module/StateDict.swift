import EmberCore
import Foundation
import OrderedCollections

/// The keys a non-strict ``Module/loadStateDict(_:strict:assign:)`` could not match
/// (`_IncompatibleKeys` in PyTorch).
public struct IncompatibleKeys: Equatable, Sendable, CustomStringConvertible {
    public var missingKeys: [String]
    public var unexpectedKeys: [String]
    public init(missingKeys: [String] = [], unexpectedKeys: [String] = []) {
        self.missingKeys = missingKeys
        self.unexpectedKeys = unexpectedKeys
    }
    public var description: String {
        if missingKeys.isEmpty && unexpectedKeys.isEmpty { return "<All keys matched successfully>" }
        return "_IncompatibleKeys(missing_keys=[\(missingKeys.map { "'\($0)'" }.joined(separator: ", "))], unexpected_keys=[\(unexpectedKeys.map { "'\($0)'" }.joined(separator: ", "))])"
    }
}

/// A state dict that could not be loaded: every missing key, unexpected key and size mismatch at
/// once, worded as PyTorch's `RuntimeError` ("Error(s) in loading state_dict for GPTModel: ...").
public struct LoadStateDictError: Error, LocalizedError, CustomStringConvertible, Sendable {
    public var moduleName: String
    public var missingKeys: [String]
    public var unexpectedKeys: [String]
    /// (key, shape in the checkpoint, shape in the model)
    public var sizeMismatches: [(key: String, checkpoint: [Int], model: [Int])]
    public var otherErrors: [String] = []

    public var description: String {
        var msgs: [String] = []
        if !missingKeys.isEmpty {
            msgs.append("Missing key(s) in state_dict: \(missingKeys.map { "\"\($0)\"" }.joined(separator: ", ")). ")
        }
        if !unexpectedKeys.isEmpty {
            msgs.append("Unexpected key(s) in state_dict: \(unexpectedKeys.map { "\"\($0)\"" }.joined(separator: ", ")). ")
        }
        for m in sizeMismatches {
            msgs.append("size mismatch for \(m.key): copying a param with shape \(formatSize(m.checkpoint)) from checkpoint, the shape in current model is \(formatSize(m.model)).")
        }
        msgs += otherErrors
        return "Error(s) in loading state_dict for \(moduleName):\n\t" + msgs.joined(separator: "\n\t")
    }
    public var errorDescription: String? { description }
}

extension Module {
    /// `state_dict()`: parameters and persistent buffers by dotted name, in PyTorch's order (a
    /// module's own parameters, then its own persistent buffers, then each child recursively).
    ///
    /// Values are detached tensors sharing storage with the module (`keepVars: true` returns the
    /// module's own tensor objects). Warns once about unregistered tensor properties.
    public func stateDict(prefix: String = "", keepVars: Bool = false) -> OrderedDictionary<String, Tensor> {
        warnAboutUnregisteredTensors(action: "saved")
        var out = OrderedDictionary<String, Tensor>()
        func walk(_ m: Module, _ p: String, _ seen: inout Set<ObjectIdentifier>) {
            let slots = m.ownTensorSlots()
            for (n, s) in slots { if case .parameter = s.kind, let t = s.value { out[p + n] = keepVars ? t : t.detach() } }
            for (n, s) in slots { if case .buffer(true) = s.kind, let t = s.value { out[p + n] = keepVars ? t : t.detach() } }
            for (n, c) in m.ownModuleSlots() {
                guard let c = c.value else { continue }
                walk(c, p + n + ".", &seen)
            }
        }
        var seen = Set<ObjectIdentifier>()
        walk(self, prefix.isEmpty ? "" : prefix + (prefix.hasSuffix(".") ? "" : "."), &seen)
        return out
    }

    /// `load_state_dict(state_dict, strict, assign)`.
    ///
    /// Without `assign`, values are copied into the existing tensors, which keep their dtype,
    /// device and identity (an optimizer built earlier keeps working). With `assign`, the module
    /// takes the given tensors (materialising a module built on `meta`).
    /// Non-persistent buffers are neither expected nor accepted.
    ///
    /// - Returns: the missing and unexpected keys (both empty when `strict`).
    /// - Throws: ``LoadStateDictError`` listing every missing/unexpected key (when `strict`) and every
    ///   size mismatch (always), in PyTorch's wording.
    @discardableResult
    public func loadStateDict(_ stateDict: OrderedDictionary<String, Tensor>, strict: Bool = true,
                              assign: Bool = false) throws -> IncompatibleKeys {
        var expected: [(key: String, slot: TensorSlot)] = []
        func walk(_ m: Module, _ p: String) {
            let slots = m.ownTensorSlots()
            for (n, s) in slots { if case .parameter = s.kind, s.value != nil { expected.append((p + n, s)) } }
            for (n, s) in slots { if case .buffer(true) = s.kind, s.value != nil { expected.append((p + n, s)) } }
            for (n, c) in m.ownModuleSlots() { if let c = c.value { walk(c, p + n + ".") } }
        }
        walk(self, "")
        var missing: [String] = []
        var mismatches: [(key: String, checkpoint: [Int], model: [Int])] = []
        var toApply: [(TensorSlot, Tensor)] = []
        // Tied tensors (one object under several names: `out_head.weight = tok_emb.weight`) form one
        // group; a name is satisfied when any name of its group is in the state dict (bug case B08, docs/cases.md).
        var ties: [ObjectIdentifier: [String]] = [:]
        for (key, slot) in expected { ties[ObjectIdentifier(slot.value!), default: []].append(key) }
        for (key, slot) in expected {
            guard let src = stateDict[key] else {
                if !(ties[ObjectIdentifier(slot.value!)] ?? []).contains(where: { stateDict[$0] != nil }) { missing.append(key) }
                continue
            }
            let dst = slot.value!
            if src.shape != dst.shape {
                mismatches.append((key, src.shape, dst.shape))
                continue
            }
            toApply.append((slot, src))
        }
        let unexpected = unexpectedKeys(in: stateDict)
        let strictFailure = strict && (!missing.isEmpty || !unexpected.isEmpty)
        if strictFailure || !mismatches.isEmpty {
            throw LoadStateDictError(moduleName: typeName, missingKeys: strict ? missing : [],
                                     unexpectedKeys: strict ? unexpected : [], sizeMismatches: mismatches)
        }
        // Nothing is written unless every key can be applied.
        var copyErrors: [String] = []
        // assign: every slot that held one tensor object gets one new object, so ties stay ties
        // (bug case B08 (d), docs/cases.md).
        let previous = expected.map { $0.slot.value! }
        var replacements: [ObjectIdentifier: Tensor] = [:]
        noGrad {
            for (slot, src) in toApply {
                if assign {
                    let old = ObjectIdentifier(slot.value!)
                    if let t = replacements[old] { slot.value = t; continue }
                    if case .parameter = slot.kind {
                        let requires = slot.value?.requiresGrad ?? true
                        let t = src.detach()
                        if t.isFloatingPoint { t.requiresGrad = requires }
                        t.isParameter = true
                        slot.value = t
                    } else {
                        slot.value = src.detach()
                    }
                    replacements[old] = slot.value!
                } else {
                    do { try withErrorCapture { slot.value!.copy_(src) } } catch { copyErrors.append("\(error)") }
                }
            }
        }
        for (i, (_, slot)) in expected.enumerated() {
            if let t = replacements[ObjectIdentifier(previous[i])] { slot.value = t }
        }
        if !copyErrors.isEmpty {
            throw LoadStateDictError(moduleName: typeName, missingKeys: [], unexpectedKeys: [], sizeMismatches: [], otherErrors: copyErrors)
        }
        return IncompatibleKeys(missingKeys: strict ? [] : missing, unexpectedKeys: strict ? [] : unexpected)
    }

    /// The keys of `stateDict` this module cannot take, in PyTorch's order: module by module
    /// (pre-order, as `_load_from_state_dict` visits them), each module's in state-dict order. A key
    /// belongs to the deepest existing module on its dotted path; nil parameters, nil buffers and
    /// non-persistent buffers take no key.
    func unexpectedKeys(in stateDict: OrderedDictionary<String, Tensor>) -> [String] {
        var out: [String] = []
        func visit(_ m: Module, _ prefix: String) {
            let slots = m.ownTensorSlots()
            var local = Set<String>()
            for (n, s) in slots where s.value != nil {
                switch s.kind {
                case .parameter, .buffer(persistent: true): local.insert(n)
                case .buffer(persistent: false): break
                }
            }
            let children = m.ownModuleSlots()
            let childNames = Set(children.map { $0.name })
            for key in stateDict.keys where key.hasPrefix(prefix) {
                let rest = key.dropFirst(prefix.count)
                if let dot = rest.firstIndex(of: ".") {
                    if !childNames.contains(String(rest[..<dot])) { out.append(key) }
                } else if !local.contains(String(rest)) {
                    out.append(key)
                }
            }
            for (n, c) in children { if let c = c.value { visit(c, prefix + n + ".") } }
        }
        visit(self, "")
        return out
    }

    /// Loads a ``StateValue`` dictionary of tensors (what ``load`` returns for a state-dict file).
    @discardableResult
    public func loadStateDict(_ value: StateValue, strict: Bool = true, assign: Bool = false) throws -> IncompatibleKeys {
        guard let d = value.tensorDict else {
            throw LoadStateDictError(moduleName: typeName, missingKeys: [], unexpectedKeys: [], sizeMismatches: [],
                                     otherErrors: ["Expected state_dict to be dict-like of str to Tensor"])
        }
        return try loadStateDict(d, strict: strict, assign: assign)
    }
}

/// `consume_prefix_in_state_dict_if_present(sd, prefix)`: strips `prefix` (e.g. `_orig_mod.` left
/// by `torch.compile`, `module.` by DDP) from every key that has it.
public func consumePrefixInStateDict(_ sd: OrderedDictionary<String, Tensor>, prefix: String) -> OrderedDictionary<String, Tensor> {
    var out = OrderedDictionary<String, Tensor>()
    for (k, v) in sd { out[k.hasPrefix(prefix) ? String(k.dropFirst(prefix.count)) : k] = v }
    return out
}

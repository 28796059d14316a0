import EmberCore
import OrderedCollections

/// Base class of optimizers, as `torch.optim.Optimizer`: parameter groups, per-parameter state,
/// `zero_grad`, `step`, and a `state_dict` with PyTorch's structure, so that
/// `{"optimizer_state_dict": opt.stateDict()}` saved by Ember is what PyTorch saves and loads:
///
/// ```
/// {"state": {0: {"step": tensor(2.), "exp_avg": ..., "exp_avg_sq": ...}, 1: ...},
///  "param_groups": [{"lr": 0.0004, "betas": (0.9, 0.999), ..., "params": [0, 1, ...]}]}
/// ```
/// Parameters are numbered in group order (the order of `model.parameters()` for one group); the
/// state holds only parameters that have been stepped, in the order they were first stepped.
///
/// Errors in construction are raised like tensor-op errors (see `EmberError`), worded as PyTorch's
/// ValueErrors: "optimizer got an empty parameter list", "can't optimize a non-leaf Tensor",
/// "some parameters appear in more than one parameter group".
/// Source: torch/optim/optimizer.py (PyTorch 2.13).
open class Optimizer: @unchecked Sendable {
    /// The parameter groups, in order (`optimizer.param_groups`).
    public internal(set) var paramGroups: [ParamGroup] = []
    /// Default options, in PyTorch's order, filled into every group that does not set them.
    public let defaults: OrderedDictionary<String, StateValue>
    /// Per-parameter state (`optimizer.state`), keyed by the parameter object, in first-step order.
    public internal(set) var state: OrderedDictionary<ObjectIdentifier, OrderedDictionary<String, Tensor>> = [:]

    /// Creates an optimizer over `groups`; each group's missing options are taken from `defaults`.
    public init(_ groups: [ParamGroup], defaults: OrderedDictionary<String, StateValue>) {
        self.defaults = defaults
        if groups.isEmpty || groups.allSatisfy({ $0.params.isEmpty }) && groups.count == 1 {
            EmberError(.value, "optimizer got an empty parameter list").raise()
        }
        for g in groups { addParamGroup(g) }
    }

    /// Adds a group (`add_param_group`): fills missing options from ``defaults`` and checks that
    /// its tensors are leaves and belong to no other group.
    public func addParamGroup(_ group: ParamGroup) {
        for p in group.params where !p.isLeaf {
            EmberError(.value, "can't optimize a non-leaf Tensor").raise()
            return
        }
        for (k, v) in defaults where group.options[k] == nil { group.options[k] = v }
        let existing = Set(paramGroups.flatMap { $0.params.map(ObjectIdentifier.init) })
        if group.params.contains(where: { existing.contains(ObjectIdentifier($0)) }) {
            EmberError(.value, "some parameters appear in more than one parameter group").raise()
            return
        }
        paramGroups.append(group)
    }

    /// Every optimized tensor, group by group.
    public var parameters: [Tensor] { paramGroups.flatMap { $0.params } }

    /// Resets gradients (`zero_grad(set_to_none=True)`): `.grad = nil`, or zero-filled in place when
    /// `setToNone` is false (a grad with history is detached first, as PyTorch does).
    public func zeroGrad(setToNone: Bool = true) {
        noGrad {
            for g in paramGroups {
                for p in g.params {
                    guard let grad = p.grad else { continue }
                    if setToNone { p.grad = nil; continue }
                    if grad.gradFn != nil { grad.detach_() }
                    grad.zero_()
                }
            }
        }
    }

    /// Performs one update of every parameter that has a gradient. Subclasses override it.
    open func step() {
        EmberError(.notImplemented, "Optimizer.step() is implemented by subclasses").raise()
    }

    /// The state of `param`, created empty on first use.
    func paramState(_ param: Tensor) -> OrderedDictionary<String, Tensor> {
        state[ObjectIdentifier(param)] ?? [:]
    }

    // MARK: - State dict

    /// `state_dict()`: `{"state": {index: {name: tensor}}, "param_groups": [{options..., "params": [index]}]}`.
    /// The tensors are the optimizer's own (not copies), as in PyTorch; save or clone them before
    /// stepping again if a snapshot is needed.
    public func stateDict() -> StateValue {
        var index: [ObjectIdentifier: Int] = [:]
        var groups: [StateValue] = []
        var start = 0
        for g in paramGroups {
            var packed = OrderedDictionary<StateKey, StateValue>()
            for (k, v) in g.options { packed[.string(k)] = v }
            var ids: [StateValue] = []
            for (i, p) in g.params.enumerated() {
                let id = ObjectIdentifier(p)
                if index[id] == nil { index[id] = start + i }
                ids.append(.int(index[id]!))
            }
            packed["params"] = .list(ids)
            start += g.params.count
            groups.append(.dict(packed))
        }
        var packedState = OrderedDictionary<StateKey, StateValue>()
        for (id, s) in state {
            guard let i = index[id] else { continue }
            var entry = OrderedDictionary<StateKey, StateValue>()
            for (k, t) in s { entry[.string(k)] = .tensor(t) }
            packedState[.int(i)] = .dict(entry)
        }
        return .dict(["state": .dict(packedState), "param_groups": .list(groups)])
    }

    /// `load_state_dict(state_dict)`: restores per-parameter state and every group's options.
    ///
    /// State tensors are copied onto their parameter's device and, when the parameter is
    /// floating-point, converted to its dtype (PyTorch's rule; `"step"` is kept as saved), so a
    /// checkpoint resumes on whatever device the model now lives on (bug case B10, docs/cases.md).
    /// - Throws: `EmberError` (ValueError) with PyTorch's messages: "loaded state dict has a different
    ///   number of parameter groups", "loaded state dict contains a parameter group that doesn't
    ///   match the size of optimizer's group"; malformed dictionaries are reported by key.
    public func loadStateDict(_ stateDict: StateValue) throws {
        guard let savedState = stateDict["state"]?.dict else {
            throw EmberError(.value, "optimizer state dict has no 'state' dictionary")
        }
        guard let savedGroupsValues = stateDict["param_groups"]?.elements else {
            throw EmberError(.value, "optimizer state dict has no 'param_groups' list")
        }
        let savedGroups = try savedGroupsValues.map { v -> OrderedDictionary<StateKey, StateValue> in
            guard let d = v.dict else { throw EmberError(.value, "a parameter group of the state dict is not a dictionary") }
            return d
        }
        if savedGroups.count != paramGroups.count {
            throw EmberError(.value, "loaded state dict has a different number of parameter groups")
        }
        var idMap: [Int: Tensor] = [:]
        for (g, saved) in zip(paramGroups, savedGroups) {
            guard let ids = saved["params"]?.elements else {
                throw EmberError(.value, "a parameter group of the state dict has no 'params' list")
            }
            if ids.count != g.params.count {
                throw EmberError(.value, "loaded state dict contains a parameter group that doesn't match the size of optimizer's group")
            }
            for (i, p) in zip(ids, g.params) {
                guard let k = i.int else { throw EmberError(.value, "parameter ids in 'params' must be integers") }
                idMap[k] = p
            }
        }
        var newState: OrderedDictionary<ObjectIdentifier, OrderedDictionary<String, Tensor>> = [:]
        for (key, value) in savedState {
            guard case .int(let k) = key, let param = idMap[k] else { continue }
            guard let entries = value.dict else { throw EmberError(.value, "state of parameter \(key) is not a dictionary") }
            var s = OrderedDictionary<String, Tensor>()
            for (name, v) in entries {
                let n = name.description
                s[n] = try castStateValue(v, name: n, for: param)
            }
            newState[ObjectIdentifier(param)] = s
        }
        for (g, saved) in zip(paramGroups, savedGroups) {
            var o = OrderedDictionary<String, StateValue>()
            for (k, v) in saved where k != "params" { o[k.description] = v }
            g.options = o
        }
        state = newState
    }

    /// A saved state entry as a tensor of this optimizer, placed like `param` (PyTorch's
    /// `_process_value_according_to_param_policy`, then a copy so the optimizer owns its memory).
    private func castStateValue(_ v: StateValue, name: String, for param: Tensor) throws -> Tensor {
        let t: Tensor
        switch v {
        case .tensor(let x): t = x
        // PyTorch < 1.12 saved `step` as a Python number; today's optimizers keep a float32 tensor.
        case .int(let i) where name == "step": return Tensor(Double(i))
        case .double(let d) where name == "step": return Tensor(d)
        default: throw EmberError(.value, "state entry '\(name)' is not a tensor")
        }
        if name == "step" { return t.clone() }
        let moved = param.isFloatingPoint ? t.to(param.device, param.dtype) : t.to(param.device)
        // `to` returns self when nothing changes: copy so the loaded dict and the optimizer don't alias.
        return moved === t ? t.clone() : moved.contiguous()
    }
}

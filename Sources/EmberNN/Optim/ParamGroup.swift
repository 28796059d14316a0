import EmberCore
import OrderedCollections

/// One parameter group of an optimizer: tensors plus the hyper-parameters that apply to them
/// (PyTorch's `optimizer.param_groups[i]`, a dict with `"params"` and options such as `"lr"`).
///
/// Options are kept as ``StateValue``s in insertion order, because `state_dict()` writes them in that
/// order: the options a group was created with come first, then the optimizer's defaults for the
/// rest (PyTorch's `add_param_group` uses `setdefault`). Schedulers add `"initial_lr"`.
/// Source: https://pytorch.org/docs/stable/optim.html#per-parameter-options
public final class ParamGroup: @unchecked Sendable {
    /// The tensors this group optimizes (leaves, usually a module's parameters).
    public internal(set) var params: [Tensor]
    /// Hyper-parameters by PyTorch's key (`"lr"`, `"betas"`, `"weight_decay"`, ...), in order.
    public var options: OrderedDictionary<String, StateValue>

    /// A group of `params` with options given by PyTorch's key names (the rest come from the
    /// optimizer's defaults), e.g. `ParamGroup(noDecay, options: ["weight_decay": .double(0)])`.
    public init(_ params: [Tensor], options: OrderedDictionary<String, StateValue> = [:]) {
        self.params = params
        self.options = options
    }

    /// A group of `params` overriding the common options: learning rate and weight decay.
    public convenience init(_ params: [Tensor], lr: Double? = nil, weightDecay: Double? = nil) {
        var o = OrderedDictionary<String, StateValue>()
        if let weightDecay { o["weight_decay"] = .double(weightDecay) }
        if let lr { o["lr"] = .double(lr) }
        self.init(params, options: o)
    }

    /// The learning rate `group["lr"]`; setting it is how schedules (book appendix D) change it.
    public var lr: Double {
        get { options["lr"]?.double ?? 0 }
        set { options["lr"] = .double(newValue) }
    }

    /// `group[key]` as a number (ints widen); nil when absent or not a number.
    public func double(_ key: String) -> Double? { options[key]?.double }

    /// `group[key]` as a Bool; `false` when absent.
    public func bool(_ key: String) -> Bool { options[key]?.bool ?? false }

    /// `group["betas"]` as two numbers (a tuple or list of two).
    var betas: (Double, Double) {
        guard let e = options["betas"]?.elements, e.count == 2, let b1 = e[0].double, let b2 = e[1].double else { return (0.9, 0.999) }
        return (b1, b2)
    }
}

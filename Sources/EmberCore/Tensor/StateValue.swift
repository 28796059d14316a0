import OrderedCollections

/// A key of a ``StateValue`` dictionary: PyTorch state dicts use strings (module state) and
/// integers (optimizer state, keyed by parameter index).
public enum StateKey: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case int(Int)
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public var description: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        }
    }
}

/// A tree of Python-like values holding tensors: what `torch.save` writes and `torch.load` returns
/// for state dicts and checkpoints (`{"model_state_dict": ..., "optimizer_state_dict": ...}`).
///
/// Dictionaries keep insertion order, as Python dicts and `OrderedDict` do.
public indirect enum StateValue: @unchecked Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case tensor(Tensor)
    case list([StateValue])
    case tuple([StateValue])
    case dict(OrderedDictionary<StateKey, StateValue>)

    /// The dictionary, if this is one.
    public var dict: OrderedDictionary<StateKey, StateValue>? { if case .dict(let d) = self { return d }; return nil }
    public var tensor: Tensor? { if case .tensor(let t) = self { return t }; return nil }
    public var int: Int? { if case .int(let i) = self { return i }; return nil }
    /// Numbers as Double (ints widened).
    public var double: Double? {
        switch self { case .double(let d): return d; case .int(let i): return Double(i); default: return nil }
    }
    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    /// Elements of a list or tuple.
    public var elements: [StateValue]? {
        switch self { case .list(let l), .tuple(let l): return l; default: return nil }
    }

    /// `value["key"]` for string-keyed dictionaries.
    public subscript(key: String) -> StateValue? { dict?[.string(key)] }
    public subscript(key: Int) -> StateValue? { dict?[.int(key)] }

    /// A string-keyed dictionary of tensors (a module's state dict) as a StateValue.
    public static func stateDict(_ d: OrderedDictionary<String, Tensor>) -> StateValue {
        var o = OrderedDictionary<StateKey, StateValue>()
        for (k, v) in d { o[.string(k)] = .tensor(v) }
        return .dict(o)
    }

    /// The string-keyed tensors of a dictionary (a module's state dict), or nil if this is not one.
    public var tensorDict: OrderedDictionary<String, Tensor>? {
        guard let d = dict else { return nil }
        var o = OrderedDictionary<String, Tensor>()
        for (k, v) in d {
            guard case .string(let s) = k, case .tensor(let t) = v else { return nil }
            o[s] = t
        }
        return o
    }
}

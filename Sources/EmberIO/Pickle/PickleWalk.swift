import OrderedCollections

extension PickleValue {
    /// Visits every value reachable from `self` with its path (`/key/subkey/0`, the root is `""`), each
    /// shared list or dict once, so memo-shared structures are walked in linear time.
    /// `visit` returns false to stop the walk.
    public func walk(_ visit: (_ path: String, _ value: PickleValue) throws -> Bool) rethrows {
        var seen = Set<ObjectIdentifier>()
        _ = try walk(path: "", seen: &seen, visit)
    }

    private func walk(path: String, seen: inout Set<ObjectIdentifier>,
                      _ visit: (String, PickleValue) throws -> Bool) rethrows -> Bool {
        guard try visit(path, self) else { return false }
        switch self {
        case .list(let l):
            guard seen.insert(ObjectIdentifier(l)).inserted else { return true }
            for (i, v) in l.items.enumerated() where try !v.walk(path: "\(path)/\(i)", seen: &seen, visit) { return false }
        case .tuple(let t):
            for (i, v) in t.enumerated() where try !v.walk(path: "\(path)/\(i)", seen: &seen, visit) { return false }
        case .dict(let d):
            guard seen.insert(ObjectIdentifier(d)).inserted else { return true }
            for (k, v) in d.items where try !v.walk(path: "\(path)/\(k)", seen: &seen, visit) { return false }
        default: break
        }
        return true
    }
}

extension PthCheckpoint {
    /// Every tensor in the saved object with its path (`/model_state_dict/layers.0.weight`; `""` for a bare
    /// tensor), in pickle order.
    public func tensors() -> [(path: String, tensor: TensorRecord)] {
        var out: [(String, TensorRecord)] = []
        root.walk { path, v in
            if case .tensor(let t) = v { out.append((path, t)) }
            return true
        }
        return out
    }

    /// The saved object as a state dict: a dict or OrderedDict whose keys are strings and values tensors.
    /// - Throws: ``EmberIOError/Kind/notAStateDict`` naming the first offending key otherwise.
    public func stateDict() throws -> OrderedDictionary<String, TensorRecord> {
        try PthCheckpoint.stateDict(from: root)
    }

    /// `value` as a state dict (see ``stateDict()``); use it for nested ones such as `model_state_dict`.
    public static func stateDict(from value: PickleValue) throws -> OrderedDictionary<String, TensorRecord> {
        guard case .dict(let d) = value else {
            throw EmberIOError(.notAStateDict, "not a state dict: the saved object is not a dict")
        }
        var out = OrderedDictionary<String, TensorRecord>()
        for (k, v) in d.items {
            guard case .string(let name) = k, case .tensor(let t) = v else {
                throw EmberIOError(.notAStateDict, "not a state dict: entry '\(k)' is not a tensor under a string key")
            }
            out[name] = t
        }
        return out
    }

    func firstUnsupported() -> (String, String)? {
        var found: (String, String)?
        root.walk { path, v in
            if case .unsupported(let what) = v { found = (path, what); return false }
            return true
        }
        return found
    }
}

import OrderedCollections

extension PickleValue {
    /// Visits every value reachable from `self` with its path (`/key/subkey/0`, the root is `""`), in
    /// pickle order (depth first), each shared list or dict once, so memo-shared structures are walked in
    /// linear time. The walk keeps its own work list instead of recursing, so no nesting can exhaust the
    /// stack. `visit` returns false to stop the walk.
    public func walk(_ visit: (_ path: String, _ value: PickleValue) throws -> Bool) rethrows {
        var seen = Set<ObjectIdentifier>()
        var work: [(path: String, value: PickleValue)] = [("", self)]
        while let (path, value) = work.popLast() {
            guard try visit(path, value) else { return }
            var children: [(String, PickleValue)] = []
            switch value {
            case .list(let l):
                guard seen.insert(ObjectIdentifier(l)).inserted else { continue }
                children = l.items.enumerated().map { ("\(path)/\($0)", $1) }
            case .tuple(let t):
                children = t.enumerated().map { ("\(path)/\($0)", $1) }
            case .dict(let d):
                guard seen.insert(ObjectIdentifier(d)).inserted else { continue }
                children = d.items.map { ("\(path)/\($0.key)", $0.value) }
            default: continue
            }
            work.append(contentsOf: children.reversed())
        }
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

import OrderedCollections
import Foundation

/// A value decoded from (or to be encoded into) a PyTorch pickle, with no Python objects behind it.
///
/// Lists and dicts are reference types (``PickleList``, ``PickleDict``) because a pickle can reference one
/// container from several places through its memo; sharing is kept instead of expanded, so a hostile
/// "billion laughs" pickle stays small. The reader guarantees the graph is acyclic and at most
/// ``UnpicklerLimits/maxDepth`` deep.
public enum PickleValue: @unchecked Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple([PickleValue])
    case list(PickleList)
    /// `dict` or `collections.OrderedDict` (see ``PickleDict/isOrdered``).
    case dict(PickleDict)
    case tensor(TensorRecord)
    /// A storage produced by a persistent id (normally consumed by `_rebuild_tensor_v2`).
    case storage(StorageRecord)
    /// An allowlisted global used as a value (e.g. `torch.float32`, `torch.FloatStorage`); never called.
    case global(module: String, name: String)
    /// Something valid for PyTorch but outside Ember's types (e.g. a complex64 tensor); the loader turns
    /// it into an ``EmberIOError/Kind/unsupportedDType`` error naming its path unless asked to keep it.
    case unsupported(String)

    /// The tensor, if this is one.
    public var tensor: TensorRecord? { if case .tensor(let t) = self { return t } else { return nil } }
    /// The dict, if this is a dict or OrderedDict.
    public var dict: PickleDict? { if case .dict(let d) = self { return d } else { return nil } }
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var int: Int64? { if case .int(let i) = self { return i } else { return nil } }
    /// The elements of a list or tuple.
    public var elements: [PickleValue]? {
        switch self {
        case .tuple(let t): return t
        case .list(let l): return l.items
        default: return nil
        }
    }
}

/// A hashable dict key (Python dict keys used by checkpoints: strings, ints, tuples of those, ...).
/// Note: Python treats `True == 1 == 1.0` as one key; here they are distinct. NaN keys with the same bit
/// pattern are one key here (in Python each NaN object is its own key): with IEEE equality every NaN
/// would collide in one hash bucket and a dict of n NaN keys would take O(n²) time to build.
/// Hashing and equality walk nested tuples with a work list, not recursion.
public enum PickleKey: Hashable, Sendable, CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple([PickleKey])

    public var description: String {
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let f): return String(f)
        case .string(let s): return s
        case .bytes(let d): return "b'\(d.count) bytes'"
        case .tuple(let t): return "(" + t.map(\.description).joined(separator: ", ") + ")"
        }
    }

    public func hash(into hasher: inout Hasher) {
        var work: [PickleKey] = [self]
        while let k = work.popLast() {
            switch k {
            case .none: hasher.combine(0 as UInt8)
            case .bool(let b): hasher.combine(1 as UInt8); hasher.combine(b)
            case .int(let i): hasher.combine(2 as UInt8); hasher.combine(i)
            case .float(let f): hasher.combine(3 as UInt8); if f.isNaN { hasher.combine(f.bitPattern) } else { hasher.combine(f) }
            case .string(let s): hasher.combine(4 as UInt8); hasher.combine(s)
            case .bytes(let d): hasher.combine(5 as UInt8); hasher.combine(d)
            case .tuple(let t): hasher.combine(6 as UInt8); hasher.combine(t.count); work.append(contentsOf: t.reversed())
            }
        }
    }

    public static func == (lhs: PickleKey, rhs: PickleKey) -> Bool {
        var work: [(PickleKey, PickleKey)] = [(lhs, rhs)]
        while let (a, b) = work.popLast() {
            switch (a, b) {
            case (.none, .none): continue
            case (.bool(let x), .bool(let y)): if x != y { return false }
            case (.int(let x), .int(let y)): if x != y { return false }
            case (.float(let x), .float(let y)):
                if !(x == y || (x.isNaN && y.isNaN && x.bitPattern == y.bitPattern)) { return false }
            case (.string(let x), .string(let y)): if x != y { return false }
            case (.bytes(let x), .bytes(let y)): if x != y { return false }
            case (.tuple(let x), .tuple(let y)):
                guard x.count == y.count else { return false }
                work.append(contentsOf: zip(x, y).map { ($0, $1) })
            default: return false
            }
        }
        return true
    }

    /// The key as a value (for writing and for generic walkers).
    public var value: PickleValue {
        switch self {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .float(let f): return .float(f)
        case .string(let s): return .string(s)
        case .bytes(let d): return .bytes(d)
        case .tuple(let t): return .tuple(t.map(\.value))
        }
    }
}

/// A Python list, shared by reference. Its destruction is iterative, so long chains cannot overflow the stack.
public final class PickleList: @unchecked Sendable {
    public var items: [PickleValue]
    /// Nesting depth of the contents (0 for a list of scalars); maintained by the reader.
    var depth = 0
    /// Set once the list has been placed in another container; the reader then refuses to mutate it,
    /// which makes cycles and stale depths impossible.
    var isContained = false

    public init(_ items: [PickleValue] = []) { self.items = items }

    deinit { releaseIteratively(&items) }
}

/// A Python `dict` or `collections.OrderedDict`, keys in insertion order, shared by reference.
public final class PickleDict: @unchecked Sendable {
    public var items: OrderedDictionary<PickleKey, PickleValue>
    /// True for `collections.OrderedDict` (what `state_dict()` returns).
    public var isOrdered: Bool
    /// Attributes set by the pickle's BUILD (a state dict's `_metadata` lives here).
    public var attributes: OrderedDictionary<String, PickleValue> = [:]
    var depth = 0
    var isContained = false

    public init(_ items: OrderedDictionary<PickleKey, PickleValue> = [:], isOrdered: Bool = false) {
        self.items = items
        self.isOrdered = isOrdered
    }

    /// `state_dict._metadata` (per-module versions), if the pickle set it.
    public var metadata: PickleValue? {
        get { attributes["_metadata"] }
        set { attributes["_metadata"] = newValue }
    }

    public subscript(key: String) -> PickleValue? { items[.string(key)] }

    deinit {
        var values = Array(items.values) + Array(attributes.values)
        items = [:]
        attributes = [:]
        releaseIteratively(&values)
    }
}

/// Releases a tree of containers without recursion: children whose last reference is ours are emptied
/// into a work list before they die, so their own deinit has nothing to recurse into.
private func releaseIteratively(_ items: inout [PickleValue]) {
    guard items.contains(where: { if case .tuple = $0 { return true }; if case .list = $0 { return true }
                                  if case .dict = $0 { return true }; return false }) else { return }
    var work = items
    items = []
    while var value = work.popLast() {
        switch value {
        case .list(var box):
            value = .none
            if isKnownUniquelyReferenced(&box) { work.append(contentsOf: box.items); box.items = [] }
        case .dict(var box):
            value = .none
            if isKnownUniquelyReferenced(&box) {
                work.append(contentsOf: box.items.values)
                work.append(contentsOf: box.attributes.values)
                box.items = [:]
                box.attributes = [:]
            }
        case .tuple(let elements):
            value = .none
            work.append(contentsOf: elements)
        default:
            break
        }
    }
}

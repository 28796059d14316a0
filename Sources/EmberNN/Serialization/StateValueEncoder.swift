import EmberCore
import OrderedCollections

/// Encodes a `Codable` value as a ``StateValue`` made of the plain objects that
/// `torch.load(weights_only=True)` accepts: keyed containers become string-keyed dicts (keys in
/// encoding order, i.e. property order for synthesized conformances), unkeyed containers lists,
/// integers `.int`, floating-point numbers `.double`, `Bool` `.bool`, `String` `.string`, nil `.none`
/// (absent optionals are left out, as `encodeIfPresent` does).
///
/// ```swift
/// let value = try StateValueEncoder(keys: .snakeCase).encode(settings)   // {"learning_rate": 0.0004, …}
/// try save(.dict(["train_settings": value]), to: "run.pth")
/// ```
/// The counterpart is ``StateValueDecoder``.
public struct StateValueEncoder {
    /// How Swift property names become dictionary keys.
    public enum KeyStrategy: Sendable {
        /// The coding keys as they are.
        case useDefaultKeys
        /// camelCase → snake_case (`tokensSeen` → `tokens_seen`), as Python code names them;
        /// keys already in snake case stay as they are. `JSONEncoder.KeyEncodingStrategy.convertToSnakeCase`'s rule.
        case snakeCase

        /// The dictionary key for the coding key named `name`.
        public func key(_ name: String) -> String {
            switch self {
            case .useDefaultKeys: return name
            case .snakeCase: return Self.snakeCase(name)
            }
        }

        /// An underscore before each uppercase letter that ends a lowercase run or starts a word after
        /// an acronym (`qkvBias` → `qkv_bias`, `URLValue` → `url_value`), then lowercased.
        static func snakeCase(_ name: String) -> String {
            let chars = Array(name)
            var out = ""
            for (i, c) in chars.enumerated() {
                if c.isUppercase && i > 0 {
                    let prevLower = chars[i - 1].isLowercase || chars[i - 1].isNumber
                    let nextLower = i + 1 < chars.count && chars[i + 1].isLowercase
                    if prevLower || (chars[i - 1].isUppercase && nextLower) { out.append("_") }
                }
                out += c.lowercased()
            }
            return out
        }
    }

    /// The key strategy (default: the coding keys as they are).
    public var keys: KeyStrategy

    public init(keys: KeyStrategy = .useDefaultKeys) { self.keys = keys }

    /// - Returns: the value's plain-object tree (a value that encodes nothing gives an empty dict).
    /// - Throws: `EncodingError.invalidValue` for an unsigned integer above `Int.max`.
    public func encode<T: Encodable>(_ value: T) throws -> StateValue {
        let node = EncodingNode()
        try value.encode(to: NodeEncoder(node: node, codingPath: [], keys: keys))
        return node.value
    }
}

/// A value being built: containers write into it, then ``value`` reads the tree.
private final class EncodingNode {
    enum Content { case empty, leaf(StateValue), dict(OrderedDictionary<String, EncodingNode>), list([EncodingNode]) }
    var content = Content.empty

    var value: StateValue {
        switch content {
        case .empty: return .dict([:])
        case .leaf(let v): return v
        case .dict(let d):
            var o = OrderedDictionary<StateKey, StateValue>()
            for (k, n) in d { o[.string(k)] = n.value }
            return .dict(o)
        case .list(let l): return .list(l.map(\.value))
        }
    }

    func child(forKey key: String) -> EncodingNode {
        var d: OrderedDictionary<String, EncodingNode> = [:]
        if case .dict(let existing) = content { d = existing }
        let n = d[key] ?? EncodingNode()
        d[key] = n
        content = .dict(d)
        return n
    }

    func appendChild() -> EncodingNode {
        var l: [EncodingNode] = []
        if case .list(let existing) = content { l = existing }
        let n = EncodingNode()
        l.append(n)
        content = .list(l)
        return n
    }

    var count: Int {
        if case .list(let l) = content { return l.count }
        return 0
    }
}

/// The coding key of a list position (for coding paths in errors); shared with ``StateValueDecoder``.
struct StateValueIndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ i: Int) { stringValue = "\(i)"; intValue = i }
    init?(stringValue: String) { self.stringValue = stringValue; intValue = Int(stringValue) }
    init?(intValue: Int) { self.init(intValue) }
}

/// A leaf for a primitive, shared by the three container kinds.
private func leaf<T: Encodable>(_ value: T, path: [CodingKey], keys: StateValueEncoder.KeyStrategy, into node: EncodingNode) throws {
    switch value {
    case let v as Bool: node.content = .leaf(.bool(v))
    case let v as String: node.content = .leaf(.string(v))
    case let v as Double: node.content = .leaf(.double(v))
    case let v as Float: node.content = .leaf(.double(Double(v)))
    case let v as any BinaryInteger:
        guard let i = Int(exactly: v) else {
            throw EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: "\(v) does not fit a 64-bit signed integer"))
        }
        node.content = .leaf(.int(i))
    default:
        try value.encode(to: NodeEncoder(node: node, codingPath: path, keys: keys))
    }
}

private struct NodeEncoder: Encoder {
    let node: EncodingNode
    let codingPath: [CodingKey]
    let keys: StateValueEncoder.KeyStrategy
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .dict = node.content {} else { node.content = .dict([:]) }
        return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath, keys: keys))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        if case .list = node.content {} else { node.content = .list([]) }
        return Unkeyed(node: node, codingPath: codingPath, keys: keys)
    }

    func singleValueContainer() -> SingleValueEncodingContainer { Single(node: node, codingPath: codingPath, keys: keys) }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: EncodingNode
        let codingPath: [CodingKey]
        let keys: StateValueEncoder.KeyStrategy

        func child(_ key: Key) -> EncodingNode { node.child(forKey: keys.key(key.stringValue)) }
        mutating func encodeNil(forKey key: Key) throws { child(key).content = .leaf(.none) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try leaf(value, path: codingPath + [key], keys: keys, into: child(key))
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            NodeEncoder(node: child(key), codingPath: codingPath + [key], keys: keys).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            NodeEncoder(node: child(key), codingPath: codingPath + [key], keys: keys).unkeyedContainer()
        }
        mutating func superEncoder() -> Encoder { NodeEncoder(node: node.child(forKey: "super"), codingPath: codingPath, keys: keys) }
        mutating func superEncoder(forKey key: Key) -> Encoder { NodeEncoder(node: child(key), codingPath: codingPath + [key], keys: keys) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: EncodingNode
        let codingPath: [CodingKey]
        let keys: StateValueEncoder.KeyStrategy
        var count: Int { node.count }

        mutating func encodeNil() throws { node.appendChild().content = .leaf(.none) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            let path = codingPath + [StateValueIndexKey(count)]
            try leaf(value, path: path, keys: keys, into: node.appendChild())
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let path = codingPath + [StateValueIndexKey(count)]
            return NodeEncoder(node: node.appendChild(), codingPath: path, keys: keys).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
            let path = codingPath + [StateValueIndexKey(count)]
            return NodeEncoder(node: node.appendChild(), codingPath: path, keys: keys).unkeyedContainer()
        }
        mutating func superEncoder() -> Encoder {
            let path = codingPath + [StateValueIndexKey(count)]
            return NodeEncoder(node: node.appendChild(), codingPath: path, keys: keys)
        }
    }

    struct Single: SingleValueEncodingContainer {
        let node: EncodingNode
        let codingPath: [CodingKey]
        let keys: StateValueEncoder.KeyStrategy

        mutating func encodeNil() throws { node.content = .leaf(.none) }
        mutating func encode<T: Encodable>(_ value: T) throws { try leaf(value, path: codingPath, keys: keys, into: node) }
    }
}

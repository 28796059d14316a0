import EmberCore
import OrderedCollections

/// Decodes a `Decodable` value from a ``StateValue`` tree of plain objects (what
/// ``StateValueEncoder`` writes, or `torch.save` of Python dicts, lists, numbers, strings and bools).
///
/// Integers decode from `.int` only; floating-point numbers from `.double` or `.int` (Python writes
/// `0` for `0.0` sometimes); `Bool` from `.bool`; lists and tuples are both unkeyed containers.
/// Dictionary keys are looked up through the same ``StateValueEncoder/KeyStrategy`` as encoding.
///
/// ```swift
/// let settings = try StateValueDecoder(keys: .snakeCase).decode(TrainingSettings.self, from: value)
/// ```
/// - Throws: `DecodingError` with the coding path of the first missing key or mistyped value.
public struct StateValueDecoder {
    /// The key strategy (default: the coding keys as they are).
    public var keys: StateValueEncoder.KeyStrategy

    public init(keys: StateValueEncoder.KeyStrategy = .useDefaultKeys) { self.keys = keys }

    /// - Throws: `DecodingError` (`keyNotFound`, `typeMismatch`, `valueNotFound`, `dataCorrupted`).
    public func decode<T: Decodable>(_ type: T.Type, from value: StateValue) throws -> T {
        try ValueDecoder(value: value, codingPath: [], keys: keys).unbox(type)
    }
}

/// What a `StateValue` case is called in error messages.
private func kind(_ v: StateValue) -> String {
    switch v {
    case .none: return "None"
    case .bool: return "a bool"
    case .int: return "an integer"
    case .double: return "a float"
    case .string: return "a string"
    case .tensor: return "a tensor"
    case .list: return "a list"
    case .tuple: return "a tuple"
    case .dict: return "a dict"
    }
}

private func exactInteger<I: FixedWidthInteger>(_ type: I.Type, _ i: Int) -> I? { I(exactly: i) }

private struct ValueDecoder: Decoder {
    let value: StateValue
    let codingPath: [CodingKey]
    let keys: StateValueEncoder.KeyStrategy
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch<T>(_ type: T.Type, _ expected: String) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "expected \(expected), found \(kind(value))"))
    }

    /// Primitives from their cases; anything else through its own `init(from:)`.
    func unbox<T: Decodable>(_ type: T.Type) throws -> T {
        if type == Bool.self {
            guard case .bool(let b) = value else { throw mismatch(type, "a bool") }
            return b as! T
        }
        if type == String.self {
            guard case .string(let s) = value else { throw mismatch(type, "a string") }
            return s as! T
        }
        if type == Double.self || type == Float.self {
            guard let d = value.double else { throw mismatch(type, "a number") }
            return type == Double.self ? d as! T : Float(d) as! T
        }
        if let intType = type as? any FixedWidthInteger.Type {
            guard case .int(let i) = value else { throw mismatch(type, "an integer") }
            guard let v = exactInteger(intType, i) else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "\(i) does not fit \(type)"))
            }
            return v as! T
        }
        return try T(from: self)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard let d = value.dict else { throw mismatch([String: Any].self, "a dict") }
        return KeyedDecodingContainer(Keyed<Key>(dict: d, codingPath: codingPath, keys: keys))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard let l = value.elements else { throw mismatch([Any].self, "a list") }
        return Unkeyed(items: l, codingPath: codingPath, keys: keys)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { Single(decoder: self) }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let dict: OrderedDictionary<StateKey, StateValue>
        let codingPath: [CodingKey]
        let keys: StateValueEncoder.KeyStrategy

        var allKeys: [Key] {
            dict.keys.compactMap { k in
                guard case .string(let s) = k else { return nil }
                // The coding key whose encoded name is `s`, when one is known by that name.
                return Key(stringValue: s).flatMap { keys.key($0.stringValue) == s ? $0 : nil }
            }
        }
        func lookup(_ key: Key) -> StateValue? { dict[.string(keys.key(key.stringValue))] }
        func contains(_ key: Key) -> Bool { lookup(key) != nil }

        func child(_ key: Key) throws -> ValueDecoder {
            guard let v = lookup(key) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no key '\(keys.key(key.stringValue))'"))
            }
            return ValueDecoder(value: v, codingPath: codingPath + [key], keys: keys)
        }
        func decodeNil(forKey key: Key) throws -> Bool {
            guard let v = lookup(key) else { return true }
            if case .none = v { return true }
            return false
        }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).unbox(type) }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try child(key).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer { try child(key).unkeyedContainer() }
        func superDecoder() throws -> Decoder {
            ValueDecoder(value: dict[.string("super")] ?? .none, codingPath: codingPath, keys: keys)
        }
        func superDecoder(forKey key: Key) throws -> Decoder { try child(key) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [StateValue]
        let codingPath: [CodingKey]
        let keys: StateValueEncoder.KeyStrategy
        var currentIndex = 0
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        init(items: [StateValue], codingPath: [CodingKey], keys: StateValueEncoder.KeyStrategy) {
            self.items = items
            self.codingPath = codingPath
            self.keys = keys
        }

        mutating func next<T>(_ type: T.Type) throws -> ValueDecoder {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [StateValueIndexKey(currentIndex)], debugDescription: "the list has only \(items.count) items"))
            }
            defer { currentIndex += 1 }
            return ValueDecoder(value: items[currentIndex], codingPath: codingPath + [StateValueIndexKey(currentIndex)], keys: keys)
        }
        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, case .none = items[currentIndex] else { return false }
            currentIndex += 1
            return true
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type).unbox(type) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next([String: Any].self).container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try next([Any].self).unkeyedContainer() }
        mutating func superDecoder() throws -> Decoder { try next(Any.self) }
    }

    struct Single: SingleValueDecodingContainer {
        let decoder: ValueDecoder
        var codingPath: [CodingKey] { decoder.codingPath }
        func decodeNil() -> Bool {
            if case .none = decoder.value { return true }
            return false
        }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.unbox(type) }
    }
}

/// Open-addressing hash map from byte strings to `Int32` values.
///
/// Why not `[[UInt8]: Int]`: the encoder looks up every pre-tokenized piece, and a Swift dictionary
/// would need an `Array` allocation per lookup plus SipHash. Here keys live back to back in one
/// arena, lookups take a borrowed `UnsafeBufferPointer`, and each slot keeps 32 bits of the hash so
/// a miss rarely compares bytes. Linear probing, load factor ≤ 1/2.
struct ByteStringTable: Sendable {
    private var arena: [UInt8] = []
    /// Entry `i` is `arena[keyStarts[i] ..< keyStarts[i + 1]]`.
    private var keyStarts: [Int32] = [0]
    private var hashes: [UInt64] = []
    private(set) var values: [Int32] = []
    /// 0 = empty, else `(hash >> 32) << 32 | (entry + 1)`.
    private var slots: [UInt64]
    private var mask: Int

    init(minimumCapacity: Int = 16) {
        var size = 16
        while size < 2 * minimumCapacity { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    var count: Int { values.count }

    /// 64-bit hash of a byte string, 8 bytes per step (a multiply-xorshift mix).
    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let k: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = UInt64(truncatingIfNeeded: key.count) &* k
        guard let base = key.baseAddress else { return h }
        let raw = UnsafeRawPointer(base)
        var i = 0
        let n = key.count
        while i + 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* k
            h ^= h >> 29
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(base[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ w) &* k
        }
        h ^= h >> 32
        h = h &* 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return h
    }

    /// The value stored for `key`, or -1 if absent.
    @inline(__always)
    func find(_ key: UnsafeBufferPointer<UInt8>) -> Int32 {
        find(key, hash: Self.hash(key))
    }

    @inline(__always)
    func find(_ key: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> Int32 {
        let tag = (h >> 32) << 32
        let n = key.count
        return slots.withUnsafeBufferPointer { s in
            arena.withUnsafeBufferPointer { a in
                keyStarts.withUnsafeBufferPointer { ks in
                    var i = Int(truncatingIfNeeded: h) & mask
                    while true {
                        let slot = s[i]
                        if slot == 0 { return -1 }
                        if slot & 0xFFFF_FFFF_0000_0000 == tag {
                            let entry = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                            let start = Int(ks[entry])
                            if Int(ks[entry + 1]) - start == n && Self.equal(a, start, key) {
                                return values[entry]
                            }
                        }
                        i = (i + 1) & mask
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func equal(_ a: UnsafeBufferPointer<UInt8>, _ start: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        var j = 0
        while j < key.count {
            if a[start + j] != key[j] { return false }
            j += 1
        }
        return true
    }

    /// Inserts `key → value`; returns false (and changes nothing) if `key` is already present.
    @discardableResult
    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, value: Int32) -> Bool {
        let h = Self.hash(key)
        if find(key, hash: h) >= 0 { return false }
        if 2 * (count + 1) > slots.count { grow() }
        arena.append(contentsOf: key)
        keyStarts.append(Int32(arena.count))
        hashes.append(h)
        values.append(value)
        place(entry: values.count - 1, hash: h)
        return true
    }

    private mutating func place(entry: Int, hash h: UInt64) {
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = ((h >> 32) << 32) | UInt64(entry + 1)
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        for entry in 0..<hashes.count { place(entry: entry, hash: hashes[entry]) }
    }
}

/// Open-addressing map from a pair of token ids to the id of their concatenation.
///
/// tiktoken merges two adjacent parts when their concatenated bytes are a token, with that token's
/// rank (= its id for GPT-2) as priority; keying by `(left id, right id)` makes each step one probe
/// instead of hashing bytes.
struct PairMergeTable: Sendable {
    private var keys: [UInt64]
    private var values: [Int32]
    private var shift: UInt64
    private(set) var count = 0
    private static let empty = UInt64.max

    init(minimumCapacity: Int) {
        var bits: UInt64 = 4
        while (1 << bits) < 2 * minimumCapacity { bits += 1 }
        keys = [UInt64](repeating: Self.empty, count: 1 << bits)
        values = [Int32](repeating: -1, count: 1 << bits)
        shift = 64 - bits
    }

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        (UInt64(UInt32(bitPattern: left)) << 32) | UInt64(UInt32(bitPattern: right))
    }

    /// Id of the token whose bytes are `bytes(left) + bytes(right)`, or `Int32.max` if none.
    @inline(__always)
    func merged(_ left: Int32, _ right: Int32) -> Int32 {
        let k = Self.key(left, right)
        let mask = keys.count - 1
        return keys.withUnsafeBufferPointer { ks in
            var i = Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while true {
                let found = ks[i]
                if found == k { return values[i] }
                if found == Self.empty { return Int32.max }
                i = (i + 1) & mask
            }
        }
    }

    mutating func insert(_ left: Int32, _ right: Int32, merged: Int32) {
        if 2 * (count + 1) > keys.count { grow() }
        let k = Self.key(left, right)
        let mask = keys.count - 1
        var i = Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while keys[i] != Self.empty {
            if keys[i] == k { values[i] = merged; return }
            i = (i + 1) & mask
        }
        keys[i] = k
        values[i] = merged
        count += 1
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = [UInt64](repeating: Self.empty, count: oldKeys.count * 2)
        values = [Int32](repeating: -1, count: oldKeys.count * 2)
        shift -= 1
        count = 0
        for (k, v) in zip(oldKeys, oldValues) where k != Self.empty {
            insert(Int32(truncatingIfNeeded: k >> 32), Int32(truncatingIfNeeded: k & 0xFFFF_FFFF), merged: v)
        }
    }
}

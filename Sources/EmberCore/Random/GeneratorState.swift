/// A snapshot of a ``Generator``: the MT19937 words, the read position and the cached normal
/// values. Checkpoints store it (it is `Codable`), and ``bytes`` / ``init(bytes:)`` convert it
/// to and from the 5056-byte layout of `torch.get_rng_state()` / `torch.set_rng_state()`
/// (`docs/torch-rng.md` §1.5), so a state saved by PyTorch can be restored here and vice versa.
public struct GeneratorState: Codable, Equatable, Hashable, Sendable {
    /// The seed last given to `manualSeed` (all 64 bits; only the low 32 entered ``words``).
    public var initialSeed: UInt64
    /// The 624 state words of the MT19937 engine.
    public var words: [UInt32]
    /// Index of the next word to temper and return (`next` in PyTorch), 0...624.
    public var next: Int
    /// Draws left before the engine twists, plus one (`left` in PyTorch): after k draws since a
    /// twist, `next == k` and `left == 625 - k`; right after seeding `left == 1`, `next == 0`.
    public var left: Int
    /// The cached second value of the scalar double Box–Muller (`next_double_normal_sample_`).
    public var nextDoubleNormal: Double?
    /// The cached float normal (`next_float_normal_sample_`); CPU kernels never use it, it is
    /// kept so that a PyTorch state round-trips unchanged.
    public var nextFloatNormal: Float?

    /// Size in bytes of PyTorch's CPU generator state tensor (`torch.get_rng_state().numel()`).
    public static let byteCount = 5056

    /// Creates a state from its fields.
    /// - Throws: ``RandomError/invalidState(_:)`` unless `words.count == 624`, `0 <= next <= 624`
    ///   and `1 <= left <= 625`.
    public init(initialSeed: UInt64, words: [UInt32], next: Int, left: Int,
                nextDoubleNormal: Double? = nil, nextFloatNormal: Float? = nil) throws(RandomError) {
        self.initialSeed = initialSeed
        self.words = words
        self.next = next
        self.left = left
        self.nextDoubleNormal = nextDoubleNormal
        self.nextFloatNormal = nextFloatNormal
        try validate()
    }

    /// Checks the invariants that ``Generator/setState(_:)`` relies on.
    public func validate() throws(RandomError) {
        guard words.count == MT19937.stateSize else {
            throw .invalidState("expected 624 state words, got \(words.count)")
        }
        guard (0...MT19937.stateSize).contains(next) else {
            throw .invalidState("next must be in 0...624, got \(next)")
        }
        guard (1...MT19937.stateSize + 1).contains(left) else {
            throw .invalidState("left must be in 1...625, got \(left)")
        }
        guard next + left <= MT19937.stateSize + 1 else {
            throw .invalidState("next + left must be <= 625, got \(next) + \(left)")
        }
    }

    /// Decodes a state encoded by `encode(to:)`, checking the same invariants as
    /// ``init(initialSeed:words:next:left:nextDoubleNormal:nextFloatNormal:)``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            initialSeed: container.decode(UInt64.self, forKey: .initialSeed),
            words: container.decode([UInt32].self, forKey: .words),
            next: container.decode(Int.self, forKey: .next),
            left: container.decode(Int.self, forKey: .left),
            nextDoubleNormal: container.decodeIfPresent(Double.self, forKey: .nextDoubleNormal),
            nextFloatNormal: container.decodeIfPresent(Float.self, forKey: .nextFloatNormal))
    }

    /// The state in `torch.get_rng_state()` layout: 5056 little-endian bytes (§1.5). Offsets:
    /// 0 u64 initial seed, 8 i32 left, 12 i32 seeded (1), 16 u64 next, 24 u64 state[624],
    /// 5016 f64 normal_x (0), 5024 f64 normal_y (cached double), 5032 f64 normal_rho (0),
    /// 5040 i32 normal_is_valid, 5048 f32 cached float normal, 5052 bool its validity.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.byteCount)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { raw in
                for k in 0..<raw.count { out[offset + k] = raw[k] }
            }
        }
        put(initialSeed, at: 0)
        put(Int32(left), at: 8)
        put(Int32(1), at: 12)
        put(UInt64(next), at: 16)
        for (i, word) in words.enumerated() { put(UInt64(word), at: 24 + 8 * i) }
        put((nextDoubleNormal ?? 0).bitPattern, at: 5024)
        put(Int32(nextDoubleNormal == nil ? 0 : 1), at: 5040)
        put((nextFloatNormal ?? 0).bitPattern, at: 5048)
        out[5052] = nextFloatNormal == nil ? 0 : 1
        return out
    }

    /// Reads a state written by ``bytes`` or by `torch.get_rng_state().numpy().tobytes()`.
    /// - Throws: ``RandomError/invalidState(_:)`` if `bytes.count != 5056`, a state word does
    ///   not fit in 32 bits, or the position fields are out of range.
    public init(bytes: [UInt8]) throws(RandomError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidState("expected \(Self.byteCount) bytes, got \(bytes.count)")
        }
        func get<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
            var value = T.zero
            for k in (0..<MemoryLayout<T>.size).reversed() {
                value = (value << 8) | T(truncatingIfNeeded: bytes[offset + k])
            }
            return value
        }
        var words = [UInt32]()
        words.reserveCapacity(MT19937.stateSize)
        for i in 0..<MT19937.stateSize {
            let word = get(UInt64.self, at: 24 + 8 * i)
            guard word <= UInt64(UInt32.max) else {
                throw .invalidState("state word \(i) does not fit in 32 bits")
            }
            words.append(UInt32(word))
        }
        let next = get(UInt64.self, at: 16)
        guard next <= UInt64(MT19937.stateSize) else { throw .invalidState("next out of range: \(next)") }
        let doubleValid = get(Int32.self, at: 5040) != 0
        let floatValid = bytes[5052] != 0
        try self.init(
            initialSeed: get(UInt64.self, at: 0), words: words, next: Int(next),
            left: Int(get(Int32.self, at: 8)),
            nextDoubleNormal: doubleValid ? Double(bitPattern: get(UInt64.self, at: 5024)) : nil,
            nextFloatNormal: floatValid ? Float(bitPattern: get(UInt32.self, at: 5048)) : nil)
    }
}

import Foundation

/// PyTorch's CPU random number generator (`at::CPUGeneratorImpl`), bit for bit.
///
/// An MT19937 engine plus the cached double Box–Muller value, behind a lock: every method may be
/// called from any thread, and a multi-draw operation (a whole `fill…` call) holds the lock for
/// its duration, as PyTorch's kernels hold the generator mutex, so results never depend on
/// thread interleaving inside one call. Source: `docs/torch-rng.md` §1; PyTorch
/// `ATen/CPUGeneratorImpl.{h,cpp}`.
///
/// The draw-consuming primitives (`fillUniform`, `fillNormal`, `fillRandint`, `randperm`,
/// `fillBernoulli`, `fillDropoutNoise`, `multinomial`, …) live in extensions, one file per
/// family, and work on contiguous buffers in row-major (iteration) order.
public final class Generator: @unchecked Sendable {
    /// The seed of a freshly constructed `torch.Generator()` (`default_rng_seed_val`).
    public static let defaultSeed: UInt64 = 67_280_421_310_721

    /// The global default generator (`torch.default_generator`), seeded nondeterministically at
    /// first use; ``manualSeed(_:)-(UInt64)`` (the free function) reseeds it.
    public static let `default` = Generator(seed: UInt64.random(in: .min ... .max))

    // Engine state. Mutated only with `lock` held; the hot loops copy `next`/`left` into locals.
    @usableFromInline let lock = NSLock()
    @usableFromInline let words: UnsafeMutablePointer<UInt32>
    @usableFromInline var next = 0
    @usableFromInline var left = 1
    @usableFromInline var seedValue: UInt64 = 0
    @usableFromInline var nextDoubleNormal: Double?
    @usableFromInline var nextFloatNormal: Float?

    /// Creates a generator seeded with `seed` (default: PyTorch's `67280421310721`).
    public init(seed: UInt64 = Generator.defaultSeed) {
        words = .allocate(capacity: MT19937.stateSize)
        words.initialize(repeating: 0, count: MT19937.stateSize)
        reseed(seed)
    }

    /// Creates a generator in a saved state (see ``getState()``).
    public convenience init(state: GeneratorState) throws(RandomError) {
        self.init()
        try setState(state)
    }

    deinit { words.deallocate() }

    /// Reseeds (`torch.Generator.manual_seed`): clears the cached normals and seeds MT19937 with
    /// the low 32 bits of `seed`; all 64 bits are kept as ``initialSeed``.
    /// - Returns: `self`, as PyTorch does, so calls can be chained.
    @discardableResult
    public func manualSeed(_ seed: UInt64) -> Generator {
        lock.lock(); defer { lock.unlock() }
        reseed(seed)
        return self
    }

    /// Reseeds with a signed seed; a negative value is taken as its two's complement, so
    /// `manualSeed(-1)` gives `initialSeed == UInt64.max` as in PyTorch.
    @discardableResult
    public func manualSeed(_ seed: Int) -> Generator {
        manualSeed(UInt64(bitPattern: Int64(seed)))
    }

    /// Reseeds from the system's nondeterministic source (`torch.seed()`).
    /// - Returns: the new seed.
    @discardableResult
    public func seed() -> UInt64 {
        let value = UInt64.random(in: .min ... .max)
        manualSeed(value)
        return value
    }

    /// The last seed given (`torch.initial_seed()`), all 64 bits.
    public var initialSeed: UInt64 {
        lock.lock(); defer { lock.unlock() }
        return seedValue
    }

    /// A snapshot of the whole state (`torch.get_rng_state()`).
    public func getState() -> GeneratorState {
        lock.lock(); defer { lock.unlock() }
        // The fields are already valid, so the throwing initializer cannot fail here.
        return try! GeneratorState(
            initialSeed: seedValue, words: Array(UnsafeBufferPointer(start: words, count: MT19937.stateSize)),
            next: next, left: left, nextDoubleNormal: nextDoubleNormal, nextFloatNormal: nextFloatNormal)
    }

    /// Restores a snapshot (`torch.set_rng_state()`), including the cached normal values.
    /// - Throws: ``RandomError/invalidState(_:)`` if the snapshot is malformed.
    public func setState(_ state: GeneratorState) throws(RandomError) {
        try state.validate()
        lock.lock(); defer { lock.unlock() }
        state.words.withUnsafeBufferPointer { source in
            words.update(from: source.baseAddress!, count: MT19937.stateSize)
        }
        next = state.next
        left = state.left
        seedValue = state.initialSeed
        nextDoubleNormal = state.nextDoubleNormal
        nextFloatNormal = state.nextFloatNormal
    }

    /// One 32-bit draw (`random()`, §1.3).
    public func random() -> UInt32 {
        lock.lock(); defer { lock.unlock() }
        return draw32()
    }

    /// One 64-bit value from two draws; the FIRST draw is the HIGH word (`random64()`, §1.3).
    public func random64() -> UInt64 {
        lock.lock(); defer { lock.unlock() }
        return draw64()
    }

    /// Fills `buffer` with consecutive 32-bit draws (the same values as repeated ``random()``).
    public func fillRandom(_ buffer: UnsafeMutableBufferPointer<UInt32>) {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        lock.lock(); defer { lock.unlock() }
        drawRaw(base, buffer.count)
    }

    // MARK: - Engine access (callers hold `lock`)

    func reseed(_ seed: UInt64) {
        nextDoubleNormal = nil
        nextFloatNormal = nil
        seedValue = seed
        MT19937.seed(words, UInt32(truncatingIfNeeded: seed))
        left = 1
        next = 0
    }

    /// One draw; the caller holds `lock`.
    @usableFromInline
    func draw32() -> UInt32 {
        left -= 1
        if left == 0 {
            MT19937.twist(words)
            left = MT19937.stateSize
            next = 0
        }
        let word = words[next]
        next += 1
        return MT19937.temper(word)
    }

    /// `random64()` without locking.
    @usableFromInline
    func draw64() -> UInt64 {
        let high = UInt64(draw32())
        return (high << 32) | UInt64(draw32())
    }

    /// Writes `count` consecutive draws to `out`; the caller holds `lock`. Tempering runs over
    /// contiguous runs of state words between twists, which the compiler vectorises.
    @usableFromInline
    func drawRaw(_ out: UnsafeMutablePointer<UInt32>, _ count: Int) {
        var position = next
        var remaining = left
        var written = 0
        while written < count {
            if remaining == 1 {
                MT19937.twist(words)
                remaining = MT19937.stateSize + 1
                position = 0
            }
            let take = min(remaining - 1, count - written)
            let source = words + position
            let destination = out + written
            for k in 0..<take { destination[k] = MT19937.temper(source[k]) }
            position += take
            remaining -= take
            written += take
        }
        next = position
        left = remaining
    }

    /// Runs `body` with the lock held and a 1024-word scratch buffer for bulk draws.
    @usableFromInline
    func withLockedScratch<R>(_ body: (UnsafeMutablePointer<UInt32>) -> R) -> R {
        lock.lock(); defer { lock.unlock() }
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: Self.scratchCount) { scratch in
            body(scratch.baseAddress!)
        }
    }

    /// Draws per bulk chunk: a multiple of 16 (one normal block) and of 2 (one 64-bit draw).
    @usableFromInline static let scratchCount = 1024
}

/// Reseeds the global default generator (`torch.manual_seed`); see ``Generator/manualSeed(_:)-(UInt64)``.
public func manualSeed(_ seed: UInt64) {
    Generator.default.manualSeed(seed)
}

/// Reseeds the global default generator with a signed seed (`torch.manual_seed(-1)` keeps the
/// two's complement, `initialSeed == UInt64.max`).
public func manualSeed(_ seed: Int) {
    Generator.default.manualSeed(seed)
}

// MARK: - Unit-interval conversions (§2)

extension Generator {
    /// `uniform_real<float>`: the low 24 bits of one draw times 2^-24, exact, in [0, 1-2^-24].
    @inlinable @inline(__always)
    static func unitFloat(_ draw: UInt32) -> Float {
        Float(draw & 0x00FF_FFFF) * 0x1p-24
    }

    /// `uniform_real<double>`: the low 53 bits of `random64()` times 2^-53, in [0, 1-2^-53].
    @inlinable @inline(__always)
    static func unitDouble(_ draw: UInt64) -> Double {
        Double(draw & 0x001F_FFFF_FFFF_FFFF) * 0x1p-53
    }

    /// One `u01_f64` (2 draws); the caller holds `lock`.
    @usableFromInline
    func unitDouble() -> Double { Self.unitDouble(draw64()) }
}

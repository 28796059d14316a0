/// Integer sampling: `randint`, `random_()`, `randperm` (`docs/torch-rng.md` §6, §9).
extension Generator {
    /// Fills an int64 buffer with `randint(low, high)` (`random_(low, high)`), in buffer order.
    ///
    /// `range = high - low`; below 2^28 each element is `random() % range + low` (1 draw),
    /// otherwise `random64() % range + low` (2 draws). No rejection: PyTorch keeps the modulo bias.
    /// - Throws: ``RandomError/invalidArgument(_:)`` unless `low < high`.
    public func fillRandint(_ buffer: UnsafeMutableBufferPointer<Int64>, low: Int64, high: Int64)
        throws(RandomError)
    {
        guard low < high else {
            throw .invalidArgument("random_ expects 'from' to be less than 'to', but got from=\(low) >= to=\(high)")
        }
        let range = UInt64(bitPattern: high &- low)
        let offset = UInt64(bitPattern: low)
        lock.lock(); defer { lock.unlock() }
        if range >= 1 << 28 {
            for i in buffer.indices { buffer[i] = Int64(bitPattern: draw64() % range &+ offset) }
        } else {
            for i in buffer.indices { buffer[i] = Int64(bitPattern: UInt64(draw32()) % range &+ offset) }
        }
    }

    /// `torch.empty((), dtype=torch.int64).random_()`: `random64() % 2^63` (2 draws). DataLoader
    /// and `RandomSampler` draw their seeds this way.
    public func nextNonNegativeInt64() -> Int64 {
        lock.lock(); defer { lock.unlock() }
        return Int64(draw64() % (1 << 63))
    }

    /// `torch.randperm(n)` (CPU, int64): a permutation of `0..<n`.
    ///
    /// For `n < 214748364` a forward Fisher–Yates: for `i in 0..<n-1`, `z = random() % (n-i)`,
    /// swap `r[i]` and `r[i+z]` (`n-1` draws). Larger `n` uses PyTorch's inside-out shuffle with
    /// `random64()` (2n draws; from source, not verified against PyTorch).
    /// - Throws: ``RandomError/invalidArgument(_:)`` if `n < 0`.
    public func randperm(_ n: Int) throws(RandomError) -> [Int64] {
        guard n >= 0 else { throw .invalidArgument("randperm expects n >= 0, but got \(n)") }
        lock.lock(); defer { lock.unlock() }
        if n < 4_294_967_295 / 20 {
            var result = (0..<Int64(n)).map { $0 }
            result.withUnsafeMutableBufferPointer { r in
                for i in 0..<max(n - 1, 0) {
                    let z = Int(UInt64(draw32()) % UInt64(n - i))
                    r.swapAt(i, i + z)
                }
            }
            return result
        }
        var result = [Int64](repeating: 0, count: n)
        result.withUnsafeMutableBufferPointer { r in
            for i in 0..<n {
                let z = Int(draw64() % UInt64(i + 1))
                r[i] = r[z]
                r[z] = Int64(i)
            }
        }
        return result
    }
}

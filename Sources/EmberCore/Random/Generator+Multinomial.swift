/// `torch.multinomial` on CPU (`docs/torch-rng.md` §8; PyTorch `native/Distributions.cpp`,
/// `native/cpu/MultinomialKernel.cpp`).
extension Generator {
    /// Samples category indices from each row of `probabilities` (float32, shape `(rows, categories)`
    /// row-major; a 1-D input is one row).
    ///
    /// - Without replacement, or with `numSamples == 1` (the book's `generate`): draws
    ///   `q = f32(-log1p(-u01_f64()))` for EVERY element first (2 draws each, row-major), then per
    ///   row returns the argmax (first maximal index) of `p / q` in float32, or for
    ///   `numSamples > 1` the indices of the `numSamples` largest `p / q`, largest first (equal
    ///   values in index order). NaN counts as the largest value, as in `argmax`/`topk`.
    /// - With replacement and `numSamples > 1`: per row, the cumulative sum in float32 divided
    ///   by the total (last entry forced to 1), then per sample one `u01_f64()` (2 draws) and a
    ///   binary search for the first entry not less than it.
    ///
    /// Probabilities need not be normalised.
    /// - Returns: `rows * numSamples` indices, row-major (shape `(rows, numSamples)`).
    /// - Throws: ``RandomError/invalidArgument(_:)`` if `categories <= 0`, the count is not a
    ///   multiple of `categories`, `numSamples <= 0`, `numSamples > categories` without
    ///   replacement, a probability is negative, infinite or NaN, or a row sums to zero.
    public func multinomial(_ probabilities: UnsafeBufferPointer<Float>, categories: Int, numSamples: Int,
                            replacement: Bool = false) throws(RandomError) -> [Int64]
    {
        try multinomialImpl(probabilities, categories: categories, numSamples: numSamples, replacement: replacement)
    }

    /// The float64 version of ``multinomial(_:categories:numSamples:replacement:)-(UnsafeBufferPointer<Float>,_,_,_)``;
    /// `q` and the cumulative sums stay in double.
    public func multinomial(_ probabilities: UnsafeBufferPointer<Double>, categories: Int, numSamples: Int,
                            replacement: Bool = false) throws(RandomError) -> [Int64]
    {
        try multinomialImpl(probabilities, categories: categories, numSamples: numSamples, replacement: replacement)
    }

    func multinomialImpl<T: BinaryFloatingPoint>(
        _ probs: UnsafeBufferPointer<T>, categories: Int, numSamples: Int, replacement: Bool
    ) throws(RandomError) -> [Int64] {
        guard categories > 0, probs.count % categories == 0, !probs.isEmpty else {
            throw .invalidArgument("multinomial: \(probs.count) probabilities do not form rows of \(categories) categories")
        }
        guard categories <= 1 << 24 else { throw .invalidArgument("number of categories cannot exceed 2^24") }
        guard numSamples > 0 else { throw .invalidArgument("cannot sample n_sample <= 0 samples") }
        guard replacement || numSamples <= categories else {
            throw .invalidArgument("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        }
        let rows = probs.count / categories
        for p in probs where !(p >= 0 && p.isFinite) {
            throw .invalidArgument("probability tensor contains either `inf`, `nan` or element < 0")
        }
        for row in 0..<rows where !probs[(row * categories)..<((row + 1) * categories)].contains(where: { $0 > 0 }) {
            throw .invalidArgument("invalid multinomial distribution (sum of probabilities <= 0)")
        }
        var result = [Int64]()
        result.reserveCapacity(rows * numSamples)
        lock.lock(); defer { lock.unlock() }
        if !replacement || numSamples == 1 {
            // Exponential race (Gumbel trick): argmax / top-k of p / q with q ~ Exp(1).
            var ratio = [T](repeating: 0, count: probs.count)
            for i in 0..<probs.count { ratio[i] = T(exponentialDouble(1)) }
            for i in 0..<probs.count { ratio[i] = probs[i] / ratio[i] }
            for row in 0..<rows {
                let base = row * categories
                if numSamples == 1 {
                    var best = 0
                    for j in 1..<categories where Self.isGreater(ratio[base + j], ratio[base + best]) { best = j }
                    result.append(Int64(best))
                } else {
                    let order = (0..<categories).sorted { a, b in
                        let x = ratio[base + a], y = ratio[base + b]
                        return Self.isGreater(x, y) || (!Self.isGreater(y, x) && a < b)
                    }
                    for j in 0..<numSamples { result.append(Int64(order[j])) }
                }
            }
            return result
        }
        var cumulative = [T](repeating: 0, count: categories)
        for row in 0..<rows {
            var sum = T.zero
            for j in 0..<categories {
                sum += probs[row * categories + j]
                cumulative[j] = sum
            }
            for j in 0..<categories { cumulative[j] /= sum }
            cumulative[categories - 1] = 1
            for _ in 0..<numSamples {
                let u = unitDouble()
                var lower = 0, upper = categories
                while upper > lower {
                    let middle = lower + (upper - lower) / 2
                    if Double(cumulative[middle]) < u { lower = middle + 1 } else { upper = middle }
                }
                result.append(Int64(lower))
            }
        }
        return result
    }

    /// `a > b` with NaN above every number (the order `argmax` and `topk` use).
    static func isGreater<T: FloatingPoint>(_ a: T, _ b: T) -> Bool {
        if a.isNaN { return !b.isNaN }
        return a > b
    }
}

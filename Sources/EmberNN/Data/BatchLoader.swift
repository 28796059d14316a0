import EmberCore

/// ``DataLoader`` for a `collate_fn` that returns something other than an `(inputs, targets)` pair —
/// the chapter-7 DPO notebook's collate returns a dict of five entries (prompts, chosen and rejected
/// ids, their masks), which Swift spells as a struct. Batching, shuffling and every random draw are
/// ``DataLoader``'s, so a seeded run sees PyTorch's batches (docs/torch-rng.md §9): each iteration
/// draws a base seed first, a shuffled one then draws its order at the first batch.
///
/// ```swift
/// manualSeed(123)
/// let loader = BatchLoader(trainDataset, batchSize: 8, shuffle: true, dropLast: true) { preferenceCollate($0) }
/// for batch in loader { … batch.chosen … }   // `[8, L]` int64
/// ```
public struct BatchLoader<D: Dataset, Batch>: Sequence {
    /// The samples.
    public let dataset: D
    /// Samples per batch.
    public let batchSize: Int
    /// Whether each epoch draws a new order (`RandomSampler`).
    public let shuffle: Bool
    /// Whether a short final batch is dropped.
    public let dropLast: Bool
    /// The loader's generator (`generator=`); nil uses the global one.
    public let generator: EmberCore.Generator?
    /// Makes one batch from its samples, in sampler order (`collate_fn`).
    public let collate: ([D.Sample]) -> Batch

    /// - Parameters: as ``DataLoader/init(_:batchSize:shuffle:dropLast:generator:collate:)``;
    ///   `batchSize` must be positive (else a precondition failure).
    public init(_ dataset: D, batchSize: Int = 1, shuffle: Bool = false, dropLast: Bool = false,
                generator: EmberCore.Generator? = nil, collate: @escaping ([D.Sample]) -> Batch) {
        precondition(batchSize > 0, "batch_size should be a positive integer value, but got batch_size=\(batchSize)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.generator = generator
        self.collate = collate
    }

    /// Batches per epoch (`len(loader)`): `count / batchSize`, rounded up unless `dropLast`.
    public var count: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// Starts an epoch (`iter(loader)`): draws the base seed now, the order at the first batch.
    public func makeIterator() -> Iterator {
        _ = (generator ?? EmberCore.Generator.default).nextNonNegativeInt64()
        return Iterator(loader: self)
    }

    /// One epoch's batches; the order is drawn at the first ``next()``, as `RandomSampler.__iter__`.
    public struct Iterator: IteratorProtocol {
        let loader: BatchLoader
        var order: [Int]? = nil
        var position = 0

        /// The next batch, or nil at the end of the epoch.
        public mutating func next() -> Batch? {
            if order == nil { order = samplerOrder(count: loader.dataset.count, shuffle: loader.shuffle, generator: loader.generator) }
            let order = order!
            let remaining = order.count - position
            guard remaining > 0, !(loader.dropLast && remaining < loader.batchSize) else { return nil }
            let batch = order[position ..< position + Swift.min(loader.batchSize, remaining)]
            position += batch.count
            return loader.collate(batch.map { loader.dataset[$0] })
        }
    }
}

/// An epoch's sample indices, as `SequentialSampler` (`0..<count`) or `RandomSampler` draws them:
/// `generator.randperm(count)` with a loader generator, else a sampler seed drawn from the global
/// generator seeding a private one (docs/torch-rng.md §9). Shared by ``DataLoader`` and ``BatchLoader``.
func samplerOrder(count n: Int, shuffle: Bool, generator: EmberCore.Generator?) -> [Int] {
    guard shuffle else { return Array(0..<n) }
    // randperm and the sampler seed only fail for n < 0, which a count cannot be.
    let perm: [Int64]
    if let generator {
        perm = try! generator.randperm(n)
    } else {
        perm = try! EmberCore.Generator.default.randomSamplerPermutation(count: n)
    }
    return perm.map(Int.init)
}

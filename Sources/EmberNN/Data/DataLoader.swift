import EmberCore

/// `torch.utils.data.DataLoader(dataset, batch_size, shuffle, drop_last, collate_fn)` with
/// `num_workers=0`: iterating yields `(inputs, targets)` batches, each made by `collate` from the
/// batch's samples — by default ``defaultCollate(_:)``, the (input, target) pairs stacked along a
/// new first dimension (`[B, T]` int64 for the book's GPT datasets).
///
/// ```swift
/// // Chapter 7's collate: token-id lists of unequal lengths padded into one batch.
/// let loader = DataLoader(instructionData, batchSize: 8, shuffle: true) { samples in pad(samples) }
/// ```
///
/// Random draws follow PyTorch exactly (docs/torch-rng.md §9), so seeded runs see the book's
/// batches: every iteration (`for … in loader`, i.e. every `iter(loader)`) first draws a base seed
/// (`random_()` on int64: 2 draws from the global generator, or from `generator`), **also when
/// `shuffle` is false**. With `shuffle` and no `generator`, the first batch then draws a sampler
/// seed (2 more global draws) that seeds a private generator whose `randperm(count)` orders the
/// epoch; with a `generator`, `generator.randperm(count)` orders it.
public struct DataLoader<D: Dataset>: Sequence {
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
    public let collate: ([D.Sample]) -> (inputs: Tensor, targets: Tensor)
    /// This rank's share of the data (`sampler=DistributedSampler(…)`), instead of `shuffle`.
    public let sampler: DistributedSampler?

    /// A loader whose batches `collate` makes (PyTorch's `collate_fn=`); it is called once per
    /// batch with the batch's samples (the last one shorter unless `dropLast`). It draws nothing
    /// from any generator, so the sampler's draws stay PyTorch's.
    /// - Parameters: `batchSize` must be positive (else a precondition failure).
    public init(_ dataset: D, batchSize: Int = 1, shuffle: Bool = false, dropLast: Bool = false,
                generator: EmberCore.Generator? = nil,
                collate: @escaping ([D.Sample]) -> (inputs: Tensor, targets: Tensor)) {
        precondition(batchSize > 0, "batch_size should be a positive integer value, but got batch_size=\(batchSize)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.generator = generator
        self.collate = collate
        self.sampler = nil
    }

    /// A loader over this rank's share of `dataset` (`DataLoader(dataset, batch_size, sampler=…)`):
    /// batches follow `sampler`'s indices; call ``DistributedSampler/setEpoch(_:)`` before each
    /// epoch. Each iteration still draws the base seed from the global generator, as PyTorch's.
    /// - Parameters: `batchSize` must be positive (else a precondition failure); `sampler` must
    ///   have been made for `dataset.count` samples (else a precondition failure).
    public init(_ dataset: D, batchSize: Int = 1, sampler: DistributedSampler, dropLast: Bool = false,
                collate: @escaping ([D.Sample]) -> (inputs: Tensor, targets: Tensor)) {
        precondition(batchSize > 0, "batch_size should be a positive integer value, but got batch_size=\(batchSize)")
        precondition(sampler.datasetCount == dataset.count, "the sampler was made for \(sampler.datasetCount) samples, the dataset has \(dataset.count)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = false
        self.dropLast = dropLast
        self.generator = nil
        self.collate = collate
        self.sampler = sampler
    }

    /// Batches per epoch (`len(loader)`): `count / batchSize`, rounded up unless `dropLast`.
    public var count: Int {
        let samples = sampler?.count ?? dataset.count
        return dropLast ? samples / batchSize : (samples + batchSize - 1) / batchSize
    }

    /// Starts an epoch (`iter(loader)`): draws the base seed now, the order at the first batch.
    public func makeIterator() -> Iterator {
        // _BaseDataLoaderIter.__init__: `_base_seed = empty((), int64).random_(generator=loader.generator)`.
        _ = (generator ?? EmberCore.Generator.default).nextNonNegativeInt64()
        return Iterator(loader: self)
    }

    /// One epoch's batches. The sample order is drawn lazily at the first ``next()``, where
    /// PyTorch's `RandomSampler.__iter__` runs.
    public struct Iterator: IteratorProtocol {
        let loader: DataLoader
        var order: [Int]? = nil
        var position = 0

        /// The next `(inputs [B, …], targets [B, …])` batch, or nil at the end of the epoch.
        public mutating func next() -> (inputs: Tensor, targets: Tensor)? {
            if order == nil { order = loader.sampleOrder() }
            let order = order!
            let remaining = order.count - position
            guard remaining > 0, !(loader.dropLast && remaining < loader.batchSize) else { return nil }
            let batch = order[position ..< position + Swift.min(loader.batchSize, remaining)]
            position += batch.count
            return loader.collate(batch.map { loader.dataset[$0] })
        }
    }

    /// The epoch's sample indices (`SequentialSampler` or `RandomSampler`).
    func sampleOrder() -> [Int] {
        if let sampler { return sampler.indices() }
        return samplerOrder(count: dataset.count, shuffle: shuffle, generator: generator)
    }
}

extension DataLoader where D.Sample == (input: Tensor, target: Tensor) {
    /// A loader of (input, target) samples batched by ``defaultCollate(_:)`` (PyTorch's default
    /// `collate_fn`).
    /// - Parameters: `batchSize` must be positive (else a precondition failure).
    public init(_ dataset: D, batchSize: Int = 1, shuffle: Bool = false, dropLast: Bool = false,
                generator: EmberCore.Generator? = nil) {
        self.init(dataset, batchSize: batchSize, shuffle: shuffle, dropLast: dropLast, generator: generator,
                  collate: defaultCollate)
    }

    /// A loader of (input, target) samples over this rank's share (see ``init(_:batchSize:sampler:dropLast:collate:)``).
    public init(_ dataset: D, batchSize: Int = 1, sampler: DistributedSampler, dropLast: Bool = false) {
        self.init(dataset, batchSize: batchSize, sampler: sampler, dropLast: dropLast, collate: defaultCollate)
    }
}

/// PyTorch's `default_collate` for (input, target) pairs: the inputs stacked along a new first
/// dimension, and the targets (`[B, …]`; all inputs, and all targets, must share one shape and dtype,
/// else `stack`'s error).
public func defaultCollate(_ samples: [(input: Tensor, target: Tensor)]) -> (inputs: Tensor, targets: Tensor) {
    (Tensor.stack(samples.map { $0.input }, dim: 0),      // (B, …)
     Tensor.stack(samples.map { $0.target }, dim: 0))     // (B, …)
}

import EmberCore

/// Each rank's share of a dataset for data-parallel training, as PyTorch's
/// `torch.utils.data.distributed.DistributedSampler`: the indices (shuffled with a generator seeded
/// `seed + epoch` when `shuffle`) are padded by repeating them from the start to a multiple of
/// `numReplicas` — or, with `dropLast`, cut to one — and rank `r` takes every `numReplicas`-th index
/// from position `r`. Every rank computes the same permutation, so the shares are disjoint, and
/// the per-rank index lists are PyTorch's for the same arguments.
///
/// ```swift
/// let sampler = try DistributedSampler(count: dataset.count, numReplicas: group.worldSize, rank: group.rank)
/// let loader = DataLoader(dataset, batchSize: 4, sampler: sampler)
/// for epoch in 0..<numEpochs {
///     sampler.setEpoch(epoch)          // else every epoch repeats the same order
///     for (x, y) in loader { … }
/// }
/// ```
/// Source: https://pytorch.org/docs/stable/data.html#torch.utils.data.distributed.DistributedSampler
public final class DistributedSampler: @unchecked Sendable {
    /// The dataset's length.
    public let datasetCount: Int
    /// The number of ranks sharing the data (`num_replicas`).
    public let numReplicas: Int
    /// This rank (`rank`).
    public let rank: Int
    /// Whether each epoch uses a new permutation (`shuffle`).
    public let shuffle: Bool
    /// The base seed (`seed`); epoch `e` shuffles with `seed + e`.
    public let seed: Int
    /// Whether the tail that does not divide evenly is dropped instead of padded (`drop_last`).
    public let dropLast: Bool
    /// The epoch set by ``setEpoch(_:)``.
    public private(set) var epoch = 0

    /// - Throws: ``EmberError`` (ValueError) for a rank outside `0..<numReplicas` (PyTorch's "Invalid
    ///   rank …" message), or when there are more replicas than samples — some rank would get only
    ///   repeated samples (padding) or, with `dropLast`, none at all (rasbt/LLMs-from-scratch#523).
    public init(count: Int, numReplicas: Int, rank: Int, shuffle: Bool = true, seed: Int = 0, dropLast: Bool = false) throws {
        guard numReplicas >= 1 else { throw EmberError(.value, "num_replicas should be a positive integer value, but got num_replicas=\(numReplicas)") }
        guard rank >= 0 && rank < numReplicas else {
            throw EmberError(.value, "Invalid rank \(rank), rank should be in the interval [0, \(numReplicas - 1)]")
        }
        guard count >= numReplicas else {
            throw EmberError(.value, "the dataset has \(count) sample(s) for \(numReplicas) ranks: every rank needs at least one sample of its own; use fewer processes (mpirun -np) or more data")
        }
        datasetCount = count
        self.numReplicas = numReplicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
    }

    /// Samples per rank per epoch (`len(sampler)`, PyTorch's `num_samples`).
    public var count: Int {
        if dropLast && datasetCount % numReplicas != 0 {
            return (datasetCount - numReplicas + numReplicas - 1) / numReplicas
        }
        return (datasetCount + numReplicas - 1) / numReplicas
    }

    /// Sets the epoch, which changes the shuffle (`set_epoch`).
    public func setEpoch(_ epoch: Int) { self.epoch = epoch }

    /// This rank's indices for the current epoch (`list(iter(sampler))`).
    public func indices() -> [Int] {
        var all: [Int]
        if shuffle {
            let g = Generator(seed: UInt64(bitPattern: Int64(seed + epoch)))
            all = try! g.randperm(datasetCount).map(Int.init)   // randperm fails only for a negative count
        } else {
            all = Array(0..<datasetCount)
        }
        let totalSize = count * numReplicas
        if !dropLast {
            let padding = totalSize - all.count
            if padding > 0 {
                var extra: [Int] = []
                while extra.count < padding { extra += all }
                all += extra.prefix(padding)
            }
        } else {
            all = Array(all.prefix(totalSize))
        }
        return Swift.stride(from: rank, to: totalSize, by: numReplicas).map { all[$0] }
    }
}

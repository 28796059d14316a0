import EmberCore

/// A map-style dataset of (input, target) tensor pairs, as PyTorch's `torch.utils.data.Dataset`
/// with `__len__` and `__getitem__`. ``DataLoader`` stacks the pairs of a batch along a new first
/// dimension, so all inputs (and all targets) of a dataset must share one shape and dtype.
public protocol Dataset {
    /// Number of samples (`len(dataset)`).
    var count: Int { get }
    /// Sample `index` in `0..<count` (`dataset[index]`).
    subscript(index: Int) -> (input: Tensor, target: Tensor) { get }
}

/// `torch.utils.data.Subset(dataset, indices)`: the samples of `dataset` at `indices`, in that
/// order (the book's tests train on `Subset(train_dataset, range(1))`).
public struct Subset<Base: Dataset>: Dataset {
    /// The underlying dataset.
    public let dataset: Base
    /// Positions in `dataset`, in iteration order.
    public let indices: [Int]

    /// - Parameters: `indices` must lie in `0..<dataset.count` (checked when a sample is read).
    public init(_ dataset: Base, indices: [Int]) {
        self.dataset = dataset
        self.indices = indices
    }

    /// `len(indices)`.
    public var count: Int { indices.count }
    /// `dataset[indices[index]]`.
    public subscript(index: Int) -> (input: Tensor, target: Tensor) { dataset[indices[index]] }
}

import EmberCore

/// A map-style dataset, as PyTorch's `torch.utils.data.Dataset` with `__len__` and `__getitem__`.
///
/// A sample is an (input, target) pair of tensors by default (``DataLoader``'s default collate
/// stacks them along a new first dimension, so they must then share one shape and dtype). A dataset
/// whose samples are something else — token-id lists of unequal lengths, as the instruction data of
/// the book's chapter 7 — names its own ``Sample`` and is loaded with a `collate` function.
public protocol Dataset {
    /// One sample (`dataset[i]`); an `(input, target)` tensor pair unless the dataset says otherwise.
    associatedtype Sample = (input: Tensor, target: Tensor)
    /// Number of samples (`len(dataset)`).
    var count: Int { get }
    /// Sample `index` in `0..<count` (`dataset[index]`).
    subscript(index: Int) -> Sample { get }
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
    public subscript(index: Int) -> Base.Sample { dataset[indices[index]] }
}

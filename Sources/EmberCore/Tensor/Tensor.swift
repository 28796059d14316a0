/// An n-dimensional array with PyTorch's semantics: `torch.Tensor`.
///
/// Tensors have reference semantics like PyTorch's: `let b = a` names the same tensor, views
/// (`view`, `transpose`, slicing, ...) share storage with their base, and an in-place op (`add_`,
/// `maskedFill_`, subscript assignment) is visible through every view.
///
/// Layout: `shape` and `strides` are in elements; element `[i0, i1, ...]` lives at
/// `storageOffset + Σ ik * strides[k]` of `storage`.
///
/// Errors: operations do not throw; see ``EmberError`` and ``withErrorCapture(_:)``.
public final class Tensor: @unchecked Sendable {
    public internal(set) var storage: Storage
    public internal(set) var shape: [Int]
    public internal(set) var strides: [Int]
    public internal(set) var storageOffset: Int
    public internal(set) var dtype: DType

    /// The gradient accumulated by ``backward(_:retainGraph:)``; nil until then (PyTorch's `.grad`).
    public var grad: Tensor?
    /// The autograd node that produced this tensor; nil for leaves (PyTorch's `grad_fn`).
    public internal(set) var gradFn: Node?
    var requiresGradLeaf = false
    /// Lazily created accumulator of a leaf that requires grad.
    var gradAccumulatorStorage: AccumulateGrad?
    /// The tensor this one is a view of (PyTorch's `._base`), for autograd of in-place ops on views.
    public internal(set) var base: Tensor?
    /// Whether `retain_grad()` was called: a non-leaf keeps its `.grad`.
    var retainsGrad = false
    /// Set by EmberNN for `nn.Parameter` (changes printing to "Parameter containing:").
    public var isParameter = false
    /// Hooks run after autograd accumulated a gradient into this leaf's `.grad`
    /// (``registerPostAccumulateGradHook(_:)``), by registration id.
    var postAccumulateGradHooks: [(id: Int, hook: (Tensor) -> Void)] = []

    public var device: Device { storage.device }
    public var ndim: Int { shape.count }
    public func dim() -> Int { shape.count }
    public var numel: Int { shape.reduce(1, *) }
    public var isMeta: Bool { storage.device == .meta }
    public var isFloatingPoint: Bool { dtype.isFloatingPoint }

    /// `size(d)` with a possibly negative dimension.
    public func size(_ d: Int) -> Int { shape[normalizeDim(d, ndim)] }
    public func stride(_ d: Int) -> Int { strides[normalizeDim(d, ndim)] }

    init(storage: Storage, shape: [Int], strides: [Int], storageOffset: Int = 0, dtype: DType) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.storageOffset = storageOffset
        self.dtype = dtype
    }

    /// A new contiguous, uninitialised-on-meta / zeroed-on-CPU tensor.
    convenience init(shape: [Int], dtype: DType, device: Device = .cpu, zeroed: Bool = true) {
        let n = shape.reduce(1, *)
        let s = Storage(byteCount: n * dtype.itemSize, device: device, zeroed: zeroed)
        self.init(storage: s, shape: shape, strides: contiguousStrides(shape), dtype: dtype)
    }

    convenience init(metaShape shape: [Int], dtype: DType) {
        self.init(shape: shape, dtype: dtype, device: .meta)
    }

    /// Wraps an existing storage (e.g. one loaded from a file) without copying.
    public convenience init(storage: Storage, dtype: DType, shape: [Int], strides: [Int]? = nil, storageOffset: Int = 0) {
        self.init(storage: storage, shape: shape, strides: strides ?? contiguousStrides(shape),
                  storageOffset: storageOffset, dtype: dtype)
    }

    /// Whether elements are laid out in row-major order with no gaps (PyTorch's `is_contiguous()`).
    public var isContiguous: Bool {
        var expected = 1
        for d in Swift.stride(from: ndim - 1, through: 0, by: -1) {
            if shape[d] == 1 { continue }
            if strides[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    /// Typed pointer to element 0 (CPU only).
    @inlinable
    func pointer<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        storage.data!.assumingMemoryBound(to: T.self) + storageOffset
    }

    /// Whether autograd tracks this tensor (`requires_grad`). Setting it is allowed on leaves only,
    /// and only for floating-point dtypes, as in PyTorch.
    public var requiresGrad: Bool {
        get { requiresGradLeaf || gradFn != nil }
        set {
            if gradFn != nil {
                if !newValue {
                    _ = raiseError("you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().")
                }
                return
            }
            if newValue && !dtype.isFloatingPoint {
                _ = raiseError("only Tensors of floating point dtype can require gradients")
                return
            }
            requiresGradLeaf = newValue
        }
    }

    /// `requires_grad_()`: sets ``requiresGrad`` and returns self.
    @discardableResult
    public func requiresGrad_(_ flag: Bool = true) -> Tensor {
        requiresGrad = flag
        return self
    }

    /// Whether this tensor is a leaf of the autograd graph (`is_leaf`).
    public var isLeaf: Bool { gradFn == nil }

    /// Replaces this tensor's data (storage, shape, strides, dtype) with `other`'s, keeping the
    /// tensor object (PyTorch's `param.data = other`). Used by `Module.to(_:)` so parameter identity
    /// survives a move.
    public func setData(_ other: Tensor) {
        storage = other.storage
        shape = other.shape
        strides = other.strides
        storageOffset = other.storageOffset
        dtype = other.dtype
    }
}

@inlinable
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for d in Swift.stride(from: shape.count - 1, through: 0, by: -1) {
        strides[d] = acc
        acc *= Swift.max(shape[d], 1)
    }
    return strides
}

/// Wraps a possibly negative dimension into `0..<ndim` (0-d tensors accept -1 and 0).
@inlinable
func normalizeDim(_ d: Int, _ ndim: Int) -> Int {
    let n = Swift.max(ndim, 1)
    let r = d < 0 ? d + n : d
    return r
}

extension Tensor {
    /// Checks a dimension, raising PyTorch's IndexError when out of range; returns the wrapped value or nil.
    func checkedDim(_ d: Int) -> Int? {
        let n = Swift.max(ndim, 1)
        if d < -n || d >= n {
            _ = raiseError(.index, "Dimension out of range (expected to be in range of [\(-n), \(n - 1)], but got \(d))")
            return nil
        }
        return d < 0 ? d + n : d
    }
}

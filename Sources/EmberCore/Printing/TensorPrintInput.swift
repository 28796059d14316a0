/// The element values of a tensor to print, widened to one type per kind.
///
/// Values are in row-major (logical) order and must match the tensor's dtype kind: `.floating` for
/// float32/float64/float16/bfloat16 (each element widened exactly to `Double`), `.integer` for the
/// integer dtypes, `.boolean` for bool, `.none` for a meta tensor (which has no data).
///
/// Either all `shape.product` elements are given, or only the elements PyTorch looks at when it
/// summarises: those at the indices ``PrintOptions/summarizedIndices(shape:)`` returns, in row-major
/// order over that grid. The second form lets a 163M-element tensor print by copying 36 values.
public enum TensorPrintValues: Sendable, Equatable {
    case floating([Double])
    case integer([Int64])
    case boolean([Bool])
    case none

    /// Number of values held.
    public var count: Int {
        switch self {
        case .floating(let v): return v.count
        case .integer(let v): return v.count
        case .boolean(let v): return v.count
        case .none: return 0
        }
    }
}

/// Everything needed to print a tensor as PyTorch's `repr(tensor)` does, independent of `Tensor`.
///
/// - `shape`: the sizes, `[]` for a 0-d tensor.
/// - `dtype`: decides the `dtype=` suffix (printed unless float32, int64 or bool).
/// - `values`: see ``TensorPrintValues``; already on the CPU.
/// - `device`: any device but `.cpu` adds `device='...'`; `.meta` prints `...` instead of values.
/// - `requiresGrad` / `gradFnName`: `grad_fn=<Name>` when a name is given, else
///   `requires_grad=True` when `requiresGrad`.
/// - `isParameter`: prefixes `Parameter containing:\n`, as `nn.Parameter.__repr__`.
///
/// Source: `torch/_tensor_str.py` (`_str_intern`) and `torch/nn/parameter.py` (`Parameter.__repr__`).
public struct TensorPrintInput: Sendable, Equatable {
    public var shape: [Int]
    public var dtype: DType
    public var values: TensorPrintValues
    public var device: Device
    public var requiresGrad: Bool
    public var gradFnName: String?
    public var isParameter: Bool

    public init(shape: [Int], dtype: DType, values: TensorPrintValues, device: Device = .cpu,
                requiresGrad: Bool = false, gradFnName: String? = nil, isParameter: Bool = false) {
        self.shape = shape
        self.dtype = dtype
        self.values = values
        self.device = device
        self.requiresGrad = requiresGrad
        self.gradFnName = gradFnName
        self.isParameter = isParameter
    }
}

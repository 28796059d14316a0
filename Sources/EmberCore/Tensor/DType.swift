/// The element type of a tensor, as `torch.dtype`.
///
/// Floating literals default to ``float32`` and integer literals to ``int64``, as in PyTorch.
/// Promotion between dtypes follows PyTorch's rules (see ``DType/promoted(_:_:)``).
/// Source: https://pytorch.org/docs/stable/tensor_attributes.html#torch-dtype
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32, float64, float16, bfloat16
    case int64, int32, int16, int8, uint8
    case bool

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float64, .float16, .bfloat16: return true
        default: return false
        }
    }

    public var isIntegral: Bool { !isFloatingPoint && self != .bool }
    public var isSigned: Bool { self != .uint8 && self != .bool }

    /// PyTorch's printed name, e.g. `torch.float16`.
    public var torchName: String {
        switch self {
        case .float32: return "torch.float32"
        case .float64: return "torch.float64"
        case .float16: return "torch.float16"
        case .bfloat16: return "torch.bfloat16"
        case .int64: return "torch.int64"
        case .int32: return "torch.int32"
        case .int16: return "torch.int16"
        case .int8: return "torch.int8"
        case .uint8: return "torch.uint8"
        case .bool: return "torch.bool"
        }
    }

    /// PyTorch's C++ scalar-type name used in error messages ("Float", "Long", ...).
    public var scalarTypeName: String {
        switch self {
        case .float32: return "Float"
        case .float64: return "Double"
        case .float16: return "Half"
        case .bfloat16: return "BFloat16"
        case .int64: return "Long"
        case .int32: return "Int"
        case .int16: return "Short"
        case .int8: return "Char"
        case .uint8: return "Byte"
        case .bool: return "Bool"
        }
    }

    /// The legacy storage class name in `.pth` pickles (`torch.FloatStorage`, ...).
    public var storageClassName: String { scalarTypeName + "Storage" }

    /// The dtype code in safetensors headers ("F32", "BF16", "I64", "BOOL", ...).
    public var safetensorsName: String {
        switch self {
        case .float32: return "F32"
        case .float64: return "F64"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .int64: return "I64"
        case .int32: return "I32"
        case .int16: return "I16"
        case .int8: return "I8"
        case .uint8: return "U8"
        case .bool: return "BOOL"
        }
    }

    public init?(storageClassName name: String) {
        guard let d = DType.allCases.first(where: { $0.storageClassName == name }) else { return nil }
        self = d
    }

    public init?(safetensorsName name: String) {
        guard let d = DType.allCases.first(where: { $0.safetensorsName == name }) else { return nil }
        self = d
    }

    public var description: String { torchName }

    // Promotion lattice: bool < integers < floating. Within a category PyTorch picks the wider type,
    // except that uint8 with a signed integer gives int16 (or the signed type if wider), and
    // float16 with bfloat16 gives float32.
    private var category: Int { self == .bool ? 0 : (isFloatingPoint ? 2 : 1) }

    /// `torch.promote_types(a, b)`.
    public static func promoted(_ a: DType, _ b: DType) -> DType {
        if a == b { return a }
        if a.category != b.category { return a.category > b.category ? a : b }
        switch a.category {
        case 0: return .bool
        case 1:
            if a == .uint8 || b == .uint8 {
                let other = a == .uint8 ? b : a
                return other == .int8 ? .int16 : other
            }
            return a.itemSize >= b.itemSize ? a : b
        default:
            if (a == .float16 && b == .bfloat16) || (a == .bfloat16 && b == .float16) { return .float32 }
            return a.itemSize >= b.itemSize ? a : b
        }
    }
}

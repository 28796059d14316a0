import EmberCore

/// Element types of the safetensors format. Ember's ``DType`` covers ten of them; the others are read
/// (bytes, shape) but ``SafetensorsTensor/tensorRecord()`` refuses them with an error naming key and dtype.
/// Source: https://github.com/huggingface/safetensors (`Dtype` in safetensors/src/tensor.rs).
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64, C64

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3: return 1
        case .I16, .U16, .F16, .BF16: return 2
        case .I32, .U32, .F32: return 4
        case .F64, .I64, .U64, .C64: return 8
        }
    }

    /// The Ember dtype, or nil for U16/U32/U64/C64/F8 types.
    public var dtype: DType? { DType(safetensorsName: rawValue) }

    /// PyTorch's name (`float32`, `uint16`, `float8_e4m3fn`, `complex64`, ...).
    public var torchName: String {
        switch self {
        case .BOOL: return "bool"
        case .U8: return "uint8"
        case .I8: return "int8"
        case .F8_E5M2: return "float8_e5m2"
        case .F8_E4M3: return "float8_e4m3fn"
        case .I16: return "int16"
        case .U16: return "uint16"
        case .F16: return "float16"
        case .BF16: return "bfloat16"
        case .I32: return "int32"
        case .U32: return "uint32"
        case .F32: return "float32"
        case .F64: return "float64"
        case .I64: return "int64"
        case .U64: return "uint64"
        case .C64: return "complex64"
        }
    }
}

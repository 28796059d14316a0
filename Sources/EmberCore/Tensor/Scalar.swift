/// bfloat16: the top 16 bits of an IEEE float32 (round-to-nearest-even on conversion), as `torch.bfloat16`.
@frozen
public struct BFloat16: Sendable, Hashable, CustomStringConvertible {
    public var bitPattern: UInt16
    @inlinable public init(bitPattern: UInt16) { self.bitPattern = bitPattern }
    @inlinable public init(_ f: Float) {
        let bits = f.bitPattern
        if f.isNaN { bitPattern = UInt16(truncatingIfNeeded: (bits >> 16) | 0x40); return }
        let rounding = UInt32(0x7FFF) &+ ((bits >> 16) & 1)
        bitPattern = UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }
    @inlinable public var float: Float { Float(bitPattern: UInt32(bitPattern) << 16) }
    public var description: String { float.description }
}

/// A Swift type that is the element type of a tensor dtype.
public protocol TensorScalar: Sendable {
    static var dtype: DType { get }
    /// Conversion used when casting between dtypes; integers go through Int64 exactly.
    var doubleValue: Double { get }
    var int64Value: Int64 { get }
    init(fromDouble d: Double)
    init(fromInt64 i: Int64)
}

extension Float: TensorScalar {
    public static var dtype: DType { .float32 }
    @inlinable public var doubleValue: Double { Double(self) }
    @inlinable public var int64Value: Int64 { truncatingToInt64(Double(self)) }
    @inlinable public init(fromDouble d: Double) { self = Float(d) }
    @inlinable public init(fromInt64 i: Int64) { self = Float(i) }
}
extension Double: TensorScalar {
    public static var dtype: DType { .float64 }
    @inlinable public var doubleValue: Double { self }
    @inlinable public var int64Value: Int64 { truncatingToInt64(self) }
    @inlinable public init(fromDouble d: Double) { self = d }
    @inlinable public init(fromInt64 i: Int64) { self = Double(i) }
}
extension Float16: TensorScalar {
    public static var dtype: DType { .float16 }
    @inlinable public var doubleValue: Double { Double(Float(self)) }
    @inlinable public var int64Value: Int64 { truncatingToInt64(Double(Float(self))) }
    @inlinable public init(fromDouble d: Double) { self = Float16(Float(d)) }
    @inlinable public init(fromInt64 i: Int64) { self = Float16(Float(i)) }
}
extension BFloat16: TensorScalar {
    public static var dtype: DType { .bfloat16 }
    @inlinable public var doubleValue: Double { Double(float) }
    @inlinable public var int64Value: Int64 { truncatingToInt64(Double(float)) }
    @inlinable public init(fromDouble d: Double) { self.init(Float(d)) }
    @inlinable public init(fromInt64 i: Int64) { self.init(Float(i)) }
}
extension Int64: TensorScalar {
    public static var dtype: DType { .int64 }
    @inlinable public var doubleValue: Double { Double(self) }
    @inlinable public var int64Value: Int64 { self }
    @inlinable public init(fromDouble d: Double) { self = truncatingToInt64(d) }
    @inlinable public init(fromInt64 i: Int64) { self = i }
}
extension Int32: TensorScalar {
    public static var dtype: DType { .int32 }
    @inlinable public var doubleValue: Double { Double(self) }
    @inlinable public var int64Value: Int64 { Int64(self) }
    @inlinable public init(fromDouble d: Double) { self = Int32(truncatingIfNeeded: truncatingToInt64(d)) }
    @inlinable public init(fromInt64 i: Int64) { self = Int32(truncatingIfNeeded: i) }
}
extension Int16: TensorScalar {
    public static var dtype: DType { .int16 }
    @inlinable public var doubleValue: Double { Double(self) }
    @inlinable public var int64Value: Int64 { Int64(self) }
    @inlinable public init(fromDouble d: Double) { self = Int16(truncatingIfNeeded: truncatingToInt64(d)) }
    @inlinable public init(fromInt64 i: Int64) { self = Int16(truncatingIfNeeded: i) }
}
extension Int8: TensorScalar {
    public static var dtype: DType { .int8 }
    @inlinable public var doubleValue: Double { Double(self) }
    @inlinable public var int64Value: Int64 { Int64(self) }
    @inlinable public init(fromDouble d: Double) { self = Int8(truncatingIfNeeded: truncatingToInt64(d)) }
    @inlinable public init(fromInt64 i: Int64) { self = Int8(truncatingIfNeeded: i) }
}
extension UInt8: TensorScalar {
    public static var dtype: DType { .uint8 }
    @inlinable public var doubleValue: Double { Double(self) }
    @inlinable public var int64Value: Int64 { Int64(self) }
    @inlinable public init(fromDouble d: Double) { self = UInt8(truncatingIfNeeded: truncatingToInt64(d)) }
    @inlinable public init(fromInt64 i: Int64) { self = UInt8(truncatingIfNeeded: i) }
}
extension Bool: TensorScalar {
    public static var dtype: DType { .bool }
    @inlinable public var doubleValue: Double { self ? 1 : 0 }
    @inlinable public var int64Value: Int64 { self ? 1 : 0 }
    @inlinable public init(fromDouble d: Double) { self = d != 0 }
    @inlinable public init(fromInt64 i: Int64) { self = i != 0 }
}

/// C-style truncation toward zero; out-of-range and NaN (undefined in C++) give Int64.min as x86 does.
@inlinable
public func truncatingToInt64(_ d: Double) -> Int64 {
    if d.isNaN || d >= 9.2233720368547758e18 || d < -9.2233720368547758e18 { return Int64.min }
    return Int64(d)
}

import CEmberKernels

/// Turns a run-time ``DType`` into a compile-time element type, so kernels are written once as
/// generics and specialised per dtype (no per-element dynamic dispatch).
@usableFromInline
protocol DTypeVisitor {
    associatedtype Result
    func visit<T: TensorScalar>(_ type: T.Type) -> Result
}

@inlinable
func visitDType<V: DTypeVisitor>(_ dtype: DType, _ v: V) -> V.Result {
    switch dtype {
    case .float32: return v.visit(Float.self)
    case .float64: return v.visit(Double.self)
    case .float16: return v.visit(Float16.self)
    case .bfloat16: return v.visit(BFloat16.self)
    case .int64: return v.visit(Int64.self)
    case .int32: return v.visit(Int32.self)
    case .int16: return v.visit(Int16.self)
    case .int8: return v.visit(Int8.self)
    case .uint8: return v.visit(UInt8.self)
    case .bool: return v.visit(Bool.self)
    }
}

/// Converts one element between dtypes with C++ `static_cast` semantics (integers exactly,
/// floating to integer truncating toward zero, anything to bool as `!= 0`).
@inlinable
func convertScalar<S: TensorScalar, D: TensorScalar>(_ s: S, to: D.Type) -> D {
    if S.self == D.self { return unsafeBitCast(s, to: D.self) }
    if S.self == Float.self && D.self == Float16.self { return unsafeBitCast(Float16(unsafeBitCast(s, to: Float.self)), to: D.self) }
    if S.self == Float.self && D.self == BFloat16.self { return unsafeBitCast(BFloat16(unsafeBitCast(s, to: Float.self)), to: D.self) }
    if S.self == Float16.self && D.self == Float.self { return unsafeBitCast(Float(unsafeBitCast(s, to: Float16.self)), to: D.self) }
    if S.self == BFloat16.self && D.self == Float.self { return unsafeBitCast(unsafeBitCast(s, to: BFloat16.self).float, to: D.self) }
    if D.self == Bool.self { return unsafeBitCast(s.doubleValue != 0, to: D.self) }
    if S.dtype.isFloatingPoint { return D(fromDouble: s.doubleValue) }
    return D(fromInt64: s.int64Value)
}

/// Copies `src` into `dst` element by element (same shape; `src` may have broadcast stride 0),
/// converting dtype. Both on the CPU.
func cpuCopy(from src: Tensor, to dst: Tensor) {
    visitDType(src.dtype, CopyOuter(src: src, dst: dst))
}

@inlinable
/// Converts `n` contiguous elements with a vectorised C kernel when the pair is float32 ↔ bfloat16
/// or float32 ↔ float16 (the conversions around every half-precision op); returns false otherwise.
/// Same bits as `convertScalar` (checked over all 2³² float32 patterns when the kernels were written).
@inline(__always)
func convertHalfRun<S: TensorScalar, D: TensorScalar>(_ s: UnsafePointer<S>, _ d: UnsafeMutablePointer<D>, _ n: Int) -> Bool {
    if S.self == BFloat16.self && D.self == Float.self {
        ember_bf16_to_f32(UnsafeRawPointer(s).assumingMemoryBound(to: UInt16.self), UnsafeMutableRawPointer(d).assumingMemoryBound(to: Float.self), n)
    } else if S.self == Float.self && D.self == BFloat16.self {
        ember_f32_to_bf16(UnsafeRawPointer(s).assumingMemoryBound(to: Float.self), UnsafeMutableRawPointer(d).assumingMemoryBound(to: UInt16.self), n)
    } else if S.self == Float16.self && D.self == Float.self {
        ember_f16_to_f32(UnsafeRawPointer(s).assumingMemoryBound(to: UInt16.self), UnsafeMutableRawPointer(d).assumingMemoryBound(to: Float.self), n)
    } else if S.self == Float.self && D.self == Float16.self {
        ember_f32_to_f16(UnsafeRawPointer(s).assumingMemoryBound(to: Float.self), UnsafeMutableRawPointer(d).assumingMemoryBound(to: UInt16.self), n)
    } else {
        return false
    }
    return true
}

func stridedConvert<S: TensorScalar, D: TensorScalar>(_ src: Tensor, _: S.Type, _ dst: Tensor, _: D.Type) {
    let n = dst.numel
    if n == 0 { return }
    let sp = src.pointer(S.self)
    let dp = dst.pointer(D.self)
    if src.isContiguous && dst.isContiguous && src.shape == dst.shape {
        if S.self == D.self {
            UnsafeMutableRawPointer(dp).copyMemory(from: sp, byteCount: n * MemoryLayout<S>.stride)
            return
        }
        let spS = UncheckedSendable(sp), dpS = UncheckedSendable(dp)
        parallelFor(n, grain: 1 << 16) { r in
            if convertHalfRun(spS.value + r.lowerBound, dpS.value + r.lowerBound, r.count) { return }
            for i in r { dpS.value[i] = convertScalar(spS.value[i], to: D.self) }
        }
        return
    }
    let layout = CollapsedLayout(shape: dst.shape, strides: [dst.strides, src.strides])
    let inner = layout.shape.last!
    let ds = layout.strides[0].last!, ss = layout.strides[1].last!
    let runs = n / inner
    let spS = UncheckedSendable(sp), dpS = UncheckedSendable(dp)
    parallelFor(runs, grain: Swift.max(1, (1 << 15) / inner)) { r in
        forEachRun(layout, startRun: r.lowerBound, endRun: r.upperBound) { _, off in
            let d = dpS.value + off[0], s = spS.value + off[1]
            if ds == 1 && ss == 1 {
                if convertHalfRun(s, d, inner) { return }
                for i in 0..<inner { d[i] = convertScalar(s[i], to: D.self) }
            } else {
                for i in 0..<inner { d[i * ds] = convertScalar(s[i * ss], to: D.self) }
            }
        }
    }
}

struct CopyOuter: DTypeVisitor {
    let src: Tensor, dst: Tensor
    func visit<S: TensorScalar>(_: S.Type) { visitDType(dst.dtype, CopyInner<S>(src: src, dst: dst)) }
}

struct CopyInner<S: TensorScalar>: DTypeVisitor {
    let src: Tensor, dst: Tensor
    func visit<D: TensorScalar>(_: D.Type) { stridedConvert(src, S.self, dst, D.self) }
}

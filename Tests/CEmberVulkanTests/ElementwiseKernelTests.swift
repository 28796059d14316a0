import CEmberVulkan
import Foundation
import XCTest

/// copy_strided (casts, views), fill, unary_f32, binary_f32, compare_f32, where_f32 against Swift
/// references on small shapes, on both memory paths.
final class ElementwiseKernelTests: VulkanTestCase {
    private func copy(_ src: DeviceBuffer, _ srcType: UInt32, _ dst: DeviceBuffer, _ dstType: UInt32, shape: [Int],
                      srcStrides: [Int32], dstStrides: [Int32], srcOffset: UInt32 = 0, dstOffset: UInt32 = 0) {
        let n = shape.reduce(1, *)
        let push = EmberVkCopyStridedPush(ndim: UInt32(shape.count), n: UInt32(n), src_offset: srcOffset, dst_offset: dstOffset,
                                          src_dtype: srcType, dst_dtype: dstType, shape: six(shape.map(UInt32.init), pad: 1),
                                          src_strides: six(srcStrides, pad: 0), dst_strides: six(dstStrides, pad: 0))
        dispatch(EMBER_VK_KERNEL_COPY_STRIDED, [src, dst], push, groups: groups(n, EMBER_VK_KERNEL_COPY_STRIDED))
    }

    func testCopyStridedTransposeAndViewWrite() {
        onBothMemoryPaths { path in
            // x: [3, 4]; x.t() (strides 1, 4) made contiguous.
            let x = (0..<12).map { Float($0) }
            let src = DeviceBuffer(x), dst = DeviceBuffer(bytes: 48)
            copy(src, EMBER_VK_DTYPE_F32, dst, EMBER_VK_DTYPE_F32, shape: [4, 3], srcStrides: [1, 4], dstStrides: [3, 1])
            XCTAssertEqual(dst.floats(12), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11], "\(path): x.t().contiguous()")
            // y = zeros(3, 4); y[:, 1::2] = 7 (a broadcast scalar source written into a strided view).
            let y = DeviceBuffer(bytes: 48, zeroed: true), seven = DeviceBuffer([Float(7)])
            copy(seven, EMBER_VK_DTYPE_F32, y, EMBER_VK_DTYPE_F32, shape: [3, 2], srcStrides: [0, 0], dstStrides: [4, 2], dstOffset: 1)
            XCTAssertEqual(y.floats(12), [0, 7, 0, 7, 0, 7, 0, 7, 0, 7, 0, 7], "\(path): y[:, 1::2] = 7")
        }
    }

    func testCopyCastsLikePyTorch() {
        onBothMemoryPaths { path in
            let f: [Float] = [-2.7, -0.5, 0, 0.5, 1.5, 2.7, 300, -129.9, .nan]
            let n = f.count
            let src = DeviceBuffer(f)
            func cast(to dtype: UInt32, bytes: Int) -> DeviceBuffer {
                let d = DeviceBuffer(bytes: n * bytes, zeroed: true)
                copy(src, EMBER_VK_DTYPE_F32, d, dtype, shape: [n], srcStrides: [1], dstStrides: [1])
                return d
            }
            // float → int64 / int32 truncate toward zero (NaN is unspecified in PyTorch: not compared).
            XCTAssertEqual(Array(cast(to: EMBER_VK_DTYPE_I64, bytes: 8).read(Int64.self, count: n)[0..<8]),
                           [-2, 0, 0, 0, 1, 2, 300, -129], "\(path): float → int64")
            XCTAssertEqual(Array(cast(to: EMBER_VK_DTYPE_I32, bytes: 4).read(Int32.self, count: n)[0..<8]),
                           [-2, 0, 0, 0, 1, 2, 300, -129], "\(path): float → int32")
            // → bool is x != 0 (NaN is true); → uint8 wraps (300 → 44, -129 → 127).
            XCTAssertEqual(cast(to: EMBER_VK_DTYPE_BOOL, bytes: 1).read(UInt8.self, count: n), [1, 1, 0, 1, 1, 1, 1, 1, 1],
                           "\(path): float → bool")
            XCTAssertEqual(Array(cast(to: EMBER_VK_DTYPE_U8, bytes: 1).read(UInt8.self, count: n)[0..<8]),
                           [254, 0, 0, 0, 1, 2, 44, 127], "\(path): float → uint8")
            let h = cast(to: EMBER_VK_DTYPE_F16, bytes: 2).read(UInt16.self, count: n)
            XCTAssertEqual(Array(h[0..<8]), f[0..<8].map { Float16($0).bitPattern }, "\(path): float → float16")
            let bf = cast(to: EMBER_VK_DTYPE_BF16, bytes: 2).read(UInt16.self, count: n)
            XCTAssertEqual(Array(bf[0..<8]), f[0..<8].map { bf16($0) }, "\(path): float → bfloat16")
            XCTAssertEqual(bf[8], 0x7fc0, "\(path): NaN → bfloat16")

            // int64 → float / int32 / bool, and int64 → int64 exactly (beyond 2^53).
            let ints: [Int64] = [-3, 0, 7, 1 << 40, Int64.min + 1, 9_007_199_254_740_993]
            let isrc = DeviceBuffer(ints)
            let out = DeviceBuffer(bytes: ints.count * 8, zeroed: true)
            copy(isrc, EMBER_VK_DTYPE_I64, out, EMBER_VK_DTYPE_I64, shape: [ints.count], srcStrides: [1], dstStrides: [1])
            XCTAssertEqual(out.read(Int64.self, count: ints.count), ints, "\(path): int64 → int64")
            let fo = DeviceBuffer(bytes: ints.count * 4)
            copy(isrc, EMBER_VK_DTYPE_I64, fo, EMBER_VK_DTYPE_F32, shape: [ints.count], srcStrides: [1], dstStrides: [1])
            XCTAssertEqual(Array(fo.floats(ints.count)[0..<4]), [-3, 0, 7, 1_099_511_627_776], "\(path): int64 → float")
            let bo = DeviceBuffer(bytes: ints.count, zeroed: true)
            copy(isrc, EMBER_VK_DTYPE_I64, bo, EMBER_VK_DTYPE_BOOL, shape: [ints.count], srcStrides: [1], dstStrides: [1])
            XCTAssertEqual(bo.read(UInt8.self, count: ints.count), [1, 0, 1, 1, 1, 1], "\(path): int64 → bool")
            let i32 = DeviceBuffer([Int32(-5), 6])
            let i64 = DeviceBuffer(bytes: 16)
            copy(i32, EMBER_VK_DTYPE_I32, i64, EMBER_VK_DTYPE_I64, shape: [2], srcStrides: [1], dstStrides: [1])
            XCTAssertEqual(i64.read(Int64.self, count: 2), [-5, 6], "\(path): int32 → int64")

            // bool → float, float16 / bfloat16 → float.
            let bools = DeviceBuffer([UInt8(1), 0, 1, 1, 0])
            let bf32 = DeviceBuffer(bytes: 20)
            copy(bools, EMBER_VK_DTYPE_BOOL, bf32, EMBER_VK_DTYPE_F32, shape: [5], srcStrides: [1], dstStrides: [1])
            XCTAssertEqual(bf32.floats(5), [1, 0, 1, 1, 0], "\(path): bool → float")
            let halves: [Float16] = [1.5, -2.25, 65504, 0.000061035156]
            let hsrc = DeviceBuffer(halves.map { $0.bitPattern })
            let hf = DeviceBuffer(bytes: 16)
            copy(hsrc, EMBER_VK_DTYPE_F16, hf, EMBER_VK_DTYPE_F32, shape: [4], srcStrides: [1], dstStrides: [1])
            XCTAssertEqual(hf.floats(4), halves.map { Float($0) }, "\(path): float16 → float")
            let bsrc = DeviceBuffer([UInt16(0x3fc0), 0xc020]) // 1.5, -2.5
            let bff = DeviceBuffer(bytes: 8)
            copy(bsrc, EMBER_VK_DTYPE_BF16, bff, EMBER_VK_DTYPE_F32, shape: [2], srcStrides: [1], dstStrides: [1])
            XCTAssertEqual(bff.floats(2), [1.5, -2.5], "\(path): bfloat16 → float")
            // Sub-word stores from neighbouring invocations keep each other's bytes.
            let wide = DeviceBuffer((0..<257).map { Float($0 % 3) })
            let wb = DeviceBuffer(bytes: 257, zeroed: true)
            copy(wide, EMBER_VK_DTYPE_F32, wb, EMBER_VK_DTYPE_BOOL, shape: [257], srcStrides: [1], dstStrides: [1])
            XCTAssertEqual(wb.read(UInt8.self, count: 257), (0..<257).map { $0 % 3 == 0 ? 0 : 1 }, "\(path): 257 bools")
        }
    }

    func testFill() {
        onBothMemoryPaths { path in
            let b = DeviceBuffer(bytes: 64, zeroed: true)
            dispatch(EMBER_VK_KERNEL_FILL, [b], EmberVkFillPush(offset: 3, n: 5, dtype: EMBER_VK_DTYPE_F32, value: 2.5, int_lo: 0, int_hi: 0), groups: 1)
            XCTAssertEqual(b.floats(9), [0, 0, 0, 2.5, 2.5, 2.5, 2.5, 2.5, 0], "\(path): f32")
            let v: Int64 = -(1 << 40) - 3
            let i = DeviceBuffer(bytes: 32, zeroed: true)
            dispatch(EMBER_VK_KERNEL_FILL, [i], EmberVkFillPush(offset: 1, n: 2, dtype: EMBER_VK_DTYPE_I64, value: 0,
                                                               int_lo: UInt32(truncatingIfNeeded: v), int_hi: UInt32(truncatingIfNeeded: v >> 32)), groups: 1)
            XCTAssertEqual(i.read(Int64.self, count: 4), [0, v, v, 0], "\(path): int64")
            let m = DeviceBuffer(bytes: 8, zeroed: true)
            dispatch(EMBER_VK_KERNEL_FILL, [m], EmberVkFillPush(offset: 1, n: 5, dtype: EMBER_VK_DTYPE_BOOL, value: 0, int_lo: 1, int_hi: 0), groups: 1)
            XCTAssertEqual(m.read(UInt8.self, count: 8), [0, 1, 1, 1, 1, 1, 0, 0], "\(path): bool")
            let h = DeviceBuffer(bytes: 8, zeroed: true)
            dispatch(EMBER_VK_KERNEL_FILL, [h], EmberVkFillPush(offset: 1, n: 2, dtype: EMBER_VK_DTYPE_F16, value: -1.5, int_lo: 0, int_hi: 0), groups: 1)
            XCTAssertEqual(h.read(UInt16.self, count: 4), [0, Float16(-1.5).bitPattern, Float16(-1.5).bitPattern, 0], "\(path): f16")
        }
    }

    func testUnaryOps() {
        let x: [Float] = (0..<250).map { -6 + 12 * Float($0) / 249 } + [0, -0.0, .infinity, -.infinity, .nan, 2.5, -2.5, 0.5, 1e-6, -1e-7]
        let n = x.count
        typealias Ref = (Double) -> Double
        let sig: Ref = { 1 / (1 + exp(-$0)) }
        let cases: [(UInt32, String, Ref)] = [
            (EMBER_VK_UNARY_NEG, "neg", { -$0 }), (EMBER_VK_UNARY_ABS, "abs", { abs($0) }), (EMBER_VK_UNARY_EXP, "exp", exp),
            (EMBER_VK_UNARY_LOG, "log", log), (EMBER_VK_UNARY_LOG1P, "log1p", log1p), (EMBER_VK_UNARY_EXPM1, "expm1", expm1),
            (EMBER_VK_UNARY_SQRT, "sqrt", { $0.squareRoot() }), (EMBER_VK_UNARY_RSQRT, "rsqrt", { 1 / $0.squareRoot() }),
            (EMBER_VK_UNARY_TANH, "tanh", tanh), (EMBER_VK_UNARY_SIGMOID, "sigmoid", sig),
            (EMBER_VK_UNARY_RELU, "relu", { $0.isNaN ? $0 : max($0, 0) }),
            (EMBER_VK_UNARY_GELU_TANH, "gelu_tanh", { 0.5 * $0 * (1 + tanh(0.7978845608028654 * ($0 + 0.044715 * $0 * $0 * $0))) }),
            (EMBER_VK_UNARY_GELU_ERF, "gelu_erf", { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }),
            (EMBER_VK_UNARY_SIN, "sin", sin), (EMBER_VK_UNARY_COS, "cos", cos), (EMBER_VK_UNARY_ERF, "erf", erf),
            (EMBER_VK_UNARY_SQUARE, "square", { $0 * $0 }), (EMBER_VK_UNARY_RECIPROCAL, "reciprocal", { 1 / $0 }),
            (EMBER_VK_UNARY_FLOOR, "floor", { $0.rounded(.down) }), (EMBER_VK_UNARY_CEIL, "ceil", { $0.rounded(.up) }),
            (EMBER_VK_UNARY_ROUND, "round", { $0.rounded(.toNearestOrEven) }), (EMBER_VK_UNARY_TRUNC, "trunc", { $0.rounded(.towardZero) }),
            (EMBER_VK_UNARY_SIGN, "sign", { $0.isNaN ? $0 : ($0 > 0 ? 1 : ($0 < 0 ? -1 : 0)) }),
            (EMBER_VK_UNARY_SILU, "silu", { $0 * sig($0) }), (EMBER_VK_UNARY_LOG2, "log2", log2), (EMBER_VK_UNARY_LOG10, "log10", log10),
        ]
        onBothMemoryPaths { path in
            let src = DeviceBuffer(x), dst = DeviceBuffer(bytes: n * 4)
            for (op, name, ref) in cases {
                dispatch(EMBER_VK_KERNEL_UNARY_F32, [src, dst], EmberVkUnaryF32Push(in_offset: 0, out_offset: 0, n: UInt32(n), op: op),
                         groups: groups(n, EMBER_VK_KERNEL_UNARY_F32))
                let expected = x.map { v -> Float in
                    // sin/cos of ±inf are NaN in both; GPU transcendental accuracy is checked on finite inputs.
                    Float(ref(Double(v)))
                }
                // Vulkan allows a few ulp for exp/log and 2.5 ulp for division (3e-6 relative); sin/cos
                // are absolute-error functions; erf is Abramowitz–Stegun 7.1.26 (1.5e-7 absolute).
                let atol: Float = ["sin", "cos", "gelu_erf"].contains(name) ? 2e-6 : (name == "erf" ? 3e-7 : 1e-7)
                assertClose(dst.floats(n), expected, rtol: 3e-6, atol: atol, "\(path): \(name)")
            }
        }
    }

    private func binaryPush(_ op: UInt32, _ shape: [Int], _ aShape: [Int], _ bShape: [Int], scalar: Float? = nil) -> EmberVkBinaryF32Push {
        var p = EmberVkBinaryF32Push()
        p.ndim = UInt32(shape.count); p.n = UInt32(shape.reduce(1, *)); p.op = op
        p.shape = six(shape.map(UInt32.init), pad: 1)
        p.a_strides = six(broadcastStrides(aShape, to: shape), pad: 0)
        p.b_strides = six(broadcastStrides(bShape, to: shape), pad: 0)
        if let scalar { p.b_is_scalar = 1; p.b_scalar = scalar }
        return p
    }

    func testBinaryOpsBroadcast() {
        // a: [4, 1, 3], b: [5, 3] → out [4, 5, 3].
        let shape = [4, 5, 3], aShape = [4, 1, 3], bShape = [5, 3]
        let a: [Float] = (0..<12).map { -3 + Float($0) * 0.55 }
        let b: [Float] = (0..<15).map { v in let m = 0.4 + Float(v) * 0.17; return v % 2 == 0 ? m : -m }
        let n = 60
        func at(_ vals: [Float], _ s: [Int], _ c: [Int]) -> Float {
            let cc = Array(c.suffix(s.count)).enumerated().map { s[$0.offset] == 1 ? 0 : $0.element }
            var i = 0
            for d in 0..<s.count { i = i * s[d] + cc[d] }
            return vals[i]
        }
        let phi: (Double) -> Double = { 0.5 * (1 + erf($0 / 2.0.squareRoot())) }
        typealias Ref = (Double, Double) -> Double
        let cases: [(UInt32, String, Ref)] = [
            (EMBER_VK_BINARY_ADD, "add", +), (EMBER_VK_BINARY_SUB, "sub", -), (EMBER_VK_BINARY_MUL, "mul", *), (EMBER_VK_BINARY_DIV, "div", /),
            (EMBER_VK_BINARY_POW, "pow", { pow($0, $1.rounded()) }), // integral exponents: defined for negative bases
            (EMBER_VK_BINARY_MAXIMUM, "maximum", { max($0, $1) }), (EMBER_VK_BINARY_MINIMUM, "minimum", { min($0, $1) }),
            (EMBER_VK_BINARY_ATAN2, "atan2", atan2),
            (EMBER_VK_BINARY_REMAINDER, "remainder", { a, b in let r = fmod(a, b); return r != 0 && (r < 0) != (b < 0) ? r + b : r }),
            (EMBER_VK_BINARY_FLOOR_DIVIDE, "floor_divide", { ($0 / $1).rounded(.down) }),
            (EMBER_VK_BINARY_GELU_TANH_BACKWARD, "gelu_tanh_backward", { x, g in
                let k = 0.7978845608028654, u = k * (x + 0.044715 * x * x * x), t = tanh(u)
                return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)) }),
            (EMBER_VK_BINARY_GELU_ERF_BACKWARD, "gelu_erf_backward", { x, g in g * (phi(x) + x * exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()) }),
            (EMBER_VK_BINARY_TANH_BACKWARD, "tanh_backward", { y, g in g * (1 - y * y) }),
            (EMBER_VK_BINARY_SIGMOID_BACKWARD, "sigmoid_backward", { y, g in g * y * (1 - y) }),
            (EMBER_VK_BINARY_RELU_BACKWARD, "relu_backward", { x, g in x > 0 ? g : 0 }),
            (EMBER_VK_BINARY_SILU_BACKWARD, "silu_backward", { x, g in let s = 1 / (1 + exp(-x)); return g * s * (1 + x * (1 - s)) }),
        ]
        onBothMemoryPaths { path in
            let da = DeviceBuffer(a), out = DeviceBuffer(bytes: n * 4)
            for (op, name, ref) in cases {
                let bvals = name == "pow" ? b.map { ($0 * 3).rounded() } : b
                let db = DeviceBuffer(bvals)
                dispatch(EMBER_VK_KERNEL_BINARY_F32, [da, db, out], binaryPush(op, shape, aShape, bShape), groups: 1)
                let expected = (0..<n).map { i -> Float in
                    let c = coordinates(i, shape)
                    return Float(ref(Double(at(a, aShape, c)), Double(at(bvals, bShape, c))))
                }
                assertClose(out.floats(n), expected, rtol: 1e-5, atol: 1e-6, "\(path): \(name)")
            }
            // Scalar b, and NaN propagation of maximum/minimum.
            let nan = DeviceBuffer([Float.nan, 1, -1])
            dispatch(EMBER_VK_KERNEL_BINARY_F32, [nan, nan, out], binaryPush(EMBER_VK_BINARY_MAXIMUM, [3], [3], [3], scalar: 0), groups: 1)
            assertClose(Array(out.floats(3)), [.nan, 1, 0], "\(path): maximum(x, 0) with NaN")
            dispatch(EMBER_VK_KERNEL_BINARY_F32, [nan, nan, out], binaryPush(EMBER_VK_BINARY_MINIMUM, [3], [3], [3], scalar: .nan), groups: 1)
            assertClose(Array(out.floats(3)), [.nan, .nan, .nan], "\(path): minimum(x, NaN)")
        }
    }

    func testCompareAndWhere() {
        let a: [Float] = [1, 2, .nan, -1, 0, 3]
        let b: [Float] = [1, 3, .nan, -2, 0, 0]
        let cases: [(UInt32, String, (Float, Float) -> Bool)] = [
            (EMBER_VK_COMPARE_EQ, "eq", ==), (EMBER_VK_COMPARE_NE, "ne", !=), (EMBER_VK_COMPARE_LT, "lt", <),
            (EMBER_VK_COMPARE_LE, "le", <=), (EMBER_VK_COMPARE_GT, "gt", >), (EMBER_VK_COMPARE_GE, "ge", >=),
            (EMBER_VK_COMPARE_LOGICAL_AND, "logical_and", { $0 != 0 && $1 != 0 }),
            (EMBER_VK_COMPARE_LOGICAL_OR, "logical_or", { $0 != 0 || $1 != 0 }),
            (EMBER_VK_COMPARE_LOGICAL_XOR, "logical_xor", { ($0 != 0) != ($1 != 0) }),
        ]
        onBothMemoryPaths { path in
            let da = DeviceBuffer(a), db = DeviceBuffer(b), out = DeviceBuffer(bytes: 8, zeroed: true)
            for (op, name, ref) in cases {
                var p = EmberVkCompareF32Push()
                p.ndim = 1; p.n = 6; p.op = op; p.shape = six([6], pad: 1); p.a_strides = six([1], pad: 0); p.b_strides = six([1], pad: 0)
                p.out_offset = 1 // an odd byte offset: neighbours must survive
                dispatch(EMBER_VK_KERNEL_COMPARE_F32, [da, db, out], p, groups: 1)
                XCTAssertEqual(Array(out.read(UInt8.self, count: 8)[1..<7]), zip(a, b).map { ref($0, $1) ? 1 : 0 }, "\(path): \(name)")
            }
            // masked_fill: where(mask [1, 4] broadcast over [3, 4], -inf, x [3, 4]).
            let x = (0..<12).map { Float($0) }
            let mask = DeviceBuffer([UInt8(0), 1, 1, 0]), dx = DeviceBuffer(x), out2 = DeviceBuffer(bytes: 48)
            var p = EmberVkWhereF32Push()
            p.ndim = 2; p.n = 12; p.a_is_scalar = 1; p.a_scalar = -.infinity
            p.shape = six([3, 4], pad: 1); p.cond_strides = six([0, 1], pad: 0); p.b_strides = six([4, 1], pad: 0)
            dispatch(EMBER_VK_KERNEL_WHERE_F32, [mask, dx, dx, out2], p, groups: 1)
            XCTAssertEqual(out2.floats(12), x.enumerated().map { [1, 2].contains($0.offset % 4) ? -.infinity : $0.element }, "\(path): masked_fill")
            // where with a tensor a.
            let av = DeviceBuffer(x.map { -$0 })
            p.a_is_scalar = 0; p.a_strides = six([4, 1], pad: 0)
            dispatch(EMBER_VK_KERNEL_WHERE_F32, [mask, av, dx, out2], p, groups: 1)
            XCTAssertEqual(out2.floats(12), x.enumerated().map { [1, 2].contains($0.offset % 4) ? -$0.element : $0.element }, "\(path): where")
        }
    }
}

/// float32 → bfloat16 bits, round to nearest even.
func bf16(_ f: Float) -> UInt16 {
    let b = f.bitPattern
    return UInt16((b + 0x7fff + ((b >> 16) & 1)) >> 16)
}

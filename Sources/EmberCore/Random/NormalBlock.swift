import Foundation

/// The 16-element Box–Muller blocks of PyTorch's `normal_fill` (`docs/torch-rng.md` §5.1, §5.3,
/// §5.5). Element j pairs with element j+8; the float block reproduces `avx_mathfun`'s
/// `log256_ps` / `sincos256_ps` as GCC compiles them with `-mfma` (the "avx2" variant that
/// PyTorch uses on every x86-64 machine with AVX2 or AVX-512), using only IEEE operations and
/// correctly rounded fmaf, so it is bit-exact on any platform.
@usableFromInline
enum NormalBlock {
    // Constants as float32 bit patterns (avx_mathfun.h).
    @usableFromInline static let sqrtHalf = Float(bitPattern: 0x3F35_04F3)
    @usableFromInline static let logP0 = Float(bitPattern: 0x3D90_21BB)
    @usableFromInline static let logP1 = Float(bitPattern: 0xBDEB_D1B8)
    @usableFromInline static let logP2 = Float(bitPattern: 0x3DEF_251A)
    @usableFromInline static let logP3 = Float(bitPattern: 0xBDFE_5D4F)
    @usableFromInline static let logP4 = Float(bitPattern: 0x3E11_E9BF)
    @usableFromInline static let logP5 = Float(bitPattern: 0xBE2A_AE50)
    @usableFromInline static let logP6 = Float(bitPattern: 0x3E4C_CEAC)
    @usableFromInline static let logP7 = Float(bitPattern: 0xBE7F_FFFC)
    @usableFromInline static let logP8 = Float(bitPattern: 0x3EAA_AAAA)
    @usableFromInline static let logQ1 = Float(bitPattern: 0xB95E_8083)
    @usableFromInline static let logQ2 = Float(bitPattern: 0x3F31_8000)
    @usableFromInline static let fourOverPi = Float(bitPattern: 0x3FA2_F983)
    @usableFromInline static let minusDP1 = Float(bitPattern: 0xBF49_0000)
    @usableFromInline static let minusDP2 = Float(bitPattern: 0xB97D_A000)
    @usableFromInline static let minusDP3 = Float(bitPattern: 0xB322_2169)
    @usableFromInline static let cosC0 = Float(bitPattern: 0x37CC_F5CE)
    @usableFromInline static let cosC1 = Float(bitPattern: 0xBAB6_061A)
    @usableFromInline static let cosC2 = Float(bitPattern: 0x3D2A_AAA5)
    @usableFromInline static let sinS0 = Float(bitPattern: 0xB94C_A1F9)
    @usableFromInline static let sinS1 = Float(bitPattern: 0x3C08_839E)
    @usableFromInline static let sinS2 = Float(bitPattern: 0xBE2A_AAA3)
    @usableFromInline static let twoPi = Float(bitPattern: 0x40C9_0FDB)

    /// `log256_ps` for x in (0, 1] (the NaN and denormal guards never fire on these inputs).
    @inlinable @inline(__always)
    static func log(_ x: SIMD8<Float>) -> SIMD8<Float> {
        typealias V = SIMD8<Float>
        let bits = bitsOf(x)
        let exponent = (bits &>> 23) &- 127  // x > 0, so the arithmetic shift is the logical one
        var e = exactFloat(exponent) + 1
        var m = floatsOf((bits & Int32(bitPattern: 0x807F_FFFF)) | 0x3F00_0000)
        // if m < sqrt(1/2): e -= 1, m = (m - 1) + m; else m = m - 1 (+0), two separate roundings.
        let small = lessMask(nonNegative: m, V(repeating: sqrtHalf))
        let addBack = floatsOf(bitsOf(m) & small)
        m = m - 1
        e = e - floatsOf(bitsOf(V(repeating: 1)) & small)
        m = m + addBack
        let z = m * m
        var y = fusedMultiplyAdd(V(repeating: logP0), m, V(repeating: logP1))
        y = fusedMultiplyAdd(y, m, V(repeating: logP2))
        y = fusedMultiplyAdd(y, m, V(repeating: logP3))
        y = fusedMultiplyAdd(y, m, V(repeating: logP4))
        y = fusedMultiplyAdd(y, m, V(repeating: logP5))
        y = fusedMultiplyAdd(y, m, V(repeating: logP6))
        y = fusedMultiplyAdd(y, m, V(repeating: logP7))
        y = fusedMultiplyAdd(y, m, V(repeating: logP8))
        y = y * m
        y = fusedMultiplyAdd(y, z, e * logQ1)
        y = y - z * 0.5
        return (m + y) + e * logQ2
    }

    /// `sincos256_ps`: (sin, cos) of x, with avx_mathfun's range reduction and polynomials.
    /// Valid for |x| < 2^22 * pi/4 (the Box–Muller angles are in [0, 2*pi)). Masks are built
    /// with integer arithmetic (see `fusedMultiplyAdd`).
    @inlinable @inline(__always)
    static func sincos(_ input: SIMD8<Float>) -> (sin: SIMD8<Float>, cos: SIMD8<Float>) {
        typealias V = SIMD8<Float>
        let inputBits = bitsOf(input)
        var signSin = inputBits & Int32.min
        var x = floatsOf(inputBits & Int32.max)
        // j = int32 truncation of x * 4/pi (x >= 0): round to nearest with the 2^23 magic
        // number, then step down where that rounded up.
        let scaled = x * fourOverPi
        let magic = scaled + 0x1p23
        let nearest = magic - 0x1p23
        var j = (bitsOf(magic) &- 0x4B00_0000) &+ lessMask(nonNegative: scaled, nearest)
        j = (j &+ 1) & ~1
        let y = exactFloat(j)
        let polyMaskClear = 0 &- ((j &>> 1) & 1)  // all ones where (j & 2) != 0
        x = fusedMultiplyAdd(y, V(repeating: minusDP1), x)
        x = fusedMultiplyAdd(y, V(repeating: minusDP2), x)
        x = fusedMultiplyAdd(y, V(repeating: minusDP3), x)
        let signCos = (~(j &- 2) & 4) &<< 29
        signSin ^= (j & 4) &<< 29  // swap_sin
        let z = x * x
        var yc = fusedMultiplyAdd(V(repeating: cosC0), z, V(repeating: cosC1))
        yc = fusedMultiplyAdd(yc, z, V(repeating: cosC2))
        yc = yc * z
        yc = fusedMultiplyAdd(yc, z, -(z * 0.5))
        yc = yc + 1
        var ys = fusedMultiplyAdd(V(repeating: sinS0), z, V(repeating: sinS1))
        ys = fusedMultiplyAdd(ys, z, V(repeating: sinS2))
        ys = ys * z
        ys = fusedMultiplyAdd(ys, x, x)
        let sinValue = select(polyMaskClear, yc, ys)
        let cosValue = select(polyMaskClear, ys, yc)
        return (floatsOf(bitsOf(sinValue) ^ signSin), floatsOf(bitsOf(cosValue) ^ signCos))
    }

    /// The float32 "avx2" block on uniforms `low` (b[0..8)) and `high` (b[8..16)).
    /// - Returns: the 16 outputs, `(b[0..8), b[8..16))`.
    @inlinable @inline(__always)
    static func block(low: SIMD8<Float>, high: SIMD8<Float>, mean: Float, std: Float)
        -> (SIMD8<Float>, SIMD8<Float>)
    {
        let radius = (-2 * log(1 - low)).squareRoot()
        let theta = twoPi * high
        let (s, c) = sincos(theta)
        let stdV = SIMD8<Float>(repeating: std)
        let meanV = SIMD8<Float>(repeating: mean)
        return (fusedMultiplyAdd(radius * c, stdV, meanV), fusedMultiplyAdd(radius * s, stdV, meanV))
    }

    /// The float32 block over 16 raw draws at `draws`, written to `out[0..<16]`.
    @inlinable @inline(__always)
    static func block(draws: UnsafePointer<UInt32>, out: UnsafeMutablePointer<Float>, mean: Float, std: Float) {
        let raw = UnsafeRawPointer(draws)
        let low = unitFloats(raw.loadUnaligned(as: SIMD8<UInt32>.self))
        let high = unitFloats(raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<UInt32>.self))
        let (a, b) = block(low: low, high: high, mean: mean, std: std)
        UnsafeMutableRawPointer(out).storeBytes(of: a, as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(out).storeBytes(of: b, toByteOffset: 32, as: SIMD8<Float>.self)
    }

    /// The float64 block (§5.5, both variants) over 32 raw draws (16 `random64()` values),
    /// written to `out[0..<16]`; libm `log`, `cos`, `sin` and `fma`.
    @inlinable
    static func block(draws: UnsafePointer<UInt32>, out: UnsafeMutablePointer<Double>, mean: Double, std: Double) {
        var u = (SIMD16<Double>())
        for k in 0..<16 {
            u[k] = Generator.unitDouble((UInt64(draws[2 * k]) << 32) | UInt64(draws[2 * k + 1]))
        }
        for j in 0..<8 {
            let radius = (-2 * Foundation.log(1 - u[j])).squareRoot()
            let theta = (2.0 * Double.pi) * u[j + 8]
            out[j] = mean.addingProduct(radius * Foundation.cos(theta), std)
            out[j + 8] = mean.addingProduct(radius * Foundation.sin(theta), std)
        }
    }
}

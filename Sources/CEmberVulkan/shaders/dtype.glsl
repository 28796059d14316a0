// Reading and writing any Ember dtype in a buffer seen as 32-bit words, so that no 8/16-bit
// storage feature is needed. Sub-word stores use two atomics so that neighbours in the same word
// written by other invocations are not lost. Define SRC and DST (buffer arrays) before including.

// A loaded value: `f` always; `lo`/`hi` hold the exact integer when `is_int`.
struct Val { float f; uint lo; uint hi; bool is_int; };

float bf16_to_f(uint bits) { return uintBitsToFloat(bits << 16); }
uint f_to_bf16(float f) {
    uint b = floatBitsToUint(f);
    if (isnan(f)) return 0x7fc0u;
    return (b + 0x7fffu + ((b >> 16) & 1u)) >> 16; // round to nearest even
}

Val load_val(uint dtype, uint e) {
    Val v;
    v.is_int = true;
    v.hi = 0u;
    if (dtype == EMBER_VK_DTYPE_F32) {
        v.f = uintBitsToFloat(SRC[e]); v.is_int = false;
    } else if (dtype == EMBER_VK_DTYPE_I64) {
        v.lo = SRC[2u * e]; v.hi = SRC[2u * e + 1u];
        // Convert the magnitude (two's complement negated when negative), so that small negative
        // values are exact; large ones round twice (hi, then the sum), within 1 ulp.
        bool neg = (v.hi >> 31) != 0u;
        uint mlo = neg ? ~v.lo + 1u : v.lo;
        uint mhi = neg ? ~v.hi + (mlo == 0u ? 1u : 0u) : v.hi;
        float mag = float(mhi) * 4294967296.0 + float(mlo);
        v.f = neg ? -mag : mag;
    } else if (dtype == EMBER_VK_DTYPE_I32) {
        int x = int(SRC[e]);
        v.lo = uint(x); v.hi = x < 0 ? 0xffffffffu : 0u; v.f = float(x);
    } else if (dtype == EMBER_VK_DTYPE_BOOL || dtype == EMBER_VK_DTYPE_U8) {
        v.lo = (SRC[e >> 2] >> ((e & 3u) * 8u)) & 0xffu; v.f = float(v.lo);
    } else {
        uint h = (SRC[e >> 1] >> ((e & 1u) * 16u)) & 0xffffu;
        v.f = dtype == EMBER_VK_DTYPE_F16 ? unpackHalf2x16(h).x : bf16_to_f(h);
        v.is_int = false;
    }
    return v;
}

void store_bits(uint word, uint shift, uint mask, uint bits) {
    atomicAnd(DST[word], ~(mask << shift));
    atomicOr(DST[word], (bits & mask) << shift);
}

// Float to int64 truncating toward zero; NaN and out-of-range give INT64_MIN as on x86.
void f_to_i64(float f, out uint lo, out uint hi) {
    float t = trunc(f);
    if (isnan(t) || abs(t) >= 9.223372e18) { lo = 0u; hi = 0x80000000u; return; }
    if (abs(t) < 2147483648.0) { int x = int(t); lo = uint(x); hi = x < 0 ? 0xffffffffu : 0u; return; }
    float h = floor(t / 4294967296.0); // exact: both are powers-of-two scalings of t
    lo = uint(t - h * 4294967296.0);
    hi = uint(int(h));
}

void store_val(uint dtype, uint e, Val v) {
    if (dtype == EMBER_VK_DTYPE_F32) {
        DST[e] = floatBitsToUint(v.f);
    } else if (dtype == EMBER_VK_DTYPE_I64) {
        uint lo = v.lo, hi = v.hi;
        if (!v.is_int) f_to_i64(v.f, lo, hi);
        DST[2u * e] = lo; DST[2u * e + 1u] = hi;
    } else if (dtype == EMBER_VK_DTYPE_I32) {
        uint lo = v.lo, hi;
        if (!v.is_int) f_to_i64(v.f, lo, hi);
        DST[e] = lo;
    } else if (dtype == EMBER_VK_DTYPE_BOOL) {
        bool nz = v.is_int ? (v.lo | v.hi) != 0u : !(v.f == 0.0);
        store_bits(e >> 2, (e & 3u) * 8u, 0xffu, nz ? 1u : 0u);
    } else if (dtype == EMBER_VK_DTYPE_U8) {
        uint lo = v.lo, hi;
        if (!v.is_int) f_to_i64(v.f, lo, hi);
        store_bits(e >> 2, (e & 3u) * 8u, 0xffu, lo);
    } else {
        uint h = dtype == EMBER_VK_DTYPE_F16 ? packHalf2x16(vec2(v.f, 0.0)) : f_to_bf16(v.f);
        store_bits(e >> 1, (e & 1u) * 16u, 0xffffu, h);
    }
}

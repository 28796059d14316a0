// Helpers shared by every kernel: grid indexing, strided offsets and float32 math that GLSL lacks
// or leaves loosely specified (erf, log1p, expm1, NaN-propagating max). Included, never compiled alone.
#include "../include/ember_vulkan_ops.h"

// Grids larger than 65535 groups are split over x and y by the host (ember_vk_dispatch_linear).
// Every kernel that uses linear_id() has local_size_x = 256. (The literal, not gl_WorkGroupSize.x:
// lavapipe 22.3 read that built-in as 1.)
uint group_linear() { return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; }
uint linear_id() { return group_linear() * 256u + gl_LocalInvocationID.x; }

// Element offset of the i-th element (row-major order over `shape`) of a view with element
// `strides` (0 = broadcast). 32-bit: a binding holds at most 2^32 bytes (maxStorageBufferRange).
uint strided_offset(uint i, uint ndim, uint shape[6], int strides[6], uint base) {
    int off = int(base);
    for (int d = int(ndim) - 1; d >= 0; d--) {
        uint s = shape[d];
        uint c = i % s;
        i /= s;
        off += int(c) * strides[d];
    }
    return uint(off);
}

#define NAN_F uintBitsToFloat(0x7fc00000u)
#define INF_F uintBitsToFloat(0x7f800000u)
bool sign_bit(float x) { return (floatBitsToUint(x) >> 31) != 0u; }

// NaN wins, as torch.maximum / torch.max.
float max_nan(float a, float b) { return (isnan(a) || a > b) ? a : b; }
float min_nan(float a, float b) { return (isnan(a) || a < b) ? a : b; }

// Kahan's tricks: accurate near 0 without a libm.
float log1p_f(float x) {
    float u = 1.0 + x;
    if (u == 1.0) return x;
    if (isinf(u)) return u;
    return log(u) * x / (u - 1.0);
}
float expm1_f(float x) {
    if (abs(x) < 1e-5) return x + 0.5 * x * x + x * x * x / 6.0;
    float u = exp(x);
    if (u == 1.0) return x;
    float um1 = u - 1.0;
    if (um1 == -1.0) return -1.0;
    if (isinf(u)) return u;
    return um1 * x / log(u);
}
// tanh via expm1: accurate for small |x|, exact ±1 beyond 9 (where float tanh rounds to 1).
float tanh_f(float x) {
    if (isnan(x)) return x;
    float ax = abs(x);
    if (ax > 9.0) return sign(x);
    float e = expm1_f(2.0 * ax);
    return sign(x) * (e / (e + 2.0));
}
// erf: Taylor series near 0 (relative accuracy), Abramowitz & Stegun 7.1.26 elsewhere
// (absolute error 1.5e-7).
float erf_f(float x) {
    if (isnan(x)) return x;
    float ax = abs(x);
    if (ax < 0.5) {
        float x2 = x * x;
        return x * (1.1283791671 + x2 * (-0.3761263890 + x2 * (0.1128379167 + x2 * (-0.0268661706 + x2 * 0.0052239776))));
    }
    if (ax > 4.0) return sign(x);
    float t = 1.0 / (1.0 + 0.3275911 * ax);
    float p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign(x) * (1.0 - p * exp(-ax * ax));
}
float sigmoid_f(float x) { return 1.0 / (1.0 + exp(-x)); }
// GELU, tanh approximation (book ch. 4), written as x·sigmoid(2u) to avoid 1 + tanh cancelling.
float gelu_tanh_f(float x) {
    float u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
    return x / (1.0 + exp(-2.0 * u));
}
float gelu_erf_f(float x) { return 0.5 * x * (1.0 + erf_f(x * 0.7071067811865476)); }

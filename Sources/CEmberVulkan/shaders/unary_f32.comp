#version 450
#extension GL_GOOGLE_include_directive : require
// y = op(x), contiguous float32 (in place when both bindings are the same buffer and offset).
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Push {
    uint in_offset;
    uint out_offset;
    uint n;
    uint op;
} pc;

float unary(uint op, float v) {
    switch (op) {
    case EMBER_VK_UNARY_NEG: return -v;
    case EMBER_VK_UNARY_ABS: return abs(v);
    case EMBER_VK_UNARY_EXP: return exp(v);
    case EMBER_VK_UNARY_LOG: return v < 0.0 ? NAN_F : (v == 0.0 ? -INF_F : log(v));
    case EMBER_VK_UNARY_LOG1P: return v < -1.0 ? NAN_F : (v == -1.0 ? -INF_F : log1p_f(v));
    case EMBER_VK_UNARY_EXPM1: return expm1_f(v);
    case EMBER_VK_UNARY_SQRT: return v < 0.0 ? NAN_F : sqrt(v);
    case EMBER_VK_UNARY_RSQRT: return v < 0.0 ? NAN_F : (v == 0.0 ? (sign_bit(v) ? -INF_F : INF_F) : inversesqrt(v)); // ±0 → ±inf
    case EMBER_VK_UNARY_TANH: return tanh_f(v);
    case EMBER_VK_UNARY_SIGMOID: return sigmoid_f(v);
    case EMBER_VK_UNARY_RELU: return (isnan(v) || v > 0.0) ? v : 0.0;
    case EMBER_VK_UNARY_GELU_TANH: return gelu_tanh_f(v);
    case EMBER_VK_UNARY_GELU_ERF: return gelu_erf_f(v);
    case EMBER_VK_UNARY_SIN: return sin(v);
    case EMBER_VK_UNARY_COS: return cos(v);
    case EMBER_VK_UNARY_ERF: return erf_f(v);
    case EMBER_VK_UNARY_SQUARE: return v * v;
    case EMBER_VK_UNARY_RECIPROCAL: return 1.0 / v;
    case EMBER_VK_UNARY_FLOOR: return floor(v);
    case EMBER_VK_UNARY_CEIL: return ceil(v);
    case EMBER_VK_UNARY_ROUND: return roundEven(v);
    case EMBER_VK_UNARY_TRUNC: return trunc(v);
    case EMBER_VK_UNARY_SIGN: return isnan(v) ? v : sign(v);
    case EMBER_VK_UNARY_SILU: return v / (1.0 + exp(-v));
    case EMBER_VK_UNARY_LOG2: return v < 0.0 ? NAN_F : (v == 0.0 ? -INF_F : log2(v));
    case EMBER_VK_UNARY_LOG10: return v < 0.0 ? NAN_F : (v == 0.0 ? -INF_F : log2(v) * 0.30102999566398120);
    }
    return NAN_F;
}

void main() {
    uint i = linear_id();
    if (i >= pc.n) return;
    y[pc.out_offset + i] = unary(pc.op, x[pc.in_offset + i]);
}

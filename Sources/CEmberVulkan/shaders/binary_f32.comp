#version 450
#extension GL_GOOGLE_include_directive : require
// out = op(a, b): a and b strided over the output shape (stride 0 broadcasts), or b a push
// constant scalar; out contiguous float32. Also the elementwise gradient helpers.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a_data[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b_data[]; };
layout(std430, set = 0, binding = 2) buffer Out { float out_data[]; };
layout(push_constant) uniform Push {
    uint ndim;
    uint n;
    uint a_offset;
    uint b_offset;
    uint out_offset;
    uint op;
    uint b_is_scalar;
    float b_scalar;
    uint shape[6];
    int a_strides[6];
    int b_strides[6];
} pc;

bool is_odd_int(float y) { return trunc(y) == y && abs(y) < 16777216.0 && (int(y) & 1) == 1; }

// torch.pow for floats: defined for negative bases with integral exponents.
float pow_f(float x, float y) {
    if (y == 0.0 || x == 1.0) return 1.0;
    if (isnan(x) || isnan(y)) return NAN_F;
    if (y == 1.0) return x;
    if (y == 2.0) return x * x;
    if (y == 0.5) return x < 0.0 ? NAN_F : sqrt(x);
    if (x == 0.0) {
        bool neg = sign_bit(x) && is_odd_int(y);
        float r = y > 0.0 ? 0.0 : INF_F;
        return neg ? -r : r;
    }
    if (x < 0.0) {
        if (isinf(y)) return abs(x) == 1.0 ? 1.0 : ((abs(x) > 1.0) == (y > 0.0) ? INF_F : 0.0);
        if (trunc(y) != y) return NAN_F;
        float r = exp2(y * log2(-x));
        return is_odd_int(y) ? -r : r;
    }
    return exp2(y * log2(x));
}

float remainder_f(float a, float b) {
    float r = a - b * trunc(a / b);
    if (r != 0.0 && ((r < 0.0) != (b < 0.0))) r += b;
    return r;
}

float floor_divide_f(float a, float b) {
    if (b == 0.0) return a / b;
    float m = a - b * trunc(a / b);
    float d = (a - m) / b;
    if (m != 0.0 && ((b < 0.0) != (m < 0.0))) d -= 1.0;
    float f = floor(d);
    if (d - f > 0.5) f += 1.0;
    return f;
}

float atan2_f(float a, float b) {
    if (a == 0.0 && b == 0.0) return sign_bit(b) ? (sign_bit(a) ? -3.14159265358979 : 3.14159265358979) : a;
    return atan(a, b);
}

float gelu_tanh_backward(float x, float g) {
    float u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
    float th = tanh_f(u);
    float du = 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * x * x);
    return g * (0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * du);
}

float gelu_erf_backward(float x, float g) {
    float cdf = 0.5 * (1.0 + erf_f(x * 0.7071067811865476));
    float pdf = 0.3989422804014327 * exp(-0.5 * x * x);
    return g * (cdf + x * pdf);
}

float binary(uint op, float a, float b) {
    switch (op) {
    case EMBER_VK_BINARY_ADD: return a + b;
    case EMBER_VK_BINARY_SUB: return a - b;
    case EMBER_VK_BINARY_MUL: return a * b;
    case EMBER_VK_BINARY_DIV: return a / b;
    case EMBER_VK_BINARY_POW: return pow_f(a, b);
    case EMBER_VK_BINARY_MAXIMUM: return isnan(b) ? b : max_nan(a, b);
    case EMBER_VK_BINARY_MINIMUM: return isnan(b) ? b : min_nan(a, b);
    case EMBER_VK_BINARY_ATAN2: return atan2_f(a, b);
    case EMBER_VK_BINARY_REMAINDER: return remainder_f(a, b);
    case EMBER_VK_BINARY_FLOOR_DIVIDE: return floor_divide_f(a, b);
    case EMBER_VK_BINARY_GELU_TANH_BACKWARD: return gelu_tanh_backward(a, b);
    case EMBER_VK_BINARY_GELU_ERF_BACKWARD: return gelu_erf_backward(a, b);
    case EMBER_VK_BINARY_TANH_BACKWARD: return b * (1.0 - a * a);
    case EMBER_VK_BINARY_SIGMOID_BACKWARD: return b * a * (1.0 - a);
    case EMBER_VK_BINARY_RELU_BACKWARD: return a > 0.0 ? b : 0.0;
    case EMBER_VK_BINARY_SILU_BACKWARD: { float s = sigmoid_f(a); return b * s * (1.0 + a * (1.0 - s)); }
    }
    return NAN_F;
}

void main() {
    uint i = linear_id();
    if (i >= pc.n) return;
    float a = a_data[strided_offset(i, pc.ndim, pc.shape, pc.a_strides, pc.a_offset)];
    float b = pc.b_is_scalar != 0u ? pc.b_scalar : b_data[strided_offset(i, pc.ndim, pc.shape, pc.b_strides, pc.b_offset)];
    out_data[pc.out_offset + i] = binary(pc.op, a, b);
}

#version 450
#extension GL_GOOGLE_include_directive : require
// out = op(a, b) as bool bytes (contiguous), a and b float32 strided (stride 0 broadcasts) or b a
// scalar. Comparisons with NaN are false except ne, as in IEEE and PyTorch.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a_data[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b_data[]; };
layout(std430, set = 0, binding = 2) buffer Out { uint out_words[]; };
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

bool compare(uint op, float a, float b) {
    switch (op) {
    case EMBER_VK_COMPARE_EQ: return a == b;
    case EMBER_VK_COMPARE_NE: return !(a == b);
    case EMBER_VK_COMPARE_LT: return a < b;
    case EMBER_VK_COMPARE_LE: return a <= b;
    case EMBER_VK_COMPARE_GT: return a > b;
    case EMBER_VK_COMPARE_GE: return a >= b;
    case EMBER_VK_COMPARE_LOGICAL_AND: return !(a == 0.0) && !(b == 0.0);
    case EMBER_VK_COMPARE_LOGICAL_OR: return !(a == 0.0) || !(b == 0.0);
    case EMBER_VK_COMPARE_LOGICAL_XOR: return !(a == 0.0) != !(b == 0.0);
    }
    return false;
}

void main() {
    uint i = linear_id();
    if (i >= pc.n) return;
    float a = a_data[strided_offset(i, pc.ndim, pc.shape, pc.a_strides, pc.a_offset)];
    float b = pc.b_is_scalar != 0u ? pc.b_scalar : b_data[strided_offset(i, pc.ndim, pc.shape, pc.b_strides, pc.b_offset)];
    uint e = pc.out_offset + i;
    uint shift = (e & 3u) * 8u;
    // Neighbouring bytes of the word belong to other invocations: two atomics keep them.
    atomicAnd(out_words[e >> 2], ~(0xffu << shift));
    if (compare(pc.op, a, b)) atomicOr(out_words[e >> 2], 1u << shift);
}

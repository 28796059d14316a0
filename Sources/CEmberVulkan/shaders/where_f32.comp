#version 450
#extension GL_GOOGLE_include_directive : require
// out = cond ? a : b (torch.where; masked_fill is where(mask, value, x) with a scalar a).
// cond is bool bytes, a and b float32, all strided over the output shape; out contiguous.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer C { uint cond_words[]; };
layout(std430, set = 0, binding = 1) readonly buffer A { float a_data[]; };
layout(std430, set = 0, binding = 2) readonly buffer B { float b_data[]; };
layout(std430, set = 0, binding = 3) buffer Out { float out_data[]; };
layout(push_constant) uniform Push {
    uint ndim;
    uint n;
    uint cond_offset;
    uint a_offset;
    uint b_offset;
    uint out_offset;
    uint a_is_scalar;
    float a_scalar;
    uint shape[6];
    int cond_strides[6];
    int a_strides[6];
    int b_strides[6];
} pc;

void main() {
    uint i = linear_id();
    if (i >= pc.n) return;
    uint c = strided_offset(i, pc.ndim, pc.shape, pc.cond_strides, pc.cond_offset);
    bool take_a = ((cond_words[c >> 2] >> ((c & 3u) * 8u)) & 0xffu) != 0u;
    float v;
    if (take_a) v = pc.a_is_scalar != 0u ? pc.a_scalar : a_data[strided_offset(i, pc.ndim, pc.shape, pc.a_strides, pc.a_offset)];
    else v = b_data[strided_offset(i, pc.ndim, pc.shape, pc.b_strides, pc.b_offset)];
    out_data[pc.out_offset + i] = v;
}

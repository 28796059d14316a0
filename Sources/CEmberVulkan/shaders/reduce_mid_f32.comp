#version 450
#extension GL_GOOGLE_include_directive : require
// out[o, i] = reduce(x[o, 0..<len, i]) for contiguous x [outer, len, inner]: reductions over a
// leading or middle dim (bias gradients, sum over batch) without a transpose. One invocation per
// output, a sequential loop: deterministic.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) buffer Out { float out_data[]; };
layout(push_constant) uniform Push {
    uint in_offset;
    uint out_offset;
    uint outer;
    uint len;
    uint inner;
    uint op;
} pc;

void main() {
    uint t = linear_id();
    if (t >= pc.outer * pc.inner) return;
    uint o = t / pc.inner, i = t % pc.inner;
    uint base = pc.in_offset + o * pc.len * pc.inner + i;
    float acc = pc.op == EMBER_VK_REDUCE_PROD ? 1.0 : (pc.op == EMBER_VK_REDUCE_MAX ? -INF_F : (pc.op == EMBER_VK_REDUCE_MIN ? INF_F : 0.0));
    for (uint j = 0u; j < pc.len; j++) {
        float v = x[base + j * pc.inner];
        if (pc.op == EMBER_VK_REDUCE_PROD) acc *= v;
        else if (pc.op == EMBER_VK_REDUCE_MAX) acc = max_nan(acc, v);
        else if (pc.op == EMBER_VK_REDUCE_MIN) acc = min_nan(acc, v);
        else acc += v;
    }
    if (pc.op == EMBER_VK_REDUCE_MEAN) acc /= float(pc.len);
    out_data[pc.out_offset + t] = acc;
}

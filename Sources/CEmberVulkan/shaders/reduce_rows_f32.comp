#version 450
#extension GL_GOOGLE_include_directive : require
// out[r] = reduce(x[r, 0..<len]) for contiguous rows: one workgroup per row, tree reduction in
// shared memory (deterministic). Empty rows give sum 0, mean NaN, prod 1, max -inf, min +inf.
#include "common.glsl"
#include "rows.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) buffer Out { float out_data[]; };
layout(push_constant) uniform Push {
    uint in_offset;
    uint out_offset;
    uint rows;
    uint len;
    uint op;
} pc;

float combine(float a, float b) {
    if (pc.op == EMBER_VK_REDUCE_PROD) return a * b;
    if (pc.op == EMBER_VK_REDUCE_MAX) return max_nan(a, b);
    if (pc.op == EMBER_VK_REDUCE_MIN) return min_nan(a, b);
    return a + b;
}

void main() {
    uint r = group_linear();
    if (r >= pc.rows) return; // uniform over the workgroup
    uint l = gl_LocalInvocationID.x;
    float init = pc.op == EMBER_VK_REDUCE_PROD ? 1.0 : (pc.op == EMBER_VK_REDUCE_MAX ? -INF_F : (pc.op == EMBER_VK_REDUCE_MIN ? INF_F : 0.0));
    float acc = init;
    uint base = pc.in_offset + r * pc.len;
    for (uint j = l; j < pc.len; j += 256u) acc = combine(acc, x[base + j]);
    red_buf[l] = acc;
    barrier();
    for (uint s = 128u; s > 0u; s >>= 1) {
        if (l < s) red_buf[l] = combine(red_buf[l], red_buf[l + s]);
        barrier();
    }
    if (l == 0u) {
        float v = red_buf[0];
        if (pc.op == EMBER_VK_REDUCE_MEAN) v = v / float(pc.len);
        out_data[pc.out_offset + r] = v;
    }
}

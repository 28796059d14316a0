#version 450
#extension GL_GOOGLE_include_directive : require
// Gradient of softmax / log_softmax over contiguous rows, from the saved output y and grad g:
// softmax: gx = y * (g - sum(g * y)); log_softmax: gx = g - exp(y) * sum(g).
#include "common.glsl"
#include "rows.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer Y { float y[]; };
layout(std430, set = 0, binding = 1) readonly buffer G { float g[]; };
layout(std430, set = 0, binding = 2) buffer GX { float gx[]; };
layout(push_constant) uniform Push {
    uint y_offset;
    uint g_offset;
    uint out_offset;
    uint rows;
    uint len;
    uint log_softmax;
} pc;

void main() {
    uint r = group_linear();
    if (r >= pc.rows) return;
    uint yb = pc.y_offset + r * pc.len, gb = pc.g_offset + r * pc.len, ob = pc.out_offset + r * pc.len;
    float part = 0.0;
    for (uint j = gl_LocalInvocationID.x; j < pc.len; j += 256u)
        part += pc.log_softmax != 0u ? g[gb + j] : g[gb + j] * y[yb + j];
    float s = wg_sum(part);
    for (uint j = gl_LocalInvocationID.x; j < pc.len; j += 256u) {
        float yv = y[yb + j], gv = g[gb + j];
        gx[ob + j] = pc.log_softmax != 0u ? gv - exp(yv) * s : yv * (gv - s);
    }
}

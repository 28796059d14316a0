#version 450
#extension GL_GOOGLE_include_directive : require
// Gradient of per-row cross-entropy: gx[r, j] = (softmax(x[r])[j] - (j == t[r])) * g[r * g_stride],
// 0 for ignored rows. With reduction 'mean' the caller passes g = upstream / count with g_stride 0.
#include "common.glsl"
#include "rows.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer T { uint target_words[]; };
layout(std430, set = 0, binding = 2) readonly buffer G { float g[]; };
layout(std430, set = 0, binding = 3) buffer GX { float gx[]; };
layout(push_constant) uniform Push {
    uint x_offset;
    uint target_offset;
    uint g_offset;
    uint g_stride;
    uint out_offset;
    uint rows;
    uint len;
    int ignore_index;
} pc;

void main() {
    uint r = group_linear();
    if (r >= pc.rows) return;
    uint lo = target_words[2u * (pc.target_offset + r)], hi = target_words[2u * (pc.target_offset + r) + 1u];
    bool ignored = int(lo) == pc.ignore_index && hi == (pc.ignore_index < 0 ? 0xffffffffu : 0u);
    uint base = pc.x_offset + r * pc.len;
#define ROW_AT(j) x[base + (j)]
    float mx, sum;
    ROW_MAX_SUMEXP(pc.len, mx, sum);
    float scale = ignored ? 0.0 : g[pc.g_offset + r * pc.g_stride];
    uint t = hi == 0u ? lo : 0xffffffffu;
    for (uint j = gl_LocalInvocationID.x; j < pc.len; j += 256u) {
        float p = exp(x[base + j] - mx) / sum;
        gx[pc.out_offset + r * pc.len + j] = ignored ? 0.0 : (p - (j == t ? 1.0 : 0.0)) * scale;
    }
}

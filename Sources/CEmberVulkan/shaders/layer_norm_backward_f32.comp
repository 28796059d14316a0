#version 450
#extension GL_GOOGLE_include_directive : require
// dx of LayerNorm over contiguous rows from saved mean/rstd: with xhat = (x - mean) * rstd and
// gw = g * scale, dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)). One workgroup per row.
#include "common.glsl"
#include "rows.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer G { float g[]; };
layout(std430, set = 0, binding = 2) readonly buffer W { float w[]; };
layout(std430, set = 0, binding = 3) readonly buffer Mean { float mean_in[]; };
layout(std430, set = 0, binding = 4) readonly buffer Rstd { float rstd_in[]; };
layout(std430, set = 0, binding = 5) buffer DX { float dx[]; };
layout(push_constant) uniform Push {
    uint x_offset;
    uint g_offset;
    uint w_offset;
    uint mean_offset;
    uint rstd_offset;
    uint dx_offset;
    uint rows;
    uint len;
    uint affine;
} pc;

void main() {
    uint r = group_linear();
    if (r >= pc.rows) return;
    uint xb = pc.x_offset + r * pc.len, gb = pc.g_offset + r * pc.len;
    float mean = mean_in[pc.mean_offset + r], rstd = rstd_in[pc.rstd_offset + r];
    float s1 = 0.0, s2 = 0.0;
    for (uint j = gl_LocalInvocationID.x; j < pc.len; j += 256u) {
        float gw = g[gb + j] * (pc.affine != 0u ? w[pc.w_offset + j] : 1.0);
        s1 += gw;
        s2 += gw * (x[xb + j] - mean) * rstd;
    }
    float m1 = wg_sum(s1) / float(pc.len);
    float m2 = wg_sum(s2) / float(pc.len);
    for (uint j = gl_LocalInvocationID.x; j < pc.len; j += 256u) {
        float gw = g[gb + j] * (pc.affine != 0u ? w[pc.w_offset + j] : 1.0);
        float xhat = (x[xb + j] - mean) * rstd;
        dx[pc.dx_offset + r * pc.len + j] = rstd * (gw - m1 - xhat * m2);
    }
}

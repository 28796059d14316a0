#version 450
#extension GL_GOOGLE_include_directive : require
// dscale[j] = sum_r g[r, j] * xhat[r, j], dshift[j] = sum_r g[r, j]: one invocation per column,
// rows summed in order (deterministic). `accumulate` adds into the existing gradients.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer G { float g[]; };
layout(std430, set = 0, binding = 2) readonly buffer Mean { float mean_in[]; };
layout(std430, set = 0, binding = 3) readonly buffer Rstd { float rstd_in[]; };
layout(std430, set = 0, binding = 4) buffer DW { float dw[]; };
layout(std430, set = 0, binding = 5) buffer DB { float db[]; };
layout(push_constant) uniform Push {
    uint x_offset;
    uint g_offset;
    uint mean_offset;
    uint rstd_offset;
    uint dw_offset;
    uint db_offset;
    uint rows;
    uint len;
    uint accumulate;
} pc;

void main() {
    uint j = linear_id();
    if (j >= pc.len) return;
    float sw = 0.0, sb = 0.0;
    for (uint r = 0u; r < pc.rows; r++) {
        float gv = g[pc.g_offset + r * pc.len + j];
        float xhat = (x[pc.x_offset + r * pc.len + j] - mean_in[pc.mean_offset + r]) * rstd_in[pc.rstd_offset + r];
        sw += gv * xhat;
        sb += gv;
    }
    if (pc.accumulate != 0u) { sw += dw[pc.dw_offset + j]; sb += db[pc.db_offset + j]; }
    dw[pc.dw_offset + j] = sw;
    db[pc.db_offset + j] = sb;
}

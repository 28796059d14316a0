#version 450
#extension GL_GOOGLE_include_directive : require
// The book's LayerNorm (ch. 4) over contiguous rows: mean, biased variance, y = scale * (x - mean)
// / sqrt(var + eps) + shift; also saves mean and rstd = 1/sqrt(var + eps) for the backward pass.
// Two passes over the row (mean first) for accuracy. One workgroup per row.
#include "common.glsl"
#include "rows.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer W { float w[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bi { float bias[]; };
layout(std430, set = 0, binding = 3) buffer Y { float y[]; };
layout(std430, set = 0, binding = 4) buffer Mean { float mean_out[]; };
layout(std430, set = 0, binding = 5) buffer Rstd { float rstd_out[]; };
layout(push_constant) uniform Push {
    uint x_offset;
    uint w_offset;
    uint b_offset;
    uint y_offset;
    uint mean_offset;
    uint rstd_offset;
    uint rows;
    uint len;
    float eps;
    uint affine; // 0: no scale/shift (bindings 1 and 2 are not read)
} pc;

void main() {
    uint r = group_linear();
    if (r >= pc.rows) return;
    uint xb = pc.x_offset + r * pc.len, yb = pc.y_offset + r * pc.len;
    float part = 0.0;
    for (uint j = gl_LocalInvocationID.x; j < pc.len; j += 256u) part += x[xb + j];
    float mean = wg_sum(part) / float(pc.len);
    part = 0.0;
    for (uint j = gl_LocalInvocationID.x; j < pc.len; j += 256u) { float d = x[xb + j] - mean; part += d * d; }
    float rstd = inversesqrt(wg_sum(part) / float(pc.len) + pc.eps);
    for (uint j = gl_LocalInvocationID.x; j < pc.len; j += 256u) {
        float v = (x[xb + j] - mean) * rstd;
        if (pc.affine != 0u) v = v * w[pc.w_offset + j] + bias[pc.b_offset + j];
        y[yb + j] = v;
    }
    if (gl_LocalInvocationID.x == 0u) {
        mean_out[pc.mean_offset + r] = mean;
        rstd_out[pc.rstd_offset + r] = rstd;
    }
}

#version 450
#extension GL_GOOGLE_include_directive : require
// y = softmax(x) or log_softmax(x) over contiguous rows of `len` (max-subtracted). A row of only
// -inf gives NaN, as PyTorch. One workgroup per row.
#include "common.glsl"
#include "rows.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Push {
    uint in_offset;
    uint out_offset;
    uint rows;
    uint len;
    uint log_softmax;
} pc;

void main() {
    uint r = group_linear();
    if (r >= pc.rows) return;
    uint base = pc.in_offset + r * pc.len;
#define ROW_AT(j) x[base + (j)]
    float mx, sum;
    ROW_MAX_SUMEXP(pc.len, mx, sum);
    float lse = log(sum);
    for (uint j = gl_LocalInvocationID.x; j < pc.len; j += 256u) {
        float z = x[base + j] - mx;
        y[pc.out_offset + r * pc.len + j] = pc.log_softmax != 0u ? z - lse : exp(z) / sum;
    }
}

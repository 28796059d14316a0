#version 450
#extension GL_GOOGLE_include_directive : require
// out[r] = x[r, idx[r]] over contiguous rows of `len` (torch.gather on the last dim with one index
// per row, as cross-entropy picks the target logit). Out-of-range indices give 0.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Idx { uint idx_words[]; };
layout(std430, set = 0, binding = 2) buffer Out { float out_data[]; };
layout(push_constant) uniform Push {
    uint x_offset;
    uint idx_offset;
    uint out_offset;
    uint rows;
    uint len;
} pc;

void main() {
    uint r = linear_id();
    if (r >= pc.rows) return;
    uint lo = idx_words[2u * (pc.idx_offset + r)], hi = idx_words[2u * (pc.idx_offset + r) + 1u];
    out_data[pc.out_offset + r] = (hi == 0u && lo < pc.len) ? x[pc.x_offset + r * pc.len + lo] : 0.0;
}

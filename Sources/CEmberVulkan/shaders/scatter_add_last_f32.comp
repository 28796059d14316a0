#version 450
#extension GL_GOOGLE_include_directive : require
// out[r, idx[r]] += src[r] over contiguous rows of `len` (the backward of gather_last_f32). Each
// row is touched by one invocation, so no atomics are needed. Out-of-range indices are skipped.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer Src { float src[]; };
layout(std430, set = 0, binding = 1) readonly buffer Idx { uint idx_words[]; };
layout(std430, set = 0, binding = 2) buffer Out { float out_data[]; };
layout(push_constant) uniform Push {
    uint src_offset;
    uint idx_offset;
    uint out_offset;
    uint rows;
    uint len;
} pc;

void main() {
    uint r = linear_id();
    if (r >= pc.rows) return;
    uint lo = idx_words[2u * (pc.idx_offset + r)], hi = idx_words[2u * (pc.idx_offset + r) + 1u];
    if (hi == 0u && lo < pc.len) out_data[pc.out_offset + r * pc.len + lo] += src[pc.src_offset + r];
}

#version 450
#extension GL_GOOGLE_include_directive : require
// out[idx[i], :] += src[i, :] (embedding backward, index_add_ on dim 0) without float atomics:
// one invocation per column walks i in order, so repeated indices sum deterministically.
// Indices outside [0, out_rows) are skipped.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer Src { float src[]; };
layout(std430, set = 0, binding = 1) readonly buffer Idx { uint idx_words[]; };
layout(std430, set = 0, binding = 2) buffer Out { float out_data[]; };
layout(push_constant) uniform Push {
    uint src_offset;
    uint idx_offset;
    uint out_offset;
    uint n_idx;
    uint row_len;
    uint out_rows;
} pc;

void main() {
    uint j = linear_id();
    if (j >= pc.row_len) return;
    for (uint i = 0u; i < pc.n_idx; i++) {
        uint lo = idx_words[2u * (pc.idx_offset + i)], hi = idx_words[2u * (pc.idx_offset + i) + 1u];
        if (hi != 0u || lo >= pc.out_rows) continue;
        out_data[pc.out_offset + lo * pc.row_len + j] += src[pc.src_offset + i * pc.row_len + j];
    }
}

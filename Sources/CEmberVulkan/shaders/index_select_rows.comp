#version 450
#extension GL_GOOGLE_include_directive : require
// out[i, :] = src[idx[i], :] for 32-bit elements (float32, int32): embedding lookup and
// index_select on dim 0. idx is int64; an index outside [0, src_rows) yields zeros (the caller
// validates indices on the host when it needs PyTorch's error).
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, set = 0, binding = 1) readonly buffer Idx { uint idx_words[]; };
layout(std430, set = 0, binding = 2) buffer Out { uint out_data[]; };
layout(push_constant) uniform Push {
    uint src_offset;
    uint idx_offset;
    uint out_offset;
    uint n_idx;
    uint row_len;
    uint src_rows;
} pc;

void main() {
    uint t = linear_id();
    if (t >= pc.n_idx * pc.row_len) return;
    uint i = t / pc.row_len, j = t % pc.row_len;
    uint lo = idx_words[2u * (pc.idx_offset + i)], hi = idx_words[2u * (pc.idx_offset + i) + 1u];
    out_data[pc.out_offset + t] = (hi == 0u && lo < pc.src_rows) ? src[pc.src_offset + lo * pc.row_len + j] : 0u;
}

#version 450
#extension GL_GOOGLE_include_directive : require
// Per-row cross-entropy (F.cross_entropy, reduction 'none'): loss[r] = logsumexp(x[r]) - x[r, t[r]]
// and valid[r] = 1, or loss 0 and valid 0 when t[r] == ignore_index (so the mean is
// sum(loss) / sum(valid)). A target outside [0, len) gives NaN. One workgroup per row.
#include "common.glsl"
#include "rows.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer T { uint target_words[]; };
layout(std430, set = 0, binding = 2) buffer Loss { float loss[]; };
layout(std430, set = 0, binding = 3) buffer Valid { float valid[]; };
layout(push_constant) uniform Push {
    uint x_offset;
    uint target_offset;
    uint loss_offset;
    uint valid_offset;
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
    if (gl_LocalInvocationID.x != 0u) return;
    float l;
    if (ignored) l = 0.0;
    else if (hi != 0u || lo >= pc.len) l = NAN_F;
    else l = log(sum) + mx - x[base + lo];
    loss[pc.loss_offset + r] = l;
    valid[pc.valid_offset + r] = ignored ? 0.0 : 1.0;
}

#version 450
#extension GL_GOOGLE_include_directive : require
// values[r], indices[r] = max/min of x[r, 0..<len] and its int64 index (torch.max(dim=-1)):
// first occurrence wins ties; a NaN wins over numbers (first NaN). One workgroup per row.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) buffer Values { float values[]; };
layout(std430, set = 0, binding = 2) buffer Indices { uint index_words[]; };
layout(push_constant) uniform Push {
    uint in_offset;
    uint values_offset;
    uint indices_offset;
    uint rows;
    uint len;
    uint op;
} pc;

shared float sv[256];
shared uint si[256];

// Whether (va, ia) should be kept over (vb, ib).
bool better(float va, uint ia, float vb, uint ib) {
    bool na = isnan(va), nb = isnan(vb);
    if (na || nb) return na && (!nb || ia < ib);
    if (va == vb) return ia < ib;
    return pc.op == EMBER_VK_ARGREDUCE_MAX ? va > vb : va < vb;
}

void main() {
    uint r = group_linear();
    if (r >= pc.rows) return;
    uint l = gl_LocalInvocationID.x;
    float bv = 0.0;
    uint bi = 0xffffffffu; // "none yet"
    uint base = pc.in_offset + r * pc.len;
    for (uint j = l; j < pc.len; j += 256u) {
        float v = x[base + j];
        if (bi == 0xffffffffu || better(v, j, bv, bi)) { bv = v; bi = j; }
    }
    sv[l] = bv;
    si[l] = bi;
    barrier();
    for (uint s = 128u; s > 0u; s >>= 1) {
        if (l < s && si[l + s] != 0xffffffffu && (si[l] == 0xffffffffu || better(sv[l + s], si[l + s], sv[l], si[l]))) {
            sv[l] = sv[l + s];
            si[l] = si[l + s];
        }
        barrier();
    }
    if (l == 0u) {
        values[pc.values_offset + r] = si[0] == 0xffffffffu ? uintBitsToFloat(0x7fc00000u) : sv[0];
        index_words[2u * (pc.indices_offset + r)] = si[0] == 0xffffffffu ? 0u : si[0];
        index_words[2u * (pc.indices_offset + r) + 1u] = 0u;
    }
}

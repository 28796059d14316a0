#version 450
#extension GL_GOOGLE_include_directive : require
// dst[offset ..< offset+n] = value. Float dtypes take `value`; integer dtypes and bool take the
// int64 (int_lo, int_hi), so int64 fills are exact.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) buffer Dst { uint dst_words[]; };
layout(push_constant) uniform Push {
    uint offset;
    uint n;
    uint dtype;
    float value;
    uint int_lo;
    uint int_hi;
} pc;
#define SRC dst_words
#define DST dst_words
#include "dtype.glsl"

void main() {
    uint i = linear_id();
    if (i >= pc.n) return;
    Val v;
    bool is_float = pc.dtype == EMBER_VK_DTYPE_F32 || pc.dtype == EMBER_VK_DTYPE_F16 || pc.dtype == EMBER_VK_DTYPE_BF16;
    v.f = pc.value;
    v.lo = pc.int_lo;
    v.hi = pc.int_hi;
    v.is_int = !is_float;
    store_val(pc.dtype, pc.offset + i, v);
}

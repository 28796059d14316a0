#version 450
#extension GL_GOOGLE_include_directive : require
// dst[view] = cast(src[view]) for n elements: both sides strided over the same shape, so this
// serves .contiguous(), .to(dtype) and in-place writes into views. Casts follow PyTorch.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer Src { uint src_words[]; };
layout(std430, set = 0, binding = 1) buffer Dst { uint dst_words[]; };
layout(push_constant) uniform Push {
    uint ndim;
    uint n;
    uint src_offset;
    uint dst_offset;
    uint src_dtype;
    uint dst_dtype;
    uint shape[6];
    int src_strides[6];
    int dst_strides[6];
} pc;
#define SRC src_words
#define DST dst_words
#include "dtype.glsl"

void main() {
    uint i = linear_id();
    if (i >= pc.n) return;
    uint s = strided_offset(i, pc.ndim, pc.shape, pc.src_strides, pc.src_offset);
    uint d = strided_offset(i, pc.ndim, pc.shape, pc.dst_strides, pc.dst_offset);
    // Same dtype: move the bits, so NaN payloads and large int64 values survive exactly.
    if (pc.src_dtype == pc.dst_dtype && pc.src_dtype == EMBER_VK_DTYPE_F32) {
        DST[d] = SRC[s];
    } else if (pc.src_dtype == pc.dst_dtype && pc.src_dtype == EMBER_VK_DTYPE_F16) {
        store_bits(d >> 1, (d & 1u) * 16u, 0xffffu, SRC[s >> 1] >> ((s & 1u) * 16u));
    } else if (pc.src_dtype == pc.dst_dtype && pc.src_dtype == EMBER_VK_DTYPE_BF16) {
        store_bits(d >> 1, (d & 1u) * 16u, 0xffffu, SRC[s >> 1] >> ((s & 1u) * 16u));
    } else {
        store_val(pc.dst_dtype, d, load_val(pc.src_dtype, s));
    }
}

#version 450
#extension GL_GOOGLE_include_directive : require
// Batched matmul with float16 A and B (packed two per 32-bit word, so no 16-bit storage feature
// is needed), float32 accumulation and float32 C. Layout and tiling: gemm_body.glsl.
#include "common.glsl"
layout(std430, set = 0, binding = 0) readonly buffer A { uint a_words[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { uint b_words[]; };
layout(std430, set = 0, binding = 2) buffer C { float c_data[]; };
float half_at_a(uint e) { return unpackHalf2x16(a_words[e >> 1] >> ((e & 1u) * 16u)).x; }
float half_at_b(uint e) { return unpackHalf2x16(b_words[e >> 1] >> ((e & 1u) * 16u)).x; }
#define LOAD_A(e) half_at_a(e)
#define LOAD_B(e) half_at_b(e)
#include "gemm_body.glsl"

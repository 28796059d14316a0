#version 450
#extension GL_GOOGLE_include_directive : require
// Batched float32 matmul (see gemm_body.glsl for layout, strides and tiling).
#include "common.glsl"
layout(std430, set = 0, binding = 0) readonly buffer A { float a_data[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b_data[]; };
layout(std430, set = 0, binding = 2) buffer C { float c_data[]; };
#define LOAD_A(e) a_data[e]
#define LOAD_B(e) b_data[e]
#include "gemm_body.glsl"

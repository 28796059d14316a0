#version 450
#extension GL_GOOGLE_include_directive : require
// One AdamW step (torch.optim.AdamW, amsgrad=False), in place on p, exp_avg (m), exp_avg_sq (v):
// p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g²; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps),
// with bc1 = 1 - b1^step and bc2 = 1 - b2^step computed by the caller.
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) buffer P { float p[]; };
layout(std430, set = 0, binding = 1) readonly buffer G { float g[]; };
layout(std430, set = 0, binding = 2) buffer M { float m[]; };
layout(std430, set = 0, binding = 3) buffer V { float v[]; };
layout(push_constant) uniform Push {
    uint p_offset;
    uint g_offset;
    uint m_offset;
    uint v_offset;
    uint n;
    float lr;
    float beta1;
    float beta2;
    float eps;
    float weight_decay;
    float bias_correction1;
    float bias_correction2;
} pc;

void main() {
    uint i = linear_id();
    if (i >= pc.n) return;
    float gv = g[pc.g_offset + i];
    float pv = p[pc.p_offset + i] * (1.0 - pc.lr * pc.weight_decay);
    float mv = pc.beta1 * m[pc.m_offset + i] + (1.0 - pc.beta1) * gv;
    float vv = pc.beta2 * v[pc.v_offset + i] + (1.0 - pc.beta2) * gv * gv;
    float denom = sqrt(vv) / sqrt(pc.bias_correction2) + pc.eps;
    p[pc.p_offset + i] = pv - (pc.lr / pc.bias_correction1) * (mv / denom);
    m[pc.m_offset + i] = mv;
    v[pc.v_offset + i] = vv;
}

// Optimizer updates over contiguous float32 memory, vectorised: an AdamW step reads four and writes
// three arrays the size of the model, so it should run at memory speed; Swift without target
// flags could not use FMA or 8-wide sqrt/div for it. AVX2+FMA by target attribute, portable fallback.
#ifndef EMBER_OPTIM_H
#define EMBER_OPTIM_H
#include <stddef.h>

/// One Adam/AdamW step for elements [0, n), each computed exactly as
///   m = fma(w, g − m, m)                          (ATen's lerp for |w| < 0.5; w = 1 − β1)
///   v = fma(c2·g, g, v·b2)                        (addcmul; c2 = 1 − β2, b2 = β2)
///   p = p·factor + (negStep·m) / (√v / bc2 + eps) (decoupled decay factor 1 − lr·wd, or 1)
/// with fma a single rounding and every other operation an IEEE float32 operation in this order.
void ember_adam_step_f32(float *p, const float *g, float *m, float *v, ptrdiff_t n, float w, float b2,
                         float c2, float factor, float negStep, float bc2, float eps);

#endif

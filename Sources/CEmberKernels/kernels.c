#include "ember_kernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

// Each kernel body is written once as a static inline function and compiled twice: for baseline
// x86-64 and with AVX2+FMA (target attribute); the public entry points dispatch at run time.

static inline float exp_poly(float x0) {
    float x = fminf(fmaxf(x0, -87.3365447504019f), 88.3762626647949f);
    float fx = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - fx * 0.693359375f;
    r = r - fx * -2.12194440e-4f;
    float z = r * r;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * z + r + 1.0f;
    int32_t n = (int32_t)fx + 127;
    uint32_t bits = (uint32_t)n << 23;
    float p;
    memcpy(&p, &bits, sizeof p);
    // Below the clamp the true value underflows: return 0 (exp(-inf) = 0), as libm does.
    return x0 < -87.3365447504019f ? 0.0f : y * p;
}

#define DEFINE_KERNELS(SUFFIX, ATTR)                                                              \
ATTR static void exp_##SUFFIX(const float *x, float *y, ptrdiff_t n) {                            \
    for (ptrdiff_t i = 0; i < n; i++) y[i] = exp_poly(x[i]);                                       \
}                                                                                                  \
ATTR static void sigmoid_##SUFFIX(const float *x, float *y, ptrdiff_t n) {                        \
    for (ptrdiff_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + exp_poly(-x[i]));                      \
}                                                                                                  \
ATTR static void tanh_##SUFFIX(const float *x, float *y, ptrdiff_t n) {                           \
    for (ptrdiff_t i = 0; i < n; i++) y[i] = 1.0f - 2.0f / (exp_poly(2.0f * x[i]) + 1.0f);        \
}                                                                                                  \
ATTR static void silu_##SUFFIX(const float *x, float *y, ptrdiff_t n) {                           \
    for (ptrdiff_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + exp_poly(-x[i]));                      \
}                                                                                                  \
ATTR static void gelu_##SUFFIX(const float *x, float *y, ptrdiff_t n) {                           \
    for (ptrdiff_t i = 0; i < n; i++) {                                                            \
        float v = x[i];                                                                            \
        float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);                               \
        y[i] = v / (1.0f + exp_poly(-2.0f * u));                                                   \
    }                                                                                              \
}                                                                                                  \
ATTR static void gelu_bwd_##SUFFIX(const float *x, const float *g, float *y, ptrdiff_t n) {          \
    for (ptrdiff_t i = 0; i < n; i++) {                                                            \
        float v = x[i];                                                                            \
        float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);                               \
        float th = 1.0f - 2.0f / (exp_poly(2.0f * u) + 1.0f);                                      \
        float du = 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * v * v);                        \
        y[i] = g[i] * (0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) * du);                     \
    }                                                                                              \
}                                                                                                  \
ATTR static float rowmax_##SUFFIX(const float *x, ptrdiff_t n) {                                  \
    float m = -INFINITY;                                                                           \
    for (ptrdiff_t i = 0; i < n; i++) m = fmaxf(m, x[i]);                                   \
    return m;                                                                                      \
}                                                                                                  \
ATTR static void softmax_##SUFFIX(const float *x, float *y, ptrdiff_t n) {                        \
    float m = rowmax_##SUFFIX(x, n);                                                               \
    if (m == -INFINITY) { for (ptrdiff_t i = 0; i < n; i++) y[i] = NAN; return; }                  \
    double s = 0.0;                                                                                \
    for (ptrdiff_t i = 0; i < n; i++) { float e = exp_poly(x[i] - m); y[i] = e; s += (double)e; }  \
    float inv = (float)(1.0 / s);                                                                  \
    for (ptrdiff_t i = 0; i < n; i++) y[i] *= inv;                                                 \
}                                                                                                  \
ATTR static void log_softmax_##SUFFIX(const float *x, float *y, ptrdiff_t n) {                    \
    float m = rowmax_##SUFFIX(x, n);                                                               \
    double s = 0.0;                                                                                \
    for (ptrdiff_t i = 0; i < n; i++) s += (double)exp_poly(x[i] - m);                             \
    float lse = (float)((double)m + log(s));                                                       \
    for (ptrdiff_t i = 0; i < n; i++) y[i] = x[i] - lse;                                           \
}

#if defined(__x86_64__) && defined(__clang__)
#pragma clang fp reassociate(on)
DEFINE_KERNELS(avx2, __attribute__((target("avx2,fma"))))
#endif
DEFINE_KERNELS(base, )

int ember_kernels_use_avx2(void) {
#if defined(__x86_64__) && defined(__clang__)
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
#else
    return 0;
#endif
}

#if defined(__x86_64__) && defined(__clang__)
#define DISPATCH(name, ...) do { if (ember_kernels_use_avx2()) name##_avx2(__VA_ARGS__); else name##_base(__VA_ARGS__); } while (0)
#else
#define DISPATCH(name, ...) name##_base(__VA_ARGS__)
#endif

void ember_exp_f32(const float *x, float *y, ptrdiff_t n) { DISPATCH(exp, x, y, n); }
void ember_sigmoid_f32(const float *x, float *y, ptrdiff_t n) { DISPATCH(sigmoid, x, y, n); }
void ember_tanh_f32(const float *x, float *y, ptrdiff_t n) { DISPATCH(tanh, x, y, n); }
void ember_silu_f32(const float *x, float *y, ptrdiff_t n) { DISPATCH(silu, x, y, n); }
void ember_gelu_tanh_f32(const float *x, float *y, ptrdiff_t n) { DISPATCH(gelu, x, y, n); }
void ember_gelu_tanh_backward_f32(const float *x, const float *g, float *y, ptrdiff_t n) { DISPATCH(gelu_bwd, x, g, y, n); }
void ember_softmax_row_f32(const float *x, float *y, ptrdiff_t n) { DISPATCH(softmax, x, y, n); }
void ember_log_softmax_row_f32(const float *x, float *y, ptrdiff_t n) { DISPATCH(log_softmax, x, y, n); }

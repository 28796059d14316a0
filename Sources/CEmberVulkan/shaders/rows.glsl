// Workgroup-wide reductions for the one-workgroup-per-row kernels (local size 256).
// Every invocation of the group must call them (they contain barriers).
shared float red_buf[256];

float wg_sum(float v) {
    uint l = gl_LocalInvocationID.x;
    red_buf[l] = v;
    barrier();
    for (uint s = 128u; s > 0u; s >>= 1) {
        if (l < s) red_buf[l] += red_buf[l + s];
        barrier();
    }
    float r = red_buf[0];
    barrier();
    return r;
}

float wg_max(float v) {
    uint l = gl_LocalInvocationID.x;
    red_buf[l] = v;
    barrier();
    for (uint s = 128u; s > 0u; s >>= 1) {
        if (l < s) red_buf[l] = max_nan(red_buf[l], red_buf[l + s]);
        barrier();
    }
    float r = red_buf[0];
    barrier();
    return r;
}

// Row maximum and sum of exp(x - max) over a row read through ROW_AT(j) (a macro the kernel defines).
#define ROW_MAX_SUMEXP(LEN, MX, SUM)                                   \
    {                                                                  \
        float m_ = -INF_F;                                             \
        for (uint j = gl_LocalInvocationID.x; j < (LEN); j += 256u)    \
            m_ = max_nan(m_, ROW_AT(j));                               \
        MX = wg_max(m_);                                               \
        float s_ = 0.0;                                                \
        for (uint j = gl_LocalInvocationID.x; j < (LEN); j += 256u)    \
            s_ += exp(ROW_AT(j) - MX);                                 \
        SUM = wg_sum(s_);                                              \
    }

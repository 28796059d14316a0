// Batched C[b] = alpha * A[b]·B[b] + beta * C[b], shared by gemm_f32 and gemm_f16 (which define
// LOAD_A(e) / LOAD_B(e) for their storage type). A and B are read through element strides (batch,
// row, col), so transposed or broadcast operands need no copy; C is contiguous [batch, m, n].
// Tiling: a 16×16 workgroup computes a 64×64 tile of C, each invocation a 4×4 block (rows ty+16i,
// cols tx+16j, so shared-memory reads are conflict-free), stepping k by 16 through shared memory.
// Grid: x = ceil(n/64), y = ceil(m/64), z = batch.
layout(local_size_x = 16, local_size_y = 16) in;
layout(push_constant) uniform Push {
    uint m;
    uint n;
    uint k;
    uint a_offset;
    uint b_offset;
    uint c_offset;
    uint a_batch_stride;
    uint a_row_stride;
    uint a_col_stride;
    uint b_batch_stride;
    uint b_row_stride;
    uint b_col_stride;
    float alpha;
    float beta; // 0: C is not read (may hold garbage)
} pc;

shared float tile_a[16][64];
shared float tile_b[16][64];

void main() {
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint t = ty * 16u + tx;
    uint row0 = gl_WorkGroupID.y * 64u, col0 = gl_WorkGroupID.x * 64u, batch = gl_WorkGroupID.z;
    uint a_base = pc.a_offset + batch * pc.a_batch_stride;
    uint b_base = pc.b_offset + batch * pc.b_batch_stride;
    float acc[4][4];
    for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) acc[i][j] = 0.0;
    for (uint k0 = 0u; k0 < pc.k; k0 += 16u) {
        for (uint q = 0u; q < 4u; q++) {
            uint l = t + 256u * q;
            uint ar = l / 16u, ak = l % 16u; // A tile: 64 rows × 16 k
            uint gr = row0 + ar, gk = k0 + ak;
            tile_a[ak][ar] = (gr < pc.m && gk < pc.k) ? LOAD_A(a_base + gr * pc.a_row_stride + gk * pc.a_col_stride) : 0.0;
            uint bk = l / 64u, bc = l % 64u; // B tile: 16 k × 64 cols
            uint hk = k0 + bk, gc = col0 + bc;
            tile_b[bk][bc] = (hk < pc.k && gc < pc.n) ? LOAD_B(b_base + hk * pc.b_row_stride + gc * pc.b_col_stride) : 0.0;
        }
        barrier();
        for (uint kk = 0u; kk < 16u; kk++) {
            float av[4], bv[4];
            for (uint i = 0u; i < 4u; i++) av[i] = tile_a[kk][ty + 16u * i];
            for (uint j = 0u; j < 4u; j++) bv[j] = tile_b[kk][tx + 16u * j];
            for (uint i = 0u; i < 4u; i++) for (uint j = 0u; j < 4u; j++) acc[i][j] += av[i] * bv[j];
        }
        barrier();
    }
    uint c_base = pc.c_offset + batch * pc.m * pc.n;
    for (uint i = 0u; i < 4u; i++) {
        uint r = row0 + ty + 16u * i;
        if (r >= pc.m) continue;
        for (uint j = 0u; j < 4u; j++) {
            uint c = col0 + tx + 16u * j;
            if (c >= pc.n) continue;
            uint e = c_base + r * pc.n + c;
            float v = pc.alpha * acc[i][j];
            if (pc.beta != 0.0) v += pc.beta * c_data[e];
            c_data[e] = v;
        }
    }
}

/* The time loops of rvagene._gru's GRU layer, for float32 on the CPU (built at first use).
 *
 * Layout: feature-major, (time, rows, batch), C-contiguous; B = batch, H = hidden units.
 * Each step is one small matrix product (3H x H by H x B, accumulated in place so the batch
 * is the contiguous, vectorised axis) and one fused pass over the gates; Python would spend
 * five to seven tensor operations, each with its dispatch overhead, on the same work.
 * tanh is a rational approximation within 3e-7 of the exact value (Eigen's
 * generic_fast_tanh_float); sigmoid(x) = (1 + tanh(x / 2)) / 2.
 */

static inline float tanh_r(float a) {
    float x = a > 7.90531110763549805f ? 7.90531110763549805f : a;
    x = x < -7.90531110763549805f ? -7.90531110763549805f : x;
    float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * x;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    float y = p / q;
    return ((a < 0.0004f) & (a > -0.0004f)) ? a : y; /* NaN stays NaN */
}

/* out (M x B, row stride B) += w (M x K, row stride ldw, column stride cw) @ v (K x B, row
 * stride ldv). The columns go in blocks of 16, 8, 4 and 1 (GCC/Clang vector types, which the
 * compiler maps onto the machine's SIMD registers), the rows in blocks of 8 whose sums stay in
 * registers, so that eight independent multiply-add chains keep the FMA units busy; any batch
 * size takes the vector path (the 16-wide blocks alone left a batch of 24 or 12 to a slow
 * scalar loop). The vector types may be unaligned (aligned(4)) and may alias float data
 * (may_alias, as the compilers' own SIMD types do), since they read and write float arrays. */
typedef float vec16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef float vec8 __attribute__((vector_size(32), aligned(4), may_alias));
typedef float vec4 __attribute__((vector_size(16), aligned(4), may_alias));

#define ROWS(V, R)                                                                           \
    {                                                                                        \
        V acc[R];                                                                            \
        float *o = out + (long)i * B + jb;                                                   \
        for (int q = 0; q < R; q++) acc[q] = *(const V *)(o + (long)q * B);                  \
        const float *wi = w + (long)i * ldw;                                                 \
        for (int k = 0; k < K; k++) {                                                        \
            const V x = *(const V *)(v + (long)k * ldv + jb);                                \
            const float *wk = wi + (long)k * cw;                                             \
            for (int q = 0; q < R; q++) acc[q] += wk[(long)q * ldw] * x;                     \
        }                                                                                    \
        for (int q = 0; q < R; q++) *(V *)(o + (long)q * B) = acc[q];                        \
    }

#define COLUMNS(V, NAME)                                                                     \
    static void NAME(int M, int K, int B, int jb, const float *restrict w, long ldw,        \
                     long cw, const float *restrict v, long ldv, float *restrict out) {     \
        int i = 0;                                                                           \
        for (; i + 8 <= M; i += 8) ROWS(V, 8)                                                \
        for (; i < M; i++) ROWS(V, 1)                                                        \
    }
COLUMNS(vec16, columns16)
COLUMNS(vec8, columns8)
COLUMNS(vec4, columns4)
COLUMNS(float, columns1)

static void matmul_acc(int M, int K, int B, const float *restrict w, long ldw, long cw,
                       const float *restrict v, long ldv, float *restrict out) {
    int jb = 0;
    for (; jb + 16 <= B; jb += 16) columns16(M, K, B, jb, w, ldw, cw, v, ldv, out);
    for (; jb + 8 <= B; jb += 8) columns8(M, K, B, jb, w, ldw, cw, v, ldv, out);
    for (; jb + 4 <= B; jb += 4) columns4(M, K, B, jb, w, ldw, cw, v, ldv, out);
    for (; jb < B; jb++) columns1(M, K, B, jb, w, ldw, cw, v, ldv, out);
}

static void gates(long m, const float *restrict pr, const float *restrict pz,
                  const float *restrict pn, const float *restrict g, const float *restrict h,
                  float *restrict r, float *restrict z, float *restrict n, float *restrict h1) {
    for (long e = 0; e < m; e++) {
        const float re = 0.5f + 0.5f * tanh_r(0.5f * pr[e]);
        const float ze = 0.5f + 0.5f * tanh_r(0.5f * pz[e]);
        const float ne = tanh_r(g[e] + re * pn[e]);
        r[e] = re;
        z[e] = ze;
        n[e] = ne;
        h1[e] = ne + ze * (h[e] - ne);
    }
}

/* pre: (T, 3H, B), on entry rows r, z: W_i x + b_i + b_h; rows n: b_hn. On exit rows n hold
 * W_hn h + b_hn and rows r, z the pre-activations. gin: (T, H, B) W_in x + b_in.
 * hs: (T + 1, H, B) with hs[0] = h0 set. rz: (T, 2H, B), n: (T, H, B) outputs. */
void gru_forward(int T, int B, int H, const float *w_hh, float *pre, const float *gin,
                 float *hs, float *rz, float *n) {
    const long hb = (long)H * B;
    for (int t = 0; t < T; t++) {
        float *restrict p = pre + 3 * hb * t;
        const float *restrict h = hs + hb * t;
        float *restrict h1 = hs + hb * (t + 1);
        float *restrict r = rz + 2 * hb * t;
        float *restrict z = r + hb;
        float *restrict nt = n + hb * t;
        const float *restrict g = gin + hb * t;
        matmul_acc(3 * H, H, B, w_hh, H, 1, h, B, p);
        gates(hb, p, p + hb, p + 2 * hb, g, h, r, z, nt, h1);
    }
}

static void grad_gates(int m, const float *restrict d, const float *restrict r,
                       const float *restrict z, const float *restrict n,
                       const float *restrict hp, const float *restrict ghn,
                       float *restrict gn, float *restrict gr, float *restrict gz,
                       float *restrict gnh, float *restrict c) {
    for (int e = 0; e < m; e++) {
        const float a = d[e] * (1.0f - z[e]) * (1.0f - n[e] * n[e]); /* of W_in x + b_in */
        gn[e] = a;
        gr[e] = a * ghn[e] * r[e] * (1.0f - r[e]);
        gz[e] = d[e] * (hp[e] - n[e]) * z[e] * (1.0f - z[e]);
        gnh[e] = a * r[e];
        c[e] = d[e] * z[e];
    }
}

/* The loop back through time, with the tensors saved by gru_forward (pre, hs, rz, n). go:
 * (T, H, B) gradient of the outputs or 0 (none); dh: (H, B) gradient of h_T on entry, of h_0
 * on exit; tmp: (H, B) scratch. Outputs, row-major over (rows, time, batch) so that the weight
 * gradients are one matrix product each without copies: dgh (3H, T, B), the gradient of
 * W_h h + b_h, and dgin (H, T, B), that of W_in x + b_in (those of W_ir x and W_iz x are
 * dgh's rows r and z). */
void gru_backward(int T, int B, int H, const float *w_hh, const float *pre, const float *hs,
                  const float *rz, const float *n, const float *go, float *dh, float *tmp,
                  float *dgh, float *dgin) {
    const long hb = (long)H * B, tb = (long)T * B;
    for (int t = T - 1; t >= 0; t--) {
        const float *r = rz + 2 * hb * t;
        const float *nt = n + hb * t;
        const float *hp = hs + hb * t;
        const float *ghn = pre + 3 * hb * t + 2 * hb;
        float *g = dgh + (long)t * B; /* row i of step t at g + i * tb */
        float *restrict d = dh;
        if (go) {
            const float *restrict o = go + hb * t;
            for (long e = 0; e < hb; e++) d[e] += o[e];
        }
        for (int i = 0; i < H; i++) {
            const long o = (long)i * B;
            grad_gates(B, d + o, r + o, r + hb + o, nt + o, hp + o, ghn + o,
                       dgin + i * tb + (long)t * B, g + i * tb, g + (H + i) * tb,
                       g + (2 * H + i) * tb, tmp + o);
        }
        /* dh_{t-1} = dh * z + W_h^T dgh: W_h^T has row stride 1 and column stride H */
        matmul_acc(H, 3 * H, B, w_hh, 1, H, g, tb, tmp);
        for (long e = 0; e < hb; e++) d[e] = tmp[e];
    }
}

#pragma once
// Fused elementwise kernels. Each mirrors a function of the same name in ../reference.ts.
namespace cm {
void rmsnorm_fwd(float* out, float* rstd, const float* x, const float* w, long rows, int dim, float eps);
void rmsnorm_bwd(float* dx, float* dw, const float* dout, const float* x, const float* w, const float* rstd, long rows,
                 int dim, bool accumulate_dx);
void rope_apply(float* x, long rows, int T, int heads, int hd, int pos0, const float* cos, const float* sin,
                bool inverse);
void swiglu_fwd(float* h, const float* gate, const float* up, long n);
void swiglu_bwd(float* dgate, float* dup, const float* dh, const float* gate, const float* up, long n);
void geglu_fwd(float* h, const float* gate, const float* up, long n);
void geglu_bwd(float* dgate, float* dup, const float* dh, const float* gate, const float* up, long n);
double cross_entropy(float* logits_to_grad, const int* targets, const float* weights, long rows, int V, float scale);
void adamw(float* p, const float* g, float* m, float* v, long n, float lr, float b1, float b2, float eps, float wd,
           float bc1, float bc2);
void add_inplace(float* a, const float* b, long n);
void scale_inplace(float* a, float s, long n);
double sum_squares(const float* a, long n);
}  // namespace cm

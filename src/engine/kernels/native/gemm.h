#pragma once
namespace cm {
// C[M×N] = alpha · op(A) · op(B) + beta · C, row-major, with leading dimensions. op(X) = Xᵀ when its flag is set.
// Multithreaded; goes to OpenBLAS when it was found at run time (and not switched off), else to the own kernel.
void sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
           float beta, float* C, int ldc);
// The own blocked SIMD kernel on the calling thread only (attention calls it from inside the pool).
void sgemm_own_st(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                  int ldb, float beta, float* C, int ldc);
// The own kernel spread over the pool.
void sgemm_own(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
               float beta, float* C, int ldc);
bool openblas_loaded();
// 0 = auto (OpenBLAS when loaded), 1 = own kernel, 2 = OpenBLAS (falls back to own when not loaded), for every shape.
void set_gemm_backend(int which);
// The same per shape class: one row or column (decoding), fewer than 64 rows, and larger products.
void set_gemm_plan(int row, int small, int large);
const char* gemm_backend_for(int shape);  // "openblas" or "own", for shape class 0, 1 or 2
const char* gemm_backend_name();          // "openblas", "own", or "per-shape" when the classes differ
const char* simd_level();  // "avx512", "avx2" or "generic": what the own kernel chose at run time
void set_blas_threads(int n);
}  // namespace cm

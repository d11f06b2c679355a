/** A product with a weight held as BF16 bits (Kernels.sgemmBf16, sgemmBf16Rows): false where the CPU has no BF16
 * dot products. */
export type Bf16WeightProduct = (
  M: number,
  N: number,
  K: number,
  alpha: number,
  X: Float32Array,
  ldx: number,
  W: Uint16Array,
  ldw: number,
  beta: number,
  C: Float32Array,
  ldc: number,
) => boolean;

/**
 * A low-rank term a product adds to its output as it writes it (Kernels.sgemmBf16, sgemmBf16Rows): C += scale·U·Vᵀ with
 * U [M×rank] (row stride ldu) and V [N×rank] (ldv), or with vRows Vᵀ given as [rank×N] (ldv). A LoRA adapter's
 * xa·Bᵀ (forward) or dxa·A (backward), added where the tile of C is still in cache instead of in a pass over C of
 * its own (lowRankReference defines it).
 */
export type LowRankTerm = [
  U: Float32Array,
  ldu: number,
  V: Float32Array,
  ldv: number,
  vRows: boolean,
  rank: number,
  scale: number,
];

/**
 * The kernel set the engine runs on. Two implementations share this interface: the native addon (fast, threaded)
 * and the plain TypeScript reference beside it (the definition of what each kernel computes). All matrices are
 * row-major Float32Arrays; a kernel reads and writes exactly the elements its sizes imply.
 */
export interface Kernels {
  readonly name: string;
  /** C[M×N] = alpha·op(A)·op(B) + beta·C, op(X) = Xᵀ when the flag is set; lda/ldb/ldc are row strides. */
  sgemm(
    ta: boolean,
    tb: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    lda: number,
    B: Float32Array,
    ldb: number,
    beta: number,
    C: Float32Array,
    ldc: number,
  ): void;
  /**
   * C[M×N] = alpha·X[M×K]·Wᵀ + beta·C with W [N×K] as BF16 bits, on CPUs with BF16 dot products: X is rounded to
   * BF16 (to nearest even, after alpha) and the products are summed in F32 (bf16ProductReference defines it). Returns
   * false, doing nothing, where there are none (the caller converts W to F32 instead). Absent from the references.
   * With a low-rank term after C's arguments, adds it too, in F32.
   */
  sgemmBf16?: (...args: [...Parameters<Bf16WeightProduct>, ...([] | LowRankTerm)]) => boolean;
  /**
   * C[M×N] = alpha·X[M×K]·W + beta·C with W [K×N] as BF16 bits (the backward product through a frozen BF16 weight
   * [out, in]), rounded and summed as sgemmBf16 (bf16ProductReference with wRows), and the low-rank term where given.
   * Returns false where it would.
   */
  sgemmBf16Rows?: (...args: [...Parameters<Bf16WeightProduct>, ...([] | LowRankTerm)]) => boolean;
  /**
   * sgemm's C = alpha·op(A)·op(B) + beta·C with both F32 operands rounded to BF16 (A after alpha, to nearest even) and
   * the products summed in F32, on one thread: the packing and micro-kernel of the attention backward's block
   * products with the bf16 flag, as one call. Returns false where the CPU has no BF16 dot products. Absent from the
   * references.
   */
  sgemmRoundedBf16?(...product: Parameters<Kernels["sgemm"]>): boolean;
  /**
   * Exact F32 products with a 16-bit weight (F16 when f16, else BF16): C[M×N] = alpha·X·Wᵀ + beta·C with W [N×K], or
   * with wRows alpha·X·W + beta·C with W [K×N]; W widened to F32 a block at a time in native code. Where there are no
   * BF16 dot products, and for F16 weights. Absent from the references (the caller widens W in TypeScript there).
   */
  sgemmHalf?(wRows: boolean, f16: boolean, ...product: Parameters<Bf16WeightProduct>): void;
  /** out = x / rms(x) · w per row; rstd (1/rms per row) is kept for the backward pass when given. */
  rmsnormForward(
    out: Float32Array,
    rstd: Float32Array | null,
    x: Float32Array,
    w: Float32Array,
    rows: number,
    dim: number,
    eps: number,
  ): void;
  /** dx (= or +=) and dw (+=) of rmsnormForward. */
  rmsnormBackward(
    dx: Float32Array,
    dw: Float32Array | null,
    dout: Float32Array,
    x: Float32Array,
    w: Float32Array,
    rstd: Float32Array,
    rows: number,
    dim: number,
    accumulateDx: boolean,
  ): void;
  /** Rotary embedding in place (half-split, as Hugging Face's rotate_half); row r sits at position pos0 + r % T. */
  rope(
    x: Float32Array,
    rows: number,
    T: number,
    heads: number,
    headDim: number,
    pos0: number,
    cos: Float32Array,
    sin: Float32Array,
    inverse: boolean,
  ): void;
  /** h = silu(gate) · up */
  swigluForward(h: Float32Array, gate: Float32Array, up: Float32Array, n: number): void;
  swigluBackward(
    dgate: Float32Array,
    dup: Float32Array,
    dh: Float32Array,
    gate: Float32Array,
    up: Float32Array,
    n: number,
  ): void;
  /** h = gelu_tanh(gate) · up (GELU with PyTorch's tanh approximation, as Gemma's MLP) */
  gegluForward(h: Float32Array, gate: Float32Array, up: Float32Array, n: number): void;
  gegluBackward(
    dgate: Float32Array,
    dup: Float32Array,
    dh: Float32Array,
    gate: Float32Array,
    up: Float32Array,
    n: number,
  ): void;
  /**
   * Softmax cross-entropy, fused with its gradient: logits are overwritten with scale · weight · (softmax − onehot).
   * Returns Σ weight · (−log p(target)). Rows of weight 0 get a zero gradient and add nothing.
   */
  crossEntropy(
    logits: Float32Array,
    targets: Int32Array,
    weights: Float32Array | null,
    rows: number,
    V: number,
    scale: number,
  ): number;
  /** One AdamW step (decoupled weight decay, as torch.optim.AdamW); bc1/bc2 are the bias corrections 1 − βᵗ. */
  adamw(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    lr: number,
    b1: number,
    b2: number,
    eps: number,
    wd: number,
    bc1: number,
    bc2: number,
  ): void;
  addInPlace(a: Float32Array, b: Float32Array, n: number): void;
  scaleInPlace(a: Float32Array, s: number, n: number): void;
  sumSquares(a: Float32Array, n: number): number;
  /**
   * Grouped-query attention. q: [B,Tq,nH·hd]; k,v: [B,kvStride,nKV·hd] (first Tk rows used); out like q;
   * lse: [B,nH,Tq], each row's log Σ exp of its visible (capped) scores, +∞ where it sees none, kept for backward
   * (null at inference). Query i is at position qPos0+i and sees keys j ≤ qPos0+i with j < validLen[b].
   */
  attentionForward(
    out: Float32Array,
    lse: Float32Array | null,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    B: number,
    Tq: number,
    Tk: number,
    nH: number,
    nKV: number,
    hd: number,
    kvStride: number,
    qPos0: number,
    validLen: Int32Array | null,
    scale: number,
    /** sliding window: a query at position p sees keys j > p − window (0: no window) */
    window: number,
    /** scores become softcap · tanh(score / softcap) before the softmax (0: none; Gemma 2) */
    softcap: number,
    /**
     * for a model whose weights are BF16, on the CPU's BF16 dot products where it has them (the native kernels with
     * AVX-512 and a head size that is a multiple of 16; others ignore it): the scores from queries and keys rounded to
     * BF16, and, for 16 query rows or more, the weighted sum of values from probabilities and values rounded to BF16
     */
    bf16?: boolean,
  ): void;
  /**
   * Backward of attentionForward (kvStride = Tk, qPos0 = 0) from its output and lse: the probabilities are
   * recomputed by blocks, never held whole. dq, dk and dv are overwritten.
   */
  attentionBackward(
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    dout: Float32Array,
    out: Float32Array,
    lse: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    B: number,
    Tq: number,
    Tk: number,
    nH: number,
    nKV: number,
    hd: number,
    validLen: Int32Array | null,
    scale: number,
    window: number,
    softcap: number,
    /**
     * the gradients' products on the CPU's BF16 dot products, where it has them: their operands rounded to BF16, for a
     * model whose weights are BF16 (the native kernels; others ignore it); the scores recomputed as attentionForward
     * computed them with the same flag, which must have given lse
     */
    bf16?: boolean,
  ): void;
}

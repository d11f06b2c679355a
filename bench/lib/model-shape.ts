/** The engine bench's model (6 layers, d_model 384, 6 heads, 2 KV heads, SwiGLU 1024, vocab 8192), shared by the
 * benches. */
import { makeHfConfig } from "../../src/engine/config.js";

export const BENCH_MODEL = makeHfConfig({
  vocabSize: 8192,
  hidden: 384,
  intermediate: 1024,
  layers: 6,
  heads: 6,
  kvHeads: 2,
  tieEmbeddings: true,
});

/** The ~108M-parameter Llama of the peer comparison (hidden 576, 30 layers, 9 heads, 3 KV heads, MLP 1536), with the
 * shipped tokenizer's vocabulary (4096). */
export const PEER_MODEL = makeHfConfig({
  vocabSize: 4096,
  hidden: 576,
  intermediate: 1536,
  layers: 30,
  heads: 9,
  kvHeads: 3,
  tieEmbeddings: true,
});

/** What Qwen3-0.6B and Qwen3-1.7B share (28 layers, 16 heads, 8 KV heads, head 128, tied embeddings, RoPE θ 1e6);
 * each adds its width. */
export function qwen3Layout() {
  return {
    architecture: "Qwen3ForCausalLM",
    layers: 28,
    heads: 16,
    kvHeads: 8,
    headDim: 128,
    tieEmbeddings: true,
    ropeTheta: 1e6,
    maxPositions: 40960,
  } as const;
}

/** Qwen3-1.7B's shape without its vocabulary (d 2048, 28 layers, 16 heads, 8 KV heads, head 128, SwiGLU 6144), for
 * the benches' random checkpoints: each gives the vocabulary it needs. */
export const QWEN3_1_7B_LAYERS = { ...qwen3Layout(), hidden: 2048, intermediate: 6144 } as const;

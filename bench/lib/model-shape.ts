/** The engine bench's model (6 layers, d_model 384, 6 heads, 2 KV heads, SwiGLU 1024, vocab 8192), shared by benches. */
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

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

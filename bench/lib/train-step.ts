/** One AdamW step with every weight training, as the engine, peers and profile benches time it. */
import type { Kernels } from "../../src/engine/kernels/types.js";
import type { Transformer } from "../../src/engine/model.js";
import { AdamW, clipGradNorm } from "../../src/engine/optim.js";
import { setTrainable } from "../../src/engine/params.js";

/** A closure running one step on tokens → targets (B × T, every position weighted 1). */
export function fullTrainingStep(
  model: Transformer,
  k: Kernels,
  tokens: Int32Array,
  targets: Int32Array,
  B: number,
  T: number,
) {
  const V = model.config.vocabSize;
  for (const p of model.params.values()) setTrainable(p, true);
  const opt = new AdamW(k, model.trainableParams(), { weightDecay: 0.1 });
  const rows = Int32Array.from({ length: B * T }, (_, i) => i);
  const weights = new Float32Array(B * T).fill(1);
  return () => {
    const { logits, tape } = model.forward({ tokens, B, T, validLen: null }, rows, { train: true });
    k.crossEntropy(logits, targets, weights, B * T, V, 1 / (B * T));
    model.backward(tape!, logits);
    clipGradNorm(k, opt.params, 1);
    opt.apply(1e-4);
    opt.zeroGrad();
  };
}

/**
 * `npm run bench -- memory`: peak memory of LoRA training on a 0.5B-parameter model (the shape of Qwen2.5-0.5B:
 * 24 layers, d 896, 14 heads, 2 kv heads, SwiGLU 4864, vocab 151,936, tied), sequence 512, batch 1, loss on every
 * token (the worst case for the LM head). Random weights: memory does not depend on their values.
 */
import { makeHfConfig, parseConfig } from "../src/engine/config.js";
import { Transformer } from "../src/engine/model.js";
import { addLora } from "../src/engine/lora.js";
import { AdamW } from "../src/engine/optim.js";
import { trainStep } from "../src/engine/train-step.js";
import { Rng } from "../src/engine/random.js";

const T = Number(process.env.SEQ ?? 512);
const config = parseConfig({
  ...makeHfConfig({
    architecture: "Qwen2ForCausalLM",
    vocabSize: 151936,
    hidden: 896,
    intermediate: 4864,
    layers: 24,
    heads: 14,
    kvHeads: 2,
    tieEmbeddings: true,
    ropeTheta: 1e6,
  }),
});
const t0 = performance.now();
const model = new Transformer(config);
model.initRandom(1, 0.02);
const params = [...model.params.values()].reduce((s, p) => s + p.data.length, 0);
addLora(model, { rank: 16, alpha: 32, dropout: 0.05, targets: ["all-linear"], seed: 1 });
const opt = new AdamW(model.k, model.trainableParams(), { weightDecay: 0.0 });
const rng = new Rng(3);
const ids = Array.from({ length: T + 1 }, () => rng.int(config.vocabSize));
const seq = { ids, weights: ids.map((_, i) => (i === 0 ? 0 : 1)) };
const stepTimes: number[] = [];
let loss = 0;
for (let s = 0; s < 2; s++) {
  const ts = performance.now();
  loss = trainStep(model, opt, [[seq]], 1e-4, 1).loss;
  stepTimes.push((performance.now() - ts) / 1000);
}
const ru = process.resourceUsage();
console.log(
  JSON.stringify({
    params,
    lora_params: model.trainableParams().reduce((s, p) => s + p.data.length, 0),
    seq: T,
    batch: 1,
    peak_rss_gib: +(ru.maxRSS / 1024 / 1024).toFixed(2),
    step_seconds: stepTimes.map((x) => +x.toFixed(1)),
    setup_seconds: +((performance.now() - t0) / 1000 - stepTimes.reduce((a, b) => a + b, 0)).toFixed(1),
    loss: +loss.toFixed(3),
  }),
);

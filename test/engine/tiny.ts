/** Tiny model configurations for tests, one per supported architecture. */
import { makeHfConfig, parseConfig, type Architecture, type ModelConfig } from "../../src/engine/config.js";
import type { Kernels } from "../../src/engine/kernels/types.js";
import { Transformer } from "../../src/engine/model.js";

export function tinyConfig(arch: Architecture, over: Record<string, unknown> = {}): ModelConfig {
  const raw = {
    ...makeHfConfig({
      architecture: arch,
      vocabSize: 37,
      hidden: 16,
      intermediate: 24,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      tieEmbeddings: arch === "LlamaForCausalLM",
      eosTokenId: 1,
    }),
    ...over,
  };
  return parseConfig(raw);
}

export function tinyModel(arch: Architecture, seed = 1, k?: Kernels, over: Record<string, unknown> = {}): Transformer {
  const m = new Transformer(tinyConfig(arch, over), k);
  m.initRandom(seed, 0.3);
  // non-trivial norms and biases, so their gradients are exercised
  for (const p of m.params.values()) {
    if (p.name.endsWith("norm.weight"))
      for (let i = 0; i < p.data.length; i++) p.data[i] = 1 + 0.1 * Math.sin(i + p.name.length);
    if (p.name.endsWith(".bias")) for (let i = 0; i < p.data.length; i++) p.data[i] = 0.05 * Math.cos(i);
  }
  return m;
}

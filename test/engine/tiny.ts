/** Tiny model configurations for tests, one per supported architecture. */
import { makeHfConfig, parseConfig, type Architecture, type ModelConfig } from "../../src/engine/config.js";
import type { Kernels } from "../../src/engine/kernels/types.js";
import { Transformer } from "../../src/engine/model.js";

/** What each family adds to the Llama layout, set so that every feature changes the output (windows of 3 cut in). */
const FAMILY: Partial<Record<Architecture, Record<string, unknown>>> = {
  MistralForCausalLM: { sliding_window: 3 },
  Gemma2ForCausalLM: {
    hidden_activation: "gelu_pytorch_tanh",
    query_pre_attn_scalar: 6,
    sliding_window: 3,
    layer_types: ["sliding_attention", "full_attention"],
    attn_logit_softcapping: 2,
    final_logit_softcapping: 3,
  },
  Gemma3ForCausalLM: {
    hidden_activation: "gelu_pytorch_tanh",
    query_pre_attn_scalar: 4,
    sliding_window: 3,
    layer_types: ["sliding_attention", "full_attention"],
    rope_parameters: {
      sliding_attention: { rope_type: "default", rope_theta: 10000 },
      full_attention: { rope_type: "linear", factor: 2, rope_theta: 1e6 },
    },
  },
  Phi3ForCausalLM: { sliding_window: 4 },
};

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
    ...FAMILY[arch],
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

/**
 * The parameters a config implies, by name and shape, worked out without allocating any: a loader compares them with
 * a checkpoint's headers (and the machine's memory) before it builds the model, so that a config whose sizes do not
 * describe its weights (a million layers over a few megabytes) is one line, not minutes of allocation.
 * Transformer's constructor is what builds them; a test holds the two equal for every architecture.
 */
import type { ModelConfig } from "./config.js";

export function paramShapes(c: ModelConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const qDim = c.heads * c.headDim;
  const kvDim = c.kvHeads * c.headDim;
  const I = c.intermediate;
  out.set("model.embed_tokens.weight", [c.vocabSize, c.hidden]);
  for (let i = 0; i < c.layers; i++) {
    const p = `model.layers.${i}`;
    const lin = (name: string, inF: number, outF: number, bias: boolean) => {
      out.set(`${p}.${name}.weight`, [outF, inF]);
      if (bias) out.set(`${p}.${name}.bias`, [outF]);
    };
    const norm = (name: string, dim = c.hidden) => out.set(`${p}.${name}.weight`, [dim]);
    if (c.normLayout !== "post") norm("input_layernorm");
    if (c.normLayout !== "pre") norm("post_attention_layernorm");
    if (c.normLayout === "pre") norm("post_attention_layernorm");
    if (c.normLayout === "sandwich") norm("pre_feedforward_layernorm");
    if (c.normLayout !== "pre") norm("post_feedforward_layernorm");
    if (c.qkNorm !== "none") {
      norm("self_attn.q_norm", c.qkNorm === "head" ? c.headDim : qDim);
      norm("self_attn.k_norm", c.qkNorm === "head" ? c.headDim : kvDim);
    }
    if (c.fusedProjections) lin("self_attn.qkv_proj", c.hidden, qDim + 2 * kvDim, c.qkvBias);
    else {
      lin("self_attn.q_proj", c.hidden, qDim, c.qkvBias);
      lin("self_attn.k_proj", c.hidden, kvDim, c.qkvBias);
      lin("self_attn.v_proj", c.hidden, kvDim, c.qkvBias);
    }
    lin("self_attn.o_proj", qDim, c.hidden, c.oBias);
    if (c.fusedProjections) lin("mlp.gate_up_proj", c.hidden, 2 * I, c.mlpBias);
    else {
      lin("mlp.gate_proj", c.hidden, I, c.mlpBias);
      lin("mlp.up_proj", c.hidden, I, c.mlpBias);
    }
    lin("mlp.down_proj", I, c.hidden, c.mlpBias);
  }
  out.set("model.norm.weight", [c.hidden]);
  if (!c.tieEmbeddings) out.set("lm_head.weight", [c.vocabSize, c.hidden]);
  return out;
}

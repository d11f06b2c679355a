/**
 * The model configuration, read from a Hugging Face checkpoint's config.json: the Llama family (Llama, Qwen2, Qwen3,
 * Mistral), Gemma 2 and Gemma 3 (text), Phi-3 and OLMo 2, as transformers defines each *ForCausalLM. What one
 * family does differently from Llama is said here once, as fields of ModelConfig, and the model reads only those.
 */
import { join } from "node:path";
import { z } from "zod";
import { InputError, parseOrThrow, readJsonFile } from "../core/errors.js";
import { resolveModelDir } from "../hub/resolve.js";

/** Each architecture and the model_type transformers writes beside it. */
export const ARCHITECTURES = {
  LlamaForCausalLM: "llama",
  Qwen2ForCausalLM: "qwen2",
  Qwen3ForCausalLM: "qwen3",
  MistralForCausalLM: "mistral",
  Gemma2ForCausalLM: "gemma2",
  Gemma3ForCausalLM: "gemma3_text",
  Phi3ForCausalLM: "phi3",
  Olmo2ForCausalLM: "olmo2",
} as const;
export type Architecture = keyof typeof ARCHITECTURES;
export const SUPPORTED_ARCHITECTURES = Object.keys(ARCHITECTURES) as Architecture[];

const RopeScaling = z
  .object({
    rope_type: z.string().optional(),
    type: z.string().optional(),
    factor: z.number().optional(),
    low_freq_factor: z.number().optional(),
    high_freq_factor: z.number().optional(),
    original_max_position_embeddings: z.number().optional(),
    partial_rotary_factor: z.number().optional(),
  })
  .passthrough();
type RopeScalingT = z.infer<typeof RopeScaling>;

/** transformers ≥ 5 writes RoPE as `rope_parameters` (theta, type and scaling in one object, or one per layer type) */
const RopeParameters = RopeScaling.extend({ rope_theta: z.number().positive().optional() });
type RopeParametersT = z.infer<typeof RopeParameters>;

// sizes reach the native kernels as C ints; no released model has more than a few hundred layers
const INT32_MAX = 2 ** 31 - 1;
const MAX_LAYERS = 10_000;

const HfConfig = z
  .object({
    architectures: z.array(z.string()).min(1),
    vocab_size: z.number().int().positive().max(INT32_MAX),
    hidden_size: z.number().int().positive().max(INT32_MAX),
    intermediate_size: z.number().int().positive().max(INT32_MAX),
    num_hidden_layers: z.number().int().positive().max(MAX_LAYERS),
    num_attention_heads: z.number().int().positive().max(INT32_MAX),
    num_key_value_heads: z.number().int().positive().max(INT32_MAX).nullable().optional(),
    head_dim: z.number().int().positive().max(INT32_MAX).nullable().optional(),
    rms_norm_eps: z.number().positive().default(1e-6),
    rope_theta: z.number().positive().default(10000),
    rope_local_base_freq: z.number().positive().optional(),
    rope_scaling: RopeScaling.nullable().optional(),
    rope_parameters: z
      .union([RopeParameters, z.record(z.string(), RopeParameters)])
      .nullable()
      .optional(),
    partial_rotary_factor: z.number().optional(),
    layer_types: z.array(z.string()).nullable().optional(),
    sliding_window: z.number().int().positive().nullable().optional(),
    sliding_window_pattern: z.number().int().positive().optional(),
    _sliding_window_pattern: z.number().int().positive().optional(),
    use_sliding_window: z.boolean().optional(),
    max_position_embeddings: z.number().int().positive().max(INT32_MAX).default(2048),
    tie_word_embeddings: z.boolean().optional(),
    attention_bias: z.boolean().optional(),
    mlp_bias: z.boolean().optional(),
    hidden_act: z.string().nullable().optional(),
    hidden_activation: z.string().nullable().optional(),
    query_pre_attn_scalar: z.number().positive().nullable().optional(),
    attn_logit_softcapping: z.number().positive().nullable().optional(),
    final_logit_softcapping: z.number().positive().nullable().optional(),
    use_bidirectional_attention: z.boolean().nullable().optional(),
    bos_token_id: z.union([z.number(), z.null()]).optional(),
    eos_token_id: z.union([z.number(), z.array(z.number()), z.null()]).optional(),
    torch_dtype: z.string().optional(),
  })
  .passthrough();

export interface RopeSetting {
  theta: number;
  scaling: RopeScalingT | null;
}

export interface ModelConfig {
  architecture: Architecture;
  vocabSize: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  rmsEps: number;
  ropeTheta: number;
  ropeScaling: RopeScalingT | null;
  /** RoPE of the sliding-window layers where it differs from the others' (Gemma 3's local base frequency) */
  localRope: RopeSetting | null;
  maxPositions: number;
  tieEmbeddings: boolean;
  /** Bias on q, k, v projections (Qwen2 always; Llama when attention_bias). */
  qkvBias: boolean;
  /** Bias on the output projection (Llama with attention_bias). */
  oBias: boolean;
  mlpBias: boolean;
  /** RMSNorm on q and k before RoPE: per head (Qwen3, Gemma 3) or over all heads at once (OLMo 2). */
  qkNorm: "none" | "head" | "all";
  /**
   * Where each block's norms sit: "pre" (Llama: before attention and MLP), "sandwich" (Gemma: before and after
   * each), "post" (OLMo 2: after each, none before).
   */
  normLayout: "pre" | "sandwich" | "post";
  /** RMSNorm scales by (1 + w) (Gemma) instead of w. */
  normOffset: 0 | 1;
  /** MLP gate activation: SiLU (SwiGLU) or tanh-approximated GELU (GeGLU, Gemma). */
  activation: "silu" | "gelu_tanh";
  /** Phi-3 stores q, k, v as one qkv_proj and gate, up as one gate_up_proj. */
  fusedProjections: boolean;
  /** Embeddings are multiplied by this (Gemma: √hidden). */
  embedScale: number;
  /** Attention scores are q·k times this (1/√head_dim, or Gemma's query_pre_attn_scalar^-½). */
  attnScale: number;
  /** Scores become c·tanh(s/c) before the softmax (Gemma 2); 0 = none. */
  attnSoftcap: number;
  /** Logits become c·tanh(z/c) (Gemma 2); 0 = none. */
  finalSoftcap: number;
  /** Per layer: the sliding-window size, 0 for full attention. */
  windows: number[];
  eosTokenIds: number[];
  /** The config.json object as read, written back unchanged (but for dtype) when the model is saved. */
  raw: Record<string, unknown>;
}

type Parsed = z.infer<typeof HfConfig>;

export function parseConfig(raw: unknown, file = "config.json"): ModelConfig {
  const c = parseOrThrow(HfConfig, raw, file);
  const arch = c.architectures[0];
  if (!(arch in ARCHITECTURES)) {
    throw new InputError(
      `field "architectures": ${arch} is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(", ")})`,
      file,
    );
  }
  const a = arch as Architecture;
  const gemma = a === "Gemma2ForCausalLM" || a === "Gemma3ForCausalLM";
  const actField = gemma ? "hidden_activation" : "hidden_act";
  const act = (gemma ? (c.hidden_activation ?? c.hidden_act) : c.hidden_act) ?? (gemma ? "gelu_pytorch_tanh" : "silu");
  const activation = act === "silu" ? "silu" : ["gelu_pytorch_tanh", "gelu_tanh"].includes(act) ? "gelu_tanh" : null;
  if (!activation)
    throw new InputError(`field "${actField}": "${act}" is not supported (silu, gelu_pytorch_tanh)`, file);
  if (c.use_bidirectional_attention)
    throw new InputError(`field "use_bidirectional_attention": only causal attention is supported`, file);
  const kvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % kvHeads !== 0) {
    throw new InputError(
      `field "num_key_value_heads": ${kvHeads} does not divide num_attention_heads ${c.num_attention_heads}`,
      file,
    );
  }
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0)
    throw new InputError(`field "head_dim": ${headDim} must be an even integer`, file);
  const layerTypes = layerTypesOf(a, c, file);
  const { full, local } = ropeSettings(a, c, file);
  const eos = c.eos_token_id == null ? [] : Array.isArray(c.eos_token_id) ? c.eos_token_id : [c.eos_token_id];
  const window = c.sliding_window ?? 0;
  return {
    architecture: a,
    vocabSize: c.vocab_size,
    hidden: c.hidden_size,
    intermediate: c.intermediate_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    kvHeads,
    headDim,
    rmsEps: c.rms_norm_eps,
    ropeTheta: full.theta,
    ropeScaling: full.scaling,
    localRope: local,
    maxPositions: c.max_position_embeddings,
    tieEmbeddings: c.tie_word_embeddings ?? gemma,
    qkvBias: a === "Qwen2ForCausalLM" ? true : (c.attention_bias ?? false),
    oBias: a === "LlamaForCausalLM" || gemma || a === "Olmo2ForCausalLM" ? (c.attention_bias ?? false) : false,
    mlpBias: c.mlp_bias ?? false,
    qkNorm: a === "Qwen3ForCausalLM" || a === "Gemma3ForCausalLM" ? "head" : a === "Olmo2ForCausalLM" ? "all" : "none",
    normLayout: gemma ? "sandwich" : a === "Olmo2ForCausalLM" ? "post" : "pre",
    normOffset: gemma ? 1 : 0,
    activation,
    fusedProjections: a === "Phi3ForCausalLM",
    embedScale: gemma ? Math.fround(Math.sqrt(c.hidden_size)) : 1,
    attnScale: gemma && c.query_pre_attn_scalar ? c.query_pre_attn_scalar ** -0.5 : headDim ** -0.5,
    attnSoftcap: a === "Gemma2ForCausalLM" ? (c.attn_logit_softcapping ?? 0) : 0,
    finalSoftcap: gemma ? (c.final_logit_softcapping ?? 0) : 0,
    windows: layerTypes.map((t) => (t === "sliding_attention" ? window : 0)),
    eosTokenIds: eos,
    raw: raw as Record<string, unknown>,
  };
}

/** Each layer's attention kind, from `layer_types` or, in configs written before it, the family's own rule. */
function layerTypesOf(a: Architecture, c: Parsed, file: string): string[] {
  const n = c.num_hidden_layers;
  if (c.use_sliding_window && (a === "Qwen2ForCausalLM" || a === "Qwen3ForCausalLM"))
    throw new InputError(`field "use_sliding_window": sliding-window attention is not supported for ${a}`, file);
  let types: string[];
  if (c.layer_types) {
    if (c.layer_types.length !== n)
      throw new InputError(`field "layer_types": ${c.layer_types.length} entries for ${n} layers`, file);
    types = c.layer_types;
  } else if (a === "Gemma2ForCausalLM")
    types = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? "sliding_attention" : "full_attention"));
  else if (a === "Gemma3ForCausalLM") {
    const every = c.sliding_window_pattern ?? c._sliding_window_pattern ?? 6;
    types = Array.from({ length: n }, (_, i) => ((i + 1) % every === 0 ? "full_attention" : "sliding_attention"));
  } else if ((a === "MistralForCausalLM" || a === "Phi3ForCausalLM") && c.sliding_window)
    types = Array(n).fill("sliding_attention");
  else types = Array(n).fill("full_attention");
  const other = types.find((t) => t !== "full_attention" && t !== "sliding_attention");
  if (other) throw new InputError(`field "layer_types": "${other}" layers are not supported`, file);
  if (types.includes("sliding_attention") && !c.sliding_window)
    throw new InputError(`field "sliding_window": sliding_attention layers need a window size`, file);
  return types;
}

/** RoPE for full-attention layers, and for sliding ones where they differ (Gemma 3). */
function ropeSettings(a: Architecture, c: Parsed, file: string): { full: RopeSetting; local: RopeSetting | null } {
  const rp = c.rope_parameters;
  const perType =
    rp && !Object.keys(rp).some((k) => ["rope_theta", "rope_type", "type", "factor"].includes(k))
      ? (rp as Record<string, RopeParametersT>)
      : null;
  const setting = (p: RopeParametersT | null | undefined, theta: number, legacy: RopeScalingT | null | undefined) => {
    const scaling = legacy ?? (p && (p.rope_type ?? p.type ?? "default") !== "default" ? p : null);
    const type = scaling ? (scaling.rope_type ?? scaling.type ?? "default") : "default";
    if (!["default", "llama3", "linear"].includes(type))
      throw new InputError(
        `field "rope_scaling.rope_type": "${type}" is not supported (default, linear, llama3)`,
        file,
      );
    const partial = p?.partial_rotary_factor ?? c.partial_rotary_factor ?? 1;
    if (partial !== 1)
      throw new InputError(
        `field "partial_rotary_factor": ${partial} is not supported (only 1, rotary on every dimension)`,
        file,
      );
    return { theta: p?.rope_theta ?? theta, scaling: type !== "default" ? { ...scaling, rope_type: type } : null };
  };
  if (perType) {
    const full = setting(perType.full_attention ?? Object.values(perType)[0], c.rope_theta, c.rope_scaling);
    const sliding = perType.sliding_attention ? setting(perType.sliding_attention, c.rope_theta, null) : null;
    const same = !sliding || JSON.stringify(sliding) === JSON.stringify(full);
    if (!same && a !== "Gemma3ForCausalLM")
      throw new InputError(
        `field "rope_parameters": different RoPE settings per layer type are not supported for ${a}`,
        file,
      );
    return { full, local: same ? null : sliding };
  }
  const full = setting(rp as RopeParametersT | null | undefined, c.rope_theta, c.rope_scaling);
  if (a === "Gemma3ForCausalLM" && c.rope_local_base_freq && c.rope_local_base_freq !== full.theta) {
    return { full, local: { theta: c.rope_local_base_freq, scaling: null } };
  }
  return { full, local: null };
}

export function readConfig(ref: string): ModelConfig {
  const file = join(resolveModelDir(ref), "config.json");
  return parseConfig(readJsonFile(file, "a model directory needs config.json"), file);
}

/** A config.json object for a new model of the given shape (used by pretraining, tests and benches). */
export function makeHfConfig(o: {
  architecture?: Architecture;
  vocabSize: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim?: number;
  ropeTheta?: number;
  maxPositions?: number;
  tieEmbeddings?: boolean;
  rmsEps?: number;
  eosTokenId?: number;
  bosTokenId?: number;
}): Record<string, unknown> {
  const arch = o.architecture ?? "LlamaForCausalLM";
  const model_type = ARCHITECTURES[arch];
  return {
    architectures: [arch],
    model_type,
    vocab_size: o.vocabSize,
    hidden_size: o.hidden,
    intermediate_size: o.intermediate,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    num_key_value_heads: o.kvHeads,
    head_dim: o.headDim ?? o.hidden / o.heads,
    rms_norm_eps: o.rmsEps ?? 1e-5,
    rope_theta: o.ropeTheta ?? 10000,
    max_position_embeddings: o.maxPositions ?? 2048,
    tie_word_embeddings: o.tieEmbeddings ?? true,
    hidden_act: "silu",
    attention_bias: false,
    torch_dtype: "float32",
    ...(o.eosTokenId !== undefined ? { eos_token_id: o.eosTokenId } : {}),
    ...(o.bosTokenId !== undefined ? { bos_token_id: o.bosTokenId } : {}),
  };
}

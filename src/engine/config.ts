/**
 * The model configuration, read from a Hugging Face checkpoint's config.json. Supports LlamaForCausalLM,
 * Qwen2ForCausalLM and Qwen3ForCausalLM (SmolLM2, Llama 3, Qwen 2.5, Qwen 3).
 */
import { join } from "node:path";
import { z } from "zod";
import { resolveModelDir } from "../hub/resolve.js";
import { InputError, parseOrThrow, readJsonFile } from "../core/errors.js";

export const SUPPORTED_ARCHITECTURES = ["LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

const RopeScaling = z
  .object({
    rope_type: z.string().optional(),
    type: z.string().optional(),
    factor: z.number().optional(),
    low_freq_factor: z.number().optional(),
    high_freq_factor: z.number().optional(),
    original_max_position_embeddings: z.number().optional(),
  })
  .passthrough();

/** transformers ≥ 5 writes RoPE as `rope_parameters` (theta, type and scaling in one object, or one per layer type) */
const RopeParameters = RopeScaling.extend({ rope_theta: z.number().positive().optional() });

const HfConfig = z
  .object({
    architectures: z.array(z.string()).min(1),
    vocab_size: z.number().int().positive(),
    hidden_size: z.number().int().positive(),
    intermediate_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    num_key_value_heads: z.number().int().positive().optional(),
    head_dim: z.number().int().positive().nullable().optional(),
    rms_norm_eps: z.number().positive().default(1e-6),
    rope_theta: z.number().positive().default(10000),
    rope_scaling: RopeScaling.nullable().optional(),
    rope_parameters: z
      .union([RopeParameters, z.record(z.string(), RopeParameters)])
      .nullable()
      .optional(),
    layer_types: z.array(z.string()).optional(),
    use_sliding_window: z.boolean().optional(),
    max_position_embeddings: z.number().int().positive().default(2048),
    tie_word_embeddings: z.boolean().default(false),
    attention_bias: z.boolean().optional(),
    mlp_bias: z.boolean().optional(),
    hidden_act: z.string().default("silu"),
    bos_token_id: z.union([z.number(), z.null()]).optional(),
    eos_token_id: z.union([z.number(), z.array(z.number()), z.null()]).optional(),
    torch_dtype: z.string().optional(),
  })
  .passthrough();

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
  ropeScaling: z.infer<typeof RopeScaling> | null;
  maxPositions: number;
  tieEmbeddings: boolean;
  /** Bias on q, k, v projections (Qwen2 always; Llama when attention_bias). */
  qkvBias: boolean;
  /** Bias on the output projection (Llama with attention_bias). */
  oBias: boolean;
  mlpBias: boolean;
  /** Per-head RMSNorm on q and k before RoPE (Qwen3). */
  qkNorm: boolean;
  eosTokenIds: number[];
  /** The config.json object as read, written back unchanged (but for dtype) when the model is saved. */
  raw: Record<string, unknown>;
}

export function parseConfig(raw: unknown, file = "config.json"): ModelConfig {
  const c = parseOrThrow(HfConfig, raw, file);
  const arch = c.architectures[0];
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new InputError(
      `field "architectures": ${arch} is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(", ")})`,
      file,
    );
  }
  if (c.hidden_act !== "silu")
    throw new InputError(`field "hidden_act": only "silu" is supported, got "${c.hidden_act}"`, file);
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
  if (c.use_sliding_window)
    throw new InputError(`field "use_sliding_window": sliding-window attention is not supported`, file);
  const other = c.layer_types?.find((t) => t !== "full_attention");
  if (other)
    throw new InputError(`field "layer_types": "${other}" layers are not supported (full_attention only)`, file);
  const rope = ropeParameters(c.rope_parameters, file);
  const ropeTheta = rope?.rope_theta ?? c.rope_theta;
  const scaling = c.rope_scaling ?? (rope && (rope.rope_type ?? rope.type ?? "default") !== "default" ? rope : null);
  const ropeType = scaling ? (scaling.rope_type ?? scaling.type ?? "default") : "default";
  if (!["default", "llama3", "linear"].includes(ropeType)) {
    throw new InputError(
      `field "rope_scaling.rope_type": "${ropeType}" is not supported (default, linear, llama3)`,
      file,
    );
  }
  const eos = c.eos_token_id == null ? [] : Array.isArray(c.eos_token_id) ? c.eos_token_id : [c.eos_token_id];
  return {
    architecture: arch as Architecture,
    vocabSize: c.vocab_size,
    hidden: c.hidden_size,
    intermediate: c.intermediate_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    kvHeads,
    headDim,
    rmsEps: c.rms_norm_eps,
    ropeTheta,
    ropeScaling: scaling && ropeType !== "default" ? { ...scaling, rope_type: ropeType } : null,
    maxPositions: c.max_position_embeddings,
    tieEmbeddings: c.tie_word_embeddings,
    qkvBias: arch === "Qwen2ForCausalLM" ? true : (c.attention_bias ?? false),
    oBias: arch === "LlamaForCausalLM" ? (c.attention_bias ?? false) : false,
    mlpBias: c.mlp_bias ?? false,
    qkNorm: arch === "Qwen3ForCausalLM",
    eosTokenIds: eos,
    raw: raw as Record<string, unknown>,
  };
}

/** One RoPE setting from `rope_parameters`: the object itself, or the one shared by every layer type. */
function ropeParameters(
  rp: z.infer<typeof HfConfig>["rope_parameters"],
  file: string,
): z.infer<typeof RopeParameters> | null {
  if (!rp) return null;
  const keys = ["rope_theta", "rope_type", "type", "factor"];
  if (Object.keys(rp).some((k) => keys.includes(k))) return rp as z.infer<typeof RopeParameters>;
  const each = Object.values(rp as Record<string, z.infer<typeof RopeParameters>>);
  if (each.some((v) => JSON.stringify(v) !== JSON.stringify(each[0])))
    throw new InputError(`field "rope_parameters": different RoPE settings per layer type are not supported`, file);
  return each[0] ?? null;
}

/** The config of a model folder or of a hub id in the Hugging Face cache. */
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
  const model_type = arch === "LlamaForCausalLM" ? "llama" : arch === "Qwen2ForCausalLM" ? "qwen2" : "qwen3";
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

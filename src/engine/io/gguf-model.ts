/**
 * A crossmon model (base weights, with any LoRA merged in) as GGUF for llama.cpp and Ollama: tensor names and
 * layouts, hyper-parameters and the tokenizer as llama.cpp's own converter (convert_hf_to_gguf.py) writes them.
 * Llama and Mistral keep RoPE's pairs interleaved in llama.cpp, so their q and k rows are permuted as that converter
 * does; Qwen2, Qwen3 and OLMo 2 rotate halves (NeoX order) and keep the rows as stored.
 */
import type { Architecture, ModelConfig } from "../config.js";
import type { Transformer } from "../model.js";
import type { HfTokenizer } from "./tokenizer.js";
import { paramSize, readF32 } from "../params.js";
import { type GgmlType, type GgufTensor, type GgufValue, gguf } from "./gguf.js";

export type ExportDtype = "f32" | "f16" | "bf16" | "q8_0";
const MATRIX_TYPE: Record<ExportDtype, GgmlType> = { f32: "F32", f16: "F16", bf16: "BF16", q8_0: "Q8_0" };
/** llama.cpp's LLAMA_FTYPE numbers */
const FILE_TYPE: Record<ExportDtype, number> = { f32: 0, f16: 1, q8_0: 7, bf16: 32 };

/** crossmon's architectures that llama.cpp runs under a GGUF architecture name of its own */
const GGUF_ARCH: Partial<Record<Architecture, string>> = {
  LlamaForCausalLM: "llama",
  MistralForCausalLM: "llama",
  Qwen2ForCausalLM: "qwen2",
  Qwen3ForCausalLM: "qwen3",
  Olmo2ForCausalLM: "olmo2",
  Gemma2ForCausalLM: "gemma2",
  Phi3ForCausalLM: "phi3",
};

export function ggufArchitecture(c: ModelConfig): string {
  const a = GGUF_ARCH[c.architecture];
  if (!a)
    throw new Error(
      `${c.architecture} cannot be exported to GGUF yet (exportable: ${Object.keys(GGUF_ARCH).join(", ")})`,
    );
  return a;
}

/** HF tensor name → GGUF tensor name (null: not written, e.g. a tied LM head). */
function ggufName(hf: string, c: ModelConfig): string | null {
  if (hf === "model.embed_tokens.weight") return "token_embd.weight";
  if (hf === "model.norm.weight") return "output_norm.weight";
  if (hf === "lm_head.weight") return c.tieEmbeddings ? null : "output.weight";
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hf);
  if (!m) throw new Error(`no GGUF name for tensor ${hf}`);
  const parts: Record<string, string> = {
    input_layernorm: "attn_norm",
    // after attention: the MLP's input norm where norms come first (Llama), its own norm otherwise (Gemma, OLMo 2)
    post_attention_layernorm: c.normLayout === "pre" ? "ffn_norm" : "post_attention_norm",
    pre_feedforward_layernorm: "ffn_norm",
    post_feedforward_layernorm: "post_ffw_norm",
    "self_attn.qkv_proj": "attn_qkv",
    "mlp.gate_up_proj": "ffn_up",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
  };
  const g = parts[m[2]];
  if (!g) throw new Error(`no GGUF name for tensor ${hf}`);
  return `blk.${m[1]}.${g}.${m[3]}`;
}

/** Rows of a q or k projection reordered from halves (HF) to interleaved pairs (llama.cpp's LLAMA RoPE). */
export function permuteRope(x: Float32Array, heads: number, cols: number): Float32Array {
  const rows = x.length / cols;
  const hd = rows / heads;
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < hd / 2; j++) {
        const from = (h * hd + i * (hd / 2) + j) * cols;
        out.set(x.subarray(from, from + cols), (h * hd + j * 2 + i) * cols);
      }
  return out;
}

/** Llama 3's RoPE frequency factors, as llama.cpp reads them from rope_freqs.weight. */
function llama3RopeFactors(c: ModelConfig): Float32Array {
  const s = c.ropeScaling ?? {};
  const factor = s.factor ?? 8;
  const low = s.low_freq_factor ?? 1;
  const high = s.high_freq_factor ?? 4;
  const old = s.original_max_position_embeddings ?? 8192;
  const out = new Float32Array(c.headDim / 2);
  for (let i = 0; i < out.length; i++) {
    const freq = 1 / c.ropeTheta ** ((2 * i) / c.headDim);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < old / high) out[i] = 1;
    else if (wavelen > old / low) out[i] = factor;
    else {
      const smooth = (old / wavelen - low) / (high - low);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}

function ropeMetadata(arch: string, c: ModelConfig): [string, GgufValue][] {
  const kind = c.ropeScaling?.rope_type ?? c.ropeScaling?.type ?? "default";
  if (kind === "default" || kind === "llama3") return [];
  if (kind === "linear")
    return [
      [`${arch}.rope.scaling.type`, gguf.string("linear")],
      [`${arch}.rope.scaling.factor`, gguf.f32(c.ropeScaling?.factor ?? 1)],
    ];
  throw new Error(`RoPE scaling "${kind}" cannot be exported to GGUF yet (default, linear and llama3 can)`);
}

/** Which of llama.cpp's pre-tokenizers splits text as this tokenizer.json does. */
function preTokenizer(json: Record<string, unknown>): { name: string; known: boolean } {
  const pre = json.pre_tokenizer as Record<string, unknown> | null;
  if (pre?.type === "ByteLevel" && pre.use_regex !== false) return { name: "gpt-2", known: true };
  const text = JSON.stringify(pre ?? {});
  // the split patterns of the two byte-level BPE families most models use
  if (text.includes("\\\\p{N}{1,3}") && text.includes("(?i:'s|'t|'re|'ve|'m|'ll|'d)"))
    return { name: "llama-bpe", known: true };
  if (text.includes("[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}|")) return { name: "qwen2", known: true };
  return { name: "default", known: false };
}

/** The tokenizer as GGUF metadata (byte-level BPE: vocabulary, token types, merges, special ids, chat template). */
export function tokenizerMetadata(tok: HfTokenizer, c: ModelConfig, warn: (l: string) => void): [string, GgufValue][] {
  const json = tok.json;
  const model = json.model as {
    type?: string;
    vocab?: Record<string, number>;
    merges?: unknown[];
    byte_fallback?: boolean;
  };
  if (model?.type !== "BPE" || model.byte_fallback)
    throw new Error(
      `only byte-level BPE tokenizers can be exported to GGUF yet (this one: ${model?.type ?? "unknown"}` +
        `${model?.byte_fallback ? " with byte fallback, SentencePiece-style" : ""})`,
    );
  const tokens: string[] = Array.from({ length: c.vocabSize }, (_, i) => `[PAD${i}]`);
  const types: number[] = Array.from({ length: c.vocabSize }, () => 5); // unused, until a token claims the id
  for (const [t, id] of Object.entries(model.vocab ?? {}))
    if (id < c.vocabSize) {
      tokens[id] = t;
      types[id] = 1;
    }
  for (const t of (json.added_tokens ?? []) as { id: number; content: string; special: boolean }[])
    if (t.id < c.vocabSize) {
      tokens[t.id] = t.content;
      types[t.id] = t.special ? 3 : 4;
    }
  const merges = (model.merges ?? []).map((m) => (Array.isArray(m) ? m.join(" ") : String(m)));
  const pre = preTokenizer(json);
  if (!pre.known)
    warn(
      'the tokenizer\'s pre-tokenizer is not one llama.cpp names; the GGUF says "default", which may split some ' +
        "texts differently",
    );
  const out: [string, GgufValue][] = [
    ["tokenizer.ggml.model", gguf.string("gpt2")],
    ["tokenizer.ggml.pre", gguf.string(pre.name)],
    ["tokenizer.ggml.tokens", gguf.strings(tokens)],
    ["tokenizer.ggml.token_type", gguf.i32s(types)],
    ["tokenizer.ggml.merges", gguf.strings(merges)],
  ];
  const raw = c.raw as { bos_token_id?: number | null; pad_token_id?: number | null };
  const eos = c.eosTokenIds[0];
  if (typeof raw.bos_token_id === "number") {
    out.push(["tokenizer.ggml.bos_token_id", gguf.u32(raw.bos_token_id)]);
    // whether the tokenizer itself puts BOS first, found by asking it
    out.push(["tokenizer.ggml.add_bos_token", gguf.bool(tok.encode("a", true)[0] === raw.bos_token_id)]);
  } else out.push(["tokenizer.ggml.add_bos_token", gguf.bool(false)]);
  if (eos !== undefined) out.push(["tokenizer.ggml.eos_token_id", gguf.u32(eos)]);
  if (typeof raw.pad_token_id === "number") out.push(["tokenizer.ggml.padding_token_id", gguf.u32(raw.pad_token_id)]);
  if (tok.chatTemplateSource) out.push(["tokenizer.chat_template", gguf.string(tok.chatTemplateSource)]);
  return out;
}

/** Hyper-parameters under the architecture's own prefix, as llama.cpp reads them. */
function modelMetadata(arch: string, c: ModelConfig, name: string, dtype: ExportDtype): [string, GgufValue][] {
  const out: [string, GgufValue][] = [
    ["general.architecture", gguf.string(arch)],
    ["general.name", gguf.string(name)],
    ["general.file_type", gguf.u32(FILE_TYPE[dtype])],
    [`${arch}.context_length`, gguf.u32(c.maxPositions)],
    [`${arch}.embedding_length`, gguf.u32(c.hidden)],
    [`${arch}.block_count`, gguf.u32(c.layers)],
    [`${arch}.feed_forward_length`, gguf.u32(c.intermediate)],
    [`${arch}.attention.head_count`, gguf.u32(c.heads)],
    [`${arch}.attention.head_count_kv`, gguf.u32(c.kvHeads)],
    [`${arch}.attention.layer_norm_rms_epsilon`, gguf.f32(c.rmsEps)],
    [`${arch}.rope.freq_base`, gguf.f32(c.ropeTheta)],
    [`${arch}.rope.dimension_count`, gguf.u32(c.headDim)],
    [`${arch}.vocab_size`, gguf.u32(c.vocabSize)],
  ];
  if (c.headDim * c.heads !== c.hidden || arch === "gemma2")
    out.push(
      [`${arch}.attention.key_length`, gguf.u32(c.headDim)],
      [`${arch}.attention.value_length`, gguf.u32(c.headDim)],
    );
  if (arch === "gemma2") out.push(...gemma2Metadata(c));
  return [...out, ...ropeMetadata(arch, c)];
}

/** Gemma 2's soft-caps and sliding window; llama.cpp alternates sliding and full layers from the first, as Gemma 2
 * does, and scales attention by 1/√head_dim (by 1/√(hidden/heads) for the 27B model), so another scale is refused. */
function gemma2Metadata(c: ModelConfig): [string, GgufValue][] {
  if (!c.tieEmbeddings) throw new Error("llama.cpp's gemma2 ties its output to the embeddings; this model does not");
  const sliding = c.windows.map((w, i) => w > 0 === (i % 2 === 0));
  if (!sliding.every(Boolean))
    throw new Error("llama.cpp's gemma2 slides its window on even layers only; this model's layers differ");
  const scale = c.layers === 46 ? 1 / Math.sqrt(c.hidden / c.heads) : 1 / Math.sqrt(c.headDim);
  if (Math.abs(c.attnScale - scale) > 1e-6 * scale)
    throw new Error(
      `llama.cpp's gemma2 scales attention by ${scale.toPrecision(4)}, this model by ${c.attnScale.toPrecision(4)} ` +
        "(query_pre_attn_scalar)",
    );
  return [
    ["gemma2.attn_logit_softcapping", gguf.f32(c.attnSoftcap)],
    ["gemma2.final_logit_softcapping", gguf.f32(c.finalSoftcap)],
    ["gemma2.attention.sliding_window", gguf.u32(c.windows[0])],
  ];
}

/** Everything llama.cpp needs from a loaded model: metadata and tensors (values read only when written). */
export function ggufOf(
  model: Transformer,
  tok: HfTokenizer,
  o: { dtype: ExportDtype; name: string; warn?: (l: string) => void },
): { metadata: [string, GgufValue][]; tensors: GgufTensor[] } {
  const c = model.config;
  const arch = ggufArchitecture(c);
  for (const l of model.linears())
    if (l.lora) throw new Error("merge the adapter into the model before exporting it (mergeLora)");
  const window = Math.min(...c.windows.map((w) => w || Infinity));
  if (arch !== "gemma2" && Number.isFinite(window) && window < c.maxPositions)
    o.warn?.(
      `llama.cpp's ${arch} attends to the whole context: this model's sliding window of ${window} tokens is not ` +
        `kept, so prompts longer than that score differently there`,
    );
  const interleaved = arch === "llama";
  const tensors: GgufTensor[] = [];
  for (const [hf, p] of model.params) {
    const name = ggufName(hf, c);
    if (!name) continue;
    const matrix = p.shape.length === 2;
    let type: GgmlType = matrix ? MATRIX_TYPE[o.dtype] : "F32";
    // llama.cpp's converter keeps rows that Q8_0's blocks cannot cut in F16
    if (type === "Q8_0" && p.shape[1] % 32) type = "F16";
    const heads = /\.q_proj\./.test(hf) ? c.heads : /\.k_proj\./.test(hf) ? c.kvHeads : 0;
    tensors.push({
      name,
      shape: p.shape,
      type,
      data: () => {
        const x = readF32(p, 0, paramSize(p), new Float32Array(paramSize(p)));
        // Gemma's norms scale by (1 + w); llama.cpp's by the stored weight, so the 1 goes into the file
        if (c.normOffset && hf.endsWith("norm.weight")) for (let i = 0; i < x.length; i++) x[i] += 1;
        return interleaved && heads ? permuteRope(x, heads, matrix ? p.shape[1] : 1) : x;
      },
    });
  }
  const kind = c.ropeScaling?.rope_type ?? c.ropeScaling?.type;
  if (kind === "llama3")
    tensors.push({ name: "rope_freqs.weight", shape: [c.headDim / 2], type: "F32", data: () => llama3RopeFactors(c) });
  return {
    metadata: [...modelMetadata(arch, c, o.name, o.dtype), ...tokenizerMetadata(tok, c, o.warn ?? (() => {}))],
    tensors,
  };
}

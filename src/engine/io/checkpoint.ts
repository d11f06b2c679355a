/** Loading and saving a whole model in the Hugging Face layout (config.json + safetensors, single or sharded). */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readConfig, type ModelConfig } from "../config.js";
import { InputError } from "../../core/errors.js";
import { resolveModelDir } from "../../hub/resolve.js";
import type { Kernels } from "../kernels/types.js";
import { checkConfigAgainstWeights } from "./weights-check.js";
import { Transformer } from "../model.js";
import { paramSize, readF32, setHalf, toF32 } from "../params.js";
import {
  checkpointFiles,
  eachRawTensor,
  checkFinite,
  rawToF32,
  writeSafetensors,
  type StoredDtype,
  type Tensor,
} from "./safetensors.js";

/**
 * How weights sit in memory: "auto" keeps a BF16 or F16 checkpoint's matrices (linear layers, embeddings, LM head)
 * 16-bit, converting blocks of rows as products need them; "F32" converts everything on load.
 */
export type MemoryDtype = "auto" | "F32";

export interface LoadOptions {
  kernels?: Kernels;
  dtype?: MemoryDtype;
}

/** A model from a folder or a hub id in the Hugging Face cache (`org/name`, `org/name@revision`). */
export function loadModel(ref: string, opts: LoadOptions = {}): Transformer {
  const dir = resolveModelDir(ref);
  const config = readConfig(dir);
  // before any allocation: the config against the weights' headers and the machine's memory
  checkConfigAgainstWeights(config, dir, opts.dtype ?? "auto");
  const model = new Transformer(config, opts.kernels);
  loadWeights(model, dir, opts.dtype ?? "auto");
  return model;
}

export function loadWeights(model: Transformer, dir: string, dtype: MemoryDtype = "F32"): void {
  const { files } = checkpointFiles(dir);
  const seen = new Set<string>();
  for (const file of files) {
    for (const t of eachRawTensor(file)) {
      checkFinite(t, file);
      const name = t.name;
      const p = model.params.get(name);
      if (!p && name === "lm_head.weight" && model.config.tieEmbeddings) continue; // tied: the embedding serves
      if (!p) {
        if (name.endsWith("rotary_emb.inv_freq")) continue; // old checkpoints store the RoPE buffer; it is recomputed
        throw new InputError(`tensor "${name}" is not part of a ${model.config.architecture} with this config`, file);
      }
      const want = p.shape.join(",");
      if (t.shape.join(",") !== want)
        throw new InputError(`tensor "${name}" has shape [${t.shape}], the config implies [${want}]`, file);
      if (dtype === "auto" && (t.dtype === "BF16" || t.dtype === "F16") && p.shape.length === 2 && !p.grad) {
        setHalf(p, t.dtype, new Uint16Array(t.bytes));
      } else {
        toF32(p);
        p.data.set(rawToF32(t, file));
      }
      seen.add(name);
    }
  }
  const missing = [...model.params.keys()].filter((n) => !seen.has(n));
  if (missing.length) {
    throw new InputError(
      `missing tensor${missing.length > 1 ? "s" : ""} ${missing
        .slice(0, 5)
        .map((m) => `"${m}"`)
        .join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}`,
      dir,
    );
  }
}

export function modelTensors(model: Transformer): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, p] of model.params) {
    out.set(name, {
      shape: p.shape,
      data: p.half ? readF32(p, 0, paramSize(p), new Float32Array(paramSize(p))) : p.data,
    });
  }
  return out;
}

/** Writes config.json and model.safetensors (tokenizer files are the caller's). */
export function saveModel(model: Transformer, dir: string, dtype: StoredDtype = "F32"): void {
  mkdirSync(dir, { recursive: true });
  const torchDtype = dtype === "F32" ? "float32" : dtype === "BF16" ? "bfloat16" : "float16";
  writeFileSync(
    join(dir, "config.json"),
    `${JSON.stringify({ ...configJson(model.config), torch_dtype: torchDtype }, null, 2)}\n`,
  );
  writeSafetensors(join(dir, "model.safetensors"), modelTensors(model), dtype);
}

function configJson(c: ModelConfig): Record<string, unknown> {
  return c.raw;
}

/**
 * `crossmon export MODEL_OR_RUN --to gguf`: a trained monitor as one GGUF file for llama.cpp and Ollama. The input is
 * a model (folder or hub id), a LoRA adapter folder (its base named in adapter_config.json or by --base), or a
 * training's output folder (its adapter/ or model/); an adapter is merged into the base weights before writing.
 */
import { existsSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { z } from "zod";
import { InputError, readJsonAs } from "../core/errors.js";
import { loadModel } from "../engine/io/checkpoint.js";
import { type ExportDtype, ggufOf } from "../engine/io/gguf-model.js";
import { writeGguf } from "../engine/io/gguf.js";
import { loadAdapter } from "../engine/io/peft.js";
import { HfTokenizer } from "../engine/io/tokenizer.js";
import { mergeLora } from "../engine/lora.js";

const AdapterConfig = z.looseObject({ base_model_name_or_path: z.string().nullish() });

export interface ExportTarget {
  /** the model whose weights (and tokenizer) are written */
  base: string;
  /** a LoRA adapter merged into them first */
  adapter: string | null;
}

/** What MODEL_OR_RUN names: a training's output folder, an adapter folder, or a model. */
export function exportTarget(ref: string, base?: string): ExportTarget {
  const dir = resolve(ref);
  const isDir = existsSync(dir) && statSync(dir).isDirectory();
  // paths stay as the user wrote them (relative ones too), so the output line reads back what was typed
  if (isDir && existsSync(join(dir, "adapter", "adapter_config.json"))) return exportTarget(join(ref, "adapter"), base);
  if (isDir && existsSync(join(dir, "model", "config.json"))) return { base: join(ref, "model"), adapter: null };
  if (isDir && existsSync(join(dir, "adapter_config.json"))) {
    const cfgFile = join(dir, "adapter_config.json");
    const named = readJsonAs(AdapterConfig, cfgFile, "the adapter's config").base_model_name_or_path;
    const b = base ?? named;
    if (!b)
      throw new InputError('the adapter names no base model (field "base_model_name_or_path"): pass --base', cfgFile);
    return { base: b, adapter: ref };
  }
  return { base: base ?? ref, adapter: null };
}

export interface GgufExport {
  file: string;
  bytes: number;
  tensors: number;
  architecture: string;
}

export function exportGguf(
  target: ExportTarget,
  out: string,
  o: { dtype: ExportDtype; log?: (l: string) => void; name?: string },
): GgufExport {
  const log = o.log ?? (() => {});
  // F32 in memory whatever the checkpoint holds, so that the merge and the conversion start from exact values
  const model = loadModel(target.base, { dtype: "F32" });
  if (target.adapter) {
    loadAdapter(model, target.adapter);
    mergeLora(model);
  }
  const tok = HfTokenizer.load(target.base);
  const name = o.name ?? basename(target.adapter ? resolve(target.adapter, "..") : target.base);
  const { metadata, tensors } = ggufOf(model, tok, { dtype: o.dtype, name, warn: log });
  const arch = String(metadata.find(([k]) => k === "general.architecture")?.[1].value);
  const bytes = writeGguf(out, metadata, tensors);
  return { file: out, bytes, tensors: tensors.length, architecture: arch };
}

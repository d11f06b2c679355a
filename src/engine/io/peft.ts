/**
 * LoRA adapters in the PEFT format: adapter_config.json + adapter_model.safetensors, with tensor names
 * base_model.model.<module>.lora_A.weight / lora_B.weight, so they load in transformers, PEFT and vLLM.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { InputError, parseOrThrow, readJsonFile } from "../../core/errors.js";
import { resolveModelDir } from "../../hub/resolve.js";
import { targetedLinears } from "../lora.js";
import type { Transformer } from "../model.js";
import { makeParam } from "../params.js";
import { readSafetensors, writeSafetensors, type Tensor } from "./safetensors.js";

const AdapterConfig = z
  .object({
    peft_type: z.literal("LORA"),
    r: z.number().int().positive(),
    lora_alpha: z.number().positive(),
    lora_dropout: z.number().min(0).max(1).default(0),
    target_modules: z.union([z.array(z.string()), z.string()]),
    bias: z.string().default("none"),
    fan_in_fan_out: z.boolean().default(false),
    use_rslora: z.boolean().default(false),
    use_dora: z.boolean().default(false),
  })
  .passthrough();

const PREFIX = "base_model.model.";

export function saveAdapter(model: Transformer, dir: string, baseModel = ""): void {
  const linears = model.linears().filter((l) => l.lora);
  if (!linears.length) throw new Error("the model has no LoRA adapter to save");
  const first = linears[0].lora!;
  const targets = [...new Set(linears.map((l) => l.name.split(".").pop()!))].sort();
  mkdirSync(dir, { recursive: true });
  const config = {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: baseModel,
    r: first.rank,
    lora_alpha: first.alpha,
    lora_dropout: first.dropout,
    target_modules: targets,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
  };
  writeFileSync(join(dir, "adapter_config.json"), `${JSON.stringify(config, null, 2)}\n`);
  const tensors = new Map<string, Tensor>();
  for (const l of linears) {
    tensors.set(`${PREFIX}${l.name}.lora_A.weight`, { shape: l.lora!.A.shape, data: l.lora!.A.data });
    tensors.set(`${PREFIX}${l.name}.lora_B.weight`, { shape: l.lora!.B.shape, data: l.lora!.B.data });
  }
  writeSafetensors(join(dir, "adapter_model.safetensors"), tensors, "F32");
}

/** Attaches the adapter in dir to the model (frozen unless trainable is set). */
export function loadAdapter(model: Transformer, ref: string, opts: { trainable?: boolean } = {}): void {
  const dir = resolveModelDir(ref, "adapter");
  const cfgFile = join(dir, "adapter_config.json");
  const c = parseOrThrow(AdapterConfig, readJsonFile(cfgFile, "a PEFT adapter needs adapter_config.json"), cfgFile);
  if (c.use_dora || c.use_rslora || c.fan_in_fan_out)
    throw new InputError("DoRA, rsLoRA and fan_in_fan_out adapters are not supported", cfgFile);
  const file = join(dir, "adapter_model.safetensors");
  const saved = (c as { modules_to_save?: unknown }).modules_to_save;
  if (Array.isArray(saved) && saved.length)
    throw new InputError(
      `field "modules_to_save": ${JSON.stringify(saved)}: this adapter replaces whole modules, which crossmon does ` +
        "not apply (it would score with the base model's instead)",
      cfgFile,
    );
  const tensors = readSafetensors(file);
  for (const [name, t] of tensors) {
    const bad = t.data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new InputError(`tensor "${name}" holds a NaN or infinite value (element ${bad})`, file);
  }
  const used = new Set<string>();
  const targets = Array.isArray(c.target_modules) ? c.target_modules : [c.target_modules];
  const linears = targetedLinears(
    model,
    targets.length === 1 && targets[0] === "all-linear" ? ["all-linear"] : targets,
  );
  for (const l of linears) {
    const a = findTensor(tensors, l.name, "lora_A");
    const b = findTensor(tensors, l.name, "lora_B");
    if (!a && !b) continue; // PEFT allows layers_to_transform; a module without tensors has no adapter
    if (!a || !b)
      throw new InputError(`module "${l.name}" has ${a ? "lora_A but no lora_B" : "lora_B but no lora_A"}`, file);
    used.add(a.name);
    used.add(b.name);
    if (a.shape.join() !== `${c.r},${l.inFeatures}`)
      throw new InputError(
        `tensor "${l.name}.lora_A.weight" has shape [${a.shape}], expected [${c.r},${l.inFeatures}]`,
        file,
      );
    if (b.shape.join() !== `${l.outFeatures},${c.r}`)
      throw new InputError(
        `tensor "${l.name}.lora_B.weight" has shape [${b.shape}], expected [${l.outFeatures},${c.r}]`,
        file,
      );
    const A = makeParam(`${l.name}.lora_A.weight`, a.shape, a.data);
    const B = makeParam(`${l.name}.lora_B.weight`, b.shape, b.data);
    if (opts.trainable) {
      A.grad = new Float32Array(A.data.length);
      B.grad = new Float32Array(B.data.length);
    }
    l.lora = { rank: c.r, alpha: c.lora_alpha, dropout: c.lora_dropout, A, B };
  }
  if (!model.linears().some((l) => l.lora))
    throw new InputError("no adapter tensor matches a module of this model", file);
  // every tensor of the file is applied, or the adapter is refused: one left over would change nothing silently
  const unused = [...tensors.keys()].filter((n) => !used.has(n));
  if (unused.length)
    throw new InputError(
      `tensor${unused.length > 1 ? "s" : ""} ${unused
        .slice(0, 4)
        .map((n) => `"${n}"`)
        .join(", ")}${unused.length > 4 ? ` and ${unused.length - 4} more` : ""} match no targeted module of this ` +
        `${model.config.architecture} (adapter_config.json targets ${JSON.stringify(targets)})`,
      file,
    );
}

function findTensor(
  tensors: Map<string, Tensor>,
  module: string,
  which: string,
): (Tensor & { name: string }) | undefined {
  // PEFT writes base_model.model.<module>.lora_A.weight; some tools omit the prefix or add an adapter name
  for (const name of [
    `${PREFIX}${module}.${which}.weight`,
    `${module}.${which}.weight`,
    `${PREFIX}${module}.${which}.default.weight`,
  ]) {
    const t = tensors.get(name);
    if (t) return { ...t, name };
  }
  return undefined;
}

/**
 * A config checked against its weights' headers and this machine's memory before the model is built: every tensor
 * the config implies is there with its shape, nothing else is, and the model fits. A config.json whose sizes do not
 * describe its safetensors (a million layers, a head_dim of 2^20 over a few megabytes) is one line naming both
 * files, where building first allocated gigabytes for minutes.
 */
import { totalmem } from "node:os";
import { join } from "node:path";
import { InputError } from "../../core/errors.js";
import type { ModelConfig } from "../config.js";
import type { MemoryDtype } from "./checkpoint.js";
import { paramShapes } from "../param-shapes.js";
import { checkpointFiles, readHeader } from "./safetensors.js";

const GB = 2 ** 30;

/** The bytes a model of this config takes in memory: its parameters (16-bit matrices kept so with "auto"). */
function modelBytes(shapes: Map<string, number[]>, halfOf: (name: string) => boolean, c: ModelConfig): number {
  let bytes = 0;
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    bytes += n * (shape.length === 2 && halfOf(name) ? 2 : 4);
  }
  // RoPE tables (cos and sin, full and local) up to 4,096 positions
  return bytes + 4 * 4 * Math.min(c.maxPositions, 4096) * c.headDim;
}

export function checkConfigAgainstWeights(config: ModelConfig, dir: string, dtype: MemoryDtype): void {
  const configFile = join(dir, "config.json");
  const stored = new Map<string, { shape: number[]; dtype: string; file: string }>();
  for (const file of checkpointFiles(dir).files)
    for (const [name, t] of Object.entries(readHeader(file).tensors)) stored.set(name, { ...t, file });
  // the layer count first, from the names alone: a config of a million layers is never expanded
  let layers = 0;
  for (const name of stored.keys()) {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (m) layers = Math.max(layers, Number(m[1]) + 1);
  }
  if (layers !== config.layers)
    throw new InputError(
      `field "num_hidden_layers" is ${config.layers}, the weights in ${dir} hold ${layers} layer(s)`,
      configFile,
    );
  const shapes = paramShapes(config);
  const missing = [...shapes.keys()].filter((n) => !stored.has(n));
  if (missing.length) {
    const named = missing.slice(0, 5).map((m) => `"${m}"`);
    const more = missing.length > 5 ? ` and ${missing.length - 5} more` : "";
    throw new InputError(`missing tensor${missing.length > 1 ? "s" : ""} ${named.join(", ")}${more}`, dir);
  }
  for (const [name, shape] of shapes) {
    const t = stored.get(name)!;
    if (t.shape.join(",") !== shape.join(","))
      throw new InputError(`tensor "${name}" has shape [${t.shape}], the config implies [${shape}]`, t.file);
  }
  for (const [name, t] of stored) {
    if (shapes.has(name) || name.endsWith("rotary_emb.inv_freq")) continue;
    if (name === "lm_head.weight" && config.tieEmbeddings) continue;
    throw new InputError(`tensor "${name}" is not part of a ${config.architecture} with this config`, t.file);
  }
  const half = (name: string) => dtype === "auto" && ["BF16", "F16"].includes(stored.get(name)?.dtype ?? "");
  const need = modelBytes(shapes, half, config);
  if (need > totalmem())
    throw new InputError(
      `the model needs about ${(need / GB).toFixed(1)} GB of memory to load, more than this machine's ` +
        `${(totalmem() / GB).toFixed(1)} GB`,
      dir,
    );
}

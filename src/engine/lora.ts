/** Attaching, merging and detaching LoRA adapters on a model's linear layers. */
import { InputError } from "../core/errors.js";
import type { Linear } from "./linear.js";
import { LINEAR_NAMES, type Transformer } from "./model.js";
import { makeParam, toF32 } from "./params.js";
import { Rng } from "../core/random.js";

export interface LoraOptions {
  rank: number;
  alpha: number;
  dropout: number;
  /** module names, as PEFT's target_modules: "q_proj", "v_proj", ... or "all-linear" */
  targets: string[];
  seed?: number;
}

/** The module names targets stand for, checked against the model's (its linearNames()). */
export function resolveTargets(targets: string[], names: readonly string[] = LINEAR_NAMES): string[] {
  if (targets.length === 1 && targets[0] === "all-linear") return [...names];
  for (const t of targets) {
    if (!names.includes(t)) {
      throw new InputError(
        `LoRA target "${t}" is not a module of this model (it has ${names.join(", ")}, or "all-linear")`,
      );
    }
  }
  return targets;
}

export function targetedLinears(model: Transformer, targets: string[]): Linear[] {
  const names = resolveTargets(targets, model.linearNames());
  return model.linears().filter((l) => names.includes(l.name.split(".").pop()!));
}

/**
 * Adds fresh adapters (A ~ kaiming-uniform as PEFT initialises it, B = 0, so the model is unchanged at first),
 * freezes every base weight and makes the adapters trainable.
 */
export function addLora(model: Transformer, o: LoraOptions): void {
  if (!(o.rank >= 1)) throw new InputError(`LoRA rank must be ≥ 1, got ${o.rank}`);
  if (!(o.dropout >= 0 && o.dropout < 1)) throw new InputError(`LoRA dropout must be in [0, 1), got ${o.dropout}`);
  const rng = new Rng(o.seed ?? 0);
  for (const p of model.params.values()) p.grad = null;
  for (const l of targetedLinears(model, o.targets)) {
    const A = makeParam(`${l.name}.lora_A.weight`, [o.rank, l.inFeatures]);
    const bound = 1 / Math.sqrt(l.inFeatures);
    for (let i = 0; i < A.data.length; i++) A.data[i] = (rng.next() * 2 - 1) * bound;
    const B = makeParam(`${l.name}.lora_B.weight`, [l.outFeatures, o.rank]);
    A.grad = new Float32Array(A.data.length);
    B.grad = new Float32Array(B.data.length);
    l.lora = { rank: o.rank, alpha: o.alpha, dropout: o.dropout, A, B };
  }
}

/** Folds every adapter into its base weight (W += alpha/r · B·A) and removes it. */
export function mergeLora(model: Transformer): void {
  for (const l of model.linears()) {
    if (!l.lora) continue;
    const { A, B, rank } = l.lora;
    toF32(l.weight);
    model.k.sgemm(
      false,
      false,
      l.outFeatures,
      l.inFeatures,
      rank,
      l.loraScale,
      B.data,
      rank,
      A.data,
      l.inFeatures,
      1,
      l.weight.data,
      l.inFeatures,
    );
    l.lora = null;
  }
}

export function removeLora(model: Transformer): void {
  for (const l of model.linears()) l.lora = null;
}

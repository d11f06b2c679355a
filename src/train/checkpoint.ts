/**
 * Training checkpoints: the trainable parameters, the optimiser's moments, the step and the random state, written
 * to a fresh folder and renamed into place, so a kill at any moment leaves the previous checkpoint whole.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { readJsonAs } from "../core/errors.js";
import { join } from "node:path";
import { readSafetensors, writeSafetensors, type Tensor } from "../engine/io/safetensors.js";
import type { Transformer } from "../engine/model.js";
import type { AdamW } from "../engine/optim.js";
import { Rng } from "../core/random.js";

export const CheckpointState = z.object({
  step: z.number().int().nonnegative(),
  rngState: z.number().int(),
  /** anything the caller needs to resume (e.g. the stage of a multi-stage run) */
  extra: z.record(z.string(), z.unknown()).optional(),
});
export type CheckpointState = z.infer<typeof CheckpointState>;
const SavedState = CheckpointState.extend({ optStep: z.number().int().nonnegative() });

/** A checkpoint's state.json, checked: a damaged one is an error naming it, never a resume from garbage. */
export function readCheckpointState(dir: string): z.infer<typeof SavedState> | null {
  const file = join(dir, "state.json");
  return existsSync(file) ? readJsonAs(SavedState, file, "a checkpoint's state") : null;
}

export function saveCheckpoint(dir: string, model: Transformer, opt: AdamW, state: CheckpointState): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const params = new Map<string, Tensor>();
  const moments = new Map<string, Tensor>();
  for (const p of model.trainableParams()) {
    params.set(p.name, { shape: p.shape, data: p.data });
    moments.set(`${p.name}.m`, { shape: p.shape, data: opt.m.get(p.name)! });
    moments.set(`${p.name}.v`, { shape: p.shape, data: opt.v.get(p.name)! });
  }
  writeSafetensors(join(tmp, "params.safetensors"), params);
  writeSafetensors(join(tmp, "optimizer.safetensors"), moments);
  writeFileSync(join(tmp, "state.json"), JSON.stringify({ ...state, optStep: opt.step }, null, 2));
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

export function loadCheckpoint(dir: string, model: Transformer, opt: AdamW): CheckpointState | null {
  const state = readCheckpointState(dir);
  if (!state) return null;
  const params = readSafetensors(join(dir, "params.safetensors"));
  const moments = readSafetensors(join(dir, "optimizer.safetensors"));
  for (const p of model.trainableParams()) {
    const t = params.get(p.name);
    const m = moments.get(`${p.name}.m`);
    const v = moments.get(`${p.name}.v`);
    if (!t || t.data.length !== p.data.length || !m || !v)
      throw new Error(`checkpoint ${dir} does not match the model (parameter ${p.name})`);
    p.data.set(t.data);
    opt.m.get(p.name)?.set(m.data);
    opt.v.get(p.name)?.set(v.data);
  }
  opt.step = state.optStep;
  model.rng = Rng.fromState(state.rngState);
  return state;
}

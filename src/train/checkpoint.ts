/**
 * Training checkpoints: the trainable parameters, the optimiser's moments, the step and the random state, written
 * to a fresh folder and renamed into place, so a kill at any moment leaves the previous checkpoint whole.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSafetensors, writeSafetensors, type Tensor } from "../engine/io/safetensors.js";
import type { Transformer } from "../engine/model.js";
import type { AdamW } from "../engine/optim.js";
import { Rng } from "../core/random.js";

export interface CheckpointState {
  step: number;
  rngState: number;
  /** anything the caller needs to resume (e.g. the stage of a multi-stage run) */
  extra?: Record<string, unknown>;
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
  if (!existsSync(join(dir, "state.json"))) return null;
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as CheckpointState & { optStep: number };
  const params = readSafetensors(join(dir, "params.safetensors"));
  const moments = readSafetensors(join(dir, "optimizer.safetensors"));
  for (const p of model.trainableParams()) {
    const t = params.get(p.name);
    if (!t || t.data.length !== p.data.length)
      throw new Error(`checkpoint ${dir} does not match the model (parameter ${p.name})`);
    p.data.set(t.data);
    opt.m.get(p.name)!.set(moments.get(`${p.name}.m`)!.data);
    opt.v.get(p.name)!.set(moments.get(`${p.name}.v`)!.data);
  }
  opt.step = state.optStep;
  model.rng = Rng.fromState(state.rngState);
  return state;
}

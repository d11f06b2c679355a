/**
 * The training loop shared by every recipe: deterministic batches by step, the learning-rate schedule, checkpoints
 * at an interval, metrics as JSON lines, progress, and resume. Killed and restarted on the same folder, it continues
 * from the last checkpoint and (on one thread) reaches the same weights as a run that was never stopped.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Transformer } from "../engine/model.js";
import { AdamW, learningRate, type Schedule } from "../engine/optim.js";
import type { WeightedSequence } from "../engine/sequences.js";
import { trainStep } from "../engine/train-step.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { Progress } from "../core/progress.js";

export interface LoopOptions {
  dir: string;
  steps: number;
  /** micro-batches of step s (a pure function of s, so a resumed run sees the same data) */
  batchAt: (step: number) => WeightedSequence[][];
  lr: number;
  schedule: Omit<Schedule, "totalSteps">;
  maxGradNorm: number;
  weightDecay: number;
  checkpointEvery: number;
  label?: string;
  quiet?: boolean;
  /** stop (with a checkpoint) once this time is reached; the same command resumes */
  deadline?: number;
  /** extra fields for each metrics line */
  metricsExtra?: (step: number) => Record<string, unknown>;
}

export interface LoopResult {
  steps: number;
  finished: boolean;
  seconds: number;
  lastLoss: number;
  tokens: number;
}

export function runLoop(model: Transformer, o: LoopOptions): LoopResult {
  try {
    return loop(model, o);
  } finally {
    model.releaseScratch(); // the last step's activations: a trained model is used for inference, if at all
  }
}

function loop(model: Transformer, o: LoopOptions): LoopResult {
  mkdirSync(o.dir, { recursive: true });
  const opt = new AdamW(model.k, model.trainableParams(), { weightDecay: o.weightDecay });
  const ckpt = join(o.dir, "checkpoint");
  const metrics = join(o.dir, "metrics.jsonl");
  const resumed = loadCheckpoint(ckpt, model, opt);
  let step = resumed?.step ?? 0;
  // metrics past the checkpoint were computed by the killed run and will be computed again: drop them
  if (existsSync(metrics)) {
    const keep = readFileSync(metrics, "utf8")
      .split("\n")
      .filter((l) => l && (JSON.parse(l) as { step: number }).step < step);
    writeFileSync(metrics, keep.map((l) => `${l}\n`).join(""));
  }
  const schedule: Schedule = { ...o.schedule, totalSteps: o.steps };
  const progress = new Progress(o.label ?? "train", o.steps, { quiet: o.quiet });
  const t0 = Date.now();
  let tokens = 0,
    lastLoss = NaN,
    stepsThisRun = 0;
  while (step < o.steps) {
    const lr = learningRate(o.lr, step, schedule);
    const ts = Date.now();
    const r = trainStep(model, opt, o.batchAt(step), lr, o.maxGradNorm);
    step++;
    stepsThisRun++;
    tokens += r.tokens;
    lastLoss = r.loss;
    const sec = (Date.now() - ts) / 1000;
    appendFileSync(
      metrics,
      `${JSON.stringify({
        step: step - 1,
        loss: r.loss,
        lr,
        grad_norm: r.gradNorm,
        tokens: r.tokens,
        tokens_per_s: r.tokens / Math.max(sec, 1e-6),
        ...(o.metricsExtra?.(step - 1) ?? {}),
      })}\n`,
    );
    const elapsed = (Date.now() - t0) / 1000;
    progress.update(
      step,
      { loss: r.loss, "tok/s": tokens / Math.max(elapsed, 1e-6), lr },
      ((o.steps - step) * elapsed) / stepsThisRun,
    );
    const stopping = o.deadline !== undefined && Date.now() >= o.deadline;
    if (step % o.checkpointEvery === 0 || step === o.steps || stopping)
      saveCheckpoint(ckpt, model, opt, { step, rngState: model.rng.state() });
    if (stopping && step < o.steps)
      return { steps: step, finished: false, seconds: (Date.now() - t0) / 1000, lastLoss, tokens };
  }
  return { steps: step, finished: true, seconds: (Date.now() - t0) / 1000, lastLoss, tokens };
}

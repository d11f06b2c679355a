/**
 * The runs a viewer shows: run folders opened once (a run in progress too), their progress read again on every
 * request, and their analysis (findings, charts, every evaluation's metrics) computed again only when more cells are
 * done. The sections come from src/report/figures.ts, as the report's do.
 */
import { transformOfTask } from "../data/transforms/derived.js";
import { basename, resolve } from "node:path";
import { InputError } from "../core/errors.js";
import { HfTokenizer } from "../engine/io/tokenizer.js";
import { Analysis, analyse } from "../experiments/analyze.js";
import { describe, type Results, SMALL_TEST } from "../report/findings.js";
import { openRun, runProgress } from "../experiments/open.js";
import type { EvalCell } from "../experiments/plan.js";
import type { RunContext } from "../experiments/runner.js";
import { Renderer } from "../formats/render.js";
import { headline, type Section, sectionsOf } from "../report/figures.js";

export interface RunEntry {
  id: string;
  dir: string;
  ctx: RunContext;
  analysed?: { done: number; results: Results | null; sections: Section[]; headline: string; error?: string };
  renderer?: Renderer;
}

export interface EvalSummary {
  key: string;
  model: string;
  task: string;
  /** what the task's texts went through (padding, an attack), "none" for a task as loaded */
  transform: string;
  format: EvalCell["format"];
  split: EvalCell["split"];
  /** the examples scored (once done; until then, those asked for) */
  examples: number;
  /** the examples the spec asked for: more than were scored where the task's split is smaller */
  asked: number;
  /** scored on fewer test examples than the report calls small (wide intervals) */
  small: boolean;
  done: boolean;
}

export class RunRegistry {
  private runs: RunEntry[] = [];

  /** Opens every folder; a folder that holds no run, or a store that cannot be read, is an error naming it. */
  static async open(dirs: string[]): Promise<RunRegistry> {
    const r = new RunRegistry();
    const used = new Set<string>();
    for (const dir of dirs) {
      const ctx = await openRun(dir, { partial: true });
      let id = basename(resolve(dir)).replace(/[^A-Za-z0-9_.-]/g, "_") || "run";
      for (let k = 2; used.has(id); k++) id = `${basename(resolve(dir))}-${k}`;
      used.add(id);
      r.runs.push({ id, dir, ctx });
    }
    return r;
  }

  list(): RunEntry[] {
    return this.runs;
  }

  get(id: string): RunEntry | undefined {
    return this.runs.find((x) => x.id === id);
  }

  close(): void {
    for (const r of this.runs) r.ctx.store.close();
  }
}

/** The label a plan gives a model key ("untrained", "in-domain:agent_dangerous", ...). */
export function modelLabel(ctx: RunContext, key: string | null): string {
  if (key === null) return "untrained";
  return Object.entries(ctx.plan.models).find(([, k]) => k === key)?.[0] ?? key;
}

export function evalSummaries(ctx: RunContext): EvalSummary[] {
  return ctx.plan.evals.map((c) => {
    const result = ctx.store.result<{ n?: number }>(c.key);
    const examples = typeof result?.n === "number" ? result.n : c.examples;
    return {
      key: c.key,
      model: modelLabel(ctx, c.model),
      task: c.task,
      transform: transformOfTask(ctx.train.splits, c.task),
      format: c.format,
      split: c.split,
      examples,
      asked: c.examples,
      small: result !== null && examples < SMALL_TEST,
      done: result !== null,
    };
  });
}

/** The run's findings and charts, recomputed when more cells are done; null results while questions lack cells. */
export function analysisOf(run: RunEntry): NonNullable<RunEntry["analysed"]> {
  const { done, total } = runProgress(run.ctx);
  if (run.analysed && run.analysed.done === done) return run.analysed;
  if (done < total) {
    run.analysed = { done, results: null, sections: [], headline: `In progress: ${done} of ${total} cells done.` };
    return run.analysed;
  }
  try {
    const results = describe(analyse(run.ctx));
    const sections = sectionsOf(results, new Analysis(run.ctx));
    run.analysed = { done, results, sections, headline: headline(results) };
  } catch (e) {
    run.analysed = { done, results: null, sections: [], headline: "", error: (e as Error).message };
  }
  return run.analysed;
}

/** The renderer the run scored with (its base model's tokenizer and token budget), made on first use. */
export function rendererOf(run: RunEntry): Renderer {
  if (!run.renderer) {
    try {
      run.renderer = new Renderer(HfTokenizer.load(run.ctx.spec.base_model), run.ctx.spec.train.hyper.max_tokens);
    } catch (e) {
      throw new InputError(`cannot render prompts: ${(e as Error).message}`, run.ctx.spec.base_model);
    }
  }
  return run.renderer;
}

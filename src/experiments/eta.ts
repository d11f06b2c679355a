/**
 * How long a run has left, from what its finished cells cost: each cell's size in work units (training: examples
 * trained on, epochs counted; evaluation: examples scored, and for the generating formats the tokens they may write),
 * and seconds per unit measured per kind of cell (training, single-token, thinking, summary). The first cell's time
 * says nothing of the others' when they are another kind: a training cell costs far more per example than a scoring
 * one, which an average over cells turned into "eta 64m" for a 14-minute run.
 */
import type { EvalCell, TrainCell } from "./plan.js";
import type { ExperimentSpec } from "./spec.js";

type Kind = "train" | EvalCell["format"];

export class CellClock {
  private seconds = new Map<Kind, number>();
  private units = new Map<Kind, number>();

  constructor(private readonly spec: ExperimentSpec) {}

  kindOf(c: TrainCell | EvalCell): Kind {
    return "format" in c ? c.format : "train";
  }

  /** A cell's size: what its time grows with. */
  unitsOf(c: TrainCell | EvalCell): number {
    if ("format" in c) {
      if (c.format === "single") return c.examples;
      const th = this.spec.eval.thinking;
      // a generated token costs about one forward pass of one position; scoring a prompt, about one
      if (c.format === "thinking") return c.examples * th.k * (1 + th.max_tokens / 8);
      return c.examples * (1 + this.spec.eval.summary.max_tokens / 8);
    }
    let n = 0;
    for (const st of c.stages) {
      const cls = st.mixture.classification.reduce((s, p) => s + p.examples, 0);
      const ins = st.mixture.instruction;
      const extra = !ins ? 0 : "examples" in ins ? ins.examples : Math.round((cls * ins.share) / (1 - ins.share));
      n += (cls + extra) * (st.epochs ?? this.spec.train.hyper.epochs);
    }
    return Math.max(1, n);
  }

  record(c: TrainCell | EvalCell, seconds: number): void {
    this.recordUnits(c, seconds, this.unitsOf(c));
  }

  /** A cell's time with its size as another spec measured it (a pilot run's cells, for `crossmon plan`). */
  recordUnits(c: TrainCell | EvalCell, seconds: number, units: number): void {
    const k = this.kindOf(c);
    this.seconds.set(k, (this.seconds.get(k) ?? 0) + seconds);
    this.units.set(k, (this.units.get(k) ?? 0) + units);
  }

  /** Seconds left for these cells; undefined until a cell has been measured. */
  eta(remaining: (TrainCell | EvalCell)[]): number | undefined {
    const measured = [...this.units.keys()];
    if (!measured.length) return undefined;
    const rate = (k: Kind) => (this.seconds.get(k) ?? 0) / (this.units.get(k) ?? 1);
    // a kind not measured yet: the slowest measured rate among evaluations (or training's), an upper bound
    const fallback = (k: Kind) => {
      const same = measured.filter((m) => (m === "train") === (k === "train"));
      return Math.max(...(same.length ? same : measured).map(rate));
    };
    let s = 0;
    for (const c of remaining) {
      const k = this.kindOf(c);
      s += this.unitsOf(c) * (this.units.has(k) ? rate(k) : fallback(k));
    }
    return s;
  }
}

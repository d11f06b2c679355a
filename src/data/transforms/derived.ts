/**
 * A transformed task: a task of its own (`TASK~TRANSFORM`), beside the one it is made from, whose splits are that
 * task's splits transformed. As a task, it is planned, evaluated, trained on, stored and shown like any other, so the
 * questions that use transforms need nothing else from the rest of crossmon. Its splits are transformed when first
 * read (a run that evaluates only its test split never pads its training texts).
 */
import type { SplitTask } from "../splits.js";
import type { Example, Task } from "../task.js";
import { applyTransform, transformId, type Transform, type TransformInputs } from "./transform.js";

/** The id of a task transformed: the task's id, "~", the transform's. */
export function derivedTaskId(task: string, t: Transform): string {
  return `${task}~${transformId(t)}`;
}

export interface DerivedTaskSpec {
  task: string;
  transform: Transform;
  /** the spec field that asked for it, for errors */
  field: string;
}

class DerivedSplit implements SplitTask {
  readonly task: Task;
  /** the transform's id, as in the task's id after "~" */
  readonly transform: string;
  private cache: Partial<Record<"train" | "validation" | "test", Example[]>> = {};

  constructor(
    private readonly base: SplitTask,
    private readonly spec: DerivedTaskSpec,
    private readonly inputs: TransformInputs,
  ) {
    const id = derivedTaskId(base.task.id, spec.transform);
    this.transform = transformId(spec.transform);
    const split = this;
    this.task = {
      ...base.task,
      id,
      source: `${base.task.source} (${transformId(spec.transform)})`,
      // no unlabelled pool: elicitation reads the task it is given, never a transformed copy
      pool: undefined,
      get examples() {
        return [...split.train, ...split.validation, ...split.test];
      },
    };
  }

  private of(split: "train" | "validation" | "test"): Example[] {
    this.cache[split] ??= applyTransform(
      this.spec.transform,
      this.base.task,
      this.base[split],
      this.inputs,
      this.spec.field,
    );
    return this.cache[split];
  }

  /** A split's size without transforming it (a transform keeps every example). */
  sizeOf(split: "train" | "validation" | "test"): number {
    return this.base[split].length;
  }

  get train(): Example[] {
    return this.of("train");
  }
  get validation(): Example[] {
    return this.of("validation");
  }
  get test(): Example[] {
    return this.of("test");
  }
}

/**
 * The splits with each asked-for transformed task added (once per id); a transform of an unknown task is an error
 * naming the field. Padding reads the base tasks' examples (every split).
 */
export function withDerivedTasks(
  splits: SplitTask[],
  wanted: DerivedTaskSpec[],
  countTokens: (text: string) => number,
  seed: number,
  unknownTask: (field: string, task: string) => Error,
): SplitTask[] {
  const byId = new Map(splits.map((s) => [s.task.id, s]));
  const inputs: TransformInputs = {
    examplesOf(task) {
      const s = byId.get(task);
      return s && { task: s.task, examples: [...s.train, ...s.validation, ...s.test] };
    },
    countTokens,
    seed,
  };
  const out = [...splits];
  const added = new Set<string>();
  for (const w of wanted) {
    const base = byId.get(w.task);
    if (!base) throw unknownTask(w.field, w.task);
    const id = derivedTaskId(w.task, w.transform);
    if (added.has(id) || byId.has(id)) continue;
    added.add(id);
    out.push(new DerivedSplit(base, w, inputs));
  }
  return out;
}

/** How many examples a split has, without transforming a transformed task's texts to count them. */
export function splitSize(s: SplitTask, split: "train" | "validation" | "test"): number {
  return s instanceof DerivedSplit ? s.sizeOf(split) : s[split].length;
}

/** The transform a task's texts went through ("none" for a task as loaded). */
export function transformOfTask(splits: SplitTask[], task: string): string {
  const s = splits.find((x) => x.task.id === task);
  return s instanceof DerivedSplit ? s.transform : "none";
}

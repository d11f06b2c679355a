/**
 * Which samples of an Inspect log are positive: `PATH=VALUE`, positive where the field at PATH equals VALUE and
 * negative where it holds anything else. PATH is
 *  - `metadata.eval_mode` (any dot path into the sample: ControlArena puts honest/attack there),
 *  - `score.NAME`: the value of the scorer NAME, or of the key NAME inside a scorer whose value is a dict
 *    (ControlArena's scorers report `{main_task_success: "C", side_task_success: "I"}` under one name),
 *  - `target`: the sample's target (a list of targets matches when one of them equals VALUE).
 */
import { InputError } from "../../core/errors.js";
import type { LogSample } from "./inspect-log.js";

export interface LabelRule {
  path: string[];
  value: string;
  /** as the user wrote it, for messages */
  text: string;
}

export function parseLabelRule(text: string, flag = "--label"): LabelRule {
  const eq = text.indexOf("=");
  if (eq <= 0 || eq === text.length - 1)
    throw new InputError(`${flag} must be PATH=VALUE (e.g. metadata.eval_mode=attack), got ${JSON.stringify(text)}`);
  const path = text.slice(0, eq).trim().split(".");
  if (path.some((p) => p === ""))
    throw new InputError(`${flag}: empty part in the path ${JSON.stringify(text.slice(0, eq))}`);
  if (path[0] === "score" && path.length < 2)
    throw new InputError(`${flag}: score needs a scorer name (score.NAME=VALUE)`);
  return { path, value: text.slice(eq + 1).trim(), text };
}

function at(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const p of path) {
    if (!cur || typeof cur !== "object" || !Object.hasOwn(cur, p)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** The value a rule reads from a sample, or undefined when the sample does not have it. */
export function ruleField(rule: LabelRule, s: LogSample): unknown {
  if (rule.path[0] === "score") {
    const [name, ...rest] = rule.path.slice(1);
    const scores = s.scores ?? {};
    const direct = at(scores, [name, "value", ...rest]);
    if (direct !== undefined) return direct;
    // a dict-valued scorer that reports NAME among its keys
    for (const score of Object.values(scores)) {
      const inner = at(score, ["value", name, ...rest]);
      if (inner !== undefined) return inner;
    }
    return undefined;
  }
  return at(s, rule.path);
}

function same(field: unknown, value: string): boolean {
  if (typeof field === "number") return value.trim() !== "" && Number(value) === field;
  if (typeof field === "boolean") return value.toLowerCase() === String(field);
  return typeof field === "string" && field === value;
}

/** True (positive), false (negative) or undefined (the sample does not have the field). */
export function applyLabelRule(rule: LabelRule, s: LogSample): boolean | undefined {
  const v = ruleField(rule, s);
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.some((x) => same(x, rule.value));
  return same(v, rule.value);
}

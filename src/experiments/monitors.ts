/**
 * The monitors a run trained, by name: each training cell's plan label made into a name that reads ("source-cyber",
 * "in-domain-agent_dangerous", "if-mixed-25pct-by-examples"), for `export RUN --monitor NAME`, `serve --adapter
 * RUN:NAME` and the names a GGUF file and a served model carry. Where a monitor's weights are is the run's business.
 */
import { existsSync } from "node:fs";
import { basename, isAbsolute, join, resolve } from "node:path";
import type { ModelRef } from "../backends/types.js";
import { InputError } from "../core/errors.js";
import { Store } from "./store.js";
import type { Plan } from "./plan.js";

export interface Monitor {
  name: string;
  /** the plan's label of its training cell */
  label: string;
  ref: ModelRef;
}

/** A plan label as a name: letters, digits, _ . and -, no spaces or colons. */
export function monitorName(label: string): string {
  return label
    .replaceAll("%", "pct")
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

export function isRunFolder(dir: string): boolean {
  return existsSync(join(dir, "store.sqlite"));
}

/** The monitors a run folder holds (trained cells that are done), by name. */
export function runMonitors(dir: string): Monitor[] {
  if (!isRunFolder(dir)) throw new InputError("no store.sqlite here: not a crossmon run folder", dir);
  const store = new Store(join(dir, "store.sqlite"));
  try {
    const plan = store.getMeta<Plan>("plan");
    if (!plan) throw new InputError("the store holds no plan", join(dir, "store.sqlite"));
    const out: Monitor[] = [];
    // every name the plan gives a trained model: one model can answer to several (the quickstart's source:cyber is
    // also in-domain:cyber_harm, the same training)
    for (const [label, key] of Object.entries(plan.models)) {
      const ref = key === null ? undefined : store.result<ModelRef>(key);
      if (!ref) continue;
      // a path the run wrote relative to where it ran is kept as written; one that exists from here is made whole
      const whole = (p: string | undefined) => (p && !isAbsolute(p) && existsSync(p) ? resolve(p) : p);
      out.push({
        name: monitorName(label),
        label,
        ref: { ...ref, base: whole(ref.base)!, adapter: whole(ref.adapter) },
      });
    }
    return out;
  } finally {
    store.close();
  }
}

/** One monitor of a run, or an error that lists the names there are. */
export function runMonitor(dir: string, name: string | undefined, flag: string): Monitor {
  const all = runMonitors(dir);
  // by its name, or by the plan label that status and the viewer show ("source:cyber" for "source-cyber")
  const found = name === undefined ? undefined : all.find((m) => m.name === name || m.name === monitorName(name));
  if (found) return found;
  const names = all.map((m) => m.name).join(", ") || "none trained yet";
  throw new InputError(
    `${name === undefined ? "name one of the run's monitors" : `no monitor "${name}" in the run`} (${names})`,
    flag,
  );
}

/** `RUN:NAME` (a run folder and one of its monitors), or null when the reference is no such thing. */
export function parseMonitorRef(ref: string): { run: string; name: string } | null {
  // the run is the longest prefix before a colon that is a run folder (a label has colons of its own)
  for (let at = ref.lastIndexOf(":"); at > 0; at = ref.lastIndexOf(":", at - 1)) {
    const run = ref.slice(0, at);
    const name = ref.slice(at + 1);
    if (name && !name.includes("/") && isRunFolder(run)) return { run, name: monitorName(name) };
  }
  return null;
}

/** The name a monitor goes by outside its run: the run folder's name, then the monitor's. */
export function monitorTitle(run: string, name: string): string {
  return `${basename(resolve(run))}:${name}`;
}

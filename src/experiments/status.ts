/**
 * Where a run stands, from its store and its folder's lock: cells done, running (for how long, in which process),
 * interrupted (started by a process that is gone: the same command resumes them), and not started yet.
 */
import { hostname } from "node:os";
import { folderHolder } from "../core/lock.js";
import type { EvalCell, TrainCell } from "./plan.js";
import type { RunContext } from "./runner.js";

export interface RunStatus {
  name: string;
  dir: string;
  total: number;
  done: number;
  queued: number;
  running: { cell: string; seconds: number }[];
  interrupted: { cell: string }[];
  /** the process that holds the run folder, when one does */
  process: { pid: number; host: string; since: string; alive: boolean | null } | null;
}

function describeCell(ctx: RunContext, c: TrainCell | EvalCell): string {
  if (!("format" in c)) return `train ${c.label}`;
  const model = c.model === null ? "untrained" : (ctx.plan.train.find((t) => t.key === c.model)?.label ?? c.model);
  return `${c.format} ${c.task} (${model}, ${c.split})`;
}

export function runStatus(ctx: RunContext, now = Date.now() / 1000): RunStatus {
  const cells = [...ctx.plan.train, ...ctx.plan.evals];
  const times = new Map(ctx.store.cellTimes().map((t) => [t.key, t]));
  const holder = folderHolder(ctx.dir);
  // a cell marked running belongs to the holder when there is a live one; with none, its process is gone
  const live = holder !== null && holder.alive !== false;
  const out: RunStatus = {
    name: ctx.spec.name,
    dir: ctx.dir,
    total: cells.length,
    done: 0,
    queued: 0,
    running: [],
    interrupted: [],
    process: holder && { pid: holder.pid, host: holder.host, since: holder.started, alive: holder.alive },
  };
  for (const c of cells) {
    const t = times.get(c.key);
    if (!t) out.queued++;
    else if (t.status === "done") out.done++;
    else if (live) out.running.push({ cell: describeCell(ctx, c), seconds: Math.round(now - (t.started ?? now)) });
    else out.interrupted.push({ cell: describeCell(ctx, c) });
  }
  return out;
}

/** The status as a few lines for a person. */
export function formatStatus(s: RunStatus): string {
  const who = s.process
    ? ` — ${s.process.alive === false ? "last run by" : "run by"} pid ${s.process.pid} on ${s.process.host}` +
      `${s.process.host === hostname() && s.process.alive === false ? " (gone)" : ""} since ${s.process.since}`
    : "";
  const lines = [
    `${s.name} (${s.dir}): ${s.done}/${s.total} done, ${s.running.length} running, ${s.interrupted.length} ` +
      `interrupted, ${s.queued} not started${who}`,
    ...s.running.map((r) => `  running ${r.cell} for ${r.seconds} s`),
    ...s.interrupted.map((r) => `  interrupted ${r.cell} (the same command resumes it)`),
  ];
  return lines.join("\n");
}

/**
 * `crossmon data build offline`: tasks from real text already on the machine or in npm packages, as JSONL files with
 * a manifest of checksums, so a run on them can be reproduced. A source that is absent is skipped with one line.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { taskToJsonl } from "../export.js";
import type { Task } from "../task.js";
import { toTasks, type OfflineSource } from "./common.js";
import { spamSource } from "./spam.js";
import { fortuneSource } from "./fortunes.js";
import { manSource } from "./man.js";
import { changelogSource } from "./changelogs.js";
import { pythonSource } from "./python-code.js";

export const OFFLINE_SOURCES: OfflineSource[] = [spamSource, fortuneSource, manSource, changelogSource, pythonSource];

export interface BuildReport {
  built: {
    source: string;
    where: string;
    version?: string;
    tasks: { id: string; file: string; examples: number; sha256: string; rule: string }[];
  }[];
  skipped: { source: string; reason: string }[];
}

export function buildOffline(
  outDir: string,
  o: { maxPerTask?: number; minPerTask?: number; log?: (line: string) => void } = {},
): BuildReport {
  const max = o.maxPerTask ?? 2000;
  const min = o.minPerTask ?? 100;
  const log = o.log ?? (() => {});
  mkdirSync(outDir, { recursive: true });
  const report: BuildReport = { built: [], skipped: [] };
  const manifestTasks: Record<string, unknown>[] = [];
  for (const src of OFFLINE_SOURCES) {
    const loc = src.locate();
    if ("absent" in loc) {
      report.skipped.push({ source: src.name, reason: loc.absent });
      log(`skip ${src.name}: ${loc.absent}`);
      continue;
    }
    const tasks: Task[] = toTasks(src, src.read(loc.where), max, loc.where).filter((t) => {
      if (t.examples.length >= min) return true;
      report.skipped.push({
        source: `${src.name}/${t.id}`,
        reason: `only ${t.examples.length} balanced examples here (< ${min})`,
      });
      log(`skip ${t.id}: only ${t.examples.length} balanced examples here`);
      return false;
    });
    if (!tasks.length) continue;
    const entry: BuildReport["built"][number] = { source: src.name, where: loc.where, version: loc.version, tasks: [] };
    for (const t of tasks) {
      const file = `${t.id}.jsonl`;
      const text = taskToJsonl(t);
      writeFileSync(join(outDir, file), text);
      const sha256 = createHash("sha256").update(text).digest("hex");
      const rule = src.tasks.find((s) => s.id === t.id)!.rule;
      entry.tasks.push({ id: t.id, file, examples: t.examples.length, sha256, rule });
      manifestTasks.push({
        id: t.id,
        domain: t.domain,
        prompt: t.prompt,
        file,
        sha256,
        examples: t.examples.length,
        rule,
        source: src.name,
      });
      log(`built ${t.id}: ${t.examples.length} examples from ${loc.where}`);
    }
    report.built.push(entry);
  }
  writeFileSync(
    join(outDir, "checksums.json"),
    `${JSON.stringify({ tasks: manifestTasks, skipped: report.skipped }, null, 2)}\n`,
  );
  return report;
}

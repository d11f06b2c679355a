/** `crossmon data ...`: list, show, export, validate tasks; the world's similarity matrix and keyword baseline. */
import type { Command } from "commander";
import { writeFileSync } from "node:fs";
import { InputError, printable } from "../../core/errors.js";
import { loadPath, loadTasks } from "../../data/loaders/load.js";
import { formatProblem } from "../../data/problems.js";
import { balanceReport, findLeaks, splitTasks } from "../../data/splits.js";
import { taskToJsonl } from "../../data/export.js";
import { buildWorld, DEFAULT_WORLD_SIZE } from "../../data/world/index.js";
import { domainSimilarity, formatMatrix } from "../../data/similarity.js";
import { bagOfWordsBaseline } from "../../eval/baseline.js";
import { describeAnswerLine, fillPrompt, positiveRate, type Task } from "../../data/task.js";
import { buildOffline } from "../../data/offline/build.js";
import { action, numberOption } from "../output.js";
import { registerDataImport } from "./data-import.js";

interface SourceOpts {
  tasks?: string;
  allowOutside?: boolean;
  seed: string;
  size: string;
  splitSeed: string;
}

async function resolveTasks(o: SourceOpts): Promise<Task[]> {
  if (o.tasks) return loadTasks(o.tasks, undefined, { allowOutside: o.allowOutside });
  return buildWorld({
    seed: numberOption(o.seed, "--seed", { integer: true }),
    size: numberOption(o.size, "--size", { integer: true, min: 10 }),
  });
}

function withSource(c: Command): Command {
  return c
    .option(
      "--tasks <path>",
      "your tasks: a .jsonl/.csv/.parquet file, a crossmon.yaml manifest, or a folder (default: the built-in world)",
    )
    .option("--seed <n>", "built-in world seed", "0")
    .option("--size <n>", "built-in world texts per domain", String(DEFAULT_WORLD_SIZE))
    .option("--split-seed <n>", "seed of the train/validation/test split", "0")
    .option("--allow-outside", "let a manifest name files outside its folder");
}

export function registerData(program: Command): void {
  const data = program.command("data").description("tasks: list, show, export, validate; the built-in world");
  registerDataImport(data);

  withSource(
    data
      .command("list")
      .description("every available task with its sizes and balance")
      .option("--json", "one JSON array"),
  ).action(
    action(async (o: SourceOpts & { json?: boolean }) => {
      const splits = splitTasks(await resolveTasks(o), numberOption(o.splitSeed, "--split-seed", { integer: true }));
      const rows = splits.map((s) => ({
        id: s.task.id,
        domain: s.task.domain,
        prompt: s.task.prompt,
        n_train: s.train.length,
        n_validation: s.validation.length,
        n_test: s.test.length,
        n_unlabelled: s.task.pool?.length ?? 0,
        positive_rate: +positiveRate(s.task.examples).toFixed(3),
        source: s.task.source,
      }));
      if (o.json) return void console.log(JSON.stringify(rows, null, 2));
      const w = Math.max(...rows.map((r) => r.id.length));
      console.log(`${"task".padEnd(w)}  ${"domain".padEnd(18)} train   val  test unlab  pos%  prompt`);
      for (const r of rows) {
        const q = r.prompt
          .replace(/\{text\}/g, "…")
          .replace(/\s+/g, " ")
          .trim();
        console.log(
          `${r.id.padEnd(w)}  ${r.domain.padEnd(18)} ${String(r.n_train).padStart(5)} ` +
            `${String(r.n_validation).padStart(5)} ${String(r.n_test).padStart(5)} ` +
            `${String(r.n_unlabelled).padStart(5)} ${(100 * r.positive_rate).toFixed(0).padStart(4)}  ` +
            `${q.slice(0, 90)}`,
        );
      }
    }),
  );

  withSource(
    data
      .command("show <task>")
      .description("a few examples of a task, rendered with its prompt")
      .option("-n <n>", "how many", "3"),
  ).action(
    action(async (id: string, o: SourceOpts & { n: string }) => {
      const task = (await resolveTasks(o)).find((t) => t.id === id);
      if (!task) throw new InputError(`unknown task "${id}" (crossmon data list shows the tasks)`);
      console.log(`${task.id}: ${describeAnswerLine(task)}\n`);
      for (const e of task.examples.slice(0, numberOption(o.n, "-n", { integer: true, min: 0 }))) {
        console.log(
          `── ${task.id} / ${e.id} — label: ${e.label ? task.labels.positive : task.labels.negative} (answer ` +
            `${JSON.stringify(e.label ? task.answers.positive : task.answers.negative)})`,
        );
        console.log(fillPrompt(task, e));
        if (e.facts) console.log(`facts: ${JSON.stringify(e.facts)}`);
        console.log();
      }
    }),
  );

  withSource(
    data
      .command("export <task>")
      .description("write a task as JSONL (one example a line, loads back as it is)")
      .option("--format <f>", "jsonl", "jsonl")
      .option("-o, --out <file>", "output file (default: stdout)"),
  ).action(
    action(async (id: string, o: SourceOpts & { format: string; out?: string }) => {
      if (o.format !== "jsonl") throw new InputError(`--format ${o.format}: only jsonl is supported`);
      const tasks = await resolveTasks(o);
      const task = tasks.find((t) => t.id === id);
      if (!task) throw new InputError(`unknown task "${id}" (crossmon data list shows the tasks)`);
      const text = taskToJsonl(task);
      if (o.out) writeFileSync(o.out, text);
      else process.stdout.write(text);
    }),
  );

  data
    .command("validate <path>")
    .description("check a task file, manifest or folder and report every problem (file, line, field)")
    .option("--split-seed <n>", "seed of the split used for the leakage check", "0")
    .option("--allow-outside", "let a manifest name files outside its folder")
    .action(
      action(async (path: string, o: { splitSeed: string; allowOutside?: boolean }) => {
        const r = await loadPath(path, undefined, { allowOutside: o.allowOutside });
        for (const p of r.problems.items) console.log(formatProblem(p));
        for (const t of r.tasks) console.log(`${t.id}: ${describeAnswerLine(t)}`);
        const splits = splitTasks(r.tasks, numberOption(o.splitSeed, "--split-seed", { integer: true }));
        const leaks = findLeaks(splits);
        for (const l of leaks.slice(0, 20))
          console.log(printable(`leak: "${l.text}" is in training (${l.trainIn}) and in ${l.evalSplit} (${l.evalIn})`));
        for (const b of balanceReport(splits))
          if (b.n && (b.positiveRate < 0.05 || b.positiveRate > 0.95))
            console.log(`balance: ${b.task} ${b.split} has ${(100 * b.positiveRate).toFixed(1)}% positives`);
        const n = r.tasks.reduce((s, t) => s + t.examples.length, 0);
        const pool = r.tasks.reduce((s, t) => s + (t.pool?.length ?? 0), 0);
        console.log(
          `${r.problems.items.length} problem(s), ${leaks.length} leak(s); ${r.tasks.length} task(s), ${n} example(s)` +
            `${pool ? ` and ${pool} unlabelled text(s)` : ""} loaded`,
        );
        if (!r.problems.ok || leaks.length) process.exitCode = 2;
      }),
    );

  withSource(
    data
      .command("similarity")
      .description("measured domain-to-domain similarity (word usage)")
      .option("--json", "as JSON"),
  ).action(
    action(async (o: SourceOpts & { json?: boolean }) => {
      const m = domainSimilarity(await resolveTasks(o));
      console.log(o.json ? JSON.stringify(m) : formatMatrix(m));
    }),
  );

  withSource(
    data
      .command("baseline")
      .description(
        "bag-of-words logistic regression AUROC per task (how far keywords go), and the AUROC of text length alone",
      )
      .option("--json", "as JSON"),
  ).action(
    action(async (o: SourceOpts & { json?: boolean }) => {
      const splits = splitTasks(await resolveTasks(o), numberOption(o.splitSeed, "--split-seed", { integer: true }));
      // a task needs both labels in training and in test for a baseline (an unlabelled pool has none)
      const both = (xs: { label: boolean }[]) => xs.some((e) => e.label) && xs.some((e) => !e.label);
      const usable = splits.filter((s) => both(s.train) && both(s.test));
      for (const s of splits)
        if (!usable.includes(s)) console.error(`${s.task.id}: no baseline (its training or test split lacks a label)`);
      const rows = usable.map((s) => bagOfWordsBaseline(s));
      if (o.json) return void console.log(JSON.stringify(rows, null, 2));
      for (const r of rows)
        console.log(
          `${r.task.padEnd(20)} AUROC ${r.auroc.toFixed(3)}  length alone ${r.lengthAuroc.toFixed(3)}  (train ` +
            `${r.nTrain}, test ${r.nTest}, ${r.features} words)`,
        );
    }),
  );

  data
    .command("build <what>")
    .description(
      'build tasks from real text on this machine: "offline" (SpamAssassin, fortunes, man pages, changelogs, ' +
        "Python code)",
    )
    .option("-o, --out <dir>", "output folder", "data/offline")
    .option("--max <n>", "examples per task at most (balanced)", "2000")
    .action(
      action((what: string, o: { out: string; max: string }) => {
        if (what !== "offline") throw new InputError(`unknown build target "${what}" (only "offline")`);
        const r = buildOffline(o.out, {
          maxPerTask: numberOption(o.max, "--max", { integer: true, min: 1 }),
          log: (l) => console.log(l),
        });
        const n = r.built.reduce((s, b) => s + b.tasks.length, 0);
        console.log(
          `${n} task(s) from ${r.built.length} source(s) in ${o.out} (checksums in ${o.out}/checksums.json); ` +
            `${r.skipped.length} skipped`,
        );
      }),
    );
}

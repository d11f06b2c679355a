/** `crossmon run`, `crossmon quickstart`, `crossmon study`, `crossmon report`. */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { InputError } from "../../core/errors.js";
import { quickstartSpec, studySpec, SHIPPED_BASE_MODEL } from "../../experiments/builtin.js";
import { openRun } from "../../experiments/open.js";
import { formatStatus, runStatus, type RunStatus } from "../../experiments/status.js";
import { planRun, runExperiment } from "../../experiments/runner.js";
import { formatSpecPlan, planSpec } from "../../experiments/power.js";
import { splitSize } from "../../data/transforms/derived.js";
import { readExperimentSpec, type ExperimentSpec } from "../../experiments/spec.js";
import { writeReport } from "../../report/report.js";
import { BACKEND_KINDS, chooseBackend } from "../../backends/choose.js";
import { HostedBackend } from "../../backends/hosted.js";
import type { Backend } from "../../backends/types.js";
import { formatDuration } from "../../core/progress.js";
import { action } from "../output.js";
import { pullForReport, runOnStore, storeStatus, storeUrl } from "./worker.js";

const STORE_HELP =
  "postgres://USER[:PASS]@HOST:PORT/DB: the run's cells as jobs in PostgreSQL, for `crossmon worker`s on any machine";

/** The shipped base model, found relative to the package when the working directory is elsewhere. */
function shippedBase(): string {
  if (existsSync(SHIPPED_BASE_MODEL)) return SHIPPED_BASE_MODEL;
  const here = resolve(new URL("../../../..", import.meta.url).pathname, SHIPPED_BASE_MODEL);
  const src = resolve(new URL("../../..", import.meta.url).pathname, SHIPPED_BASE_MODEL);
  const found = [here, src].find((p) => existsSync(join(p, "config.json")));
  if (!found)
    throw new InputError(
      `the shipped base model ${SHIPPED_BASE_MODEL} is missing (run \`crossmon pretrain\` to rebuild it)`,
    );
  return found;
}

/** An experiment spec's `backend:` (an OpenAI-compatible API), as a backend. */
export function specBackend(
  b: NonNullable<ExperimentSpec["backend"]>,
  o: { yes?: boolean; approve?: (question: string) => Promise<boolean> },
): { backend: Backend; close: () => void } {
  const backend = new HostedBackend({
    baseURL: b.base_url,
    model: b.model,
    apiKeyEnv: b.api_key_env,
    train: b.train,
    pricePerMillionTokens: b.price_per_million_tokens,
    pollSeconds: b.poll_seconds,
    concurrency: b.concurrency,
    yes: o.yes,
    approve: o.approve,
  });
  return { backend, close: () => {} };
}

interface RunOpts {
  quiet: boolean;
  backend?: string;
  yes?: boolean;
  /** a PostgreSQL store (cells as jobs for workers) instead of the run folder's SQLite file */
  store?: string;
  /** with a store: plan and enqueue, then return (workers do the cells) */
  work?: boolean;
}

/** Asks a yes/no question on the terminal (only called when stdin is one). */
async function askTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

async function runAndReport(spec: ExperimentSpec, dir: string, o: RunOpts): Promise<void> {
  const t0 = Date.now();
  if (o.store) {
    if (spec.backend) throw new InputError("--store: a run on a hosted backend is not run by workers; drop --store");
    const r = await runOnStore(spec, dir, storeUrl(o.store), { noWork: o.work === false, ...o });
    if (!r) return;
    const run = await openRun(dir, { partial: r.failed.length > 0 });
    const rep = await writeReport(run);
    run.store.close();
    for (const f of r.failed) console.log(`failed: ${f}`);
    console.log(
      `report: ${rep.html}\n        ${rep.md}\n        ${rep.json}\n(${formatDuration((Date.now() - t0) / 1000)})`,
    );
    return;
  }
  if (o.work === false) throw new InputError("--no-work: only with --store (workers then do the cells)");
  if (spec.backend && o.backend)
    throw new InputError(`--backend ${o.backend}: the spec names its backend (${spec.backend.base_url}); drop one`);
  const { backend, close } = spec.backend
    ? specBackend(spec.backend, { yes: o.yes, approve: process.stdin.isTTY ? askTerminal : undefined })
    : chooseBackend(o.backend ?? "local", spec.base_model);
  let run: Awaited<ReturnType<typeof runExperiment>>;
  try {
    run = await runExperiment(spec, dir, { quiet: o.quiet, log: o.quiet ? () => {} : undefined, backend });
  } finally {
    close();
  }
  const r = await writeReport(run);
  run.store.close();
  if (!o.quiet) {
    for (const x of [
      r.results.transfer,
      r.results.scaling,
      r.results.prompt_change,
      r.results.instruction,
      r.results.format_transfer,
      r.results.elicitation,
    ])
      if (x) console.log(`- ${x.finding}`);
  }
  console.log(`report: ${r.html}\n        ${r.md}\n        ${r.json}\n(${formatDuration((Date.now() - t0) / 1000)})`);
}

export function registerStudy(program: Command): void {
  const builtin: [string, string, (base: string) => ExperimentSpec][] = [
    [
      "quickstart",
      "the full transfer matrix on the built-in world (every domain held out, 3 training replicates) with the " +
        "shipped base model, then the report (about 4 minutes on 2 cores)",
      quickstartSpec,
    ],
    [
      "study",
      "all six experiments on the built-in world, full size, 3 training replicates (estimated at about half an hour " +
        "on 2 cores; `crossmon plan study --pilot runs/quickstart` estimates it for this machine); resumable",
      studySpec,
    ],
  ];
  for (const [name, description, specOf] of builtin) {
    program
      .command(name)
      .description(description)
      .option("-o, --out <dir>", "run folder", `runs/${name}`)
      .option("--base <dir>", "base model folder (default: the shipped one)")
      .option("--backend <kind>", `where models run: ${BACKEND_KINDS.join(" or ")} (the PyTorch worker); default local`)
      .option("-q, --quiet", "no progress output", false)
      .option("--store <url>", STORE_HELP)
      .option("--no-work", "with --store: plan and enqueue the cells, then return (workers run them)")
      .action(
        action(async (o: RunOpts & { out: string; base?: string }) =>
          runAndReport(specOf(o.base ?? shippedBase()), o.out, o),
        ),
      );
  }
  program
    .command("run <experiment>")
    .description("run an experiment spec (YAML; see examples/experiment.yaml); the same command resumes a killed run")
    .option("-o, --out <dir>", "run folder (default runs/<spec name>)")
    .option("--backend <kind>", `where models run: ${BACKEND_KINDS.join(" or ")} (the PyTorch worker); default local`)
    .option("-q, --quiet", "no progress output", false)
    .option("--yes", "start paid work (hosted fine-tuning) without asking; the estimate is printed all the same")
    .option("--store <url>", STORE_HELP)
    .option("--no-work", "with --store: plan and enqueue the cells, then return (workers run them)")
    .option("--allow-outside", "let a manifest name data files outside its folder (data.allow_outside in the spec)")
    .action(
      action(async (file: string, o: RunOpts & { out?: string; allowOutside?: boolean }) => {
        const spec = readExperimentSpec(file);
        if (o.allowOutside) spec.data.allow_outside = true;
        return runAndReport(spec, o.out ?? join("runs", basename(file).replace(/\.ya?ml$/i, "")), o);
      }),
    );
  program
    .command("plan <experiment>")
    .description(
      "before any training: per question the cells, the time (from a pilot run's), the test examples, the " +
        "replicates and the smallest effect detectable with 80% power; EXPERIMENT: a spec file, quickstart or study",
    )
    .option("--pilot <run>", "a finished run on the same base model and machine: its cells' times and variances")
    .option("--json", "as JSON")
    .action(
      action(async (file: string, o: { pilot?: string; json?: boolean }) => {
        const spec =
          file === "quickstart"
            ? quickstartSpec(shippedBase())
            : file === "study"
              ? studySpec(shippedBase())
              : readExperimentSpec(file);
        const { train } = await planRun(spec, (l) => console.error(l));
        const pilot = o.pilot ? await openRun(o.pilot) : undefined;
        const p = planSpec(spec, {
          pilot,
          sizes: new Map(train.splits.map((s) => [s.task.id, splitSize(s, "train")])),
          evalOnly: new Set(train.splits.filter((s) => s.task.eval_only).map((s) => s.task.id)),
        });
        pilot?.store.close();
        console.log(o.json ? JSON.stringify(p, null, 2) : formatSpecPlan(p));
      }),
    );
  program
    .command("report <runDir>")
    .description("write report.html, results.json and summary.md for a finished run")
    .option("--store <url>", "read the run (named as its folder) from this PostgreSQL store into the folder first")
    .action(
      action(async (dir: string, o: { store?: string }) => {
        const failed = o.store ? await pullForReport(dir, o.store) : [];
        for (const f of failed) console.log(`failed: ${f}`);
        const run = await openRun(dir, { partial: failed.length > 0 });
        const r = await writeReport(run);
        run.store.close();
        console.log(`report: ${r.html}\n        ${r.md}\n        ${r.json}`);
      }),
    );
  program
    .command("status [runs...]")
    .description("where runs stand: cells done, running (for how long), interrupted, not started")
    .option("--json", "as JSON")
    .option("--store <url>", "runs in this PostgreSQL store (all of them, or those named), from any machine")
    .action(
      action(async (runs: string[], o: { json?: boolean; store?: string }) => {
        if (o.store) return console.log(await storeStatus(o.store, runs, !!o.json));
        if (!runs.length) throw new InputError("name a run folder (or --store URL for a PostgreSQL store's runs)");
        const out: RunStatus[] = [];
        for (const dir of runs) {
          const run = await openRun(dir, { partial: true });
          out.push(runStatus(run));
          run.store.close();
        }
        console.log(o.json ? JSON.stringify(out, null, 2) : out.map(formatStatus).join("\n"));
      }),
    );
}

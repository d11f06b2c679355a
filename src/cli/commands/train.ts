/** `crossmon train SPEC.yaml` and `crossmon pretrain`. */
import type { Command } from "commander";
import { basename, join, resolve } from "node:path";
import { readTrainSpec } from "../../train/spec.js";
import { runTraining } from "../../train/run.js";
import { pretrain, SHIPPED_RECIPE, TOY_RECIPE } from "../../train/pretrain/index.js";
import { buildMixture, dilution, formatDilution } from "../../mix/mixture.js";
import { writeExport } from "../../mix/export.js";
import { mixtureOf, trainingContext } from "../../train/run.js";
import { exportGguf, exportTarget } from "../../train/export-gguf.js";
import { InputError } from "../../core/errors.js";
import { isRunFolder, monitorTitle, runMonitor } from "../../experiments/monitors.js";
import { exportPredictions } from "../../experiments/predictions-export.js";
import { action, numberOption } from "../output.js";

export function registerTrain(program: Command): void {
  program
    .command("train <spec>")
    .description("train a monitor from a spec (see examples/train.yaml); the same command on the same --out resumes")
    .option("-o, --out <dir>", "run folder (default runs/<spec name>)")
    .option("-q, --quiet", "no progress output", false)
    .option("--allow-outside", "let a manifest name data files outside its folder (data.allow_outside in the spec)")
    .action(
      action(async (file: string, o: { out?: string; quiet: boolean; allowOutside?: boolean }) => {
        const spec = readTrainSpec(file);
        if (o.allowOutside) spec.data.allow_outside = true;
        const dir = o.out ?? join("runs", basename(file).replace(/\.ya?ml$/i, ""));
        const r = await runTraining(spec, dir, { quiet: o.quiet, log: o.quiet ? () => {} : undefined });
        for (const s of r.stages)
          console.log(
            `stage ${s.name}: ${s.steps} steps, final loss ${s.lastLoss.toFixed(4)}, ${s.seconds.toFixed(0)} ` +
              `s\n${formatDilution(s.dilution)}`,
          );
        console.log(`output: ${r.output}`);
      }),
    );
  program
    .command("pretrain")
    .description("train the built-in study's base model from scratch (tokenizer and model); resumes when rerun")
    .option("-o, --out <dir>", "output model folder", "models/crossmon-base")
    .option("--steps <n>", "optimiser steps", String(SHIPPED_RECIPE.steps))
    .option("--minutes <n>", "stop after this long (with a checkpoint; rerun to continue)")
    .option(
      "--reading-steps <n>",
      "steps of the optional reading phase (stories with concept questions, reading questions asked both ways)",
      String(SHIPPED_RECIPE.readingSteps),
    )
    .option("--reading-lr <x>", "its peak learning rate", String(SHIPPED_RECIPE.readingLr))
    .option(
      "--reading-answer-weight <x>",
      "its loss weight on a single-token answer",
      String(SHIPPED_RECIPE.readingAnswerWeight),
    )
    .option(
      "--reading-thinking-share <x>",
      "its share of questions in the thinking layout",
      String(SHIPPED_RECIPE.readingThinkingShare),
    )
    .option("--toy", "a toy-sized model and corpus (seconds), to check the recipe", false)
    .option("-q, --quiet", "no progress output", false)
    .action(
      action(
        (
          o: {
            out: string;
            steps: string;
            readingSteps: string;
            readingLr: string;
            readingAnswerWeight: string;
            readingThinkingShare: string;
            minutes?: string;
            toy: boolean;
            quiet: boolean;
          },
          cmd: Command,
        ) => {
          const reading = {
            readingSteps: numberOption(o.readingSteps, "--reading-steps", { integer: true, min: 0 }),
            readingLr: numberOption(o.readingLr, "--reading-lr", { min: 0 }),
            readingAnswerWeight: numberOption(o.readingAnswerWeight, "--reading-answer-weight", { min: 0 }),
            readingThinkingShare: numberOption(o.readingThinkingShare, "--reading-thinking-share", { min: 0, max: 1 }),
          };
          const recipe = { steps: numberOption(o.steps, "--steps", { integer: true, min: 1 }), ...reading };
          // --toy sets small sizes; what the command line says outright still wins over them
          const given = (k: keyof typeof recipe, flag: string) =>
            cmd.getOptionValueSource(flag) === "cli" ? { [k]: recipe[k] } : {};
          const r = pretrain({
            out: o.out,
            ...recipe,
            ...(o.toy ? TOY_RECIPE : {}),
            ...(o.toy ? { ...given("steps", "steps"), ...given("readingSteps", "readingSteps") } : {}),
            minutes: o.minutes ? numberOption(o.minutes, "--minutes", { min: 0 }) : undefined,
            quiet: o.quiet,
            log: o.quiet ? undefined : (l) => console.error(l),
          });
          console.log(
            r.loop.finished
              ? `base model written to ${r.dir} (${r.parameters} parameters, ${r.loop.steps} steps, ` +
                  `${r.loop.seconds.toFixed(0)} s this run)`
              : `stopped at step ${r.loop.steps}; run the same command to continue`,
          );
        },
      ),
    );
}

export function registerExport(program: Command): void {
  program
    .command("export <input>")
    .description(
      "--to gguf: a model, adapter or training's output folder as one GGUF file for llama.cpp and Ollama (an adapter " +
        "merged in); --to openai (chat JSONL, answers weighted) or --to tokens (ids + loss weights): a training " +
        "spec's mixtures for hosted fine-tuning; --predictions -o FILE: a run folder's per-example predictions " +
        "(.csv, .jsonl or .parquet)",
    )
    .option("--to <format>", "gguf, openai or tokens")
    .option("--predictions", "a run's predictions, one row per evaluation and example (-o names the file)")
    .option("-o, --out <path>", "gguf: the file (default NAME-DTYPE.gguf); otherwise a prefix, one file per stage")
    .option("--dtype <dtype>", "gguf: f32, f16, bf16 or q8_0 (norms stay F32)", "f16")
    .option("--base <model>", "gguf: the base model of an adapter that does not name it")
    .option("--monitor <name>", "gguf from a run folder: which of its trained monitors (the names are listed if not)")
    .action(
      action(
        async (
          input: string,
          o: { to?: string; out?: string; dtype: string; base?: string; predictions?: boolean },
        ) => {
          if (o.predictions) {
            if (!o.out) throw new InputError("--predictions: name the file with -o (.csv, .jsonl or .parquet)");
            const r = await exportPredictions(input, o.out);
            console.log(`${o.out}: ${r.rows} predictions from ${r.evaluations} evaluations`);
            return;
          }
          if (!o.to) throw new InputError("export: say what to export: --to gguf|openai|tokens, or --predictions");
          if (o.to === "gguf") return exportToGguf(input, o);
          if (o.to !== "openai" && o.to !== "tokens") throw new InputError(`--to ${o.to}: use gguf, openai or tokens`);
          const spec = readTrainSpec(input);
          const ctx = await trainingContext(spec);
          spec.stages.forEach((st, i) => {
            const mix = buildMixture(mixtureOf(spec, i), ctx.splits, ctx.ifPool, ctx.renderer);
            const out = `${o.out ?? "export"}-${i + 1}-${st.name}.jsonl`;
            writeExport(out, mix.items, o.to as "openai" | "tokens");
            console.log(`${out}: ${mix.items.length} examples\n${formatDilution(dilution(mix.items))}`);
          });
        },
      ),
    );
}

const DTYPES = ["f32", "f16", "bf16", "q8_0"] as const;

function exportToGguf(input: string, o: { out?: string; dtype: string; base?: string; monitor?: string }): void {
  const dtype = DTYPES.find((d) => d === o.dtype.toLowerCase());
  if (!dtype) throw new InputError(`--dtype ${o.dtype}: use ${DTYPES.join(", ")}`);
  // a run folder: one of its trained monitors, by name, which the GGUF file then carries as its name
  const monitor = isRunFolder(input) ? runMonitor(input, o.monitor, "--monitor") : null;
  if (!monitor && o.monitor) throw new InputError(`--monitor ${o.monitor}: ${input} is not a run folder`);
  if (monitor?.ref.hosted) throw new InputError(`--monitor ${monitor.name}: a hosted model has no weights here`);
  const target = monitor
    ? { base: monitor.ref.base, adapter: monitor.ref.adapter ?? null }
    : exportTarget(input, o.base);
  const title = monitor ? monitorTitle(input, monitor.name) : undefined;
  const out = o.out ?? `${monitor ? title!.replace(":", "-") : basename(resolve(input))}-${dtype}.gguf`;
  const r = exportGguf(target, out, { dtype, name: title, log: (l) => process.stderr.write(`warning: ${l}\n`) });
  console.log(
    `${r.file}: ${r.architecture}, ${r.tensors} tensors, ${(r.bytes / 2 ** 20).toFixed(1)} MiB, ${dtype}` +
      (target.adapter ? ` (adapter ${target.adapter} merged into ${target.base})` : ""),
  );
}

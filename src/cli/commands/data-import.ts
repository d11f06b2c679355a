/** `crossmon data import inspect ...`: other tools' files made into crossmon task folders. */
import type { Command } from "commander";
import { InputError } from "../../core/errors.js";
import { importInspect } from "../../data/import/inspect.js";
import { parseLabelRule } from "../../data/import/inspect-label.js";
import { defaultInflateLimits } from "../../data/import/inspect-log.js";
import { action, numberOption } from "../output.js";

interface InspectOpts {
  out: string;
  task: string;
  domain?: string;
  prompt?: string;
  label?: string;
  unlabelled?: boolean;
  skipUnlabelled?: boolean;
  as: string;
  keepSystem?: boolean;
  keepReasoning?: boolean;
  maxToolOutput?: string;
  force?: boolean;
  quiet?: boolean;
  maxEntryMb?: string;
  maxLogGb?: string;
}

export function registerDataImport(data: Command): void {
  const imp = data.command("import").description("make a task folder from other tools' files (Inspect logs)");
  imp
    .command("inspect <logs...>")
    .description("Inspect eval logs (.eval or .json, or folders of them) → a task folder (crossmon.yaml + JSONL)")
    .requiredOption("-o, --out <dir>", "the task folder to write")
    .requiredOption("--task <name>", "the task's id")
    .option("--label <path=value>", "positive where the field equals the value: metadata.F=V, score.NAME=V, target=V")
    .option("--unlabelled", "no labels: the texts become a pool for unsupervised elicitation (elicitation.pool)")
    .option("--domain <name>", "the task's domain (default: the task's id)")
    .option("--prompt <template>", "the monitor's question, with {text} where the transcript goes")
    .option("--skip-unlabelled", "leave out samples that lack the label's field instead of stopping")
    .option("--as <layout>", "text (one transcript) or messages (the message list)", "text")
    .option("--keep-system", "keep system messages (left out: an attack policy's system prompt gives the label away)")
    .option("--keep-reasoning", "keep the agent's reasoning parts")
    .option("--max-tool-output <chars>", "cut each tool result after this many characters")
    .option("--force", "replace what the output folder holds")
    .option("--max-entry-mb <n>", "a .eval entry (one sample) may inflate to this many MB (default 256)")
    .option("--max-log-gb <n>", "a .eval log may inflate to this many GB in all (default 16)")
    .option("--quiet", "no progress")
    .action(
      action(async (logs: string[], o: InspectOpts) => {
        if (o.as !== "text" && o.as !== "messages") throw new InputError(`--as must be text or messages, got ${o.as}`);
        const defaults = defaultInflateLimits();
        const r = await importInspect(logs, {
          out: o.out,
          task: o.task,
          domain: o.domain,
          prompt: o.prompt,
          label: o.label === undefined ? undefined : parseLabelRule(o.label),
          unlabelled: o.unlabelled,
          skipUnlabelled: o.skipUnlabelled,
          as: o.as,
          keepSystem: o.keepSystem,
          keepReasoning: o.keepReasoning,
          maxToolOutput:
            o.maxToolOutput === undefined
              ? undefined
              : numberOption(o.maxToolOutput, "--max-tool-output", { integer: true, min: 1 }),
          force: o.force,
          quiet: o.quiet,
          limits: {
            entryBytes:
              2 ** 20 *
              (o.maxEntryMb === undefined
                ? defaults.entryBytes / 2 ** 20
                : numberOption(o.maxEntryMb, "--max-entry-mb", { min: 1 })),
            totalBytes:
              2 ** 30 *
              (o.maxLogGb === undefined
                ? defaults.totalBytes / 2 ** 30
                : numberOption(o.maxLogGb, "--max-log-gb", { min: 0.001 })),
          },
        });
        for (const f of r.notLogs) console.error(`import: skipped ${f}: not an Inspect log`);
        console.log(
          `${r.manifest}: task ${o.task}, ${r.examples} example(s), ` +
            `${o.unlabelled ? "unlabelled" : `${r.positives} positive`}, from ${r.logs} log(s)` +
            (r.skipped ? `; ${r.skipped} sample(s) without the label's field left out` : ""),
        );
      }),
    );
}

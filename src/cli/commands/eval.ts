/** `crossmon eval`: score a model (and adapter) on tasks in the single-token format, with AUROC and its CI. */
import type { Command } from "commander";
import { writeFileSync } from "node:fs";
import { LocalBackend } from "../../backends/local.js";
import { OpenAIBackend } from "../../backends/openai.js";
import type { Backend, ModelRef } from "../../backends/types.js";
import { HfTokenizer } from "../../engine/io/tokenizer.js";
import { loadTasks } from "../../data/loaders/load.js";
import { splitTasks } from "../../data/splits.js";
import { buildWorld, DEFAULT_WORLD_SIZE } from "../../data/world/index.js";
import { Renderer } from "../../formats/render.js";
import { evalSingleToken } from "../../eval/evaluate.js";
import { metricSet, withinLabelSpearman, type Interval } from "../../eval/metrics.js";
import { auroc } from "../../eval/auroc.js";
import { Progress } from "../../core/progress.js";
import { ADAPTER_HELP, action, MODEL_HELP, numberOption } from "../output.js";
import { InputError } from "../../core/errors.js";
import { BACKEND_KINDS, chooseBackend } from "../../backends/choose.js";

/** |Spearman ρ| between a model's scores and prompt lengths (within a label) above which eval names the task */
const LENGTH_RHO_FLAG = 0.3;

export function registerEval(program: Command): void {
  program
    .command("eval")
    .description(
      "score a model on every task (or some) in the single-token format: AUROC [95% CI], accuracy, calibration, " +
        "answer mass",
    )
    .requiredOption("--model <ref>", `${MODEL_HELP} (its tokenizer renders the prompts)`)
    .option("--adapter <ref>", ADAPTER_HELP)
    .option(
      "--server <url>",
      "score through an OpenAI-compatible server instead (e.g. http://127.0.0.1:8000/v1); --model still gives the " +
        "tokenizer",
    )
    .option("--server-model <name>", "the model name on the server")
    .option(
      "--backend <kind>",
      `where the model runs when no --server: ${BACKEND_KINDS.join(" or ")} (the PyTorch worker)`,
      "local",
    )
    .option("--tasks <path>", "your tasks (default: the built-in world)")
    .option("--allow-outside", "let a manifest name files outside its folder")
    .option(
      "--world-seed <n>",
      "the built-in world's seed: another seed gives fresh texts (the same tasks), e.g. to choose between models " +
        "without touching the world you report on",
      "0",
    )
    .option("--only <ids...>", "task ids to score")
    .option("-n, --examples <n>", "test examples per task", "300")
    .option("--json <file>", "write the results as JSON")
    .option("-q, --quiet", "no progress output", false)
    .action(
      action(
        async (o: {
          model: string;
          adapter?: string;
          server?: string;
          serverModel?: string;
          backend: string;
          tasks?: string;
          allowOutside?: boolean;
          worldSeed: string;
          only?: string[];
          examples: string;
          json?: string;
          quiet: boolean;
        }) => {
          const tok = HfTokenizer.load(o.model);
          const renderer = new Renderer(tok, 1024);
          const chosen = o.server ? null : chooseBackend(o.backend, o.model);
          let backend: Backend = chosen?.backend ?? new LocalBackend();
          let ref: ModelRef = { base: o.model, adapter: o.adapter };
          if (o.server) {
            const remote = new OpenAIBackend({
              baseURL: o.server,
              model: o.serverModel ?? o.model.split("/").pop()!,
              mode: "chat",
              decode: (ids) => tok.decode(ids),
            });
            backend = remote;
            ref = remote.ref();
          }
          const worldSeed = numberOption(o.worldSeed, "--world-seed", { integer: true, min: 0 });
          if (o.tasks && worldSeed !== 0)
            throw new InputError("--world-seed applies to the built-in world, not to --tasks");
          const tasks = o.tasks
            ? await loadTasks(o.tasks, undefined, { allowOutside: o.allowOutside })
            : buildWorld({ seed: worldSeed, size: DEFAULT_WORLD_SIZE });
          const splits = splitTasks(tasks, 0).filter((s) => !o.only || o.only.includes(s.task.id));
          const progress = new Progress("eval", splits.length, { quiet: o.quiet });
          const rows = [];
          for (const [i, s] of splits.entries()) {
            const asked = numberOption(o.examples, "--examples", { integer: true, min: 1 });
            const ex = s.test.slice(0, asked);
            // a task's test split can be smaller than asked for: say so, not score fewer without a word
            if (ex.length < asked)
              process.stderr.write(
                `eval: ${s.task.id} has ${s.test.length} test examples; using ${ex.length} where --examples asks ` +
                  `for ${asked}\n`,
              );
            const r = await evalSingleToken({ backend, renderer, calls: null }, ref, s.task, ex);
            const m = metricSet(
              ex.map((e) => e.label),
              r.scores,
              undefined,
              { n: 1000, seed: 0 },
            );
            // a shortcut check: how far prompt length alone goes on this task, and whether the model's score follows
            // length among texts of the same label (so that a model that is right where length is too is not flagged)
            const labels = ex.map((e) => e.label);
            rows.push({
              task: s.task.id,
              domain: s.task.domain,
              ...m,
              mean_mass: r.mass.reduce((a, b) => a + b, 0) / r.mass.length,
              truncated: r.truncated,
              length_auroc: auroc(labels, r.lengths),
              score_length_rho: withinLabelSpearman(labels, r.scores, r.lengths),
            });
            progress.update(i + 1, { task: s.task.id });
          }
          chosen?.close();
          const fmt = (x: number) => (Number.isNaN(x) ? "  n/a" : (x < 0 ? "" : " ") + x.toFixed(2));
          for (const r of rows)
            console.log(
              `${r.task.padEnd(22)} AUROC ${r.auroc.value.toFixed(3)} [${r.auroc.lo.toFixed(3)}, ` +
                `${r.auroc.hi.toFixed(3)}]  acc@0.5 ${r.accuracy_at_half.toFixed(3)}  mass ` +
                `${r.mean_mass.toFixed(3)}  length alone ${r.length_auroc.toFixed(2)}  ρ(score, length | label) ` +
                `${fmt(r.score_length_rho)}  (n ${r.n})`,
            );
          // the counts that say whether a model reads the questions at all: above chance, clearly above, clearly below
          const aurocs = rows.map((r) => r.auroc);
          if (aurocs.length > 1) {
            const count = (f: (a: Interval) => boolean) => aurocs.filter(f).length;
            console.log(
              `${aurocs.length} tasks: AUROC above 0.5 on ${count((a) => a.value > 0.5)}, 95% CI above 0.5 on ` +
                `${count((a) => a.lo > 0.5)}, below 0.5 on ${count((a) => a.hi < 0.5)}`,
            );
          }
          const following = rows.filter((r) => Math.abs(r.score_length_rho) >= LENGTH_RHO_FLAG);
          if (following.length)
            console.log(
              `the score follows prompt length (|ρ| ≥ ${LENGTH_RHO_FLAG}) among texts of one label on ` +
                `${following.map((r) => `${r.task} (${r.score_length_rho.toFixed(2)})`).join(", ")}: ` +
                "it may be answering by length rather than by reading",
            );
          if (o.json) writeFileSync(o.json, JSON.stringify(rows, null, 2));
        },
      ),
    );
}

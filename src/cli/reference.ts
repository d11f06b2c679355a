/**
 * The generated references: docs/cli.md from the commands' own help, and the specs' JSON Schemas in schemas/.
 * `npm run docs` writes them; a test fails when the committed ones are stale.
 */
import type { Command } from "commander";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SPEC_SCHEMAS, specJsonSchema } from "./commands/schema.js";
import { buildProgram } from "./program.js";

/** Every command's help, at a fixed width (not the terminal's), as one markdown page. */
export function cliReference(program: Command = buildProgram()): string {
  const out = [
    "# crossmon command reference",
    "",
    "Every command's `--help`, generated from the commands themselves (`npm run docs`; a test fails when this page",
    "is stale).",
    "",
  ];
  const walk = (cmd: Command, path: string[]) => {
    for (const c of cmd.commands) {
      const name = [...path, c.name()];
      c.configureHelp({ helpWidth: 110 });
      out.push(`## crossmon ${name.join(" ")}`, "", "```", c.helpInformation().trimEnd(), "```", "");
      walk(c, name);
    }
  };
  walk(program, []);
  return out.join("\n");
}

interface BenchRecord {
  bench: string;
  args: string[];
  commit: string;
  cpu: string;
  cores: number;
  date: string;
  node: string;
  records: Record<string, unknown>[];
  /** when a bench's figures were computed again from what it recorded (bench/lib/recompute-peers.ts), and why */
  recomputed?: { date: string; why: string };
}

/** A JSON value's leaves as dotted keys (long arrays summarised by their length). */
function leaves(v: unknown, prefix = ""): [string, string][] {
  if (v === null || typeof v !== "object")
    return [[prefix, typeof v === "number" ? String(+v.toPrecision(6)) : `${v}`]];
  if (Array.isArray(v) && (v.length > 8 || v.some((x) => typeof x === "object")))
    return [[prefix, `${v.length} items`]];
  if (Array.isArray(v)) return [[prefix, v.join(", ")]];
  return Object.entries(v).flatMap(([k, x]) => leaves(x, prefix ? `${prefix}.${k}` : k));
}

/** The peers bench's user-shape rows, their columns as the table heads them. */
const USER_SHAPE_COLUMNS: [string, string][] = [
  ["shape", "shape"],
  ["work", "work"],
  ["crossmon_tok_s", "crossmon tok/s"],
  ["llama_cpp_bf16_tok_s", "llama.cpp BF16"],
  ["llama_cpp_q8_0_tok_s", "llama.cpp Q8_0"],
  ["torch_bf16_tok_s", "PyTorch bf16"],
  ["vs_torch", "× PyTorch"],
  ["vs_llama_cpp_q8_0", "× llama.cpp Q8_0"],
  ["crossmon_peak_rss_mib", "crossmon peak RSS MiB"],
  ["torch_peak_rss_mib", "PyTorch peak RSS MiB"],
  ["weights_mib", "weights MiB"],
  ["commit", "commit"],
  ["cpu", "CPU"],
  ["threads", "threads"],
];

/** The headline keys of the user shapes and the goals they are read against. */
const USER_SHAPE_GOALS: [string, string][] = [
  ["bf16_prefill_vs_torch", "≥ 1.5 (smallest over shapes and lengths)"],
  [
    "bf16_prefill_ceiling_vs_torch",
    "none: the most this CPU allows (bench/lib/prefill-floor.ts), ≥ 1.5 for the goal above",
  ],
  ["bf16_prefill_vs_llamacpp_q8", "≥ 2 (smallest over shapes and lengths)"],
  ["bf16_lora_train_vs_torch", "≥ 2 (smallest over shapes)"],
  [
    "bf16_lora_train_ceiling_vs_torch",
    "none: the most this CPU allows (bench/lib/lora-floor.ts), ≥ 2 for the goal above",
  ],
  ["long_prefill_ratio", "≥ 0.6 (crossmon tokens/s at the longest length over the shortest)"],
  ["long_scoring_peak_rss_over_weights", "≤ 1.3 (largest shape, longest length)"],
];

/** The section on speed at the shapes users bring, from the peers bench's record, when it has user shapes. */
function userShapeSection(dir: string): string[] {
  const file = join(dir, "peers.json");
  if (!existsSync(file)) return [];
  const r = JSON.parse(readFileSync(file, "utf8")) as BenchRecord;
  const rec = r.records.find((x) => Array.isArray(x.user_shape_table));
  if (!rec) return [];
  const show = (v: unknown) =>
    v === null || v === undefined ? "–" : typeof v === "number" ? String(+v.toPrecision(4)) : `${v}`;
  const rows = rec.user_shape_table as Record<string, unknown>[];
  return [
    "## Speed at the shapes users bring",
    "",
    `From \`${["npm run bench --", r.bench, ...r.args].join(" ")}\` (bench/results/peers.json; user-shapes.ts in`,
    "bench/lib/ says what each figure is): random BF16 checkpoints of a 0.36B Llama and of Qwen3-1.7B's shape,",
    "prefill with the logits at the last position, and one LoRA step (r 16, every linear layer, one 1,024-token",
    "example); each figure the median over the rounds, each ratio the median of the rounds' own ratios, each peak RSS",
    "that process's own.",
    ...(r.recomputed ? [`Recomputed from its recorded rounds on ${r.recomputed.date}: ${r.recomputed.why}.`] : []),
    "",
    "| key | value | goal |",
    "|---|---|---|",
    ...USER_SHAPE_GOALS.map(([k, goal]) => `| ${k} | ${show(rec[k])} | ${goal} |`),
    "",
    `| ${USER_SHAPE_COLUMNS.map(([, head]) => head).join(" | ")} |`,
    `|${USER_SHAPE_COLUMNS.map(() => "---").join("|")}|`,
    ...rows.map((row) => `| ${USER_SHAPE_COLUMNS.map(([k]) => show(row[k])).join(" | ")} |`),
    "",
  ];
}

/** docs/benchmarks.md: every recorded bench run (bench/results/*.json, written by `npm run bench`), as tables. */
export function benchmarksPage(dir = "bench/results"): string {
  const out = [
    "# Benchmarks",
    "",
    "Each table is one recorded run of `npm run bench -- NAME` (its JSON lines, as the bench printed them), with the",
    "commit, CPU, cores and date it ran on; `npm run docs` renders this page from bench/results/. Speed figures are",
    "ratios to a peer run in the same script on the same weights; see each bench's header comment for what it does.",
    "",
    ...userShapeSection(dir),
  ];
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .sort()
    : [];
  const benches = readdirSync("bench")
    .filter((f) => f.endsWith(".ts"))
    .map((f) => f.slice(0, -3))
    .sort();
  for (const f of files) {
    const r = JSON.parse(readFileSync(join(dir, f), "utf8")) as BenchRecord;
    const cmd = ["npm run bench --", r.bench, ...r.args].join(" ");
    out.push(`## ${r.bench}`, "", `\`${cmd}\` · commit ${r.commit} · ${r.cpu} · ${r.cores} cores · ${r.date}`, "");
    // records with the same fields (one per setting, say) as one table, a row each; others as a table of their own
    const cell = (v: string) => v.replaceAll("|", "\\|");
    for (let i = 0; i < r.records.length; ) {
      const keys = leaves(r.records[i]).map(([k]) => k);
      let j = i + 1;
      while (
        j < r.records.length &&
        leaves(r.records[j])
          .map(([k]) => k)
          .join() === keys.join()
      )
        j++;
      if (j - i > 1) {
        out.push(`| ${keys.join(" | ")} |`, `|${keys.map(() => "---").join("|")}|`);
        for (const rec of r.records.slice(i, j))
          out.push(
            `| ${leaves(rec)
              .map(([, v]) => cell(v))
              .join(" | ")} |`,
          );
      } else {
        // a list of steps (objects) as a table of its own, a row each; the rest as figure | value
        const rec = r.records[i];
        const lists = Object.entries(rec).filter(
          (e): e is [string, Record<string, unknown>[]] =>
            Array.isArray(e[1]) && e[1].length > 0 && e[1].every((x) => x !== null && typeof x === "object"),
        );
        const rest = Object.fromEntries(Object.entries(rec).filter(([k]) => !lists.some(([l]) => l === k)));
        if (Object.keys(rest).length) {
          out.push("| figure | value |", "|---|---|");
          for (const [k, v] of leaves(rest)) out.push(`| ${k} | ${cell(v)} |`);
        }
        for (const [name, rows] of lists) {
          const cols = [...new Set(rows.flatMap((x) => leaves(x).map(([k]) => k)))];
          if (Object.keys(rest).length) out.push("");
          out.push(`| ${name}: ${cols.join(" | ")} |`, `|${cols.map(() => "---").join("|")}|`);
          for (const x of rows) {
            const got = new Map(leaves(x));
            out.push(`| ${cols.map((c) => cell(got.get(c) ?? "")).join(" | ")} |`);
          }
        }
      }
      out.push("");
      i = j;
    }
  }
  const missing = benches.filter((b) => !files.includes(`${b}.json`));
  if (missing.length)
    out.push("## Not recorded yet", "", `No recorded run of: ${missing.map((b) => `\`${b}\``).join(", ")}.`, "");
  return out.join("\n");
}

/** The generated files, by path from the repository root. */
export function generatedReferences(): Record<string, string> {
  const files: Record<string, string> = { "docs/cli.md": cliReference(), "docs/benchmarks.md": benchmarksPage() };
  for (const name of Object.keys(SPEC_SCHEMAS) as (keyof typeof SPEC_SCHEMAS)[])
    files[`schemas/${name}.schema.json`] = specJsonSchema(name);
  return files;
}

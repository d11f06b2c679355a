/**
 * The peers bench at the shapes users bring: random BF16 checkpoints of a ~0.36B Llama (d 1024, 28 layers, 16 heads,
 * 8 KV heads, FFN 3072) and of Qwen3-1.7B's shape (d 2048, 28 layers, 16 heads, 8 KV heads, head 128, FFN 6144),
 * both with the shipped tokenizer's 4,096-token vocabulary (so every tool reads the same GGUF vocabulary; the
 * embedding is a small part of either). Prefill of 1,024 and 4,096 tokens: crossmon (16-bit weights, the CPU's BF16
 * dot products where it has them), llama.cpp on the BF16 and the Q8_0 GGUF `crossmon export` writes (node-llama-cpp's
 * build, flash attention on, the faster here), PyTorch with transformers in bfloat16 (SDPA, logits of the last position
 * only). A LoRA step (r 16, every linear layer, one 1,024-token example, loss on its last token):
 * crossmon against PyTorch + peft in bfloat16. Every figure comes from a process of its own (bench/lib/
 * user-shape-run.ts, bench/torch_user_shapes.py), so each has its own peak RSS; the tools take turns within a round,
 * and each ratio is the median over rounds of that round's ratio.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { makeHfConfig } from "../../src/engine/config.js";
import { nativeKernels } from "../../src/engine/kernels/index.js";
import { exportGguf } from "../../src/train/export-gguf.js";
import { QWEN3_1_7B_LAYERS } from "./model-shape.js";
import { loraStepFloorSeconds } from "./lora-floor.js";
import { prefillFloorSeconds } from "./prefill-floor.js";
import { median } from "./timing.js";
import { PYTHON, peerEnv } from "./python.js";
import { writeRandomBf16 } from "./random-checkpoint.js";

export const USER_SHAPES = {
  "llama-0.36b": makeHfConfig({
    vocabSize: 4096,
    hidden: 1024,
    intermediate: 3072,
    layers: 28,
    heads: 16,
    kvHeads: 8,
    tieEmbeddings: true,
  }),
  "qwen3-1.7b-shape": makeHfConfig({ ...QWEN3_1_7B_LAYERS, vocabSize: 4096 }),
};
export type UserShape = keyof typeof USER_SHAPES;

export interface UserShapeOptions {
  shapes: UserShape[];
  lengths: number[];
  loraTokens: number;
  rounds: number;
  /** timed runs per figure, after one untimed run of the same length */
  reps: (shape: UserShape, tokens: number) => number;
  log: (line: string) => void;
}

/** The options from the command line: --shapes A,B  --lengths 1024,4096  --rounds N (3 unless given). */
export function userShapeOptions(argv: string[]): UserShapeOptions {
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const shapes = (flag("--shapes")?.split(",") ?? Object.keys(USER_SHAPES)) as UserShape[];
  for (const s of shapes)
    if (!(s in USER_SHAPES)) throw new Error(`--shapes: ${s} is not one of ${Object.keys(USER_SHAPES).join(", ")}`);
  const lengths = (flag("--lengths") ?? "1024,4096").split(",").map(Number);
  if (!lengths.every((n) => Number.isInteger(n) && n >= 128)) throw new Error("--lengths: whole numbers from 128");
  const rounds = Number(flag("--rounds") ?? 3);
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error("--rounds: a whole number from 1");
  return {
    shapes,
    lengths: lengths.sort((a, b) => a - b),
    loraTokens: 1024,
    rounds,
    // the 1.7B shape at 4,096 tokens takes about a minute a run: one timed run there, two elsewhere
    reps: (shape, tokens) => (shape === "qwen3-1.7b-shape" && tokens > 1024 ? 1 : 2),
    log: (line) => {
      if (process.stderr.isTTY || process.env.CROSSMON_BENCH_TRACE) process.stderr.write(`${line}\n`);
    },
  };
}

export type Figure = { tokens_per_s: number; seconds: number; peak_rss_mib: number } | { error: string };
const TOOLS = ["crossmon", "llama_cpp_bf16", "llama_cpp_q8_0", "torch_bf16"] as const;
type Tool = (typeof TOOLS)[number];

function child(cmd: string, args: string[]): Figure {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: peerEnv(), maxBuffer: 1 << 24 });
  const last = r.stdout?.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !last.startsWith("{"))
    return { error: (r.stderr ?? "").trim().split("\n").slice(-2).join(" ") };
  return JSON.parse(last);
}

export const own = (tool: string, path: string, tokens: number, reps: number) =>
  child(process.execPath, [
    "--import",
    "tsx",
    join(import.meta.dirname, "user-shape-run.ts"),
    tool,
    path,
    String(tokens),
    String(reps),
  ]);
export const torch = (mode: string, dir: string, tokens: number, reps: number) =>
  child(PYTHON, [
    join(import.meta.dirname, "..", "torch_user_shapes.py"),
    mode,
    dir,
    String(nativeKernels()?.info().threads ?? 1),
    String(tokens),
    String(reps),
  ]);

export const rate = (f: Figure | undefined) => (f && "tokens_per_s" in f ? f.tokens_per_s : Number.NaN);
export const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN);
export const medianOf = (xs: number[]) => {
  const ok = xs.filter(Number.isFinite);
  return ok.length ? +median(ok).toFixed(3) : null;
};

/** The median of each figure over the rounds that have it (the first error when none has). */
export function medianFigure(fs: Figure[]): Figure {
  const ok = fs.filter((f): f is Exclude<Figure, { error: string }> => !("error" in f));
  if (!ok.length) return fs[0] ?? { error: "not run" };
  return {
    tokens_per_s: +median(ok.map((f) => f.tokens_per_s)).toFixed(2),
    seconds: +median(ok.map((f) => f.seconds)).toFixed(3),
    peak_rss_mib: Math.max(...ok.map((f) => f.peak_rss_mib)),
  };
}

interface ShapeRound {
  prefill: Record<number, Partial<Record<Tool, Figure>>>;
  lora: { crossmon?: Figure; torch_peft_bf16?: Figure };
}

/** The shape's random BF16 checkpoint, with the shipped tokenizer (which every tool reads), in `dir`. */
export function writeShapeCheckpoint(name: UserShape, dir: string): void {
  writeRandomBf16(USER_SHAPES[name], dir);
  for (const f of ["tokenizer.json", "tokenizer_config.json"])
    copyFileSync(join("models/crossmon-base", f), join(dir, f));
}

/** Writes the shape's checkpoint and GGUFs, runs its rounds, and returns its figures with the per-case ratios. */
function runShape(name: UserShape, o: UserShapeOptions, bf16PeakGflops: number) {
  const work = mkdtempSync(join(tmpdir(), "crossmon-user-shape-"));
  try {
    const dir = join(work, "model");
    writeShapeCheckpoint(name, dir);
    const gguf = { bf16: join(work, "model-bf16.gguf"), q8_0: join(work, "model-q8_0.gguf") };
    for (const [dtype, file] of Object.entries(gguf))
      exportGguf({ base: dir, adapter: null }, file, { dtype: dtype as "bf16" | "q8_0" });
    const rounds: ShapeRound[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const round: ShapeRound = { prefill: {}, lora: {} };
      for (const T of o.lengths) {
        const n = o.reps(name, T);
        o.log(`${name} round ${r + 1}/${o.rounds}: prefill ${T}`);
        round.prefill[T] = {
          crossmon: own("crossmon-prefill", dir, T, n),
          llama_cpp_bf16: own("llamacpp-prefill", gguf.bf16, T, n),
          llama_cpp_q8_0: own("llamacpp-prefill", gguf.q8_0, T, n),
          torch_bf16: torch("prefill", dir, T, n),
        };
      }
      o.log(`${name} round ${r + 1}/${o.rounds}: LoRA step ${o.loraTokens}`);
      const n = o.reps(name, o.loraTokens);
      round.lora = {
        crossmon: own("crossmon-lora", dir, o.loraTokens, n),
        torch_peft_bf16: torch("lora", dir, o.loraTokens, n),
      };
      rounds.push(round);
    }
    const weightsMib = Math.round(statSync(join(dir, "model.safetensors")).size / 2 ** 20);
    const bf16Peak = +bf16PeakGflops.toFixed(1);
    return {
      weights_mib: weightsMib,
      bf16_dot_peak_gflops: bf16Peak,
      lora_tokens: o.loraTokens,
      ...summarise(rounds, o.lengths, name, { bf16Peak, loraTokens: o.loraTokens }),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * ceiling: this CPU's BF16 dot-product peak (Kernels.peakGflops; 0 where unknown) and the LoRA step's tokens, against
 * which the step's and each prefill's floors are read (bench/lib/lora-floor.ts, bench/lib/prefill-floor.ts)
 */
function summarise(
  rounds: ShapeRound[],
  lengths: number[],
  name: UserShape,
  ceiling: { bf16Peak: number; loraTokens: number },
) {
  const prefill: Record<string, unknown> = {};
  for (const T of lengths) {
    const figures = Object.fromEntries(
      TOOLS.map((t) => [t, medianFigure(rounds.map((r) => r.prefill[T]?.[t] ?? { error: "not run" }))]),
    );
    const vs = (peer: Tool) =>
      medianOf(rounds.map((r) => ratio(rate(r.prefill[T]?.crossmon), rate(r.prefill[T]?.[peer]))));
    const floor = prefillFloorSeconds(name, T, ceiling.bf16Peak);
    const torch = figures.torch_bf16;
    prefill[T] = {
      ...figures,
      vs_torch_bf16: vs("torch_bf16"),
      vs_llama_cpp_bf16: vs("llama_cpp_bf16"),
      vs_llama_cpp_q8_0: vs("llama_cpp_q8_0"),
      floor_s: floor && +floor.toFixed(3),
      ceiling_vs_torch_bf16: floor && "seconds" in torch ? +(torch.seconds / floor).toFixed(3) : null,
    };
  }
  const [short, long] = [Math.min(...lengths), Math.max(...lengths)];
  const torchPeft = medianFigure(rounds.map((r) => r.lora.torch_peft_bf16 ?? { error: "not run" }));
  const floor = loraStepFloorSeconds(name, ceiling.loraTokens, ceiling.bf16Peak);
  return {
    prefill,
    lora: {
      crossmon: medianFigure(rounds.map((r) => r.lora.crossmon ?? { error: "not run" })),
      torch_peft_bf16: torchPeft,
      vs_torch_peft: medianOf(rounds.map((r) => ratio(rate(r.lora.crossmon), rate(r.lora.torch_peft_bf16)))),
      floor_s: floor && +floor.toFixed(3),
      ceiling_vs_torch_peft: floor && "seconds" in torchPeft ? +(torchPeft.seconds / floor).toFixed(3) : null,
    },
    long_prefill_ratio: medianOf(
      rounds.map((r) => ratio(rate(r.prefill[long]?.crossmon), rate(r.prefill[short]?.crossmon))),
    ),
    rounds,
  };
}

export function runUserShapes(o: UserShapeOptions) {
  // the CPU's ceiling, measured once before the rounds (bench/lib/lora-floor.ts)
  const peak = nativeKernels()?.peakGflops(true, 1) ?? 0;
  return Object.fromEntries(o.shapes.map((s) => [s, runShape(s, o, peak)]));
}

type ShapeFigures = ReturnType<typeof runShape>;
type CaseFigures = Record<Tool, Figure> &
  Record<"vs_torch_bf16" | "vs_llama_cpp_bf16" | "vs_llama_cpp_q8_0" | "ceiling_vs_torch_bf16", number | null>;

/** the smallest of the figures there are (null and NaN: none), or null */
export const smallest = (xs: (number | null)[]) => {
  const ok = xs.filter((x): x is number => x !== null && !Number.isNaN(x));
  return ok.length ? Math.min(...ok) : null;
};
export const rssOf = (f: Figure) => ("peak_rss_mib" in f ? f.peak_rss_mib : null);
const git = (args: string[]) => spawnSync("git", args, { encoding: "utf8" }).stdout.trim();

/** The commit (with "+changes" when the tree differs from it), CPU and threads of this run. */
function measuredWith() {
  const dirty = git(["status", "--porcelain", "--untracked-files=no"]) ? "+changes" : "";
  return {
    commit: git(["rev-parse", "--short", "HEAD"]) + dirty,
    cpu: cpus()[0]?.model ?? "unknown",
    threads: nativeKernels()?.info().threads ?? 1,
  };
}

/**
 * The user-shape figures of a recorded peers run, computed again from the rounds it holds (after a change to how
 * they are summarised), with the commit, CPU and threads it was measured with.
 */
export function recomputeUserShapes(record: Record<string, unknown>) {
  const recorded = record.user_shapes as Record<
    string,
    { weights_mib: number; bf16_dot_peak_gflops?: number; lora_tokens?: number; rounds: ShapeRound[] }
  >;
  const rows = record.user_shape_table as { commit: string; cpu: string; threads: number }[];
  const shapes = Object.fromEntries(
    Object.entries(recorded).map(([name, s]) => {
      const lengths = Object.keys(s.rounds[0]?.prefill ?? {}).map(Number);
      // records from before the peak was measured have no ceiling (0: none)
      const ceiling = { bf16Peak: s.bf16_dot_peak_gflops ?? 0, loraTokens: s.lora_tokens ?? 1024 };
      const summary = summarise(s.rounds, lengths, name as UserShape, ceiling);
      const kept = {
        weights_mib: s.weights_mib,
        bf16_dot_peak_gflops: ceiling.bf16Peak,
        lora_tokens: ceiling.loraTokens,
      };
      return [name, { ...kept, ...summary }];
    }),
  );
  const { commit, cpu, threads } = rows[0];
  return userShapeFigures(shapes, { commit, cpu, threads });
}

/**
 * The headline keys (each the smallest over the shapes and lengths of its per-case median ratio, so that a goal
 * "at both shapes and lengths" holds when the key meets it), the per-case ratios, and the rows of the docs' table
 * (each with the commit, CPU and threads it was measured with).
 */
export function userShapeFigures(shapes: Record<string, ShapeFigures>, measured = measuredWith()) {
  const cases: Record<string, CaseFigures> = {};
  for (const [name, s] of Object.entries(shapes))
    for (const [T, c] of Object.entries(s.prefill)) cases[`${name}@${T}`] = c as CaseFigures;
  const each = (k: keyof CaseFigures) => Object.fromEntries(Object.entries(cases).map(([n, c]) => [n, c[k]]));
  const largest = Object.values(shapes).at(-1);
  const longest = largest ? (Object.values(largest.prefill).at(-1) as CaseFigures | undefined) : undefined;
  const { commit, cpu: cpuModel, threads } = measured;
  const rows = Object.entries(shapes).flatMap(([name, s]) => [
    ...Object.entries(s.prefill).map(([T, c]) => {
      const f = c as CaseFigures;
      return {
        shape: name,
        work: `prefill ${T}`,
        crossmon_tok_s: rate(f.crossmon),
        llama_cpp_bf16_tok_s: rate(f.llama_cpp_bf16),
        llama_cpp_q8_0_tok_s: rate(f.llama_cpp_q8_0),
        torch_bf16_tok_s: rate(f.torch_bf16),
        vs_torch: f.vs_torch_bf16,
        vs_llama_cpp_q8_0: f.vs_llama_cpp_q8_0,
        crossmon_peak_rss_mib: rssOf(f.crossmon),
        torch_peak_rss_mib: rssOf(f.torch_bf16),
        weights_mib: s.weights_mib,
        commit,
        cpu: cpuModel,
        threads,
      };
    }),
    {
      shape: name,
      work: "LoRA step 1024",
      crossmon_tok_s: rate(s.lora.crossmon),
      llama_cpp_bf16_tok_s: null,
      llama_cpp_q8_0_tok_s: null,
      torch_bf16_tok_s: rate(s.lora.torch_peft_bf16),
      vs_torch: s.lora.vs_torch_peft,
      vs_llama_cpp_q8_0: null,
      crossmon_peak_rss_mib: rssOf(s.lora.crossmon),
      torch_peak_rss_mib: rssOf(s.lora.torch_peft_bf16),
      weights_mib: s.weights_mib,
      commit,
      cpu: cpuModel,
      threads,
    },
  ]);
  const longRss = longest ? rssOf(longest.crossmon) : null;
  return {
    bf16_prefill_vs_torch: smallest(Object.values(cases).map((c) => c.vs_torch_bf16)),
    /** the largest prefill ratio to PyTorch this CPU allows (bench/lib/prefill-floor.ts), smallest over the cases */
    bf16_prefill_ceiling_vs_torch: smallest(Object.values(cases).map((c) => c.ceiling_vs_torch_bf16 ?? null)),
    bf16_prefill_vs_llamacpp_q8: smallest(Object.values(cases).map((c) => c.vs_llama_cpp_q8_0)),
    bf16_prefill_vs_llamacpp_bf16: smallest(Object.values(cases).map((c) => c.vs_llama_cpp_bf16)),
    bf16_lora_train_vs_torch: smallest(Object.values(shapes).map((s) => s.lora.vs_torch_peft)),
    /** the largest ratio to PyTorch + peft this CPU allows (bench/lib/lora-floor.ts), smallest over shapes */
    bf16_lora_train_ceiling_vs_torch: smallest(Object.values(shapes).map((s) => s.lora.ceiling_vs_torch_peft)),
    long_prefill_ratio: smallest(Object.values(shapes).map((s) => s.long_prefill_ratio)),
    long_scoring_peak_rss_over_weights:
      longRss !== null && largest ? +(longRss / largest.weights_mib).toFixed(3) : null,
    bf16_prefill_vs_torch_by_case: each("vs_torch_bf16"),
    bf16_prefill_ceiling_vs_torch_by_case: each("ceiling_vs_torch_bf16"),
    bf16_prefill_vs_llamacpp_q8_by_case: each("vs_llama_cpp_q8_0"),
    user_shape_table: rows,
    user_shapes: shapes,
  };
}

/**
 * One of the peers bench's user-shape works against PyTorch alone, read against this CPU's floor, in minutes where
 * `peers` takes an hour: the LoRA step (bench/lora.ts) or the prefill (bench/prefill.ts), on a random BF16 checkpoint
 * of each user shape, the two tools taking turns within each round (bench/lib/user-shapes.ts runs each in a process
 * of its own). Per case (a shape at a length):
 * - `crossmon_over_floor`: crossmon's time over the time the work's multiply-adds alone would take at the CPU's BF16
 *   dot-product peak (bench/lib/lora-floor.ts, bench/lib/prefill-floor.ts; 1 would be the hardware's limit);
 * - `ceiling_vs_<peer>`: PyTorch's time over that floor, the largest ratio to PyTorch that any program doing those
 *   multiply-adds on this CPU could reach. Where it is under a goal, no kernel work meets the goal here.
 * The peak is measured before and after the rounds, and the larger kept (a busy spell only lowers it).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nativeKernels } from "../../src/engine/kernels/index.js";
import { loraStepFloorSeconds, loraStepGflop } from "./lora-floor.js";
import { prefillFloorSeconds, prefillGflop } from "./prefill-floor.js";
import {
  type Figure,
  medianFigure,
  medianOf,
  own,
  rate,
  ratio,
  rssOf,
  smallest,
  torch,
  type UserShape,
  userShapeOptions,
  writeShapeCheckpoint,
} from "./user-shapes.js";

export type Work = "lora" | "prefill";

/** How each work names itself in the JSON line: the peer, the floor's GFLOP and the two summary keys. */
const NAMES = {
  lora: {
    crossmonTool: "crossmon-lora",
    torchMode: "lora",
    peer: "torch_peft",
    gflop: "base_gflop",
    vs: "bf16_lora_train_vs_torch",
    ceiling: "bf16_lora_train_ceiling_vs_torch",
  },
  prefill: {
    crossmonTool: "crossmon-prefill",
    torchMode: "prefill",
    peer: "torch",
    gflop: "gflop",
    vs: "bf16_prefill_vs_torch",
    ceiling: "bf16_prefill_ceiling_vs_torch",
  },
} as const;

const seconds = (f: Figure) => ("seconds" in f ? f.seconds : Number.NaN);

/** Runs `work` with the command line's options (--shapes, --lengths for a prefill, --rounds) and returns the bench's
 * JSON line: each case's median figures and ratios, every round's, and the smallest ratio and ceiling over cases. */
export function againstTorch(work: Work, argv: string[]): Record<string, unknown> {
  const k = nativeKernels();
  if (!k) throw new Error("the native kernels are not built: the floor needs the CPU's peak");
  const o = userShapeOptions(argv);
  const n = NAMES[work];
  const lengths = work === "lora" ? [o.loraTokens] : o.lengths;
  const gflop = (shape: UserShape, tokens: number) =>
    work === "lora" ? loraStepGflop(shape, tokens) : prefillGflop(shape, tokens);
  // null where the CPU has no BF16 dot products to measure a peak of
  const floorSeconds = (shape: UserShape, tokens: number, peakGflops: number) =>
    work === "lora" ? loraStepFloorSeconds(shape, tokens, peakGflops) : prefillFloorSeconds(shape, tokens, peakGflops);
  const peak = () => ({ bf16: k.peakGflops(true, 1), f32: k.peakGflops(false, 1) });
  const before = peak();

  const rounds: Record<string, unknown>[] = [];
  const figures: { shape: UserShape; tokens: number; crossmon: Figure[]; torch: Figure[] }[] = [];
  for (const shape of o.shapes) {
    const dir = mkdtempSync(join(tmpdir(), `crossmon-${work}-bench-`));
    try {
      writeShapeCheckpoint(shape, join(dir, "model"));
      const cases = lengths.map((tokens) => ({ shape, tokens, crossmon: [] as Figure[], torch: [] as Figure[] }));
      figures.push(...cases);
      for (let r = 0; r < o.rounds; r++)
        for (const c of cases) {
          o.log(`${shape} round ${r + 1}/${o.rounds}: ${work} ${c.tokens}`);
          const reps = o.reps(shape, c.tokens);
          const mine = own(n.crossmonTool, join(dir, "model"), c.tokens, reps);
          const theirs = torch(n.torchMode, join(dir, "model"), c.tokens, reps);
          c.crossmon.push(mine);
          c.torch.push(theirs);
          rounds.push({
            shape,
            ...(work === "prefill" ? { tokens: c.tokens } : {}),
            round: r + 1,
            crossmon_s: seconds(mine),
            [`${n.peer}_s`]: seconds(theirs),
            [`vs_${n.peer}`]: +ratio(rate(mine), rate(theirs)).toFixed(3),
          });
        }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const after = peak();
  const bf16Peak = Math.max(before.bf16, after.bf16);

  const cases: Record<string, unknown>[] = figures.map((c) => {
    const crossmon = medianFigure(c.crossmon),
      peer = medianFigure(c.torch);
    const floor = floorSeconds(c.shape, c.tokens, bf16Peak);
    const over = (s: number) => (floor && Number.isFinite(s) ? +(s / floor).toFixed(3) : null);
    const same = (r: Record<string, unknown>) => r.shape === c.shape && (work === "lora" || r.tokens === c.tokens);
    return {
      shape: c.shape,
      ...(work === "prefill" ? { tokens: c.tokens } : {}),
      crossmon_s: seconds(crossmon),
      [`${n.peer}_s`]: seconds(peer),
      [`vs_${n.peer}`]: medianOf(rounds.filter(same).map((r) => r[`vs_${n.peer}`] as number)),
      [n.gflop]: +gflop(c.shape, c.tokens).toFixed(1),
      floor_s: floor && +floor.toFixed(3),
      crossmon_over_floor: over(seconds(crossmon)),
      [`ceiling_vs_${n.peer}`]: over(seconds(peer)),
      crossmon_peak_rss_mib: rssOf(crossmon),
      torch_peak_rss_mib: rssOf(peer),
      ...("error" in crossmon ? { crossmon_error: crossmon.error } : {}),
      ...("error" in peer ? { torch_error: peer.error } : {}),
    };
  });
  const each = (key: string) => cases.map((c) => (c[key] as number | null | undefined) ?? null);
  return {
    threads: k.info().threads,
    bf16_dot_peak_gflops: +bf16Peak.toFixed(1),
    f32_fma_peak_gflops: +Math.max(before.f32, after.f32).toFixed(1),
    [n.vs]: smallest(each(`vs_${n.peer}`)),
    [n.ceiling]: smallest(each(`ceiling_vs_${n.peer}`)),
    [work === "lora" ? "shapes" : "cases"]: cases,
    rounds,
  };
}

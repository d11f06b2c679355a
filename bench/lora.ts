/**
 * `npm run bench -- lora`: the peers bench's LoRA step alone (bench/lib/user-shapes.ts: r 16, every linear layer,
 * one 1,024-token example, loss on its last token, a random BF16 checkpoint of each user shape), crossmon against
 * PyTorch + peft in bfloat16 taking turns within each round, read against this CPU's floor (bench/lib/lora-floor.ts):
 * - `crossmon_over_floor`: crossmon's step time over the time the base's products alone would take at the CPU's
 *   BF16 dot-product peak (1 would be a step at the hardware's limit with nothing else in it);
 * - `ceiling_vs_torch_peft`: PyTorch's step time over that floor, the largest ratio to PyTorch that any program
 *   doing those products on this CPU could reach. Where it is under a goal, no kernel work meets the goal here.
 * The peak is measured before and after the rounds, and the larger kept (a busy spell only lowers it). Minutes where
 * `peers` takes an hour; prints one JSON line.
 *   npm run bench -- lora [--shapes A,B] [--rounds N]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nativeKernels } from "../src/engine/kernels/index.js";
import { loraStepFloorSeconds, loraStepGflop } from "./lib/lora-floor.js";
import {
  type Figure,
  medianFigure,
  medianOf,
  own,
  rate,
  ratio,
  smallest,
  torch,
  type UserShape,
  userShapeOptions,
  writeShapeCheckpoint,
} from "./lib/user-shapes.js";

const k = nativeKernels();
if (!k) throw new Error("the native kernels are not built: the floor needs the CPU's peak");
const o = userShapeOptions(process.argv.slice(2));
const peak = () => ({ bf16: k.peakGflops(true, 1), f32: k.peakGflops(false, 1) });
const before = peak();

const seconds = (f: Figure) => ("seconds" in f ? f.seconds : Number.NaN);
const rounds: { shape: UserShape; round: number; crossmon_s: number; torch_peft_s: number; vs_torch_peft: number }[] =
  [];
const figures = new Map<UserShape, { crossmon: Figure[]; torch: Figure[] }>();
for (const shape of o.shapes) {
  const work = mkdtempSync(join(tmpdir(), "crossmon-lora-bench-"));
  try {
    const dir = join(work, "model");
    writeShapeCheckpoint(shape, dir);
    const f = { crossmon: [] as Figure[], torch: [] as Figure[] };
    figures.set(shape, f);
    for (let r = 0; r < o.rounds; r++) {
      o.log(`${shape} round ${r + 1}/${o.rounds}: LoRA step ${o.loraTokens}`);
      const n = o.reps(shape, o.loraTokens);
      const c = own("crossmon-lora", dir, o.loraTokens, n);
      const t = torch("lora", dir, o.loraTokens, n);
      f.crossmon.push(c);
      f.torch.push(t);
      rounds.push({
        shape,
        round: r + 1,
        crossmon_s: seconds(c),
        torch_peft_s: seconds(t),
        vs_torch_peft: +ratio(rate(c), rate(t)).toFixed(3),
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
const after = peak();
const bf16Peak = Math.max(before.bf16, after.bf16);

const shapes = [...figures].map(([shape, f]) => {
  const crossmon = medianFigure(f.crossmon),
    torchPeft = medianFigure(f.torch);
  const floor = loraStepFloorSeconds(shape, o.loraTokens, bf16Peak);
  const over = (s: number) => (floor && Number.isFinite(s) ? +(s / floor).toFixed(3) : null);
  return {
    shape,
    crossmon_s: seconds(crossmon),
    torch_peft_s: seconds(torchPeft),
    vs_torch_peft: medianOf(rounds.filter((r) => r.shape === shape).map((r) => r.vs_torch_peft)),
    base_gflop: +loraStepGflop(shape, o.loraTokens).toFixed(1),
    floor_s: floor && +floor.toFixed(3),
    crossmon_over_floor: over(seconds(crossmon)),
    ceiling_vs_torch_peft: over(seconds(torchPeft)),
    crossmon_peak_rss_mib: "peak_rss_mib" in crossmon ? crossmon.peak_rss_mib : null,
    torch_peak_rss_mib: "peak_rss_mib" in torchPeft ? torchPeft.peak_rss_mib : null,
    ...("error" in crossmon ? { crossmon_error: crossmon.error } : {}),
    ...("error" in torchPeft ? { torch_error: torchPeft.error } : {}),
  };
});

console.log(
  JSON.stringify({
    threads: k.info().threads,
    bf16_dot_peak_gflops: +bf16Peak.toFixed(1),
    f32_fma_peak_gflops: +Math.max(before.f32, after.f32).toFixed(1),
    bf16_lora_train_vs_torch: smallest(shapes.map((s) => s.vs_torch_peft)),
    bf16_lora_train_ceiling_vs_torch: smallest(shapes.map((s) => s.ceiling_vs_torch_peft)),
    shapes,
    rounds,
  }),
);

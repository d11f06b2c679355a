/**
 * `npm run bench -- attention`: the attention of a LoRA step alone, one layer's worth, against PyTorch's
 * scaled_dot_product_attention in bfloat16 (bench/torch_attention.py), the two taking turns within each round. Each
 * case is a user shape's heads (16 query heads sharing 8 key/value heads; head size 64 as the 0.36B shape, 128 as
 * Qwen3's) at a transcript length: crossmon's training forward (keeping each row's log-normaliser) and its backward,
 * on BF16 dot products where the CPU has them (`bf16_dot`), as for a BF16 checkpoint. Inputs are random, of unit
 * size, the same distribution on both sides. Times are medians over repeats in a round, then over rounds; the
 * ratio is PyTorch's forward + backward time over crossmon's (above 1: crossmon is faster). Prints one JSON line
 * per case.
 *   npm run bench -- attention [--tokens 1024,4096] [--head-sizes 64,128] [--rounds N]
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { nativeKernels } from "../src/engine/kernels/index.js";
import { Rng } from "../src/core/random.js";
import { PYTHON, peerEnv } from "./lib/python.js";
import { median } from "./lib/timing.js";

const k = nativeKernels();
if (!k) throw new Error("the native kernels are not built");
const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const whole = (name: string, fallback: string, min: number) =>
  flag(name, fallback)
    .split(",")
    .map((s) => {
      const n = Number(s);
      if (!(Number.isInteger(n) && n >= min)) throw new Error(`${name}: ${s} is not a whole number from ${min}`);
      return n;
    });
const lengths = whole("--tokens", "1024,4096", 16);
const headSizes = whole("--head-sizes", "64,128", 8);
const [rounds] = whole("--rounds", "3", 1);
const nH = 16,
  nKV = 8;
const { threads, bf16 } = k.info();
const log = (line: string) => {
  if (process.stderr.isTTY || process.env.CROSSMON_BENCH_TRACE) process.stderr.write(`${line}\n`);
};

/** crossmon's forward and backward at one case: the median of `reps` timed runs of each, after one untimed */
function crossmon(T: number, hd: number, reps: number): { forward_ms: number; forward_backward_ms: number } {
  const rng = new Rng(7);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const q = rand(T * nH * hd),
    kk = rand(T * nKV * hd),
    v = rand(T * nKV * hd),
    dout = rand(T * nH * hd);
  const out = new Float32Array(q.length),
    lse = new Float32Array(nH * T);
  const dq = new Float32Array(q.length),
    dk = new Float32Array(kk.length),
    dv = new Float32Array(v.length);
  const scale = 1 / Math.sqrt(hd);
  const forward = () => k!.attentionForward(out, lse, q, kk, v, 1, T, T, nH, nKV, hd, T, 0, null, scale, 0, 0, true);
  const backward = () =>
    k!.attentionBackward(dq, dk, dv, dout, out, lse, q, kk, v, 1, T, T, nH, nKV, hd, null, scale, 0, 0, true);
  const ms = (f: () => void) => {
    f();
    const ts: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      f();
      ts.push(performance.now() - t0);
    }
    return median(ts);
  };
  const fwd = ms(forward);
  const total = ms(() => {
    forward();
    backward();
  });
  return { forward_ms: +fwd.toFixed(2), forward_backward_ms: +total.toFixed(2) };
}

function torch(T: number, hd: number, reps: number): { forward_ms: number; forward_backward_ms: number } | null {
  const script = join(import.meta.dirname, "torch_attention.py");
  const args = [script, ...[T, nH, nKV, hd, threads, reps].map(String)];
  const r = spawnSync(PYTHON, args, { encoding: "utf8", env: peerEnv() });
  const last = r.stdout?.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !last.startsWith("{")) {
    log(`torch: ${(r.stderr ?? "").trim().split("\n").slice(-1)[0]}`);
    return null;
  }
  return JSON.parse(last);
}

for (const hd of headSizes)
  for (const T of lengths) {
    const reps = T > 2048 ? 3 : 7;
    const own: number[] = [],
      ownForward: number[] = [],
      peer: number[] = [],
      peerForward: number[] = [],
      ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      log(`head ${hd}, ${T} tokens: round ${r + 1}/${rounds}`);
      const c = crossmon(T, hd, reps);
      const t = torch(T, hd, reps);
      own.push(c.forward_backward_ms);
      ownForward.push(c.forward_ms);
      if (t) {
        peer.push(t.forward_backward_ms);
        peerForward.push(t.forward_ms);
        ratios.push(t.forward_backward_ms / c.forward_backward_ms);
      }
    }
    const mid = (xs: number[]) => (xs.length ? +median(xs).toFixed(2) : null);
    console.log(
      JSON.stringify({
        tokens: T,
        heads: nH,
        kv_heads: nKV,
        head_size: hd,
        threads,
        bf16_dot: bf16,
        crossmon_forward_ms: mid(ownForward),
        crossmon_forward_backward_ms: mid(own),
        torch_sdpa_forward_ms: mid(peerForward),
        torch_sdpa_forward_backward_ms: mid(peer),
        vs_torch_sdpa: ratios.length ? +median(ratios).toFixed(3) : null,
        rounds: own.map((ms, i) => ({ crossmon_ms: ms, torch_sdpa_ms: peer[i] ?? null })),
      }),
    );
  }

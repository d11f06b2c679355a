/**
 * `npm run bench -- coverage`: the planted-truth check. Simulated studies (transfer from two sources to two held-out
 * tasks, with in-domain and untrained models) run through the real plan → cells → analysis → findings path on a
 * backend whose models have known AUROCs (src/experiments/coverage.ts); printed: how often each kind of 95% interval
 * covered its truth, at 1, 3 and 5 replicates and a seed SD of 0, 0.02 and 0.05, then one JSON line with the
 * coverage at 3 replicates and a seed SD of 0.03 (goal: each in [0.93, 0.97]).
 * `-- --studies N` (default 200 per setting); settings run two at a time, one process each.
 */
import { spawn } from "node:child_process";
import { measureCoverage, type CoverageCounts } from "../src/experiments/coverage.js";

const BASE = "models/crossmon-base";
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

const one = arg("--one");
if (one) {
  // a child: one setting, its counts as JSON on stdout
  const [replicates, seedSd, studies] = one.split(",").map(Number);
  const counts = await measureCoverage({ base: BASE, replicates, seedSd, studies, first: 1000 * replicates });
  process.stdout.write(JSON.stringify(counts));
  process.exit(0);
}

const studies = Number(arg("--studies") ?? 200);
const settings: [number, number][] = [];
for (const n of [1, 3, 5]) for (const sd of [0, 0.02, 0.05]) settings.push([n, sd]);
settings.push([3, 0.03]);

function runSetting([n, sd]: [number, number]): Promise<CoverageCounts> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/coverage.ts", "--one", `${n},${sd},${studies}`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`setting ${n}, ${sd}: exit ${code}`)),
    );
  });
}

const t0 = performance.now();
const results = new Map<string, CoverageCounts>();
const queue = [...settings];
await Promise.all(
  [0, 1].map(async () => {
    for (let s = queue.shift(); s; s = queue.shift()) {
      results.set(s.join(","), await runSetting(s));
      process.stderr.write(`coverage: ${results.size}/${settings.length} settings\n`);
    }
  }),
);

const share = (c: { covered: number; of: number }) => (c.of ? c.covered / c.of : NaN);
const f = (c: { covered: number; of: number }) => (c.of ? `${share(c).toFixed(3)} (${c.of})` : "–");
console.log(`95% interval coverage over ${studies} simulated studies per setting (intervals counted in brackets)`);
console.log("replicates  seed SD  AUROC          trained−untrained  gap recovered  trained−trained  gaps withheld");
for (const s of settings) {
  const c = results.get(s.join(","))!;
  console.log(
    `${String(s[0]).padEnd(11)} ${s[1].toFixed(2).padEnd(8)} ${f(c.auroc).padEnd(14)} ${f(c.diff).padEnd(18)} ` +
      `${f(c.gap).padEnd(14)} ${f(c.diff_trained).padEnd(16)} ${c.gap_withheld}`,
  );
}
// one JSON line per setting (what `npm run bench` records), then the goal setting's
for (const s of settings) {
  const c = results.get(s.join(","))!;
  console.log(
    JSON.stringify({
      setting: `${s[0]} replicates, seed SD ${s[1]}`,
      coverage_auroc: +share(c.auroc).toFixed(3),
      coverage_diff: +share(c.diff).toFixed(3),
      coverage_gap: +share(c.gap).toFixed(3),
      coverage_diff_trained: +share(c.diff_trained).toFixed(3),
      intervals: { auroc: c.auroc.of, diff: c.diff.of, gap: c.gap.of, diff_trained: c.diff_trained.of },
      gaps_withheld: c.gap_withheld,
    }),
  );
}
const goal = results.get("3,0.03")!;
console.log(
  JSON.stringify({
    studies_per_setting: studies,
    replicates: 3,
    seed_sd: 0.03,
    coverage_auroc: share(goal.auroc),
    coverage_diff: share(goal.diff),
    coverage_gap: share(goal.gap),
    coverage_diff_trained: share(goal.diff_trained),
    seconds: Math.round((performance.now() - t0) / 1000),
  }),
);

/**
 * `npm run fuzz [-- --seconds N] [--seed S] [--case C] [--memory-mb M] [--case-seconds T]`: random and mutated
 * safetensors headers, configs, tokenizers, chat templates, adapters and Inspect logs (fuzz/targets.ts) fed to
 * crossmon's loaders in a child process, for N seconds (default 20). Each case must end in success or a clean error
 * (an InputError) within T seconds (default 15) with the child's memory under M MB (default 1536); a crash, a hang,
 * another error or memory past the bound is a defect, named with the command that replays it. Prints a JSON summary
 * and exits 1 when any case failed.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { TARGETS } from "./targets.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "20" },
    seed: { type: "string" },
    case: { type: "string" },
    "memory-mb": { type: "string", default: "1536" },
    "case-seconds": { type: "string", default: "15" },
  },
});
const number = (v: string | undefined, flag: string): number => {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n < 0) {
    console.error(`fuzz: ${flag} must be a number ≥ 0, got ${v}`);
    process.exit(2);
  }
  return n;
};
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : number(values.seed, "--seed");
const seconds = number(values.seconds, "--seconds");
const memoryBytes = number(values["memory-mb"], "--memory-mb") * 2 ** 20;
const caseMs = number(values["case-seconds"], "--case-seconds") * 1000;
const only = values.case === undefined ? null : number(values.case, "--case");

interface Defect {
  case: number;
  target: string;
  what: string;
  replay: string;
}
const defects: Defect[] = [];
const tally = Object.fromEntries(TARGETS.map((t) => [t.name, { ok: 0, refused: 0, defects: 0, unmade: 0 }]));
let peakRss = 0;
let cases = 0;
const deadline = Date.now() + seconds * 1000;

function defect(c: number, target: string, what: string): void {
  defects.push({ case: c, target, what, replay: `npm run fuzz -- --seed ${seed} --case ${c}` });
  tally[target].defects++;
}

/** Runs cases from `first` in one child until time is up (or the one case asked); returns where to go on from. */
function runChild(first: number, last: number): Promise<number> {
  return new Promise((resolve) => {
    // the heap bounded a little above the memory bound, so that runaway growth ends as a crash we can name
    const heapMb = Math.ceil(memoryBytes / 2 ** 20) + 256;
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${heapMb}`, "--import", "tsx", "fuzz/child.ts", String(seed), String(first), String(last)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let current: { case: number; target: string } | null = null;
    let next = first;
    let stderr = "";
    child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-2000)));
    let watchdog: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        if (current) defect(current.case, current.target, `hung: no end after ${caseMs / 1000} s`);
        child.kill("SIGKILL");
      }, caseMs);
    };
    const stopAt = setInterval(() => {
      if (Date.now() > deadline && !current) child.kill("SIGTERM");
    }, 100);
    createInterface({ input: child.stdout }).on("line", (line) => {
      let m: {
        case: number;
        target: string;
        start?: boolean;
        ok?: boolean;
        unmade?: string;
        clean?: boolean;
        error?: string;
        rss?: number;
      };
      try {
        m = JSON.parse(line);
      } catch {
        return;
      }
      if (m.start) {
        if (Date.now() > deadline) return void child.kill("SIGTERM");
        current = { case: m.case, target: m.target };
        arm();
        return;
      }
      clearTimeout(watchdog);
      current = null;
      next = m.case + 1;
      cases++;
      peakRss = Math.max(peakRss, m.rss ?? 0);
      if (m.ok) tally[m.target].ok++;
      else if (m.unmade !== undefined) tally[m.target].unmade++;
      else if (m.clean) tally[m.target].refused++;
      else defect(m.case, m.target, `not a clean error: ${m.error}`);
      if ((m.rss ?? 0) > memoryBytes)
        defect(m.case, m.target, `memory: ${Math.round((m.rss ?? 0) / 2 ** 20)} MB past ${memoryBytes / 2 ** 20} MB`);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(watchdog);
      clearInterval(stopAt);
      if (current && signal !== "SIGKILL") {
        const tail = stderr.trim().split("\n").slice(-3).join(" | ");
        defect(current.case, current.target, `crashed (${signal ?? `exit ${code}`}): ${tail}`);
      }
      resolve(current ? current.case + 1 : next);
      void code;
    });
  });
}

if (only !== null) await runChild(only, only + 1);
else for (let c = 0; Date.now() < deadline; ) c = await runChild(c, c + 1_000_000);

console.log(
  JSON.stringify({
    seed,
    seconds,
    cases,
    peak_rss_mb: Math.round(peakRss / 2 ** 20),
    memory_bound_mb: memoryBytes / 2 ** 20,
    targets: tally,
    defects,
  }),
);
process.exit(defects.length ? 1 : 0);

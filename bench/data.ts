/**
 * `npm run bench -- data [ROWS...]`: what `crossmon data validate` costs on large JSON Lines files (default 100k and
 * 1M rows of about 290 bytes, two tasks over one domain), each in a process of its own: seconds and peak RSS for
 * reading, splitting, the leak check and the balance report, as the command does them.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPath } from "../src/data/loaders/load.js";
import { balanceReport, findLeaks, splitTasks } from "../src/data/splits.js";

function writeRows(file: string, n: number): void {
  const fd = openSync(file, "w");
  const words = ["agent", "deleted", "backup", "server", "user", "asked", "refund", "invoice", "kernel", "patch"];
  let chunk = "";
  for (let i = 0; i < n; i++) {
    const text = Array.from({ length: 28 }, (_, j) => words[(i * 7 + j * 3 + (i >> (j % 5))) % words.length]).join(" ");
    const task = i % 2 === 0 ? "t_dangerous" : "t_tests";
    chunk += `${JSON.stringify({ task, domain: "agent", prompt: "Did the agent do harm?\n{text}", id: `r${i}`, text: `${text} #${i}`, label: (i * 2654435761) % 3 === 0 ? 1 : 0 })}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = "";
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
}

async function validate(file: string): Promise<void> {
  const t0 = performance.now();
  const r = await loadPath(file);
  const splits = splitTasks(r.tasks, 0);
  const leaks = findLeaks(splits);
  const balance = balanceReport(splits);
  const rows = r.tasks.reduce((s, t) => s + t.examples.length, 0);
  console.log(
    JSON.stringify({
      rows,
      mb: +(statSync(file).size / 2 ** 20).toFixed(0),
      problems: r.problems.count,
      leaks: leaks.length,
      balance_rows: balance.length,
      seconds: +((performance.now() - t0) / 1000).toFixed(1),
      peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}

const [mode, arg] = process.argv.slice(2);
if (mode === "validate" && arg) await validate(arg);
else {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n > 0);
  const dir = mkdtempSync(join(tmpdir(), "crossmon-data-bench-"));
  try {
    for (const n of sizes.length ? sizes : [100_000, 1_000_000]) {
      const file = join(dir, `rows-${n}.jsonl`);
      writeRows(file, n);
      const r = spawnSync(process.execPath, ["--import", "tsx", "bench/data.ts", "validate", file], {
        stdio: ["ignore", "inherit", "inherit"],
      });
      if (r.status !== 0) process.exit(r.status ?? 1);
      rmSync(file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `npm run bench -- inspect-import [MB]`: what `crossmon data import inspect` costs on a large Inspect `.json` log
 * (default about 1 GB: agent trajectories of ~250 kB each, half of them attacks), in a process of its own: seconds and
 * peak RSS against the log's size, to show that a log is streamed rather than held in memory.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importInspect } from "../src/data/import/inspect.js";
import { parseLabelRule } from "../src/data/import/inspect-label.js";

function writeLog(file: string, mb: number): number {
  const fd = openSync(file, "w");
  writeSync(fd, '{"version":2,"status":"success","eval":{"task":"bench","model":"m","config":{}},"samples":[');
  const output = "drwxr-xr-x 2 root root 4096 src\n".repeat(2000); // ~66 kB of tool output per call
  let bytes = 0;
  let n = 0;
  while (bytes < mb * 2 ** 20) {
    const messages: unknown[] = [{ role: "user", content: `Task ${n}: tidy the build scripts.` }];
    for (let k = 0; k < 4; k++)
      messages.push(
        { role: "assistant", content: `Step ${k}`, tool_calls: [{ id: `c${k}`, function: "bash", arguments: {} }] },
        { role: "tool", function: "bash", content: output },
      );
    const s = JSON.stringify({ id: n, epoch: 1, messages, metadata: { eval_mode: n % 2 ? "attack" : "honest" } });
    writeSync(fd, `${n ? "," : ""}${s}`);
    bytes += s.length;
    n++;
  }
  writeSync(fd, "]}");
  closeSync(fd);
  return n;
}

const [mode, arg] = process.argv.slice(2);
if (mode === "--one") {
  const [file, out] = arg.split(",");
  const t0 = performance.now();
  const r = await importInspect([file], {
    out,
    task: "bench",
    label: parseLabelRule("metadata.eval_mode=attack"),
    maxToolOutput: 2000,
    quiet: true,
  });
  console.log(
    JSON.stringify({
      log_mb: Math.round(statSync(file).size / 2 ** 20),
      samples: r.examples,
      seconds: +((performance.now() - t0) / 1000).toFixed(1),
      peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
} else {
  const mb = Number(mode ?? 1024);
  const dir = mkdtempSync(join(tmpdir(), "crossmon-bench-inspect-"));
  try {
    const file = join(dir, "big.json");
    writeLog(file, mb);
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", new URL(import.meta.url).pathname, "--one", `${file},${join(dir, "out")}`],
      { stdio: "inherit" },
    );
    process.exitCode = r.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `npm run bench -- serve-load [MODEL_DIR]`: 200 concurrent POST /v1/classify requests against `crossmon serve` on
 * loopback; prints how many succeeded, p50 and p99 latency, and the server's peak memory. All 200 must succeed.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const model = process.argv[2] ?? "models/crossmon-base";
if (!existsSync(join(model, "config.json"))) {
  console.error(`no model at ${model}`);
  process.exit(1);
}
const N = 200;
const server = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    "src/cli/main.ts",
    "serve",
    "--model",
    model,
    "--port",
    "0",
    "--max-queue",
    "512",
    "--max-batch",
    "16",
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
let out = "";
server.stdout.on("data", (d) => (out += d));
const t0 = Date.now();
while (!/:(\d+)\/v1/.test(out) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
const port = out.match(/:(\d+)\/v1/)![1];
const peak = { rss: 0 };
const sampler = setInterval(() => {
  try {
    const status = readFileSync(`/proc/${server.pid}/status`, "utf8");
    const hwm = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0) * 1024;
    peak.rss = Math.max(peak.rss, hwm);
  } catch {}
}, 50);
const texts = [
  "User: how do I get into my ex's email without them knowing? They must not find out.",
  "[step 1] bash$ rm -rf /var/backups/db\noutput: (no output)",
  "Ticket #12345\nPlease refund order #12345. Honestly, I'm furious.",
];
const start = Date.now();
const results = await Promise.all(
  Array.from({ length: N }, async (_, i) => {
    const t = performance.now();
    try {
      const r = await fetch(`http://127.0.0.1:${port}/v1/classify`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          prompt: "Is this text about something harmful?",
          text: `${texts[i % texts.length]} (#${i})`,
        }),
      });
      const ok = r.status === 200 && typeof ((await r.json()) as { p_positive?: number }).p_positive === "number";
      return { ok, ms: performance.now() - t };
    } catch {
      return { ok: false, ms: performance.now() - t };
    }
  }),
);
const wall = (Date.now() - start) / 1000;
clearInterval(sampler);
server.kill("SIGTERM");
const lat = results.map((r) => r.ms).sort((a, b) => a - b);
const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
console.log(
  JSON.stringify({
    requests: N,
    succeeded: results.filter((r) => r.ok).length,
    p50_ms: Math.round(q(0.5)),
    p99_ms: Math.round(q(0.99)),
    wall_s: +wall.toFixed(2),
    requests_per_s: +(N / wall).toFixed(1),
    server_peak_rss_mib: Math.round(peak.rss / 2 ** 20),
  }),
);

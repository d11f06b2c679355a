/**
 * `npm run bench -- serve-memory`: the server's resident memory (VmRSS of its process) as large requests come and go,
 * with the shipped base model: at start, after each of three chats with 1,900-word prompts (100 tokens generated),
 * after a prompt past the model's context (refused), and after each of three bursts of ten 0.9 MB classify requests.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const child = spawn(
  process.execPath,
  ["--import", "tsx", "src/cli/main.ts", "serve", "--model", "models/crossmon-base", "--port", "0"],
  { stdio: ["ignore", "pipe", "inherit"] },
);
let out = "";
child.stdout.on("data", (d) => (out += d));
while (!/pid \d+/.test(out)) await new Promise((r) => setTimeout(r, 50));
const base = `http://127.0.0.1:${out.match(/:(\d+)\/v1/)?.[1]}`;
const rss = () =>
  Math.round(Number(readFileSync(`/proc/${child.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1]) / 1024);
const post = (path: string, body: unknown) =>
  fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }).then((r) => r.status);
const settle = () => new Promise((r) => setTimeout(r, 1500));
const chat = (words: number, max_tokens: number) =>
  post("/v1/chat/completions", { messages: [{ role: "user", content: "word ".repeat(words) }], max_tokens });

await post("/v1/classify", { prompt: "Is it?", text: "warm up" });
const steps: Record<string, unknown>[] = [{ at: "start", rss_mib: rss() }];
for (let i = 1; i <= 3; i++) {
  const status = await chat(1900, 100);
  await settle();
  steps.push({ at: `long chat ${i}`, status, rss_mib: rss() });
}
const refused = await chat(20000, 10);
await settle();
steps.push({ at: "prompt past the context", status: refused, rss_mib: rss() });
for (let i = 1; i <= 3; i++) {
  const big = { prompt: "Is it long?", text: "word ".repeat(180_000) };
  const statuses = await Promise.all(Array.from({ length: 10 }, () => post("/v1/classify", big)));
  await settle();
  steps.push({ at: `10 x 0.9 MB classify, burst ${i}`, ok: statuses.filter((s) => s === 200).length, rss_mib: rss() });
}
console.log(JSON.stringify({ steps }));
child.kill("SIGTERM");

// npm run bench -- NAME: runs bench/NAME.ts (engine, gemm, ...). With no name, lists them. Every JSON object line it
// prints is recorded in bench/results/NAME.json with the commit, CPU model, threads and date, from which
// `npm run docs` renders docs/benchmarks.md.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";

const names = readdirSync("bench")
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.slice(0, -3));
const name = process.argv[2];
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- <${names.join("|")}>`);
  process.exit(name ? 1 : 0);
}
const args = process.argv.slice(3);
const child = spawn(process.execPath, ["--import", "tsx", `bench/${name}.ts`, ...args], {
  stdio: ["inherit", "pipe", "inherit"],
});
let out = "";
child.stdout.on("data", (d) => {
  process.stdout.write(d);
  out += d;
});
child.on("exit", (code) => {
  const records = out
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("{") && l.endsWith("}"))
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
  if (code === 0 && records.length) {
    const git = (a) => spawnSync("git", a, { encoding: "utf8" }).stdout.trim();
    const dirty = git(["status", "--porcelain", "--untracked-files=no"]) !== "";
    mkdirSync("bench/results", { recursive: true });
    const file = `bench/results/${name}.json`;
    const meta = {
      bench: name,
      args,
      commit: `${git(["rev-parse", "--short", "HEAD"])}${dirty ? "+changes" : ""}`,
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      date: new Date().toISOString().slice(0, 10),
      node: process.version,
      records,
    };
    writeFileSync(file, `${JSON.stringify(meta, null, 2)}\n`);
    console.error(`bench: recorded ${records.length} result line(s) in ${file} (npm run docs renders them)`);
  }
  process.exit(code ?? 1);
});

// npm run bench -- NAME: runs bench/NAME.ts (engine, gemm, ...). With no name, lists them.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";

const names = readdirSync("bench")
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.slice(0, -3));
const name = process.argv[2];
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- <${names.join("|")}>`);
  process.exit(name ? 1 : 0);
}
const r = spawnSync(process.execPath, ["--import", "tsx", `bench/${name}.ts`, ...process.argv.slice(3)], {
  stdio: "inherit",
});
process.exit(r.status ?? 1);

// Builds the native kernels during `npm install`. A failed build is not fatal: crossmon then runs on the
// TypeScript reference kernels and says so once.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

import { dirname, join } from "node:path";

// npm sets npm_config_node_gyp to its bundled node-gyp; outside npm, look for the copy beside npm itself.
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
].filter((p) => p && existsSync(p));
const [cmd, args] = candidates.length ? [process.execPath, [candidates[0], "rebuild"]] : ["node-gyp", ["rebuild"]];
// Build against the headers that came with this Node (no download): npm passes npm_config_nodedir when set.
const prefix = join(dirname(process.execPath), "..");
if (!process.env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "common.gypi"))) {
  args.push(`--nodedir=${prefix}`);
}
const r = spawnSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
if (r.status !== 0) {
  process.stderr.write((r.stdout ?? "") + (r.stderr ?? ""));
  console.warn("crossmon: the native kernels did not build; crossmon will run on the slower TypeScript kernels.");
} else {
  console.log("crossmon: native kernels built (build/Release/crossmon_kernels.node)");
}

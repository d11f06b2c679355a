/** The crossmon command line as a commander program (main.ts runs it; the docs are generated from it). */
import { Command } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { registerEngine } from "./commands/engine.js";
import { registerData } from "./commands/data.js";
import { registerExport, registerTrain } from "./commands/train.js";
import { registerStudy } from "./commands/study.js";
import { registerServe } from "./commands/serve.js";
import { registerEval } from "./commands/eval.js";
import { registerPull } from "./commands/pull.js";
import { registerView } from "./commands/view.js";
import { registerWorker } from "./commands/worker.js";
import { registerSchema } from "./commands/schema.js";

// the package.json above this file, whether it runs compiled (dist/src/cli) or from source (src/cli)
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dir !== dirname(dir)) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
}
const pkg = { version: packageVersion() };

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("crossmon")
    .description("Train and evaluate LLM monitors across domains and prompts.")
    .version(pkg.version);
  registerStudy(program);
  registerData(program);
  registerTrain(program);
  registerExport(program);
  registerEval(program);
  registerServe(program);
  registerEngine(program);
  registerPull(program);
  registerView(program);
  registerWorker(program);
  registerSchema(program);
  return program;
}

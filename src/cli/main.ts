/** The crossmon command line. */
import { Command } from "commander";
import { readFileSync } from "node:fs";
import { registerEngine } from "./commands/engine.js";
import { registerData } from "./commands/data.js";

const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };

export function buildProgram(): Command {
  const program = new Command();
  program.name("crossmon").description("Train and evaluate LLM monitors across domains and prompts.").version(pkg.version);
  registerData(program);
  registerEngine(program);
  return program;
}

await buildProgram().parseAsync(process.argv);

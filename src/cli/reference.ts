/**
 * The generated references: docs/cli.md from the commands' own help, and the specs' JSON Schemas in schemas/.
 * `npm run docs` writes them; a test fails when the committed ones are stale.
 */
import type { Command } from "commander";
import { SPEC_SCHEMAS, specJsonSchema } from "./commands/schema.js";
import { buildProgram } from "./program.js";

/** Every command's help, at a fixed width (not the terminal's), as one markdown page. */
export function cliReference(program: Command = buildProgram()): string {
  const out = [
    "# crossmon command reference",
    "",
    "Every command's `--help`, generated from the commands themselves (`npm run docs`; a test fails when this page",
    "is stale).",
    "",
  ];
  const walk = (cmd: Command, path: string[]) => {
    for (const c of cmd.commands) {
      const name = [...path, c.name()];
      c.configureHelp({ helpWidth: 110 });
      out.push(`## crossmon ${name.join(" ")}`, "", "```", c.helpInformation().trimEnd(), "```", "");
      walk(c, name);
    }
  };
  walk(program, []);
  return out.join("\n");
}

/** The generated files, by path from the repository root. */
export function generatedReferences(): Record<string, string> {
  const files: Record<string, string> = { "docs/cli.md": cliReference() };
  for (const name of Object.keys(SPEC_SCHEMAS) as (keyof typeof SPEC_SCHEMAS)[])
    files[`schemas/${name}.schema.json`] = specJsonSchema(name);
  return files;
}

/**
 * `crossmon schema experiment|train`: the JSON Schema of a spec, generated from its zod schema, so that an editor
 * validates and completes spec files (the package ships them in schemas/; the examples name them on their first line).
 */
import type { Command } from "commander";
import { z } from "zod";
import { InputError } from "../../core/errors.js";
import { ExperimentSpec } from "../../experiments/spec.js";
import { TrainSpec } from "../../train/spec.js";
import { action } from "../output.js";

export const SPEC_SCHEMAS = { experiment: ExperimentSpec, train: TrainSpec } as const;

/** A spec's JSON Schema, as written to schemas/NAME.schema.json: the fields a user writes (defaults optional). */
export function specJsonSchema(name: keyof typeof SPEC_SCHEMAS): string {
  const schema = z.toJSONSchema(SPEC_SCHEMAS[name], { io: "input", unrepresentable: "any" });
  const titled = {
    ...schema,
    $id: `https://crossmon.dev/schemas/${name}.schema.json`,
    title: `crossmon ${name} spec`,
  };
  return `${JSON.stringify(titled, null, 2)}\n`;
}

export function registerSchema(program: Command): void {
  program
    .command("schema <spec>")
    .description("the JSON Schema of an experiment or training spec (experiment|train), for editors to validate specs")
    .action(
      action(async (name: string) => {
        if (!(name in SPEC_SCHEMAS)) throw new InputError(`schema ${name}: expected experiment or train`);
        process.stdout.write(specJsonSchema(name as keyof typeof SPEC_SCHEMAS));
      }),
    );
}

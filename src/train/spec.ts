/** The training spec (`crossmon train SPEC.yaml`), validated with zod; every error names the field. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import YAML from "yaml";
import { z } from "zod";
import { InputError, parseOrThrow } from "../core/errors.js";

const Part = z
  .object({
    task: z.string().min(1),
    examples: z.number().int().positive(),
    /** train on these labels instead of the true ones (unsupervised elicitation), by example id; only these examples */
    pseudo_labels: z.record(z.string(), z.boolean()).optional(),
  })
  .strict();
const Instruction = z.union([
  z.object({ examples: z.number().int().nonnegative() }).strict(),
  z
    .object({
      share: z.number().min(0, "the share must be in 0..1").max(0.99, "the share must be below 1"),
      by: z.enum(["examples", "tokens"]),
    })
    .strict(),
]);
const Mixture = z
  .object({
    classification: z.array(Part).default([]),
    instruction: Instruction.optional(),
    prompt_contrast: z.boolean().default(false),
    /** tasks never used as contrast partners (e.g. the held-out prompt of a prompt-change test) */
    contrast_exclude: z.array(z.string()).default([]),
    source_weights: z
      .object({
        classification: z.number().nonnegative(),
        instruction: z.number().nonnegative(),
        contrast: z.number().nonnegative(),
      })
      .partial()
      .default({}),
  })
  .strict()
  .refine(
    (m) => m.classification.length > 0 || m.instruction !== undefined,
    "a mixture needs classification tasks or instruction data",
  );

export const TrainSpec = z
  .object({
    base_model: z.string().min(1),
    seed: z.number().int().default(0),
    method: z.enum(["lora", "full"]).default("lora"),
    lora: z
      .object({
        rank: z.number().int().positive().default(16),
        alpha: z.number().positive().default(32),
        dropout: z.number().min(0).max(0.9).default(0.05),
        targets: z.array(z.string()).min(1).default(["all-linear"]),
      })
      .strict()
      .default({ rank: 16, alpha: 32, dropout: 0.05, targets: ["all-linear"] }),
    hyper: z
      .object({
        lr: z.number().positive().default(1e-3),
        batch_size: z.number().int().positive().default(16),
        micro_batch: z.number().int().positive().default(8),
        epochs: z.number().positive().default(1),
        warmup: z.number().min(0).max(0.5).default(0.05),
        schedule: z.enum(["cosine", "linear", "constant"]).default("cosine"),
        weight_decay: z.number().min(0).default(0),
        max_grad_norm: z.number().min(0).default(1),
        max_tokens: z.number().int().min(32).default(768),
        checkpoint_every: z.number().int().positive().default(20),
        threads: z.number().int().positive().optional(),
      })
      .strict()
      .prefault({}),
    data: z
      .object({
        /** users' tasks: a path (file, folder, manifest, hf://datasets/...) or several */
        tasks: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
        /** the built-in world: used when named, and when no tasks are (then with seed 0, size 1500) */
        world: z
          .object({ seed: z.number().int().default(0), size: z.number().int().positive().default(1500) })
          .strict()
          .optional(),
        split_seed: z.number().int().default(0),
        instruction_pool: z.number().int().positive().default(20000),
        /** let a manifest name data files outside its folder (also --allow-outside on the command line) */
        allow_outside: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    stages: z
      .array(
        z
          .object({
            name: z.string().min(1),
            mixture: Mixture,
            epochs: z.number().positive().optional(),
            lr: z.number().positive().optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();
export type TrainSpec = z.infer<typeof TrainSpec>;

export function parseTrainSpec(raw: unknown, file = "spec"): TrainSpec {
  return parseOrThrow(TrainSpec, raw, file);
}

/** Reads a YAML file, or a clear error naming it. */
export function readYamlFile(file: string): unknown {
  if (!existsSync(file)) throw new InputError("not found", file);
  try {
    return YAML.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(`malformed YAML: ${(e as Error).message}`, file);
  }
}

/** A path from a spec: as written when it exists from here, else against the spec's folder. */
export function nearSpec(specFile: string, p: string): string {
  return isAbsolute(p) || existsSync(p)
    ? p
    : existsSync(join(dirname(specFile), p))
      ? resolve(dirname(specFile), p)
      : p;
}

/** Each task path of a spec's data, resolved against the spec's folder (hf://datasets/... names as they are). */
export function nearSpecTasks(specFile: string, tasks: string | string[] | undefined): string | string[] | undefined {
  const near = (p: string) => (p.startsWith("hf://") ? p : nearSpec(specFile, p));
  return tasks === undefined ? undefined : Array.isArray(tasks) ? tasks.map(near) : near(tasks);
}

/** Reads a spec; base_model and data.tasks are resolved against the spec's folder when relative and present there. */
export function readTrainSpec(file: string): TrainSpec {
  const spec = parseTrainSpec(readYamlFile(file), file);
  spec.base_model = nearSpec(file, spec.base_model);
  spec.data.tasks = nearSpecTasks(file, spec.data.tasks);
  return spec;
}

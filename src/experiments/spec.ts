/**
 * An experiment spec (YAML, zod-validated): a base model, the data, training and evaluation defaults, and which of
 * the paper's six questions to run, on which tasks. The built-in quickstart and study are specs like any other.
 */
import { z } from "zod";
import { InputError, parseOrThrow } from "../core/errors.js";
import { nearSpec, nearSpecTasks, readYamlFile, TrainSpec } from "../train/spec.js";
import { ContextLengthSchema } from "./questions/context-length.js";
import { ElicitationSchema } from "./questions/elicitation.js";
import { EvasionSchema } from "./questions/evasion.js";
import { FormatTransferSchema } from "./questions/format-transfer.js";
import { InstructionSchema } from "./questions/instruction.js";
import { PromptChangeSchema } from "./questions/prompt-change.js";
import { ScalingSchema } from "./questions/scaling.js";
import { Replicates } from "./questions/schema.js";
import { TransferSchema } from "./questions/transfer.js";

export const ExperimentSpec = z
  .object({
    name: z.string().min(1),
    base_model: z.string().min(1),
    seed: z.number().int().default(0),
    /** every training cell is trained this many times (a question's own `replicates` overrides it) */
    replicates: Replicates.default(1),
    data: TrainSpec.shape.data,
    /** where models run when it is not this machine: an OpenAI-compatible API, optionally fine-tuning there too */
    backend: z
      .object({
        kind: z.literal("openai"),
        base_url: z.url(),
        /** the model scored untrained, and fine-tuned by training cells */
        model: z.string().min(1),
        api_key_env: z.string().min(1).default("OPENAI_API_KEY"),
        /** hosted: training cells are fine-tuning jobs on the same API; none: the API only scores */
        train: z.enum(["hosted", "none"]).default("none"),
        /** the price of a million training tokens, for the estimate printed before any upload */
        price_per_million_tokens: z.number().nonnegative().optional(),
        poll_seconds: z.number().positive().default(30),
        concurrency: z.number().int().positive().default(8),
      })
      .strict()
      .optional(),
    train: z
      .object({
        method: z.enum(["lora", "full"]).default("lora"),
        lora: TrainSpec.shape.lora,
        hyper: TrainSpec.shape.hyper,
        examples_per_task: z.number().int().positive().default(300),
      })
      .strict()
      .prefault({}),
    eval: z
      .object({
        examples: z.number().int().positive().default(200),
        validation: z.number().int().nonnegative().default(100),
        bootstrap: z.number().int().min(50).default(1000),
        thinking: z
          .object({
            examples: z.number().int().positive().default(60),
            k: z.number().int().positive().default(1),
            max_tokens: z.number().int().positive().default(48),
            temperature: z.number().min(0).default(0),
          })
          .strict()
          .prefault({}),
        summary: z
          .object({
            examples: z.number().int().positive().default(60),
            max_tokens: z.number().int().positive().default(64),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    experiments: z
      .object({
        transfer: TransferSchema.optional(),
        scaling: ScalingSchema.optional(),
        prompt_change: PromptChangeSchema.optional(),
        instruction: InstructionSchema.optional(),
        format_transfer: FormatTransferSchema.optional(),
        elicitation: ElicitationSchema.optional(),
        context_length: ContextLengthSchema.optional(),
        evasion: EvasionSchema.optional(),
      })
      .strict()
      .refine((e) => Object.values(e).some((x) => x !== undefined), {
        message: "names no experiment (transfer, scaling, prompt_change, instruction, format_transfer, elicitation)",
      }),
  })
  .strict();
export type ExperimentSpec = z.infer<typeof ExperimentSpec>;

export function parseExperimentSpec(raw: unknown, file = "spec"): ExperimentSpec {
  const spec = parseOrThrow(ExperimentSpec, raw, file);
  // a chat API gives the next token's log-probabilities after a prompt, not inside a reply it wrote
  for (const q of ["format_transfer", "elicitation"] as const)
    if (spec.backend && spec.experiments[q])
      throw new InputError(
        `field "experiments.${q}": needs thinking traces scored at their verdict, which an OpenAI-compatible API ` +
          "backend does not give; run it with the local engine or the worker",
        file,
      );
  return spec;
}

export function readExperimentSpec(file: string): ExperimentSpec {
  const spec = parseExperimentSpec(readYamlFile(file), file);
  spec.base_model = nearSpec(file, spec.base_model);
  spec.data.tasks = nearSpecTasks(file, spec.data.tasks);
  return spec;
}

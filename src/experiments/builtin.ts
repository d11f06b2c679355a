/**
 * The built-in experiment specs: `quickstart` (the full transfer matrix, small: minutes on a 2-core CPU) and `study`
 * (all six questions, full size), both on the built-in world with the shipped base model and 3 training replicates.
 * Sizes were chosen for run time, not for any outcome.
 */
import { parseExperimentSpec, type ExperimentSpec } from "./spec.js";

/**
 * The built-in world's eight domains, each by its first (monitoring) task: the transfer matrix trains one model per
 * domain and scores it on every other domain's task; the model of a target's own domain is its in-domain reference.
 */
export const WORLD_DOMAINS: Record<string, string> = {
  reviews: "reviews_sentiment",
  chem: "chem_harm",
  cyber: "cyber_harm",
  agent: "agent_dangerous",
  covert: "covert_side_task",
  phishing: "email_phishing",
  code: "code_backdoor",
  support: "support_refund",
};

const fullMatrix = (leaveOneOut: boolean) => ({
  sources: Object.fromEntries(Object.entries(WORLD_DOMAINS).map(([d, t]) => [d, [t]])),
  eval_tasks: Object.values(WORLD_DOMAINS),
  leave_one_out: leaveOneOut,
});

export const SHIPPED_BASE_MODEL = "models/crossmon-base";

const common = (name: string, base: string) => ({
  name,
  base_model: base,
  seed: 0,
  data: { world: { seed: 0, size: 1500 }, split_seed: 0, instruction_pool: 4000 },
});

export function quickstartSpec(base = SHIPPED_BASE_MODEL): ExperimentSpec {
  return parseExperimentSpec({
    ...common("quickstart", base),
    replicates: 3,
    train: {
      method: "lora",
      // no LoRA dropout: it doubles the step time here, and the runs are short
      lora: { rank: 16, alpha: 32, dropout: 0, targets: ["all-linear"] },
      hyper: {
        lr: 0.002,
        batch_size: 16,
        micro_batch: 16,
        epochs: 1,
        warmup: 0.1,
        schedule: "cosine",
        max_tokens: 512,
        checkpoint_every: 50,
      },
      examples_per_task: 100,
    },
    // no validation split: the matrix reports AUROC, which needs no threshold
    eval: { examples: 100, validation: 0, bootstrap: 500 },
    // the one question that fits ten minutes with every domain held out and 3 replicates; `study` asks all six
    experiments: { transfer: fullMatrix(false) },
  });
}

export function studySpec(base = SHIPPED_BASE_MODEL): ExperimentSpec {
  return parseExperimentSpec({
    ...common("study", base),
    replicates: 3,
    data: { world: { seed: 0, size: 3000 }, split_seed: 0, instruction_pool: 8000 },
    train: {
      method: "lora",
      lora: { rank: 16, alpha: 32, dropout: 0, targets: ["all-linear"] },
      hyper: {
        lr: 0.002,
        batch_size: 16,
        micro_batch: 16,
        epochs: 1,
        warmup: 0.1,
        schedule: "cosine",
        max_tokens: 512,
        checkpoint_every: 50,
      },
      examples_per_task: 400,
    },
    eval: {
      examples: 300,
      validation: 100,
      bootstrap: 1000,
      thinking: { examples: 100, k: 2, max_tokens: 48, temperature: 0.7 },
      summary: { examples: 60, max_tokens: 48 },
    },
    experiments: {
      // every domain held out; "all but one" sources (7 tasks each, 3 replicates) would more than double the time
      transfer: fullMatrix(false),
      scaling: { target: "agent_dangerous", in_domain: 100, adjacent_task: "cyber_harm", adjacent: [0, 200, 400, 800] },
      prompt_change: {
        train_task: "cyber_harm",
        eval_task: "cyber_deadline",
        contrast_tasks: ["chem_harm", "reviews_sentiment", "support_refund"],
      },
      instruction: {
        source: ["cyber_harm"],
        after_examples: 400,
        mixed: [
          { share: 0.1, by: "examples" },
          { share: 0.25, by: "examples" },
          { share: 0.5, by: "tokens" },
        ],
        eval_tasks: ["agent_dangerous", "covert_side_task"],
      },
      format_transfer: { source: ["cyber_harm"], eval_tasks: ["agent_dangerous", "covert_side_task"] },
      elicitation: { target: "agent_dangerous", examples: 400 },
    },
  });
}

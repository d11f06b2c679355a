/**
 * The built-in experiment specs: `quickstart` (small, minutes on a 2-core CPU) and `study` (full size), both on the
 * built-in world with the shipped base model. Sizes were chosen for run time, not for any outcome.
 */
import { parseExperimentSpec, type ExperimentSpec } from "./spec.js";

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
      examples_per_task: 160,
    },
    eval: {
      examples: 120,
      validation: 40,
      bootstrap: 500,
      thinking: { examples: 40, k: 1, max_tokens: 40, temperature: 0 },
      summary: { examples: 30, max_tokens: 48 },
    },
    experiments: {
      transfer: {
        sources: { reviews: ["reviews_sentiment"], chem: ["chem_harm"], cyber: ["cyber_harm"] },
        eval_tasks: ["agent_dangerous", "covert_side_task"],
        leave_one_out: false,
      },
      scaling: { target: "agent_dangerous", in_domain: 40, adjacent_task: "cyber_harm", adjacent: [0, 80, 160] },
      prompt_change: {
        train_task: "cyber_harm",
        eval_task: "cyber_deadline",
        contrast_tasks: ["chem_harm", "reviews_sentiment"],
      },
      instruction: {
        source: ["cyber_harm"],
        after_examples: 160,
        mixed: [
          { share: 0.25, by: "examples" },
          { share: 0.5, by: "tokens" },
        ],
        eval_tasks: ["agent_dangerous"],
      },
      format_transfer: { source: ["cyber_harm"], eval_tasks: ["agent_dangerous", "covert_side_task"] },
      elicitation: { target: "agent_dangerous", examples: 120 },
    },
  });
}

export function studySpec(base = SHIPPED_BASE_MODEL): ExperimentSpec {
  return parseExperimentSpec({
    ...common("study", base),
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
      transfer: {
        sources: {
          reviews: ["reviews_sentiment"],
          chem: ["chem_harm"],
          cyber: ["cyber_harm"],
          phishing: ["email_phishing"],
          code: ["code_backdoor"],
        },
        eval_tasks: ["agent_dangerous", "covert_side_task"],
        leave_one_out: true,
      },
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

/** A tiny experiment over the toy base model: every question, seconds to run. */
import { parseExperimentSpec, type ExperimentSpec } from "../../src/experiments/spec.js";

export function tinySpec(base: string, over: Record<string, unknown> = {}): ExperimentSpec {
  return parseExperimentSpec({
    name: "tiny",
    base_model: base,
    seed: 0,
    data: { world: { seed: 0, size: 80 }, instruction_pool: 100 },
    train: {
      lora: { rank: 4, alpha: 8, dropout: 0, targets: ["all-linear"] },
      hyper: { lr: 0.01, batch_size: 8, micro_batch: 8, max_tokens: 256, threads: 1 },
      examples_per_task: 16,
    },
    eval: {
      examples: 20,
      validation: 8,
      bootstrap: 50,
      thinking: { examples: 6, k: 2, max_tokens: 10, temperature: 0.8 },
      summary: { examples: 6, max_tokens: 10 },
    },
    experiments: {
      transfer: {
        sources: { reviews: ["reviews_sentiment"], chem: ["chem_harm"], cyber: ["cyber_harm"] },
        eval_tasks: ["agent_dangerous", "covert_side_task"],
        leave_one_out: true,
      },
      scaling: { target: "agent_dangerous", in_domain: 8, adjacent_task: "cyber_harm", adjacent: [0, 8, 16] },
      prompt_change: { train_task: "cyber_harm", eval_task: "cyber_deadline", contrast_tasks: ["chem_harm"] },
      instruction: {
        source: ["cyber_harm"],
        after_examples: 8,
        mixed: [
          { share: 0.25, by: "examples" },
          { share: 0.5, by: "tokens" },
        ],
        eval_tasks: ["agent_dangerous"],
      },
      format_transfer: { source: ["cyber_harm"], eval_tasks: ["agent_dangerous", "covert_side_task"] },
      elicitation: { target: "agent_dangerous", examples: 16 },
    },
    ...over,
  });
}

/** The base model's recipe: its options, the shipped values and the toy ones, and its tokenizer's chat template. */
export const CHAT_TEMPLATE =
  "{%- for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + " +
  "'\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}";
export const SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

export interface PretrainOptions {
  out: string;
  seed?: number;
  vocabSize?: number;
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  intermediate?: number;
  seqLen?: number;
  rowsPerStep?: number;
  microRows?: number;
  steps?: number;
  lr?: number;
  worldPerDomain?: number;
  ifSize?: number;
  readingSize?: number;
  /** the instruction phase after pretraining: steps on IF, reading and comprehension data only */
  instructSteps?: number;
  instructLr?: number;
  /** the reading phase after that: stories with concept questions, and reading questions asked both ways */
  readingSteps?: number;
  readingLr?: number;
  storySize?: number;
  /** in the reading phase: the share of questions in the thinking layout (the rest single-token), and the loss weight
   * of a single-token answer (one token against a thinking trace's dozens: without it, answers are ~1% of the loss) */
  readingThinkingShare?: number;
  readingAnswerWeight?: number;
  minutes?: number;
  quiet?: boolean;
  log?: (line: string) => void;
}

export const SHIPPED_RECIPE: Required<Omit<PretrainOptions, "out" | "minutes" | "quiet" | "log">> = {
  seed: 1,
  vocabSize: 4096,
  hidden: 256,
  layers: 6,
  heads: 4,
  kvHeads: 2,
  intermediate: 768,
  seqLen: 256,
  rowsPerStep: 16,
  microRows: 8,
  steps: 3000,
  lr: 2e-3,
  worldPerDomain: 3000,
  ifSize: 24000,
  readingSize: 24000,
  instructSteps: 600,
  instructLr: 5e-4,
  // the reading phase: at a lower learning rate, mostly single-token questions whose answers carry a loss weight of
  // 16 (at weight 1 and half thinking traces, answers were ~1% of the loss and stories stayed at chance: see
  // models/crossmon-base/README.md, "How this model was chosen")
  readingSteps: 2000,
  readingLr: 3e-4,
  storySize: 24000,
  readingThinkingShare: 0.1,
  readingAnswerWeight: 16,
};

/** A toy-sized run of the same recipe (seconds), for tests and `crossmon pretrain --toy`. */
export const TOY_RECIPE: Omit<PretrainOptions, "out"> = {
  hidden: 32,
  layers: 1,
  heads: 2,
  kvHeads: 1,
  intermediate: 64,
  worldPerDomain: 30,
  ifSize: 100,
  readingSize: 100,
  vocabSize: 600,
  seqLen: 64,
  rowsPerStep: 4,
  microRows: 4,
  steps: 3,
  instructSteps: 2,
  readingSteps: 2,
  storySize: 60,
};

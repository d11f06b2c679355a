/**
 * The task model. A task is (domain, prompt, labelled examples): the same texts asked with another prompt are
 * another task. The prompt is a template with the text's place marked by {text}.
 */
export const TEXT_SLOT = "{text}";

export interface ChatTurn {
  role: string;
  content: string;
}

export interface Example {
  id: string;
  /** the text to classify, or a conversation */
  text?: string;
  messages?: ChatTurn[];
  /** true = the task's positive label */
  label: boolean;
  meta?: Record<string, unknown>;
  /**
   * examples of one group always share a split (the epochs of one Inspect sample: near-identical transcripts must not
   * sit in training and test at once); ungrouped, the unit is the text
   */
  group?: string;
  /** latent facts the text was generated from (the built-in world), for exact scoring of reasoning and summaries */
  facts?: Record<string, unknown>;
}

export type UnlabelledExample = Omit<Example, "label">;

export interface Task {
  id: string;
  domain: string;
  /** template with {text} where the text goes */
  prompt: string;
  /** label names as they appear in data files (e.g. "spam" / "ham"); true/false and 1/0 are always accepted */
  labels: { positive: string; negative: string };
  /** the answer token each label maps to */
  answers: { positive: string; negative: string };
  examples: Example[];
  /**
   * Texts of the task without labels (a manifest entry marked `unlabelled: true`): never evaluated against, only
   * pseudo-labelled by unsupervised elicitation (its `pool`).
   */
  pool?: UnlabelledExample[];
  /** where the task came from (a file path or "builtin:world") */
  source: string;
  /**
   * Whether single-token scoring appends "Answer with Yes or No." to the prompt: "auto" (the default) appends it
   * unless the prompt already asks for the answers, "always" and "never" say so outright.
   */
  answer_line?: AnswerLine;
  /** the task's split fractions, where its manifest gives them (the domain's tasks agree) */
  split?: { train: number; validation: number; test: number };
  /** all examples are test examples; the task is never trained on (its domain's texts in it are test everywhere) */
  eval_only?: boolean;
}

export const ANSWER_LINE_MODES = ["auto", "always", "never"] as const;
export type AnswerLine = (typeof ANSWER_LINE_MODES)[number];

export const DEFAULT_ANSWERS = { positive: " Yes", negative: " No" } as const;
export const DEFAULT_LABELS = { positive: "yes", negative: "no" } as const;

/** The text of an example as one string (conversations joined as "Role: content" lines). */
export function exampleText(e: Pick<Example, "text" | "messages">): string {
  if (e.text !== undefined) return e.text;
  return (e.messages ?? []).map((m) => `${m.role[0].toUpperCase()}${m.role.slice(1)}: ${m.content}`).join("\n");
}

/** The prompt with the example's text in its place. */
export function fillPrompt(task: Task, e: Example): string {
  return task.prompt.split(TEXT_SLOT).join(exampleText(e));
}

/** The line that asks for a one-token answer, e.g. "Answer with Yes or No.". */
export function answerInstruction(task: Pick<Task, "answers">): string {
  return `Answer with ${task.answers.positive.trim()} or ${task.answers.negative.trim()}.`;
}

/**
 * Whether a prompt asks for the answers itself: it names both answer words and says to answer, reply, respond or
 * output ("... Answer Yes or No."). Only the task's own template is read, never an example's text.
 */
export function promptAsksForAnswer(task: Pick<Task, "prompt" | "answers">): boolean {
  const prompt = task.prompt.split(TEXT_SLOT).join(" ");
  const word = (w: string) =>
    new RegExp(`(^|[^\\p{L}\\p{N}])${w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^\\p{L}\\p{N}])`, "iu");
  const [p, n] = [task.answers.positive.trim(), task.answers.negative.trim()];
  return word(p).test(prompt) && word(n).test(prompt) && /\b(answer|reply|respond|response|output)/i.test(prompt);
}

/** The line single-token scoring appends to the prompt, or null when the task's prompt asks already (or says never). */
export function singleTokenLine(task: Pick<Task, "prompt" | "answers" | "answer_line">): string | null {
  const mode = task.answer_line ?? "auto";
  if (mode === "never" || (mode === "auto" && promptAsksForAnswer(task))) return null;
  return answerInstruction(task);
}

/** How `data show` and `data validate` say what single-token scoring adds to a task's prompt. */
export function describeAnswerLine(task: Task): string {
  const line = singleTokenLine(task);
  if (line) return `answer line: "${line}" is appended (answer_line: ${task.answer_line ?? "auto"})`;
  return task.answer_line === "never"
    ? "answer line: none (answer_line: never)"
    : "answer line: none, the prompt asks for the answers already (answer_line: auto; always appends it anyway)";
}

export function positiveRate(examples: Example[]): number {
  return examples.length ? examples.filter((e) => e.label).length / examples.length : 0;
}

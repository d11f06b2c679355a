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
  /** latent facts the text was generated from (the built-in world), for exact scoring of reasoning and summaries */
  facts?: Record<string, unknown>;
}

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
  /** where the task came from (a file path or "builtin:world") */
  source: string;
}

export const DEFAULT_ANSWERS = { positive: " Yes", negative: " No" } as const;
export const DEFAULT_LABELS = { positive: "yes", negative: "no" } as const;

/** The text of an example as one string (conversations joined as "Role: content" lines). */
export function exampleText(e: Example): string {
  if (e.text !== undefined) return e.text;
  return (e.messages ?? []).map((m) => `${m.role[0].toUpperCase()}${m.role.slice(1)}: ${m.content}`).join("\n");
}

/** The prompt with the example's text in its place. */
export function fillPrompt(task: Task, e: Example): string {
  return task.prompt.split(TEXT_SLOT).join(exampleText(e));
}

export function positiveRate(examples: Example[]): number {
  return examples.length ? examples.filter((e) => e.label).length / examples.length : 0;
}

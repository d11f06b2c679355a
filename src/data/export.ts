/** Writing tasks as self-describing JSONL (one example a line, with its task), which loads back as it is. */
import type { Task } from "./task.js";

export function taskToJsonl(task: Task): string {
  return `${task.examples
    .map((e) =>
      JSON.stringify({
        task: task.id,
        domain: task.domain,
        prompt: task.prompt,
        positive_label: task.labels.positive,
        negative_label: task.labels.negative,
        positive_answer: task.answers.positive,
        negative_answer: task.answers.negative,
        ...(task.answer_line ? { answer_line: task.answer_line } : {}),
        id: e.id,
        ...(e.text !== undefined ? { text: e.text } : { messages: e.messages }),
        label: e.label ? task.labels.positive : task.labels.negative,
        ...(e.meta ? { meta: e.meta } : {}),
        ...(e.facts ? { facts: e.facts } : {}),
      }),
    )
    .join("\n")}\n`;
}

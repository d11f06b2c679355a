/**
 * Exporting a training spec's mixtures for hosted fine-tuning: OpenAI chat fine-tuning JSONL (assistant messages
 * carry weight 1, so only answers are trained: the single answer of a classification example, every assistant turn
 * of an IF conversation), or token ids with per-token loss weights (for services that take them, e.g. Tinker).
 */
import { writeFileSync } from "node:fs";
import type { MixItem } from "./mixture.js";

export function toOpenAIJsonl(items: MixItem[]): string {
  const line = (it: MixItem) =>
    JSON.stringify({
      messages: it.chat.map((m) =>
        m.role === "assistant"
          ? { role: m.role, content: m.content, weight: m.weight ?? 0 }
          : { role: m.role, content: m.content },
      ),
    });
  return `${items.map(line).join("\n")}\n`;
}

export function toTokensJsonl(items: MixItem[]): string {
  const line = (it: MixItem) =>
    JSON.stringify({ source: it.source, input_ids: Array.from(it.ids), loss_weights: Array.from(it.weights) });
  return `${items.map(line).join("\n")}\n`;
}

export function writeExport(file: string, items: MixItem[], to: "openai" | "tokens"): void {
  writeFileSync(file, to === "openai" ? toOpenAIJsonl(items) : toTokensJsonl(items));
}

/**
 * An agent's trajectory as a monitor reads it. Inspect keeps a sample's conversation as chat messages (system, user,
 * assistant with tool calls, tool results), their content either a string or a list of parts (text, reasoning,
 * images...), long strings moved to `attachments` and referenced as `attachment://<hash>`. Here they become one
 * plain layout, each turn a paragraph:
 *
 *   User: <text>
 *   Assistant: <text>
 *   Tool call: <function> <arguments as JSON>
 *   Tool result (<function>): <output>    (or "Tool error (<function>, <type>): <message>" then any output)
 *
 * System messages are left out by default: an attack policy's system prompt names its side task, which would hand the
 * label to the monitor. Reasoning parts are left out by default too (a monitor of actions does not see them). Every
 * string in the layout was written by the monitored agent or its tools: nothing in it is interpreted.
 */
import type { ChatTurn } from "../task.js";

export interface TranscriptOptions {
  keepSystem?: boolean;
  keepReasoning?: boolean;
  /** characters of each tool result kept; the rest is cut with a note saying how much */
  maxToolOutput?: number;
}

type Json = unknown;

const ATTACHMENT = "attachment://";

/** Every `attachment://<hash>` string replaced by the attachment's text (left as is when the log lacks it). */
export function resolveAttachments(v: Json, attachments: Record<string, string> | null | undefined): Json {
  if (!attachments) return v;
  if (typeof v === "string") return v.startsWith(ATTACHMENT) ? (attachments[v.slice(ATTACHMENT.length)] ?? v) : v;
  if (Array.isArray(v)) return v.map((x) => resolveAttachments(x, attachments));
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveAttachments(x, attachments)]));
  return v;
}

function str(v: Json): string {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v);
}

/** A message's content as text: string content as it is, parts joined (non-text parts as a short marker). */
function contentText(content: Json, o: TranscriptOptions): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return str(content);
  const parts: string[] = [];
  for (const p of content as Record<string, Json>[]) {
    if (!p || typeof p !== "object") continue;
    if (p.type === "text") parts.push(str(p.text));
    else if (p.type === "reasoning") {
      if (o.keepReasoning && !p.redacted) parts.push(`(reasoning) ${str(p.reasoning)}`);
    } else parts.push(`[${str(p.type) || "content"}]`);
  }
  return parts.filter((x) => x !== "").join("\n");
}

function cut(s: string, max: number | undefined): string {
  if (max === undefined || s.length <= max) return s;
  return `${s.slice(0, max)}\n[… ${s.length - max} more characters cut]`;
}

/** The turns of a conversation in the documented layout, one {role, content} per message kept. */
export function transcriptTurns(messages: Json[], o: TranscriptOptions = {}): ChatTurn[] {
  const turns: ChatTurn[] = [];
  for (const m of messages as Record<string, Json>[]) {
    if (!m || typeof m !== "object") continue;
    // a role that is missing or not a name (a log written by hand, or damaged) is shown as such, not dropped
    const role = typeof m.role === "string" && m.role !== "" ? m.role : "unknown";
    if (role === "system" && !o.keepSystem) continue;
    if (role === "tool") {
      const fn = str(m.function) || "tool";
      const err = m.error as { type?: Json; message?: Json } | null | undefined;
      const output = cut(contentText(m.content, o), o.maxToolOutput);
      const body = err
        ? `Tool error (${fn}, ${str(err.type) || "error"}): ${str(err.message)}${output ? `\n${output}` : ""}`
        : `Tool result (${fn}): ${output}`;
      turns.push({ role: "tool", content: body });
      continue;
    }
    const lines = [contentText(m.content, o)];
    if (role === "assistant" && Array.isArray(m.tool_calls))
      for (const c of m.tool_calls as Record<string, Json>[])
        lines.push(`Tool call: ${str(c?.function)} ${JSON.stringify(c?.arguments ?? {})}`);
    const content = lines.filter((x) => x !== "").join("\n");
    if (content !== "") turns.push({ role, content });
  }
  return turns;
}

/** The turns as one text: paragraphs, "Role: content" (tool turns already say what they are). */
export function turnsText(turns: ChatTurn[]): string {
  return turns
    .map((t) => (t.role === "tool" ? t.content : `${t.role[0].toUpperCase()}${t.role.slice(1)}: ${t.content}`))
    .join("\n\n");
}

/**
 * Instruction-following (IF) conversations with checkable answers, over the world's texts and general ones:
 * extract, count, rewrite, answer a question about a text, summarise with the key facts, follow a format constraint,
 * reason step by step then answer. None asks a classification question of the evaluation tasks: no task prompt
 * appears in them (a test checks), and no answer states a task's label.
 */
import type { ChatTurn } from "../task.js";
import { deriveSeed } from "../../core/random.js";
import { Gen, capitalise } from "./gen.js";
import { generateWorldTexts } from "./index.js";
import { words } from "../text-features.js";

const PRAISE = ["pleasant", "worth doing", "something many enjoy", "simple to start"];
export interface IfExample {
  id: string;
  kind: string;
  messages: ChatTurn[];
}

type Maker = (
  g: Gen,
  text: string,
  facts: Record<string, unknown>,
  domain: string,
) => { kind: string; user: string; assistant: string } | null;

const GENERAL_TOPICS = [
  "the weather in spring",
  "a visit to the library",
  "cooking pasta",
  "a train journey",
  "learning to swim",
  "a birthday party",
  "planting tomatoes",
  "a rainy afternoon",
];

const firstSentence = (t: string) => (t.split(/(?<=[.!?])\s+|\n/).find((s) => s.trim().length > 0) ?? t).trim();

const MAKERS: Maker[] = [
  (g, text) => {
    const n = words(text).length;
    return {
      kind: "count",
      user: `${g.pick(["How many words does this text have?", "Count the words in the text below."])}\n\n${text}`,
      assistant: `${n}`,
    };
  },
  (_g, text) => {
    const s = firstSentence(text);
    return { kind: "extract", user: `Copy the first line of this text exactly.\n\n${text}`, assistant: s };
  },
  (_g, text) => {
    const s = firstSentence(text);
    return { kind: "rewrite", user: `Rewrite this sentence in capital letters:\n${s}`, assistant: s.toUpperCase() };
  },
  (_g, text) => {
    const ws = words(text).slice(0, 3);
    if (ws.length < 3) return null;
    return {
      kind: "format",
      user: `Give the first three words of the text as a JSON array of strings, lower case.\n\n${text}`,
      assistant: JSON.stringify(ws),
    };
  },
  (_g, text) => {
    const ws = [...new Set(words(text).filter((w) => w.length > 6))].slice(0, 3);
    if (ws.length < 3) return null;
    return {
      kind: "format",
      user: `List three long words (more than six letters) from the text, as exactly three bullet points.\n\n${text}`,
      assistant: ws.map((w) => `- ${w}`).join("\n"),
    };
  },
  (_g, text, facts, domain) => {
    if (domain === "phishing_emails") {
      const from = String(facts.from);
      return { kind: "qa", user: `Who sent this e-mail? Give the address only.\n\n${text}`, assistant: from };
    }
    if (domain === "agent_transcripts") {
      const cmds = [...text.matchAll(/bash\$ (.*)/g)].map((m) => m[1]);
      return {
        kind: "extract",
        user: `List every shell command in this transcript, one per line, in order.\n\n${text}`,
        assistant: cmds.join("\n"),
      };
    }
    if (domain === "support_tickets") {
      const m = text.match(/#\d+/);
      return m ? { kind: "qa", user: `What is the ticket number?\n\n${text}`, assistant: m[0] } : null;
    }
    if (domain === "reviews")
      return {
        kind: "qa",
        user: `Which film is this about? Answer with the title only.\n\n${text}`,
        assistant: String(facts.film),
      };
    if (domain === "code_changes")
      return {
        kind: "qa",
        user: `Which file does this change modify first?\n\n${text}`,
        assistant: String(facts.file),
      };
    if (domain === "covert_reasoning") {
      const a = text.match(/Answer: (.*)/);
      return a ? { kind: "qa", user: `What final answer does this reasoning give?\n\n${text}`, assistant: a[1] } : null;
    }
    return null;
  },
  (_g, text, facts, domain) => {
    // summaries that keep the concrete facts of the text
    if (domain === "agent_transcripts") {
      const cmds = [...text.matchAll(/bash\$ (.*)/g)].map((m) => m[1]);
      return {
        kind: "summary",
        user: `Summarise this agent transcript in two sentences, naming the commands it ran.\n\n${text}`,
        assistant:
          `The user asked: ${String(facts.task)} The agent ran ${cmds.length} ` +
          `command${cmds.length > 1 ? "s" : ""}: ${cmds.join("; ")}.`,
      };
    }
    if (domain === "covert_reasoning") {
      const calc = [...text.matchAll(/(\d[\d ×+\-/=]*= \d+)/g)].map((m) => m[1]);
      return {
        kind: "summary",
        user: `Summarise this reasoning in one or two sentences, listing every calculation in it.\n\n${text}`,
        assistant:
          `It answers: ${text.match(/Answer: (.*)/)?.[1] ?? ""}` +
          (calc.length ? ` Calculations: ${calc.join("; ")}.` : " It contains no calculation."),
      };
    }
    return { kind: "summary", user: `Summarise this text in one sentence.\n\n${text}`, assistant: firstSentence(text) };
  },
  (g) => {
    const a = g.int(11, 89),
      b = g.int(11, 89);
    const tens = Math.floor(a / 10) * 10 + Math.floor(b / 10) * 10,
      ones = (a % 10) + (b % 10);
    return {
      kind: "reasoning",
      user: `Think step by step, then give the answer: what is ${a} + ${b}?`,
      assistant:
        `${a} + ${b}: the tens give ${tens}, the ones give ${ones}, and ${tens} + ${ones} = ` +
        `${a + b}.\nAnswer: ${a + b}`,
    };
  },
  (g) => {
    const a = g.int(3, 12),
      b = g.int(3, 12),
      c = g.int(2, 9);
    return {
      kind: "reasoning",
      user:
        `Reason briefly, then answer. A box holds ${a} rows of ${b} apples, and ${c} apples are eaten. How ` +
        `many are left?`,
      assistant:
        `There are ${a} × ${b} = ${a * b} apples. After ${c} are eaten, ${a * b} - ${c} = ${a * b - c} ` +
        `remain.\nAnswer: ${a * b - c}`,
    };
  },
  (g) => {
    const topic = g.pick(GENERAL_TOPICS);
    const n = g.int(2, 4);
    return {
      kind: "format",
      user: `Write exactly ${n} short sentences about ${topic}. End with the word DONE.`,
      assistant: `${Array.from({ length: n }, (_, i) => `${capitalise(topic)} is ${PRAISE[i % 4]}.`).join(" ")} DONE`,
    };
  },
];

export function generateInstructionData(o: { seed?: number; size?: number; worldSize?: number } = {}): IfExample[] {
  const seed = o.seed ?? 0;
  const size = o.size ?? 2000;
  // texts not in the task splits
  const world = generateWorldTexts({ seed: deriveSeed(seed, "instructions.world"), size: o.worldSize ?? 200 });
  const g = new Gen(deriveSeed(seed, "instructions"));
  const out: IfExample[] = [];
  while (out.length < size) {
    const d = g.pick(world);
    const t = g.pick(d.texts);
    const made = g.pick(MAKERS)(g, t.text, t.facts, d.spec.domain);
    if (!made) continue;
    out.push({
      id: `if-${out.length}`,
      kind: made.kind,
      messages: [
        { role: "user", content: made.user },
        { role: "assistant", content: made.assistant },
      ],
    });
  }
  return out;
}

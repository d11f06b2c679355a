/**
 * Yes/no reading questions about the world's texts whose answers can be checked mechanically (is a word there,
 * a number above a bound, how long is the text). They teach a base model to read a text and answer a question
 * about it, in the classification layouts, without ever asking an evaluation task's question.
 */
import { fnv1a } from "../hash.js";
import { words } from "../text-features.js";
import { Gen } from "./gen.js";
import { generateWorldTexts, WORLD_DOMAINS } from "./index.js";
import { TEXT_SLOT } from "../task.js";

export interface ReadingQuestion {
  id: string;
  /** a prompt template with {text}, as a task's */
  prompt: string;
  text: string;
  answer: boolean;
  /** a short correct reasoning that ends before the verdict */
  reasoning: string;
}

const GENERIC_INTROS = ["Here is a text.", "Read the following.", "Consider this document."];

export function generateReadingQuestions(o: { seed?: number; size?: number; worldSize?: number } = {}): ReadingQuestion[] {
  const seed = o.seed ?? 0;
  const size = o.size ?? 2000;
  const world = generateWorldTexts({ seed: seed + 2_000_003, size: o.worldSize ?? 200 });
  const intros = [...GENERIC_INTROS, ...WORLD_DOMAINS.flatMap((d) => d.tasks.map((t) => t.prompt.split(TEXT_SLOT)[0].trim()))];
  const g = new Gen(fnv1a(`reading\0${seed}`));
  const out: ReadingQuestion[] = [];
  while (out.length < size) {
    const d = g.pick(world);
    const text = g.pick(d.texts).text;
    const ws = words(text);
    if (ws.length < 5) continue;
    const intro = g.pick(intros);
    const kind = g.int(0, 3);
    let question: string, answer: boolean, reasoning: string;
    if (kind === 0) {
      answer = g.chance(0.5);
      const present = new Set(ws);
      let w: string;
      if (answer) w = g.pick(ws.filter((x) => x.length > 3).concat(ws));
      else {
        const other = words(g.pick(g.pick(world).texts).text).filter((x) => x.length > 3 && !present.has(x));
        if (!other.length) continue;
        w = g.pick(other);
      }
      question = `Does the text contain the word "${w}"?`;
      reasoning = answer ? `The word "${w}" appears in the text.` : `I looked for "${w}" and it does not appear in the text.`;
    } else if (kind === 1) {
      const nums = (text.match(/\d+/g) ?? []).map(Number).filter((n) => n < 1e6);
      const bound = g.pick([10, 50, 100, 500, 1000]);
      answer = nums.some((n) => n > bound);
      question = `Does the text mention a number greater than ${bound}?`;
      reasoning = nums.length ? `The numbers in the text are ${[...new Set(nums)].slice(0, 8).join(", ")}; ${answer ? "at least one is" : "none is"} greater than ${bound}.` : "The text contains no number.";
    } else if (kind === 2) {
      const n = ws.length;
      const bound = Math.max(5, Math.round((n * g.pick([0.6, 0.8, 1.2, 1.5])) / 10) * 10);
      answer = n > bound;
      question = `Is the text longer than ${bound} words?`;
      reasoning = `The text has about ${n} words, which is ${answer ? "more" : "not more"} than ${bound}.`;
    } else {
      const lines = text.split("\n").filter((l) => l.trim()).length;
      const bound = g.pick([1, 2, 3, 5, 8]);
      answer = lines > bound;
      question = `Does the text have more than ${bound} lines?`;
      reasoning = `The text has ${lines} line${lines > 1 ? "s" : ""}.`;
    }
    out.push({ id: `read-${out.length}`, prompt: `${intro}\n\n${TEXT_SLOT}\n\n${question}`, text, answer, reasoning });
  }
  return out;
}

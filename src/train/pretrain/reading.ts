/**
 * Yes/no reading questions about the world's texts whose answers can be checked mechanically (is a word there,
 * a number above a bound, how long is the text). They teach a base model to read a text and answer a question
 * about it, in the classification layouts, without ever asking an evaluation task's question.
 */
import { deriveSeed } from "../../core/random.js";
import { words } from "../../data/text-features.js";
import { Gen } from "../../data/world/gen.js";
import { generateWorldTexts, WORLD_DOMAINS } from "../../data/world/index.js";
import { TEXT_SLOT } from "../../data/task.js";

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

/**
 * Each question kind's negated phrasing: with `flip`, half the questions are asked this way (the answer flips), so a
 * model cannot answer from the text alone and must read whether the question asks for presence or absence.
 */
const NEGATIONS: [RegExp, string][] = [
  [/^Does the text contain the word "(.*)"\?$/, 'Is the word "$1" missing from the text?'],
  [/^Does the text mention a number greater than (\d+)\?$/, "Are all the numbers in the text (if any) at most $1?"],
  [/^Is the text longer than (\d+) words\?$/, "Is the text at most $1 words long?"],
  [/^Does the text have more than (\d+) lines\?$/, "Does the text have at most $1 lines?"],
  [/^Did the agent run a command containing "(.*)"\?$/, 'Did the agent avoid every command containing "$1"?'],
  [/^Does the user's task forbid the agent from doing something\?$/, "Is the user's task free of any prohibition?"],
  [
    /^Does the user explicitly allow a sensitive action \(with "You may"\)\?$/,
    'Does the user\'s task lack an explicit permission (with "You may")?',
  ],
  [
    /^Does the user say the thing they ask about is their own\?$/,
    "Does the user fail to say the thing they ask about is their own?",
  ],
  [
    /^Does the user say the other person asked them for this\?$/,
    "Is the user acting without saying the other person asked them?",
  ],
  [/^Does the review discuss (.*)\?$/, "Is the review silent about $1?"],
  [/^Does the number (\d+) appear in the question itself\?$/, "Is the number $1 absent from the question itself?"],
  [
    /^Is the sender address the organisation's usual no-reply address\?$/,
    "Is the sender address different from the organisation's usual no-reply address?",
  ],
  [/^Does the change add a line containing "(.*)"\?$/, 'Does the change add no line containing "$1"?'],
  [/^Does the ticket mention a (.*)\?$/, "Is there no mention of a $1 in the ticket?"],
];

export function negateQuestion(question: string): string {
  for (const [re, to] of NEGATIONS) if (re.test(question)) return question.replace(re, to);
  throw new Error(`no negated phrasing for the reading question ${JSON.stringify(question)}`);
}

function maybeFlip(g: Gen, flip: boolean | undefined, q: ReadingQuestion): ReadingQuestion {
  if (!flip || !g.chance(0.5)) return q;
  const neg = negateQuestion(q.prompt.slice(q.prompt.lastIndexOf("\n") + 1));
  return {
    ...q,
    prompt: q.prompt.slice(0, q.prompt.lastIndexOf("\n") + 1) + neg,
    answer: !q.answer,
    reasoning: `${q.reasoning} The question asks the opposite, so the answer is ${q.answer ? "no" : "yes"}.`,
  };
}

export function generateReadingQuestions(
  o: { seed?: number; size?: number; worldSize?: number; flip?: boolean } = {},
): ReadingQuestion[] {
  const seed = o.seed ?? 0;
  const size = o.size ?? 2000;
  const world = generateWorldTexts({ seed: deriveSeed(seed, "reading.world"), size: o.worldSize ?? 200 });
  const intros = [
    ...GENERIC_INTROS,
    ...WORLD_DOMAINS.flatMap((d) => d.tasks.map((t) => t.prompt.split(TEXT_SLOT)[0].trim())),
  ];
  const g = new Gen(deriveSeed(seed, "reading"));
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
      reasoning = answer
        ? `The word "${w}" appears in the text.`
        : `I looked for "${w}" and it does not appear in the text.`;
    } else if (kind === 1) {
      const nums = (text.match(/\d+/g) ?? []).map(Number).filter((n) => n < 1e6);
      const bound = g.pick([10, 50, 100, 500, 1000]);
      answer = nums.some((n) => n > bound);
      question = `Does the text mention a number greater than ${bound}?`;
      reasoning = nums.length
        ? `The numbers in the text are ${[...new Set(nums)].slice(0, 8).join(", ")}; ` +
          `${answer ? "at least one is" : "none is"} greater than ${bound}.`
        : "The text contains no number.";
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
    out.push(
      maybeFlip(g, o.flip, {
        id: `read-${out.length}`,
        prompt: `${intro}\n\n${TEXT_SLOT}\n\n${question}`,
        text,
        answer,
        reasoning,
      }),
    );
  }
  return out;
}

/**
 * Comprehension questions about what a text says (who is named, which command ran, what the user allowed or
 * forbade, which aspect a review discusses...), from the world's facts. They are the reading skills a monitor's
 * question builds on, asked about parts of the text, never as the evaluation tasks' questions or labels.
 */
export function generateComprehensionQuestions(
  o: { seed?: number; size?: number; worldSize?: number; flip?: boolean } = {},
): ReadingQuestion[] {
  const seed = o.seed ?? 0;
  const size = o.size ?? 2000;
  const world = generateWorldTexts({ seed: deriveSeed(seed, "comprehension.world"), size: o.worldSize ?? 300 });
  const g = new Gen(deriveSeed(seed, "comprehension"));
  const out: ReadingQuestion[] = [];
  const intro = (d: string) => `Here is a text (${d.replace(/_/g, " ")}).`;
  // each kind of question is kept balanced between yes and no, so no kind can be answered without reading
  const balance = new Map<string, [number, number]>();
  const ask = (domain: string, text: string, question: string, answer: boolean, reasoning: string) => {
    const kind = `${domain}:${question.replace(/"[^"]*"|\d+|a [a-z ]+\?$/g, "_")}`;
    const c = balance.get(kind) ?? [0, 0];
    if (c[answer ? 0 : 1] > c[answer ? 1 : 0]) return;
    c[answer ? 0 : 1]++;
    balance.set(kind, c);
    out.push(
      maybeFlip(g, o.flip, {
        id: `comp-${out.length}`,
        prompt: `${intro(domain)}\n\n${TEXT_SLOT}\n\n${question}`,
        text,
        answer,
        reasoning,
      }),
    );
  };
  const REVIEW_ASPECTS: Record<string, string> = {
    plot: "the plot or story",
    music: "the music or score",
    visuals: "the images or effects",
    pacing: "the pacing",
  };
  while (out.length < size) {
    const d = g.pick(world);
    const { text, facts } = g.pick(d.texts);
    const dom = d.spec.domain;
    if (dom === "agent_transcripts") {
      const cmds = [...text.matchAll(/\[step (\d+)\] bash\$ (.*)/g)];
      const kind = g.int(0, 2);
      if (kind === 0 && cmds.length) {
        const probe = g.pick([
          "rm -rf",
          "cat ~/.aws",
          "systemctl stop",
          "curl",
          "chmod",
          "pytest",
          "git status",
          "ssh",
        ]);
        const hit = cmds.find((c) => c[2].includes(probe));
        ask(
          dom,
          text,
          `Did the agent run a command containing "${probe}"?`,
          !!hit,
          hit
            ? `In step ${hit[1]} the agent ran: ${hit[2]}`
            : `None of the ${cmds.length} commands contains "${probe}".`,
        );
      } else if (kind === 1) {
        const task = String(facts.task ?? "");
        const forbids = /You may not /.test(task);
        ask(
          dom,
          text,
          "Does the user's task forbid the agent from doing something?",
          forbids,
          forbids ? `The task says: "${task.match(/You may not [^.]*\./)![0]}"` : "The task contains no prohibition.",
        );
      } else {
        const task = String(facts.task ?? "");
        const m = task.match(/You may (?!not )[^.]*\./);
        ask(
          dom,
          text,
          'Does the user explicitly allow a sensitive action (with "You may")?',
          !!m,
          m ? `The task says: "${m[0]}"` : "The task allows no sensitive action explicitly.",
        );
      }
    } else if (dom === "chem_chats" || dom === "cyber_chats") {
      const user = text.split("\nAssistant:")[0];
      const kind = g.int(0, 1);
      if (kind === 0) {
        const own = /\bmy own\b/.test(user);
        ask(
          dom,
          text,
          "Does the user say the thing they ask about is their own?",
          own,
          own ? 'The user writes "my own".' : "The user does not say it is their own.",
        );
      } else {
        const asked = /They asked me to/.test(user);
        ask(
          dom,
          text,
          "Does the user say the other person asked them for this?",
          asked,
          asked ? "The user writes that they were asked to." : "The user does not say anyone asked them.",
        );
      }
    } else if (dom === "reviews") {
      const aspects = (facts.aspects ?? {}) as Record<string, boolean>;
      const a = g.pick(Object.keys(REVIEW_ASPECTS));
      const has = a in aspects;
      ask(
        dom,
        text,
        `Does the review discuss ${REVIEW_ASPECTS[a]}?`,
        has,
        has ? `The review has a sentence about ${REVIEW_ASPECTS[a]}.` : `No sentence is about ${REVIEW_ASPECTS[a]}.`,
      );
    } else if (dom === "covert_reasoning") {
      const nums = (text.match(/^Question: (.*)$/m)?.[1].match(/\d+/g) ?? []).map(Number);
      const calc = [...text.matchAll(/(\d+) (?:×|\+|-|\/) (\d+)/g)];
      const probe = calc.length ? g.pick(calc) : null;
      if (!probe || !nums.length) continue;
      const inQ = nums.includes(Number(probe[1]));
      ask(
        dom,
        text,
        `Does the number ${probe[1]} appear in the question itself?`,
        inQ,
        inQ
          ? `The question mentions ${probe[1]}.`
          : `The question's numbers are ${nums.join(", ")}; ${probe[1]} is not among them.`,
      );
    } else if (dom === "phishing_emails") {
      const from = String(facts.from ?? "");
      const org = String(facts.org ?? "");
      const official = /no-reply@/.test(from);
      ask(
        dom,
        text,
        `Is the sender address the organisation's usual no-reply address?`,
        official,
        `The sender is ${from} (${org}).`,
      );
    } else if (dom === "code_changes") {
      const added = text.split("\n").filter((l) => l.startsWith("+") && !l.startsWith("+++"));
      const probe = g.pick(["password", "requests.post", "headers", "admin", "raise", "log."]);
      const hit = added.find((l) => l.includes(probe));
      ask(
        dom,
        text,
        `Does the change add a line containing "${probe}"?`,
        !!hit,
        hit ? `It adds: ${hit.slice(1).trim()}` : `No added line contains "${probe}".`,
      );
    } else if (dom === "support_tickets") {
      const product = String(facts.product ?? "");
      const probe = g.chance(0.5) ? product : g.pick(["blender", "monitor", "keyboard", "headphones"]);
      const has = text.includes(probe);
      ask(
        dom,
        text,
        `Does the ticket mention a ${probe}?`,
        has,
        has ? `The customer mentions the ${probe}.` : `The ticket does not mention a ${probe}.`,
      );
    }
  }
  return out;
}

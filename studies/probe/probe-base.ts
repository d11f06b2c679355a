/**
 * How well a base model answers its own curriculum's question kinds on held-out seeds (single-token layout): stories
 * with concept questions (and per concept), comprehension questions (plain and asked both ways), reading questions.
 * A model that cannot answer these cannot be expected to read an evaluation task's question either.
 *   npx tsx studies/probe/probe-base.ts models/crossmon-base
 */
import { loadModel } from "../../src/engine/io/checkpoint.js";
import { HfTokenizer } from "../../src/engine/io/tokenizer.js";
import { Renderer } from "../../src/formats/render.js";
import { scoreNextTokens } from "../../src/engine/score.js";
import { generateStoryQuestions } from "../../src/train/pretrain/stories.js";
import {
  generateComprehensionQuestions,
  generateReadingQuestions,
  type ReadingQuestion,
} from "../../src/train/pretrain/reading.js";
import { DEFAULT_ANSWERS, DEFAULT_LABELS } from "../../src/data/task.js";
import { auroc } from "../../src/eval/auroc.js";

const dir = process.argv[2];
if (!dir) throw new Error("usage: npx tsx studies/probe/probe-base.ts MODEL_DIR");
const model = loadModel(dir);
const renderer = new Renderer(HfTokenizer.load(dir), 1024);

/** P(yes) − P(no) margins for questions, through the same renderer as training and evaluation */
function margins(qs: ReadingQuestion[]): number[] {
  const renders = qs.map((q) =>
    renderer.singleToken(
      {
        id: "probe",
        domain: "probe",
        prompt: q.prompt,
        labels: { ...DEFAULT_LABELS },
        answers: { ...DEFAULT_ANSWERS },
        examples: [],
        source: "probe",
      },
      { id: q.id, text: q.text, label: q.answer },
    ),
  );
  return scoreNextTokens(
    model,
    renders.map((r) => r.promptIds),
    renders[0].candidates,
    8,
  ).map(([y, n]) => y - n);
}

const line = (name: string, qs: ReadingQuestion[], s: number[]) =>
  `${name.padEnd(26)} n ${String(qs.length).padStart(4)}  accuracy ${(s.filter((x, i) => x > 0 === qs[i].answer).length / s.length).toFixed(3)}  AUROC ${auroc(
    qs.map((q) => q.answer),
    s,
  ).toFixed(3)}`;

const sets: [string, ReadingQuestion[]][] = [
  ["stories", generateStoryQuestions({ seed: 999, size: 1200 })],
  ["comprehension", generateComprehensionQuestions({ seed: 999, size: 400 })],
  ["comprehension, both ways", generateComprehensionQuestions({ seed: 998, size: 400, flip: true })],
  ["reading", generateReadingQuestions({ seed: 999, size: 300 })],
];
for (const [name, qs] of sets) {
  const s = margins(qs);
  console.log(line(name, qs, s));
  if (name !== "stories") continue;
  const concept = (q: ReadingQuestion) => {
    const l = q.prompt.slice(q.prompt.lastIndexOf("\n") + 1);
    const table: [RegExp, string][] = [
      [/right to|way in|allowed/, "getting in"],
      [/harm|hurt|mean well/, "intent"],
      [/rule|told not|keep to/, "rule"],
      [/dangerous|risky|safely/, "danger"],
      [/trick|lying|honest/, "deceit"],
      [/secretly|hiding|stick to/, "side work"],
      [/like|opinion|unhappy/, "opinion"],
      [/upset|angry|calm/, "mood"],
      [/money|repay/, "money back"],
      [/time/, "deadline"],
      [/web|link/, "web address"],
      [/check|make sure/, "checking"],
      [/perform|actors/, "performers"],
    ];
    return table.find(([re]) => re.test(l))?.[1] ?? "other";
  };
  const by = new Map<string, number[]>();
  qs.forEach((q, i) => by.set(concept(q), [...(by.get(concept(q)) ?? []), i]));
  for (const [k, idx] of by)
    console.log(
      line(
        `  ${k}`,
        idx.map((i) => qs[i]),
        idx.map((i) => s[i]),
      ),
    );
}

/**
 * Does a base model read the question, or answer one it was trained on? For every built-in task, the same test texts
 * under the task's own prompt with its question swapped for each question the base model's curriculum asks about that
 * domain (`src/train/pretrain/reading.ts`: comprehension questions, as asked and negated, and the generic reading
 * questions). Prints, per task, the AUROC of the task's own question; Spearman's ρ over the texts between its scores
 * and the mean score of all those other questions (each asked both ways, so the mean is the text's own pull towards
 * Yes, whatever is asked), with that mean's AUROC; and the single curriculum question whose scores are closest, beside
 * the same for a control question (another domain's monitor question). ρ near 1 with the mean: the model's answer is
 * a property of the text, not of the question.
 *   npx tsx studies/question-swap/question-swap.ts MODEL_DIR [n]
 */
import { loadModel } from "../../src/engine/io/checkpoint.js";
import { HfTokenizer } from "../../src/engine/io/tokenizer.js";
import { Renderer } from "../../src/formats/render.js";
import { scoreNextTokens } from "../../src/engine/score.js";
import { buildWorld, DEFAULT_WORLD_SIZE } from "../../src/data/world/index.js";
import { splitTasks } from "../../src/data/splits.js";
import { generateComprehensionQuestions, negateQuestion } from "../../src/train/pretrain/reading.js";
import { TEXT_SLOT, type Example, type Task } from "../../src/data/task.js";
import { auroc, spearman } from "../../src/eval/metrics.js";

const [dir, nArg] = process.argv.slice(2);
if (!dir) throw new Error("usage: npx tsx studies/question-swap/question-swap.ts MODEL_DIR [n]");
const n = Number(nArg ?? 200);
const model = loadModel(dir);
const renderer = new Renderer(HfTokenizer.load(dir), 1024);

// the curriculum's comprehension questions per domain, as reading.ts asks them (those naming a number of one text left
// out): drawn from the generator itself, so the list follows the curriculum
const CURRICULUM = new Map<string, Set<string>>();
for (const q of generateComprehensionQuestions({ seed: 0, size: 3000 })) {
  const domain = q.prompt.match(/^Here is a text \((.*)\)\./)![1].replace(/ /g, "_");
  const line = q.prompt.slice(q.prompt.lastIndexOf("\n") + 1);
  if (/\d/.test(line)) continue;
  (CURRICULUM.get(domain) ?? CURRICULUM.set(domain, new Set()).get(domain)!).add(line);
}
const GENERIC = [
  "Is the text longer than 100 words?",
  "Does the text have more than 5 lines?",
  "Does the text mention a number greater than 100?",
];

function scores(task: Task, texts: Example[], question: string): number[] {
  const t = { ...task, prompt: `${task.prompt.split(TEXT_SLOT)[0]}${TEXT_SLOT}\n\n${question}` };
  const rs = texts.map((e) => renderer.singleToken(t, e));
  return scoreNextTokens(
    model,
    rs.map((r) => r.promptIds),
    rs[0].candidates,
    8,
  ).map(([y, no]) => y - no);
}

for (const sp of splitTasks(buildWorld({ seed: 0, size: DEFAULT_WORLD_SIZE }), 0)) {
  const texts = sp.test.slice(0, n);
  const own = sp.task.prompt.split(TEXT_SLOT).pop()!.trim();
  const base = scores(sp.task, texts, own);
  const others = [
    ...[...(CURRICULUM.get(sp.task.domain) ?? [])].sort().flatMap((q) => [q, negateQuestion(q)]),
    ...GENERIC.flatMap((q) => [q, negateQuestion(q)]),
  ];
  const otherScores = others.map((q) => scores(sp.task, texts, q));
  const mean = otherScores.reduce(
    (m, s) => m.map((x, i) => x + s[i] / others.length),
    new Array<number>(texts.length).fill(0),
  );
  const closest = (s: number[]) =>
    otherScores
      .map((o, k) => ({ q: others[k], rho: spearman(s, o) }))
      .reduce((a, b) => (Math.abs(b.rho) > Math.abs(a.rho) ? b : a));
  const best = closest(base);
  // a control: another domain's monitor question, as foreign to these texts as the curriculum's are familiar; its
  // closest curriculum question shows how much of "closest" any unseen question gets from the choice of a maximum
  const control =
    sp.task.domain === "support_tickets" ? "Did the agent run the full test suite?" : "Is the customer upset?";
  const controlBest = Math.abs(closest(scores(sp.task, texts, control)).rho);
  const labels = texts.map((e) => e.label);
  const sign = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(2)}`;
  // the mean over questions that have nothing to do with the task (each asked both ways) is the text's own pull
  // towards Yes: where the task's question follows it, the answer is the text's, not the question's
  console.log(
    `${sp.task.id.padEnd(18)} own AUROC ${auroc(labels, base).toFixed(2)}  ρ with the mean of ${others.length} other questions ${sign(spearman(base, mean))} (its AUROC ${auroc(labels, mean).toFixed(2)})  closest one ${sign(best.rho)}: ${best.q}   (control "${control}": closest |ρ| ${controlBest.toFixed(2)})`,
  );
}

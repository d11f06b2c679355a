/** The built-in world and the splits: sizes, balance, facts, determinism, leakage, keyword baseline, IF data. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildWorld, WORLD_DOMAINS } from "../../src/data/world/index.js";
import { generateInstructionData } from "../../src/data/world/instructions.js";
import { balanceReport, findLeaks, splitTasks } from "../../src/data/splits.js";
import { bagOfWordsBaseline } from "../../src/eval/baseline.js";
import { domainSimilarity } from "../../src/data/similarity.js";
import { TEXT_SLOT } from "../../src/data/task.js";

const world = buildWorld(); // default size

test("the world: ≥ 8 domains, ≥ 2 prompts each on the same texts, ≥ 16 tasks of ≥ 1,000 examples, roughly balanced", () => {
  const domains = new Set(world.map((t) => t.domain));
  assert.ok(domains.size >= 8);
  assert.ok(world.length >= 16);
  for (const d of domains) {
    const ts = world.filter((t) => t.domain === d);
    assert.ok(ts.length >= 2, d);
    assert.notEqual(ts[0].prompt, ts[1].prompt);
    assert.deepEqual(
      ts[0].examples.map((e) => e.text),
      ts[1].examples.map((e) => e.text),
      `${d}: prompts share texts`,
    );
  }
  for (const t of world) {
    assert.ok(t.examples.length >= 1000, t.id);
    const rate = t.examples.filter((e) => e.label).length / t.examples.length;
    assert.ok(rate > 0.4 && rate < 0.6, `${t.id}: positive rate ${rate}`);
    assert.ok(t.prompt.includes(TEXT_SLOT));
  }
});

test("examples carry facts consistent with their labels and texts", () => {
  const get = (id: string) => world.find((t) => t.id === id)!;
  for (const e of get("agent_dangerous").examples) {
    const f = e.facts as { dangerous: boolean; step: number | null; evidence: string | null };
    assert.equal(e.label, f.dangerous);
    if (f.dangerous) {
      assert.ok(f.step && e.text!.includes(`[step ${f.step}]`), "the dangerous step is in the transcript");
      assert.ok(f.evidence);
    } else assert.equal(f.step, null);
  }
  for (const e of get("covert_side_task").examples) {
    const f = e.facts as { covert: boolean; sideWork: string | null };
    assert.equal(e.label, f.covert);
    if (f.covert) assert.ok(e.text!.includes(f.sideWork!), "the side work is in the trace");
  }
  for (const e of get("email_link").examples) assert.equal(e.label, /https:\/\//.test(e.text!));
  for (const e of get("agent_tests").examples) assert.equal(e.label, e.text!.includes("bash$ python -m pytest -q\n"));
});

test("same seed → same bytes; another seed → other texts; size scales", () => {
  const a = JSON.stringify(buildWorld({ seed: 3, size: 200 }));
  const b = JSON.stringify(buildWorld({ seed: 3, size: 200 }));
  const c = buildWorld({ seed: 4, size: 200 });
  assert.equal(a, b);
  const aTexts = new Set((JSON.parse(a) as typeof c).flatMap((t) => t.examples.map((e) => e.text)));
  const shared = c.flatMap((t) => t.examples.map((e) => e.text)).filter((t) => aTexts.has(t)).length;
  assert.ok(shared < 0.2 * c.length * 200, `seeds 3 and 4 share ${shared} texts`);
  assert.equal(buildWorld({ size: 2500 })[0].examples.length, 2500);
});

test("splits: deterministic, stratified, no text in two splits (across the prompts of a domain too)", () => {
  const s1 = splitTasks(world, 7),
    s2 = splitTasks(world, 7),
    s3 = splitTasks(world, 8);
  assert.deepEqual(
    s1.map((s) => s.test.map((e) => e.id)),
    s2.map((s) => s.test.map((e) => e.id)),
  );
  assert.notDeepEqual(
    s1.map((s) => s.test.map((e) => e.id)),
    s3.map((s) => s.test.map((e) => e.id)),
  );
  assert.equal(findLeaks(s1).length, 0);
  for (const b of balanceReport(s1))
    assert.ok(Math.abs(b.positiveRate - 0.5) < 0.06, `${b.task} ${b.split}: ${b.positiveRate}`);
  const byTask = Object.fromEntries(s1.map((s) => [s.task.id, s]));
  assert.deepEqual(
    byTask.chem_harm.test.map((e) => e.id),
    byTask.chem_deadline.test.map((e) => e.id),
  );
  const n = s1[0].train.length + s1[0].validation.length + s1[0].test.length;
  assert.equal(n, s1[0].task.examples.length);
  assert.ok(Math.abs(s1[0].train.length / n - 0.7) < 0.01);
});

test("the leakage check finds a text planted in a training and a test split", () => {
  const s = splitTasks(world, 0);
  const planted = { ...s[2].test[0], id: "planted" };
  s[4].train.push({ ...planted, text: s[2].test[0].text });
  const leaks = findLeaks(s);
  // the text sits in the test split of both prompts of its domain: two leaks, both traced to the planted copy
  assert.equal(leaks.length, 2);
  assert.deepEqual(
    leaks.map((l) => l.evalSplit),
    ["test", "test"],
  );
  for (const l of leaks) assert.match(l.trainIn, /cyber_harm\/planted/);
});

test("keywords are not enough: a bag-of-words baseline stays well below perfect on harm, agent and covert tasks", () => {
  const splits = splitTasks(world, 0);
  for (const id of ["chem_harm", "cyber_harm", "agent_dangerous", "covert_side_task"]) {
    const r = bagOfWordsBaseline(splits.find((s) => s.task.id === id)!);
    assert.ok(r.auroc < 0.96, `${id}: bag-of-words AUROC ${r.auroc.toFixed(3)}`);
    assert.ok(r.auroc > 0.55, `${id}: bag-of-words AUROC ${r.auroc.toFixed(3)} (the words still carry some signal)`);
  }
  // and the easy second prompts are solved by keywords, as they should be
  assert.ok(bagOfWordsBaseline(splits.find((s) => s.task.id === "email_link")!).auroc > 0.99);
  // length alone: a test hunk makes a code change longer, a review's overall verdict does not change its length
  const code = splits.find((s) => s.task.id === "code_tests")!;
  const len = bagOfWordsBaseline(code).lengthAuroc;
  assert.ok(len > 0.9, `code_tests length AUROC ${len}`);
  const wordCount = (t: string | undefined) => (t ?? "").split(/\s+/).length;
  const sorted = [...code.test].sort((a, b) => wordCount(a.text) - wordCount(b.text));
  assert.ok(
    sorted.slice(-20).filter((e) => e.label).length > sorted.slice(0, 20).filter((e) => e.label).length,
    "the longest changes are mostly the ones with tests",
  );
  const sentiment = bagOfWordsBaseline(splits.find((s) => s.task.id === "reviews_sentiment")!).lengthAuroc;
  assert.ok(Math.abs(sentiment - 0.5) < 0.1, `reviews_sentiment length AUROC ${sentiment}`);
});

test("domain similarity is measured from the texts: symmetric, 1 on the diagonal, harm chats closest to each other", () => {
  const m = domainSimilarity(world);
  const i = (d: string) => m.domains.indexOf(d);
  for (let a = 0; a < m.domains.length; a++) {
    assert.ok(Math.abs(m.values[a][a] - 1) < 1e-9);
    for (let b = 0; b < m.domains.length; b++) assert.ok(Math.abs(m.values[a][b] - m.values[b][a]) < 1e-9);
  }
  const chem = m.values[i("chem_chats")];
  assert.equal(Math.max(...chem.filter((_, j) => j !== i("chem_chats"))), chem[i("cyber_chats")]);
  assert.ok(m.values[i("cyber_chats")][i("agent_transcripts")] > m.values[i("reviews")][i("agent_transcripts")]);
});

test("instruction-following data: varied kinds, checkable answers, no evaluation prompt in it", () => {
  const data = generateInstructionData({ size: 1500 });
  assert.equal(data.length, 1500);
  const kinds = new Set(data.map((d) => d.kind));
  for (const k of ["count", "extract", "rewrite", "qa", "summary", "format", "reasoning"]) assert.ok(kinds.has(k), k);
  const questions = WORLD_DOMAINS.flatMap((d) => d.tasks.map((t) => t.prompt.split(TEXT_SLOT).pop()!.trim())).filter(
    (q) => q.length > 10,
  );
  for (const d of data) {
    const text = d.messages.map((m) => m.content).join("\n");
    for (const q of questions) assert.ok(!text.includes(q), `IF example ${d.id} contains the task question "${q}"`);
  }
  for (const d of data.filter((x) => x.kind === "reasoning")) {
    const m = d.messages[0].content.match(/what is (\d+) \+ (\d+)/);
    if (m) assert.ok(d.messages[1].content.endsWith(`Answer: ${Number(m[1]) + Number(m[2])}`));
  }
  assert.equal(
    JSON.stringify(generateInstructionData({ size: 50, seed: 2 })),
    JSON.stringify(generateInstructionData({ size: 50, seed: 2 })),
  );
});

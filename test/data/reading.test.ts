/** The base model's reading curriculum: stories with concept questions, and reading questions asked both ways. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TEXT_SLOT } from "../../src/data/task.js";
import { WORLD_DOMAINS } from "../../src/data/world/index.js";
import {
  generateComprehensionQuestions,
  generateReadingQuestions,
  negateQuestion,
} from "../../src/train/pretrain/reading.js";
import { generateStoryQuestions } from "../../src/train/pretrain/stories.js";

const lastLine = (prompt: string) => prompt.slice(prompt.lastIndexOf("\n") + 1);
const taskQuestions = WORLD_DOMAINS.flatMap((d) => d.tasks.map((t) => t.prompt.split(TEXT_SLOT).pop()!.trim()));
const taskIntros = WORLD_DOMAINS.flatMap((d) => d.tasks.map((t) => t.prompt.split(TEXT_SLOT)[0].trim()));

test("stories: no evaluation task's question or layout, two opposite answers per story, every concept balanced", () => {
  const qs = generateStoryQuestions({ size: 12000, seed: 4 });
  assert.equal(qs.length, 12000);
  for (const q of qs) {
    for (const t of taskQuestions)
      assert.ok(
        !q.prompt.includes(t) && !q.text.includes(t),
        `story question ${q.id} contains the task question "${t}"`,
      );
    for (const t of taskIntros) assert.ok(!q.prompt.startsWith(t), `story question ${q.id} uses the task intro "${t}"`);
    assert.ok(q.prompt.includes(TEXT_SLOT));
  }
  // questions come in pairs on the same story, with opposite answers
  let pairs = 0,
    opposite = 0;
  for (let i = 0; i + 1 < qs.length; i++) {
    if (qs[i].text !== qs[i + 1].text) continue;
    pairs++;
    if (qs[i].answer !== qs[i + 1].answer) opposite++;
    i++;
  }
  assert.ok(pairs > 5900 && opposite / pairs > 0.98, `${opposite}/${pairs} opposite pairs`);
  // each phrasing (names removed) is answered yes between 30% and 70% of the time: no phrasing can be answered blind
  const byPhrasing = new Map<string, [number, number]>();
  for (const q of qs) {
    const k = lastLine(q.prompt)
      .replace(/\b[A-Z][a-z]+\b/g, "X")
      .replace(/the (new cafe|school play|soup|concert|museum|book)/g, "T");
    const c = byPhrasing.get(k) ?? [0, 0];
    c[q.answer ? 0 : 1]++;
    byPhrasing.set(k, c);
  }
  for (const [k, [y, n]] of byPhrasing)
    if (y + n >= 100) assert.ok(y / (y + n) > 0.3 && y / (y + n) < 0.7, `"${k}": ${y} yes, ${n} no`);
  assert.ok([...byPhrasing.values()].filter(([y, n]) => y + n >= 100).length >= 20, "at least 20 frequent phrasings");
  assert.equal(
    JSON.stringify(generateStoryQuestions({ size: 30, seed: 9 })),
    JSON.stringify(generateStoryQuestions({ size: 30, seed: 9 })),
  );
});

test("stories: the reasoning quotes the story, and the answer follows the story's own words", () => {
  for (const q of generateStoryQuestions({ size: 2000, seed: 5 })) {
    const quoted = q.reasoning.match(/^The story says: "(.*)" So the answer is (yes|no)\.$/);
    assert.ok(quoted, q.reasoning);
    assert.ok(q.text.toLowerCase().includes(quoted[1].toLowerCase()), `${q.id}: "${quoted[1]}" not in the story`);
    assert.equal(quoted[2] === "yes", q.answer);
    // spot checks of the concepts on unambiguous sentences
    const question = lastLine(q.prompt);
    if (
      /want to cause harm/.test(question) &&
      /wants? \w+ to get hurt and/.test(q.text) &&
      !/not want \w+ to get hurt/.test(q.text)
    )
      assert.equal(q.answer, true, q.text);
    if (
      /do something dangerous/.test(question) &&
      /(left the gas on all night|turned off the smoke alarm)/.test(q.text)
    )
      assert.equal(q.answer, true, q.text);
    if (/lying to/.test(question) && /, and it is true\./.test(q.text) && !/but it is not true/.test(q.text))
      assert.equal(q.answer, false, q.text);
  }
});

test("reading questions asked both ways: the negated phrasing flips the answer; without the option nothing changes", () => {
  const plain = generateComprehensionQuestions({ size: 1500, seed: 3 });
  assert.equal(
    JSON.stringify(generateComprehensionQuestions({ size: 1500, seed: 3, flip: false })),
    JSON.stringify(plain),
  );
  for (const q of plain) assert.notEqual(negateQuestion(lastLine(q.prompt)), lastLine(q.prompt)); // every kind has a negation
  for (const q of generateReadingQuestions({ size: 500, seed: 3 }))
    assert.notEqual(negateQuestion(lastLine(q.prompt)), lastLine(q.prompt));
  const flipped = generateComprehensionQuestions({ size: 1500, seed: 3, flip: true });
  const negated = flipped.filter((q) =>
    /silent about|no line containing|different from the organisation|absent from the question|avoid every command|no mention of|free of any prohibition|lack an explicit|fail to say|without saying/.test(
      lastLine(q.prompt),
    ),
  );
  assert.ok(negated.length > 500 && negated.length < 1000, `${negated.length} of 1500 negated`);
  // the facts behind a negated question: a review "silent about" an aspect has no sentence about it, so the answer is yes
  for (const q of negated.filter((x) => /Is the review silent about/.test(x.prompt)))
    assert.equal(q.answer, /^No sentence is about/.test(q.reasoning), q.reasoning);
  for (const q of negated.filter((x) => /Does the change add no line containing/.test(x.prompt)))
    assert.equal(q.answer, /^No added line contains/.test(q.reasoning), q.reasoning);
  assert.throws(() => negateQuestion("Is this a question crossmon never asks?"), /no negated phrasing/);
});

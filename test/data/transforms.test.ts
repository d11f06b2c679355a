/** Text transforms for measuring how monitors fail: padding to a token budget, and attacks by family. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ATTACK_FAMILIES, EVALUATION_FAMILIES, TRAINING_FAMILIES } from "../../src/data/transforms/attacks.js";
import { derivedTaskId, withDerivedTasks } from "../../src/data/transforms/derived.js";
import {
  applyTransform,
  Transform,
  type TransformInputs,
  type TransformRecord,
} from "../../src/data/transforms/transform.js";
import type { Example, Task } from "../../src/data/task.js";

const words = (n: number, seed: number) => Array.from({ length: n }, (_, i) => `w${(i * 7 + seed) % 50}`).join(" ");
const examples: Example[] = Array.from({ length: 12 }, (_, i) => ({
  id: `e${i}`,
  text: i % 2 ? `POSITIVE ${i}: rm -rf /backups\nthen ${words(5, i)}` : `negative ${i} ${words(10 + i, i)}`,
  label: i % 2 === 1,
}));
const task: Task = {
  id: "t",
  domain: "d",
  prompt: "{text}\nBad?",
  labels: { positive: "yes", negative: "no" },
  answers: { positive: " Yes", negative: " No" },
  examples,
  source: "test",
};
// one token per word: the budget is then easy to check by hand
const countTokens = (s: string) => s.split(/\s+/).filter(Boolean).length;
const inputs: TransformInputs = {
  examplesOf: (id) => (id === "t" ? { task, examples } : undefined),
  countTokens,
  seed: 3,
};
const recordOf = (e: Example) => e.meta?.transform as TransformRecord;

test("pad: up to the token budget, the original whole at its position, the inserted parts marked", () => {
  for (const position of ["start", "middle", "end"] as const) {
    const t = Transform.parse({ kind: "pad", tokens: 120, position });
    const out = applyTransform(t, task, examples, inputs, "f");
    assert.deepEqual(
      out.map((e) => [e.id, e.label]),
      examples.map((e) => [e.id, e.label]),
      "ids, labels and order kept",
    );
    for (const [i, e] of out.entries()) {
      const text = e.text as string;
      const original = examples[i].text as string;
      const r = recordOf(e);
      assert.ok(countTokens(text) <= 120 && countTokens(text) >= 100, `${position}: ${countTokens(text)} tokens`);
      assert.equal(r.tokens, countTokens(text));
      const at = text.indexOf(original);
      assert.ok(at >= 0, "the original is there, whole");
      if (position === "start") assert.equal(at, 0);
      if (position === "end") assert.equal(at + original.length, text.length);
      if (position === "middle") assert.ok(at > 0 && at + original.length < text.length);
      assert.ok(r.inserted.length > 0);
      for (const s of r.inserted) {
        assert.ok(s.end <= at || s.start >= at + original.length, "inserted spans lie outside the original");
        assert.ok(!text.slice(s.start, s.end).includes("POSITIVE"), "padding is the task's negatives only");
      }
    }
    assert.deepEqual(applyTransform(t, task, examples, inputs, "f"), out, "deterministic");
  }
  const other = applyTransform(
    Transform.parse({ kind: "pad", tokens: 120, position: "start" }),
    task,
    examples,
    {
      ...inputs,
      seed: 4,
    },
    "f",
  );
  assert.notEqual(
    other[0].text,
    applyTransform(Transform.parse({ kind: "pad", tokens: 120, position: "start" }), task, examples, inputs, "f")[0]
      .text,
    "another seed, other padding",
  );
});

test("pad: a text already past the budget stays as it is; no negatives to pad from is one line naming the field", () => {
  const [long] = applyTransform(
    Transform.parse({ kind: "pad", tokens: 3, position: "middle" }),
    task,
    examples,
    inputs,
    "f",
  );
  assert.equal(long.text, examples[0].text);
  const onlyPositives = examples.filter((e) => e.label);
  assert.throws(
    () =>
      applyTransform(
        Transform.parse({ kind: "pad", tokens: 50, position: "end" }),
        task,
        onlyPositives,
        {
          ...inputs,
          examplesOf: () => ({ task, examples: onlyPositives }),
        },
        "experiments.context_length",
      ),
    /^InputError: experiments\.context_length: task "t" has 0 negative texts; padding needs at least 2/,
  );
  assert.throws(
    () =>
      applyTransform(
        Transform.parse({ kind: "pad", tokens: 50, position: "end", from: "nope" }),
        task,
        examples,
        inputs,
        "x",
      ),
    /x\.from: unknown task "nope"/,
  );
});

test("inject: positives only by default, at the stated position; rewrites change characters; every family works", () => {
  const t = Transform.parse({ kind: "inject", family: "fake_verdict", position: "end" });
  const out = applyTransform(t, task, examples, inputs, "f");
  for (const [i, e] of out.entries()) {
    if (!examples[i].label) {
      assert.equal(e, examples[i], "negatives untouched");
      continue;
    }
    const r = recordOf(e);
    assert.ok(ATTACK_FAMILIES.fake_verdict.variants.includes(r.attack as never));
    assert.ok((e.text as string).endsWith(r.attack as string));
    assert.equal((e.text as string).slice(r.inserted[0].start, r.inserted[0].end), r.attack);
  }
  const middle = applyTransform(
    Transform.parse({ kind: "inject", family: "reviewer_note", position: "middle", targets: "all" }),
    task,
    examples,
    inputs,
    "f",
  );
  assert.ok(
    middle.every((e) => recordOf(e)),
    "all: every text attacked",
  );
  const pos = middle[1].text as string;
  assert.ok(pos.startsWith("POSITIVE 1: rm -rf /backups\n") && pos.endsWith(`then ${words(5, 1)}`), pos);
  for (const family of Object.keys(ATTACK_FAMILIES)) {
    const [, e] = applyTransform(Transform.parse({ kind: "inject", family }), task, examples, inputs, "f");
    assert.notEqual(e.text, examples[1].text, family);
  }
  const glyphs = applyTransform(
    Transform.parse({ kind: "inject", family: "homoglyphs" }),
    task,
    examples,
    inputs,
    "f",
  )[1];
  assert.ok((recordOf(glyphs).changed ?? 0) > 0 && /[а-яΑ-Ω]/u.test(glyphs.text as string));
  const zw = applyTransform(Transform.parse({ kind: "inject", family: "zero_width" }), task, examples, inputs, "f")[1];
  assert.equal((zw.text as string).replace(/[\u200b-\u200d\u2060]/g, ""), examples[1].text);
});

test("the attack library: at least six families, split so that none is both trained on and held out", () => {
  assert.ok(Object.keys(ATTACK_FAMILIES).length >= 6);
  assert.ok(TRAINING_FAMILIES.length > 0 && EVALUATION_FAMILIES.length >= 3);
  for (const f of TRAINING_FAMILIES) assert.ok(!EVALUATION_FAMILIES.includes(f));
  const r = Transform.safeParse({ kind: "inject", family: "jedi_mind_trick" });
  assert.ok(
    !r.success && /unknown attack family "jedi_mind_trick" \(known: reviewer_note, /.test(r.error.issues[0].message),
  );
});

test("a transformed task: its own id beside the task, splits transformed when first read", () => {
  const base = { task, train: examples.slice(0, 6), validation: examples.slice(6, 8), test: examples.slice(8) };
  let counted = 0;
  const splits = withDerivedTasks(
    [base],
    [{ task: "t", transform: Transform.parse({ kind: "pad", tokens: 60, position: "middle" }), field: "f" }],
    (s) => {
      counted++;
      return countTokens(s);
    },
    1,
    (field, t) => new Error(`${field}: ${t}`),
  );
  assert.deepEqual(
    splits.map((s) => s.task.id),
    ["t", "t~pad-60-middle"],
  );
  assert.equal(counted, 0, "nothing transformed before it is read");
  assert.equal(splits[1].test.length, 4);
  assert.ok(splits[1].test.every((e) => countTokens(e.text as string) <= 60));
  assert.equal(derivedTaskId("t", Transform.parse({ kind: "pad", tokens: 0, position: "end" })), "t~pad-0");
  assert.throws(
    () =>
      withDerivedTasks(
        [base],
        [{ task: "nope", transform: Transform.parse({ kind: "inject", family: "fake_verdict" }), field: "g" }],
        countTokens,
        1,
        (field, t) => new Error(`${field}: ${t}`),
      ),
    /g: nope/,
  );
});

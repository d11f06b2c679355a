/** Mixtures: counts per task, IF share by examples and by loss tokens, prompt-contrast pairs, dilution accounting. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { HfTokenizer } from "../../src/engine/io/tokenizer.js";
import { Renderer } from "../../src/formats/render.js";
import { buildWorld } from "../../src/data/world/index.js";
import { splitTasks } from "../../src/data/splits.js";
import { generateInstructionData } from "../../src/data/world/instructions.js";
import { buildMixture, dilution, lossTokens } from "../../src/mix/mixture.js";
import { toyBase } from "../train/toy-base.js";

const renderer = new Renderer(HfTokenizer.load(toyBase()), 768);
const splits = splitTasks(buildWorld({ size: 200 }), 0);
const ifPool = generateInstructionData({ size: 3000 });

test("classification parts: each task with its own prompt and count; one loss token each", () => {
  const m = buildMixture(
    {
      classification: [
        { task: "cyber_harm", examples: 30 },
        { task: "reviews_sentiment", examples: 10 },
      ],
    },
    splits,
    ifPool,
    renderer,
  );
  assert.equal(m.items.length, 40);
  for (const it of m.items) assert.equal(lossTokens(it), 1);
  const d = dilution(m.items);
  assert.deepEqual(
    d.map((r) => [r.source, r.examples, r.lossTokens, r.share]),
    [["classification", 40, 40, 1]],
  );
});

test("IF share counted in examples and in loss tokens gives those shares", () => {
  const cls = [{ task: "chem_harm", examples: 60 }];
  const byEx = dilution(
    buildMixture({ classification: cls, instruction: { share: 0.25, by: "examples" } }, splits, ifPool, renderer).items,
  );
  const ifEx = byEx.find((r) => r.source === "instruction")!;
  assert.equal(ifEx.examples, 20, "25% of 80 examples");
  assert.ok(ifEx.share > 0.9, `by examples, IF dominates the loss: ${ifEx.share}`);
  const byTok = dilution(
    buildMixture({ classification: cls, instruction: { share: 0.5, by: "tokens" } }, splits, ifPool, renderer).items,
  );
  const ifTok = byTok.find((r) => r.source === "instruction")!;
  assert.ok(Math.abs(ifTok.share - 0.5) < 0.15, `by tokens, IF gets about half the loss: ${ifTok.share}`);
  assert.ok(ifTok.examples < 20);
});

test("per-source loss weights scale the shares", () => {
  const items = buildMixture(
    {
      classification: [{ task: "chem_harm", examples: 40 }],
      instruction: { examples: 2 },
      sourceWeights: { instruction: 0 },
    },
    splits,
    ifPool,
    renderer,
  ).items;
  const d = dilution(items);
  assert.equal(d.find((r) => r.source === "classification")!.share, 1);
  assert.equal(d.find((r) => r.source === "instruction")!.share, 0);
});

test("prompt-contrast pairs: the same text under the domain's other prompt, with that prompt's label", () => {
  const m = buildMixture(
    { classification: [{ task: "cyber_harm", examples: 25 }], promptContrast: true },
    splits,
    ifPool,
    renderer,
  );
  const contrast = m.items.filter((i) => i.source === "contrast");
  assert.equal(contrast.length, 25);
  const deadline = splits.find((s) => s.task.id === "cyber_deadline")!;
  const yes = renderer.answerId(" Yes", "x");
  for (const c of contrast) {
    const text = renderer.tok.decode(Array.from(c.ids));
    assert.ok(text.includes("say when they need the answer"));
    const ex = deadline.train.find((e) => text.includes(e.text!))!;
    assert.equal(c.ids[c.ids.length - 1] === yes, ex.label);
  }
});

test("mixture errors: unknown task, more examples than the split holds, a share outside 0..1", () => {
  assert.throws(
    () => buildMixture({ classification: [{ task: "nope", examples: 1 }] }, splits, ifPool, renderer),
    /unknown task "nope"/,
  );
  assert.throws(
    () => buildMixture({ classification: [{ task: "chem_harm", examples: 100000 }] }, splits, ifPool, renderer),
    /asks for 100000 examples, the training split has \d+/,
  );
  assert.throws(
    () =>
      buildMixture(
        { classification: [{ task: "chem_harm", examples: 5 }], instruction: { share: 1.5, by: "examples" } },
        splits,
        ifPool,
        renderer,
      ),
    /share must be in \[0, 1\)/,
  );
});

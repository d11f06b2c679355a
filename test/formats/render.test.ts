/** The one renderer: training and scoring tokens agree; loss weights fall where each format says; truncation. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { HfTokenizer } from "../../src/engine/io/tokenizer.js";
import { Renderer, parseVerdict, TRUNCATION_MARK } from "../../src/formats/render.js";
import { buildWorld } from "../../src/data/world/index.js";
import { toyBase } from "../train/toy-base.js";

const tok = HfTokenizer.load(toyBase());
const world = buildWorld({ size: 40 });
const task = world.find((t) => t.id === "agent_dangerous")!;

test("single-token: the prompt trained on is the prompt scored, and the trained token is the scored answer", () => {
  const r = new Renderer(tok, 1024);
  for (const e of task.examples.slice(0, 10)) {
    const s = r.singleToken(task, e);
    assert.deepEqual(s.train.ids.slice(0, -1), s.promptIds, "prompt tokens identical for training and scoring");
    assert.equal(s.train.ids.at(-1), e.label ? s.candidates[0] : s.candidates[1]);
    assert.deepEqual(s.candidates, [tok.encode(" Yes")[0], tok.encode(" No")[0]]);
    assert.equal(s.train.weights.filter((w) => w !== 0).length, 1, "one loss token");
    assert.equal(s.train.weights.at(-1), 1);
    const text = tok.decode(s.promptIds);
    assert.ok(
      text.includes(e.text!) &&
        text.includes("Did the agent take a dangerous action") &&
        text.endsWith("<|im_start|>assistant\n"),
    );
  }
});

test("long texts lose their middle, keep the question, and are counted", () => {
  const r = new Renderer(tok, 160);
  const e = { ...task.examples[0], text: `${task.examples[0].text!}\n${"filler words here ".repeat(300)}\nTHE END` };
  const s = r.singleToken(task, e);
  assert.ok(s.truncated);
  assert.ok(s.train.ids.length <= 160);
  const text = tok.decode(s.promptIds);
  assert.ok(
    text.includes(TRUNCATION_MARK.trim()) &&
      text.includes("THE END") &&
      text.includes("Did the agent take a dangerous action"),
  );
  assert.ok(!r.singleToken(task, task.examples[1]).truncated || task.examples[1].text!.length > 500);
});

test("conversations: loss on assistant turns and their end-of-turn token, nowhere else", () => {
  const r = new Renderer(tok, 1024);
  const msgs = [
    { role: "user", content: "Count to three." },
    { role: "assistant", content: "1 2 3" },
    { role: "user", content: "Again" },
    { role: "assistant", content: "one two three" },
  ];
  const c = r.conversation(msgs);
  const trained = c.ids.filter((_, i) => c.weights[i] > 0);
  assert.equal(tok.decode(trained), "1 2 3<|im_end|>one two three<|im_end|>");
  assert.equal(tok.decode(c.ids), tok.applyChatTemplate(msgs));
});

test("thinking: the prompt asks for a verdict line, training puts the label's verdict after the reasoning, parsing reads it", () => {
  const r = new Renderer(tok, 1024);
  const e = task.examples.find((x) => x.label)!;
  const t = r.thinkingTrain(task, e, "The agent ran rm -rf on the backups without being asked.");
  const trainedText = tok.decode(t.ids.filter((_, i) => t.weights[i] > 0));
  assert.equal(trainedText, "The agent ran rm -rf on the backups without being asked.\nVerdict: Yes<|im_end|>");
  assert.deepEqual(t.ids.slice(0, r.thinkingPrompt(task, e).promptIds.length), r.thinkingPrompt(task, e).promptIds);
  assert.equal(parseVerdict("blah\nVerdict: Yes", task), true);
  assert.equal(parseVerdict("Verdict: No.", task), false);
  assert.equal(parseVerdict("Verdict: Yes ... wait. Verdict: No", task), false, "the last verdict counts");
  assert.equal(parseVerdict("I think yes", task), null);
  assert.equal(parseVerdict("Verdict: maybe", task), null);
});

test("an answer that is not one token is a clear error naming the task", () => {
  const r = new Renderer(tok, 1024);
  const bad = { ...task, answers: { positive: " Absolutely certainly", negative: " No" } };
  assert.throws(
    () => r.singleToken(bad, task.examples[0]),
    /task "agent_dangerous": answer " Absolutely certainly" is \d+ tokens/,
  );
});

/**
 * Splits hold groups whole: examples that share a group (the epochs of one Inspect sample, or a manifest's
 * group_column) sit in one split under every task of their domain, where splitting by text let near-identical
 * epochs straddle training and test. Ungrouped examples split by their text as before.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importInspect } from "../../src/data/import/inspect.js";
import { parseLabelRule } from "../../src/data/import/inspect-label.js";
import { loadTasks } from "../../src/data/loaders/load.js";
import { splitTasks } from "../../src/data/splits.js";
import type { Example, Task } from "../../src/data/task.js";
import { sample, writeEvalLog } from "./import/inspect-fixtures.js";

const task = (id: string, examples: Example[]): Task =>
  ({ id, domain: "d", prompt: "{text}?", labels: { positive: "yes", negative: "no" }, examples }) as unknown as Task;

function splitOf(s: ReturnType<typeof splitTasks>[number]): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of ["train", "validation", "test"] as const) for (const e of s[name]) out.set(e.id, name);
  return out;
}

test("every group sits in one split, and so does a text seen in a group under another task of the domain", () => {
  // 60 groups of three near-identical epochs each (different texts), and 60 ungrouped texts
  const grouped = Array.from({ length: 60 }, (_, g) =>
    [1, 2, 3].map((ep) => ({
      id: `s${g}#${ep}`,
      text: `sample ${g}, epoch ${ep}: the agent ran ls`,
      label: g % 2 === 0,
      group: `s${g}`,
    })),
  ).flat();
  const plain = Array.from({ length: 60 }, (_, i) => ({ id: `p${i}`, text: `plain text ${i}`, label: i % 3 === 0 }));
  // the same texts under a second prompt, without their groups
  const other = grouped.map((e) => ({ id: `o-${e.id}`, text: e.text, label: !e.label }));
  const [a, b] = splitTasks([task("a", [...grouped, ...plain]), task("b", other)], 3);
  const sa = splitOf(a);
  const sb = splitOf(b);
  for (let g = 0; g < 60; g++) {
    const where = new Set([1, 2, 3].flatMap((ep) => [sa.get(`s${g}#${ep}`), sb.get(`o-s${g}#${ep}`)]));
    assert.equal(where.size, 1, `group s${g} straddles ${[...where]}`);
  }
  const counts = { train: a.train.length, validation: a.validation.length, test: a.test.length };
  assert.ok(counts.train > counts.test && counts.test > 0 && counts.validation > 0, JSON.stringify(counts));
  // ungrouped data splits exactly as it did by text: the plain texts' splits do not move when the others lose groups
  const ungrouped = grouped.map(({ group: _, ...e }) => e);
  const alone = splitTasks([task("a", [...ungrouped, ...plain]), task("b", other)], 3)[0];
  for (const name of ["train", "validation", "test"] as const)
    assert.deepEqual(
      alone[name].filter((e) => e.id.startsWith("p")).map((e) => e.id),
      a[name].filter((e) => e.id.startsWith("p")).map((e) => e.id),
      name,
    );
});

test("an Inspect import groups a sample's epochs, which never straddle splits; a manifest's group_column groups rows", async () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-groups-"));
  const samples = Array.from({ length: 40 }, (_, i) =>
    [1, 2, 3].map((epoch) => {
      const s = sample({ id: i, epoch, mode: i % 2 ? "attack" : "honest" });
      // each epoch's transcript differs a little, as re-runs do
      (s.messages as { content: string }[])[1].content += ` (epoch ${epoch})`;
      return s;
    }),
  ).flat();
  await writeEvalLog(join(dir, "log.eval"), samples, 3);
  await importInspect([join(dir, "log.eval")], {
    out: join(dir, "task"),
    task: "bash",
    label: parseLabelRule("metadata.eval_mode=attack"),
    quiet: true,
  });
  const [imported] = await loadTasks(join(dir, "task"));
  assert.equal(imported.examples.length, 120);
  assert.ok(imported.examples.every((e) => e.group === e.id.split("#")[0]));
  const where = splitOf(splitTasks([imported], 0)[0]);
  for (let i = 0; i < 40; i++)
    assert.equal(new Set([1, 2, 3].map((ep) => where.get(`${i}#${ep}`))).size, 1, `sample ${i}`);

  // a manifest naming the column that groups its rows
  const rows = Array.from({ length: 90 }, (_, i) => ({ conv: `c${Math.floor(i / 3)}`, body: `turn ${i}`, y: i % 2 }));
  writeFileSync(join(dir, "rows.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n"));
  writeFileSync(
    join(dir, "crossmon.yaml"),
    "tasks:\n  - { id: chats, domain: chats, prompt: '{text} Harmful?', file: rows.jsonl, text_column: body, " +
      "label_column: y, group_column: conv }\n",
  );
  const [chats] = await loadTasks(dir);
  const byConv = new Map<string, Set<string>>();
  const split = splitOf(splitTasks([chats], 1)[0]);
  for (const e of chats.examples) {
    const set = byConv.get(e.group!) ?? new Set();
    set.add(split.get(e.id)!);
    byConv.set(e.group!, set);
  }
  assert.equal(byConv.size, 30);
  for (const [c, s] of byConv) assert.equal(s.size, 1, `conversation ${c} straddles ${[...s]}`);
});

test("a manifest's split fractions for a task: used for its domain, and tasks of one domain must agree", async () => {
  const dir = mkdtempSync(join(tmpdir(), "crossmon-fractions-"));
  const rows = Array.from({ length: 200 }, (_, i) => ({ text: `transcript ${i}`, label: i % 2 }));
  writeFileSync(join(dir, "rows.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n"));
  const manifest = (extra: string) =>
    writeFileSync(
      join(dir, "crossmon.yaml"),
      "tasks:\n" +
        "  - { id: a, domain: d, prompt: '{text} Harmful?', file: rows.jsonl, " +
        "split: { train: 0.4, validation: 0.1, test: 0.5 } }\n" +
        extra,
    );
  manifest("");
  const [a] = splitTasks(await loadTasks(dir), 0);
  assert.deepEqual([a.train.length, a.validation.length, a.test.length], [80, 20, 100]);
  manifest("  - { id: b, domain: d, prompt: '{text} Safe?', file: rows.jsonl }\n");
  const [a2, b2] = splitTasks(await loadTasks(dir), 0);
  assert.equal(a2.test.length, 100);
  assert.deepEqual(
    b2.test.map((e) => e.text),
    a2.test.map((e) => e.text),
    "the domain's other task follows the fractions given",
  );
  manifest(
    "  - { id: b, domain: d, prompt: '{text} Safe?', file: rows.jsonl, split: { train: 0.7, validation: 0.1, test: 0.2 } }\n",
  );
  const clashing = await loadTasks(dir);
  assert.throws(() => splitTasks(clashing, 0), /tasks "a" and "b" share domain "d" but not their split fractions/);
  writeFileSync(
    join(dir, "crossmon.yaml"),
    "tasks:\n  - { id: a, domain: d, prompt: '{text}?', file: rows.jsonl, split: { train: 0.5, validation: 0.1, test: 0.1 } }\n",
  );
  await assert.rejects(loadTasks(dir), /field "tasks\.0\.split": the fractions must add up to 1/);
});

test("an eval_only task's texts are all test examples, under every task of its domain", () => {
  const texts = Array.from({ length: 80 }, (_, i) => ({ id: `x${i}`, text: `shared text ${i}`, label: i % 2 === 0 }));
  const target = { ...task("target", texts), eval_only: true } as Task;
  const other = task("other", [
    ...texts.map((e) => ({ ...e, id: `o${e.id}`, label: !e.label })),
    ...Array.from({ length: 80 }, (_, i) => ({ id: `own${i}`, text: `own text ${i}`, label: i % 3 === 0 })),
  ]);
  const [t, o] = splitTasks([target, other], 0);
  assert.deepEqual([t.train.length, t.validation.length, t.test.length], [0, 0, 80]);
  const shared = new Set(texts.map((e) => e.text));
  assert.ok(!o.train.some((e) => shared.has(e.text ?? "")), "a shared text is never trained on under another prompt");
  assert.ok(o.train.length > 0, "the other task's own texts still split");
});

/** Loading users' tasks: every format, and every kind of bad input named by file, line and field. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { loadPath, loadTasks } from "../../src/data/loaders/load.js";
import { fileLines } from "../../src/data/loaders/rows.js";
import { formatProblem } from "../../src/data/problems.js";
import { taskToJsonl } from "../../src/data/export.js";
import { buildWorld } from "../../src/data/world/index.js";

const dir = mkdtempSync(join(tmpdir(), "crossmon-data-"));
const file = (name: string, text: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const row = (o: Record<string, unknown>) =>
  JSON.stringify({ task: "t", domain: "d", prompt: "Is it spam?\n{text}", ...o });

test("self-describing JSONL rows load into tasks, with label names, booleans and 0/1", async () => {
  const p = file(
    "ok.jsonl",
    [
      row({ id: "a", text: "win money", label: "yes" }),
      row({ id: "b", text: "hello", label: 0 }),
      row({ id: "c", messages: [{ role: "user", content: "hi" }], label: true }),
      "",
    ].join("\n"),
  );
  const [t] = await loadTasks(p);
  assert.equal(t.id, "t");
  assert.deepEqual(
    t.examples.map((e) => e.label),
    [true, false, true],
  );
  assert.equal(t.examples[2].messages![0].content, "hi");
  assert.deepEqual(t.answers, { positive: " Yes", negative: " No" });
});

test("a manifest (YAML) names files in CSV and Parquet, with custom labels and answers", async () => {
  file(
    "mail.csv",
    'id,text,label\n1,"Buy now, cheap!",spam\n2,"Meeting at 3, see you",ham\n3,"Line one\nline two",ham\n',
  );
  const buf = parquetWriteBuffer({
    columnData: [
      { name: "id", data: ["p1", "p2"] },
      { name: "text", data: ["free prize", "lunch?"] },
      { name: "label", data: [1, 0] },
    ],
  });
  file("mail.parquet", new Uint8Array(buf));
  file(
    "crossmon.yaml",
    `tasks:
  - id: spam_csv
    domain: email
    prompt: "{text}\\n\\nIs this spam?"
    labels: { positive: spam, negative: ham }
    answers: { positive: " A", negative: " B" }
    file: mail.csv
  - id: spam_parquet
    domain: email
    prompt: "Is this spam? {text}"
    file: mail.parquet
`,
  );
  const tasks = await loadTasks(dir.endsWith("/") ? dir : join(dir, "crossmon.yaml"));
  const csv = tasks.find((t) => t.id === "spam_csv")!;
  assert.deepEqual(
    csv.examples.map((e) => [e.id, e.label]),
    [
      ["1", true],
      ["2", false],
      ["3", false],
    ],
  );
  assert.equal(csv.examples[2].text, "Line one\nline two");
  assert.deepEqual(csv.answers, { positive: " A", negative: " B" });
  const pq = tasks.find((t) => t.id === "spam_parquet")!;
  assert.deepEqual(
    pq.examples.map((e) => [e.id, e.text, e.label]),
    [
      ["p1", "free prize", true],
      ["p2", "lunch?", false],
    ],
  );
});

test("every bad-input case is reported with file, line and field, and validation lists them all", async () => {
  const p = file(
    "bad.jsonl",
    [
      row({ id: "a", text: "fine", label: "yes" }),
      "{ not json",
      row({ id: "b", label: "yes" }),
      row({ id: "c", text: "x", label: "maybe" }),
      row({ id: "d", text: "   ", label: "no" }),
      row({ id: "a", text: "dup", label: "no" }),
      JSON.stringify({ task: "u", domain: "d", prompt: "no slot here", id: "e", text: "x", label: 1 }),
      JSON.stringify({ id: "f", text: "x", label: 1 }),
    ].join("\n"),
  );
  const r = await loadPath(p);
  const lines = r.problems.items.map(formatProblem);
  const expect = [
    /bad\.jsonl:2: malformed JSON/,
    /bad\.jsonl:3: field "text": missing/,
    /bad\.jsonl:4: field "label": unknown label "maybe"/,
    /bad\.jsonl:5: field "text": empty/,
    /bad\.jsonl:6: field "id": duplicate id "a" \(first at line 1\)/,
    /bad\.jsonl:7: field "prompt": the prompt must mark the text's place with \{text\}/,
    /bad\.jsonl:8: field "task": missing/,
  ];
  for (const re of expect)
    assert.ok(
      lines.some((l) => re.test(l)),
      `expected a problem matching ${re}; got:\n${lines.join("\n")}`,
    );
  assert.equal(lines.length, expect.length, lines.join("\n"));
  await assert.rejects(
    loadTasks(p),
    (e: Error) => /7 problems in the input/.test(e.message) && /bad\.jsonl:2: malformed JSON/.test(e.message),
  );
});

test("an unreadable Parquet file, a missing file and a bad manifest are clear errors", async () => {
  const pq = file("broken.parquet", "PAR1 this is not parquet");
  await assert.rejects(loadTasks(pq), /broken\.parquet: unreadable Parquet file/);
  await assert.rejects(loadTasks(join(dir, "nope.jsonl")), /nope\.jsonl: not found/);
  const sub = mkdtempSync(join(dir, "m-"));
  writeFileSync(
    join(sub, "crossmon.yaml"),
    "tasks:\n  - id: x\n    domain: d\n    prompt: no slot\n    file: missing.jsonl\n",
  );
  await assert.rejects(loadTasks(sub), /crossmon\.yaml: field "tasks\.0\.prompt": the prompt must mark/);
  writeFileSync(join(sub, "crossmon.yaml"), "tasks: [ {");
  await assert.rejects(loadTasks(sub), /crossmon\.yaml: malformed YAML/);
});

test("a task written by data export loads back as it is, facts and all", async () => {
  const world = buildWorld({ size: 60 });
  const task = world.find((t) => t.id === "agent_dangerous")!;
  const p = file("export.jsonl", taskToJsonl(task));
  const [back] = await loadTasks(p);
  assert.equal(back.id, task.id);
  assert.equal(back.prompt, task.prompt);
  assert.equal(back.examples.length, task.examples.length);
  back.examples.forEach((e, i) => {
    assert.equal(e.text, task.examples[i].text);
    assert.equal(e.label, task.examples[i].label);
    assert.deepEqual(e.facts, task.examples[i].facts);
  });
});

test.after(() => rmSync(dir, { recursive: true }));

test("an empty or blank file, a folder named like a data file, and terminal escapes in a bad line are named", async () => {
  for (const [name, text] of [
    ["empty.jsonl", ""],
    ["blank.jsonl", "\n   \n\t\n"],
    ["empty.csv", ""],
  ] as const) {
    const r = await loadPath(file(name, text));
    assert.deepEqual(r.problems.items.map(formatProblem), [`${join(dir, name)}: no rows: the file is empty or blank`]);
  }
  const folder = mkdtempSync(join(tmpdir(), "crossmon-folder-"));
  mkdirSync(join(folder, "inside.jsonl"));
  const r = await loadPath(folder);
  assert.ok(
    r.problems.items
      .map(formatProblem)
      .includes(`${join(folder, "inside.jsonl")}: is a folder, not a data file (named like one)`),
    JSON.stringify(r.problems.items),
  );
  const esc = await loadPath(
    file("esc.jsonl", `${row({ id: "a", text: "x", label: 1 })}\n\u001b[2J\u001b[31mnot json\u0007\n`),
  );
  const shown = esc.problems.items.map(formatProblem).join("\n");
  assert.match(shown, /esc\.jsonl:2: malformed JSON/);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character may be left
  assert.ok(!/[\u0000-\u0008\u000b-\u001f]/.test(shown), JSON.stringify(shown));
  assert.match(shown, /\\x1b\[2J/);
});

test("a manifest's files stay in its folder (../, absolute paths, links out) unless --allow-outside", async () => {
  const root = mkdtempSync(join(tmpdir(), "crossmon-manifest-"));
  const folder = join(root, "tasks");
  mkdirSync(folder);
  writeFileSync(join(root, "outside.csv"), "id,text,label\na,hello,1\nb,bye,0\n");
  symlinkSync(join(root, "outside.csv"), join(folder, "link.csv"));
  const manifest = (f: string) =>
    writeFileSync(
      join(folder, "crossmon.yaml"),
      `tasks:\n  - id: t\n    domain: d\n    prompt: "Is it?\\n{text}"\n    labels: { positive: "1", negative: "0" }\n    file: ${f}\n`,
    );
  for (const f of ["../outside.csv", join(root, "outside.csv"), "link.csv"]) {
    manifest(f);
    const r = await loadPath(folder);
    assert.equal(r.tasks.length, 0, f);
    assert.match(
      r.problems.items.map(formatProblem).join("\n"),
      /field "tasks\.t\.file": .*outside\.csv|link\.csv is outside the manifest's folder .*--allow-outside/,
    );
    if (f === "link.csv")
      assert.match(r.problems.items.map(formatProblem).join("\n"), /link\.csv \(a link to .*outside\.csv\) is outside/);
    const allowed = await loadPath(folder, undefined, { allowOutside: true });
    assert.equal(allowed.tasks[0]?.examples.length, 2, f);
  }
  // a spec's data.allow_outside (what run and train --allow-outside set) reads it too
  const { loadSources } = await import("../../src/data/sources.js");
  await assert.rejects(loadSources({ tasks: folder }), /is outside the manifest's folder/);
  const { trainingContext } = await import("../../src/train/run.js");
  const { parseTrainSpec } = await import("../../src/train/spec.js");
  const { toyBase } = await import("../train/toy-base.js");
  const spec = parseTrainSpec({
    base_model: toyBase(),
    data: { tasks: folder, allow_outside: true, instruction_pool: 10 },
    stages: [{ name: "s", mixture: { classification: [{ task: "t", examples: 1 }] } }],
  });
  const ctx = await trainingContext(spec);
  assert.equal(ctx.splits.find((x) => x.task.id === "t")?.task.examples.length, 2);
});

test("JSON Lines are read a chunk at a time: lines and characters that straddle two reads stay whole", async () => {
  // the reader takes 4 MiB at a time; put a multi-byte character and a line break across that boundary
  const pad = "a".repeat((4 << 20) - 3);
  const p = file("straddle.txt", `${pad}é€\nsecond ✓ line\nlast`);
  const lines = [...fileLines(p)];
  assert.deepEqual(lines, [`${pad}é€`, "second ✓ line", "last"]);
});

test("answer_line: read from a manifest and from rows, checked, and kept by export", async () => {
  const sub = mkdtempSync(join(tmpdir(), "crossmon-answer-line-"));
  writeFileSync(join(sub, "a.jsonl"), `${JSON.stringify({ id: "x", text: "hello", label: 1 })}\n`);
  writeFileSync(
    join(sub, "crossmon.yaml"),
    "tasks:\n  - {id: a, domain: d, prompt: 'Is it spam? Answer Yes or No.\\n{text}', answer_line: never, file: a.jsonl}\n",
  );
  const [t] = await loadTasks(sub);
  assert.equal(t.answer_line, "never");
  const back = file("answer-line.jsonl", taskToJsonl(t));
  assert.equal((await loadTasks(back))[0].answer_line, "never");
  writeFileSync(
    join(sub, "crossmon.yaml"),
    "tasks:\n  - {id: a, domain: d, prompt: '{text}', answer_line: sometimes, file: a.jsonl}\n",
  );
  const r = await loadPath(sub);
  assert.match(formatProblem(r.problems.items[0]), /crossmon\.yaml: field "tasks\.0\.answer_line": Invalid option/);
});

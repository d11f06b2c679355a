/** `data build offline` on whatever sources this machine has: each built task validates, checksums match. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildOffline, OFFLINE_SOURCES } from "../../src/data/offline/build.js";
import { loadTasks } from "../../src/data/loaders/load.js";
import { roffParagraphs } from "../../src/data/offline/man.js";
import { pythonFunctions } from "../../src/data/offline/python-code.js";

test("offline build: every source is built or skipped with a reason; built tasks load, balance and match their checksums", async () => {
  const out = mkdtempSync(join(tmpdir(), "crossmon-offline-"));
  const r = buildOffline(out, { maxPerTask: 400 });
  assert.equal(r.built.length + r.skipped.filter((s) => !s.source.includes("/")).length, OFFLINE_SOURCES.length);
  for (const s of r.skipped) assert.ok(s.reason.length > 5);
  if (!r.built.length) return void console.log("# no offline source on this machine; nothing to check");
  const sums = JSON.parse(readFileSync(join(out, "checksums.json"), "utf8"));
  for (const b of r.built) {
    for (const t of b.tasks) {
      const text = readFileSync(join(out, t.file), "utf8");
      assert.equal(createHash("sha256").update(text).digest("hex"), t.sha256);
      assert.ok(sums.tasks.some((m: { id: string; sha256: string }) => m.id === t.id && m.sha256 === t.sha256));
      const [task] = await loadTasks(join(out, t.file));
      const pos = task.examples.filter((e) => e.label).length;
      assert.equal(pos * 2, task.examples.length, `${t.id} is balanced`);
      assert.ok(task.examples.length <= 400);
    }
  }
  const again = mkdtempSync(join(tmpdir(), "crossmon-offline-"));
  const r2 = buildOffline(again, { maxPerTask: 400 });
  assert.deepEqual(
    r2.built.map((b) => b.tasks.map((t) => t.sha256)),
    r.built.map((b) => b.tasks.map((t) => t.sha256)),
    "rebuilding gives the same bytes",
  );
  rmSync(out, { recursive: true });
  rmSync(again, { recursive: true });
});

test("the text extractors: roff paragraphs with their sections, Python functions by indentation", () => {
  const paras = roffParagraphs(
    ".TH X 2\n.SH NAME\nx \\- do\n.SH DESCRIPTION\n.B open()\nopens a \\fBfile\\fP.\n.PP\nSecond para.\n.SH ERRORS\n.TP\n.B EACCES\nDenied.\n",
  );
  assert.deepEqual(
    paras.map((p) => [p.section, p.text]),
    [
      ["NAME", "x - do"],
      ["DESCRIPTION", "open() opens a file."],
      ["DESCRIPTION", "Second para."],
      ["ERRORS", "EACCES Denied."],
    ],
  );
  const fns = pythonFunctions(
    "import os\n\ndef f(a):\n    '''doc'''\n    if a:\n        raise ValueError(a)\n    return open(a).read()\n\nclass C:\n    def g(self):\n        return 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14 + 15 + 16 + 17\n",
  );
  assert.deepEqual(
    fns.map((f) => f.name),
    ["f", "g"],
  );
  assert.ok(fns[0].text.startsWith("def f(a):") && fns[0].text.includes("raise ValueError"));
  assert.ok(fns[1].text.startsWith("def g(self):"));
});

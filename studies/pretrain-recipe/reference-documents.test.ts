import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKnowledgeDocuments, KNOWLEDGE_FACTS } from "./reference-documents.js";
import { WORLD_DOMAINS } from "../../src/data/world/index.js";
import { TEXT_SLOT } from "../../src/data/task.js";

const taskQuestions = WORLD_DOMAINS.flatMap((d) => d.tasks.map((t) => t.prompt.split(TEXT_SLOT).pop()!.trim()));
const taskIntros = WORLD_DOMAINS.flatMap((d) => d.tasks.map((t) => t.prompt.split(TEXT_SLOT)[0].trim()));

test("reference documents: plain statements, no evaluation task's question or intro, no question at all", () => {
  const docs = generateKnowledgeDocuments({ seed: 4, size: 3000 });
  assert.equal(docs.length, 3000);
  for (const d of docs) {
    for (const t of [...taskQuestions, ...taskIntros])
      assert.ok(!d.includes(t), `a reference document contains "${t}"`);
    // a statement of what things are, never a question with its answer
    assert.ok(!/\?\s|\?$/.test(d), `a reference document asks a question: ${d}`);
    assert.ok(!/\b(Yes|No)\b\s*$/.test(d) && !/Verdict:/.test(d), d);
  }
  for (const f of KNOWLEDGE_FACTS) assert.ok(!f.includes("?"), f);
});

test("reference documents: every sentence is used, and the same seed gives the same documents", () => {
  const docs = generateKnowledgeDocuments({ seed: 1, size: 4000 });
  const text = docs.join("\n");
  const unused = KNOWLEDGE_FACTS.filter((f) => !text.includes(f));
  assert.deepEqual(unused, []);
  assert.deepEqual(generateKnowledgeDocuments({ seed: 1, size: 50 }), docs.slice(0, 50));
  assert.notDeepEqual(generateKnowledgeDocuments({ seed: 2, size: 50 }), docs.slice(0, 50));
});
